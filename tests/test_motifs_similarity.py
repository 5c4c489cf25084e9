"""Naming by similarity: every named motif minus a synapse is recognised as such, relations
and edit distances are consistent, and the library and CLI expose them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evo_circuits.cli import main
from evo_circuits.motifs.canonical import motif_graph, same_motif
from evo_circuits.motifs.library import MotifLibrary
from evo_circuits.motifs.named import match_named, named_motifs
from evo_circuits.motifs.similarity import edit_distance, near, nearest_named, relation, relations, within

NAMED = named_motifs()


def _minus_one_synapse(c, k: int):
    pairs = np.argwhere(c.weights > 0)
    w = c.weights.copy()
    w[tuple(pairs[k])] = 0.0
    return c.replace(weights=w)


@pytest.mark.parametrize("name", sorted(NAMED))
def test_every_named_motif_minus_a_synapse_is_contained_in_it(name):
    c = NAMED[name]
    assert relation(c, name).kind == "is" and nearest_named(c).describe() == f"is {name}"
    for k in range(c.n_synapses):
        minus = _minus_one_synapse(c, k)
        r = relation(minus, name)
        assert (r.kind, r.distance, r.synapses, r.neurons, r.inputs) == ("contained in", 1, 1, 0, 0)
        assert r.describe() == f"contained in {name} (missing 1 synapse)"
        assert within(minus, name) and near(minus, name, 1) is not None
        assert edit_distance(minus, c) == edit_distance(c, minus) == 1
        other = match_named(minus)
        best = nearest_named(minus)
        # Nearest: the motif itself, unless removing the synapse gives another named motif.
        assert best.describe() == (f"is {other}" if other else f"contained in {name} (missing 1 synapse)") or \
            (best.distance == 1 and name in {r.name for r in relations(minus) if r.distance == 1})


def test_contains_and_near_and_distance():
    ffi = NAMED["feedforward-inhibition"]
    ds = NAMED["direction-selectivity"]
    r = relation(ds, "feedforward-inhibition")
    assert r.kind == "contains" and r.describe() == "contains feedforward-inhibition (+1 input, +1 synapse)"
    assert r.distance == edit_distance(ds, ffi) == 2
    # A type flip of a hidden neuron recolours it and its outgoing synapses: substitutions, not a containment.
    fbi = NAMED["feedback-inhibition"]
    types = fbi.types.copy()
    hidden = [i for i in range(fbi.n_neurons) if i not in set(fbi.outputs.tolist())][0]
    types[hidden] = -types[hidden]
    flipped = fbi.replace(types=types)
    assert not same_motif(flipped, fbi)
    r = relation(flipped, "feedback-inhibition")
    d = 1 + int((fbi.weights[fbi.n_inputs + hidden] > 0).sum())
    assert r.kind == "near" and r.distance == d and r.describe() == f"near feedback-inhibition (edit distance {d})"
    assert near(flipped, "feedback-inhibition", d - 1) is None
    assert not within(flipped, "feedback-inhibition")
    assert edit_distance(motif_graph(flipped), fbi, upper_bound=0) is None
    with pytest.raises(KeyError, match="no named motif"):
        relation(ffi, "no-such-motif")


def test_library_within_near_and_fitness_spec(tmp_path, capsys):
    ds = NAMED["direction-selectivity"]
    minus = _minus_one_synapse(ds, 0)
    with MotifLibrary(tmp_path / "lib.db") as lib:
        mid, _ = lib.add(minus, task="dsel", score=0.95, fitness="dsel-fast", fitness_hash="abc123")
        inside = {e.id for e in lib.list(within="direction-selectivity")}
        assert mid in inside and lib.resolve("direction-selectivity") in inside
        assert lib.resolve("feedforward-inhibition") in inside  # FFI is part of direction selectivity
        assert mid in {e.id for e in lib.list(near="direction-selectivity", distance=1)}
        assert mid not in {e.id for e in lib.list(near="direction-selectivity", distance=0)}
        assert [e.id for e in lib.list(task="dsel-fast")] == [mid]  # by fitness spec name too
        assert lib.entry(mid).scores[0]["fitness_hash"] == "abc123"
    lib_arg = ["--library", str(tmp_path / "lib.db")]
    assert main(["motifs", "show", str(mid)] + lib_arg) == 0
    out = capsys.readouterr().out
    assert "contained in direction-selectivity (missing 1 synapse)" in out and "dsel-fast (spec hash abc123)" in out
    assert main(["motifs", "list", "--near", "direction-selectivity", "--distance", "1"] + lib_arg) == 0
    out = capsys.readouterr().out
    assert "contained in direction-selectivity (missing 1 synapse)" in out and "nearest named motif" in out
    assert main(["motifs", "list", "--within", "direction-selectivity", "--json"] + lib_arg) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["nearest"]["kind"] for r in rows} <= {"is", "contained in"}
    assert main(["motifs", "list", "--within", "nope"] + lib_arg) == 2
    assert "unknown named motif 'nope'" in capsys.readouterr().err
    assert main(["motifs", "list", "--distance", "2"] + lib_arg) == 2


def test_version_1_library_is_upgraded(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with MotifLibrary(path) as lib:
        lib.add(NAMED["feedforward-inhibition"], task="coincidence", score=0.5)
    con = sqlite3.connect(path)  # turn it back into a version-1 file
    con.executescript("CREATE TABLE s2 (id INTEGER PRIMARY KEY AUTOINCREMENT, motif_id INTEGER NOT NULL "
                      "REFERENCES motifs(id) ON DELETE CASCADE, task TEXT NOT NULL, score REAL, run_id TEXT, "
                      "created TEXT NOT NULL); "
                      "INSERT INTO s2 SELECT id, motif_id, task, score, run_id, created FROM scores; "
                      "DROP TABLE scores; ALTER TABLE s2 RENAME TO scores; "
                      "UPDATE meta SET value = '1' WHERE key = 'schema_version'; PRAGMA user_version = 1;")
    con.close()
    with MotifLibrary(path) as lib:
        e = lib.entry("feedforward-inhibition")
        assert e.scores[0]["task"] == "coincidence" and e.scores[0]["fitness"] is None
        lib.add(NAMED["feedforward-inhibition"], task="coincidence", score=0.6, fitness="c", fitness_hash="h")
        assert lib.entry("feedforward-inhibition").scores[-1]["fitness"] == "c"
