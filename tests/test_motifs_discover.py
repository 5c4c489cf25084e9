"""From evolution to the library: prune, store with provenance, find, export, re-import."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import evo_circuits as ec
from evo_circuits.cli import main
from evo_circuits.evolve import evolve
from evo_circuits.motifs import MotifLibrary, canonical_label
from evo_circuits.motifs.prune import prune
from evo_circuits.tasks import load_fitness

ROOT = Path(__file__).resolve().parent.parent


def test_pruning_removes_useless_parts_and_keeps_the_score():
    spec = load_fitness(ROOT / "fitness" / "coincidence.toml")
    ref = ec.load(ROOT / "fitness" / "reference" / "coincidence.json")
    # Add a dangling E neuron fed by input 0 and a weak extra synapse onto the output.
    big = ref.with_neurons([1])
    w = big.weights.copy()
    w[0, 2] = 50.0                     # in0 -> new neuron
    w[big.n_inputs + 2, 0] = 0.5       # new neuron -> I cell, far too weak to matter
    big = big.replace(weights=w)
    res = prune(big, spec, epsilon=0.02)
    assert res.score_before >= 0.95 and res.score_after >= res.score_before - 0.02
    assert any(r.startswith("neuron") for r in res.removed)
    assert res.circuit.n_neurons <= ref.n_neurons
    assert canonical_label(res.circuit) == canonical_label(ref)


def test_run_to_library_find_export_reimport(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[run]\nname = "disc"\nfitness = "{ROOT / "fitness" / "coincidence.toml"}"\nseed = 2\n'
                   'generations = 12\npopulation = 32\n[limits]\nmax_neurons = 6\n')
    lib_path = tmp_path / "lib.db"
    run_dir = evolve(cfg, out=tmp_path / "run").run_dir
    from evo_circuits.motifs.discover import harvest_run

    with MotifLibrary(lib_path) as lib:
        got = harvest_run(run_dir, lib)
        assert got and got[0].pruning.score_after >= 0.9
        mid = got[0].motif_id
        entry = lib.entry(mid)
        assert entry.occurrences == 1
        assert any(p.get("run_id") == "run" for p in entry.provenance)
        # The same run harvested again is the same motif, counted once: adds from a run are
        # idempotent (issue 12: a resumed run must not count its champion twice).
        again = harvest_run(run_dir, lib)
        assert again[0].motif_id == mid and lib.entry(mid).occurrences == 1
        assert any(r.id == mid for r in lib.list(task="coincidence", min_score=0.9))
        core = lib.get(mid)
    for fmt in ("json", "graphml", "nir"):
        path = ec.save(core, tmp_path / f"m.{fmt}", fmt, **({"flavour": "exact"} if fmt == "nir" else {}))
        assert canonical_label(ec.load(path)) == canonical_label(core)
    # by name: a named motif is in every new library
    with MotifLibrary(lib_path) as lib:
        assert lib.get("feedforward-inhibition").n_neurons == 2
        assert lib.list(contains="feedforward-inhibition")


def test_cli_motifs_add_and_census(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[run]\nname = "c"\nfitness = "{ROOT / "fitness" / "coincidence.toml"}"\nseed = 1\n'
                   'generations = 6\npopulation = 24\n[motifs]\nadd_to_library = false\n')
    runs = tmp_path / "runs"
    assert main(["evolve", str(cfg), "--out", str(runs / "r1"), "--quiet"]) == 0
    lib = tmp_path / "cli.db"
    assert main(["motifs", "add", "r1", "--root", str(runs), "--library", str(lib), "--min-score", "0.0"]) == 0
    out = capsys.readouterr().out
    assert "pruned" in out
    assert main(["motifs", "census", "r1", "--root", str(runs), "--hall-of-fame", "--n-random", "20", "--all"]) == 0
    assert "census of" in capsys.readouterr().out
    rows = json.loads(_json_list(lib, capsys))
    assert any(r["occurrences"] >= 1 and r["tasks"] for r in rows)


def _json_list(lib, capsys) -> str:
    assert main(["motifs", "list", "--library", str(lib), "--json"]) == 0
    return capsys.readouterr().out


def test_evolution_adds_its_champion_to_the_default_library(tmp_path, monkeypatch):
    monkeypatch.setenv("EVO_CIRCUITS_LIBRARY", str(tmp_path / "env.db"))
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[run]\nname = "e"\nfitness = "{ROOT / "fitness" / "coincidence.toml"}"\nseed = 4\n'
                   'generations = 10\npopulation = 32\n[motifs]\nmin_score = 0.5\n')
    # The CLI stores the champion as the config's [motifs] table says (from Python: library=...).
    assert main(["evolve", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    with MotifLibrary() as lib:
        assert lib.path == tmp_path / "env.db"
        scored = [r for r in lib.list() if r.tasks]
        assert scored and np.max([r.best_score for r in scored]) >= 0.5


def test_resume_does_not_follow_a_library_path_written_in_the_run_folder(tmp_path, monkeypatch, capsys):
    """A shared run folder must not choose where resume writes: its config's [motifs] library
    is ignored (with a note) for --library or the default library."""
    monkeypatch.setenv("EVO_CIRCUITS_LIBRARY", str(tmp_path / "env.db"))
    elsewhere = tmp_path / "elsewhere" / "planted.db"
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[run]\nname = "e"\nfitness = "{ROOT / "fitness" / "coincidence.toml"}"\nseed = 4\n'
                   f'generations = 3\npopulation = 16\n[motifs]\nmin_score = 0.0\nlibrary = "{elsewhere}"\n')
    run = tmp_path / "run"
    assert main(["evolve", str(cfg), "--out", str(run), "--quiet"]) == 0  # the user's own config: followed
    assert elsewhere.is_file()
    elsewhere.unlink()
    capsys.readouterr()
    assert main(["resume", str(run), "--generations", "5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "names the motif library" in out and not elsewhere.exists() and (tmp_path / "env.db").is_file()
    mine = tmp_path / "mine.db"
    assert main(["resume", str(run), "--generations", "6", "--quiet", "--library", str(mine)]) == 0
    assert mine.is_file() and not elsewhere.exists()
