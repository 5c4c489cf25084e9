"""Evolution engine: operators keep circuits valid, runs resume bit-identically after
SIGKILL, every backend gives the same results, configs are validated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import evo_circuits as ec
from evo_circuits.evolve import EvolutionResult, Limits, RunConfig, crossover, evolve, mutate, resume
from evo_circuits.evolve.config import ConfigError, config_from_dict, load_config
from evo_circuits.evolve.operators import MUTATIONS
from evo_circuits.evolve.run import TIMING_COLUMNS
from evo_circuits.tasks import FitnessSpec, get_task, load_fitness

ROOT = Path(__file__).resolve().parent.parent
FITNESS = ROOT / "fitness" / "coincidence.toml"


def small_config(tmp_path: Path, **over) -> Path:
    """A tiny, fast run config (population 16, 8 generations, checkpoint every 2)."""
    run = {"name": "t", "fitness": str(FITNESS), "seed": 3, "generations": 8, "population": 16,
           "checkpoint_every": 2, **over.pop("run", {})}
    lines = ["[run]"] + [f"{k} = {json.dumps(v)}" for k, v in run.items()]
    for section, table in over.items():
        lines += [f"[{section}]"] + [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    lines += ["[limits]", "max_neurons = 8", "max_synapses = 30"] if "limits" not in over else []
    path = tmp_path / "cfg.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def final_state(run_dir: Path) -> dict:
    """Checkpoint content with the measured timing columns removed."""
    ck = json.loads((run_dir / "checkpoint.json").read_text())
    for row in ck["logbook"]:
        for col in TIMING_COLUMNS:
            row.pop(col, None)
    return ck


# ---------------------------------------------------------------- operators
LIMITS = Limits(max_neurons=9, max_synapses=35, max_delay_steps=40)
POOL = [ec.random_task_circuit(2, 2, seed=k, n_exc=(1, 5), n_inh=(0, 3)) for k in range(12)]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 60))
def test_every_operator_returns_a_valid_circuit_within_limits(seed, steps):
    rng = np.random.default_rng(seed)
    c = POOL[seed % len(POOL)]
    for _ in range(steps):  # thousands of applications over all examples
        op = list(MUTATIONS)[int(rng.integers(len(MUTATIONS)))]
        if rng.random() < 0.2:
            c = crossover(c, POOL[int(rng.integers(len(POOL)))], rng, LIMITS)
        else:
            c = MUTATIONS[op](c, rng, LIMITS)
        c.validate()
        assert len(c.outputs) == 2 and c.n_inputs == 2
        assert c.n_synapses <= max(LIMITS.max_synapses, max(p.n_synapses for p in POOL))
        assert c.n_neurons <= max(LIMITS.max_neurons, max(p.n_neurons for p in POOL))
        assert c.delays.max(initial=0) <= max(LIMITS.max_delay_steps, 30)
        assert np.all(c.weights >= 0) and np.all(np.isfinite(c.weights))
        back = ec.io.from_dict(ec.io.to_dict(c))  # checkpoints round-trip exactly
        assert back == c


def test_operators_do_what_they_say():
    rng = np.random.default_rng(0)
    c = POOL[3]
    assert MUTATIONS["add_neuron"](c, rng, LIMITS).n_neurons == c.n_neurons + 1
    assert MUTATIONS["add_synapse"](c, rng, LIMITS).n_synapses == c.n_synapses + 1
    assert MUTATIONS["remove_synapse"](c, rng, LIMITS).n_synapses == c.n_synapses - 1
    f = MUTATIONS["flip_type"](c, rng, LIMITS)
    assert (f.types != c.types).sum() == 1
    w = MUTATIONS["perturb_weight"](c, rng, LIMITS)
    assert (w.weights > 0).sum() == (c.weights > 0).sum() and not np.array_equal(w.weights, c.weights)
    child = crossover(POOL[1], POOL[2], rng, LIMITS)
    assert len(child.outputs) == 2
    m = mutate(c, rng, LIMITS, {"perturb_delay": 1.0})
    assert m.n_synapses == c.n_synapses


# ---------------------------------------------------------------- runs
def test_config_errors_name_the_key(tmp_path):
    cases = [
        ({"run": {"fitness": "x.toml", "algorithm": "sa"}}, "run.algorithm"),
        ({"run": {"fitness": "x.toml", "population": "many"}}, "run.population"),
        ({"run": {}}, "run.fitness"),
        ({"run": {"fitness": "x.toml"}, "mutation": {"teleport": 0.5}}, "mutation.teleport"),
        ({"run": {"fitness": "x.toml"}, "mutation": {"add_neuron": 2.0}}, "mutation.add_neuron"),
        ({"run": {"fitness": "x.toml"}, "limits": {"w_exc": [5, 1]}}, "limits.w_exc"),
        ({"run": {"fitness": "x.toml"}, "evaluation": {"backend": "dask"}}, "evaluation.dask"),
        ({"run": {"fitness": "x.toml"}, "gpu": {}}, "gpu"),
    ]
    for data, key in cases:
        with pytest.raises(ConfigError) as exc:
            config_from_dict(data)
        assert key in str(exc.value), (key, str(exc.value))
    for cfg in sorted((ROOT / "runs").glob("*.toml")):
        load_config(cfg)  # every shipped config is valid


@pytest.mark.parametrize("algorithm", ["mu_plus_lambda", "nsga2", "map_elites"])
def test_algorithms_run_and_write_outputs(tmp_path, algorithm):
    run_dir = evolve(small_config(tmp_path, run={"algorithm": algorithm, "generations": 4}),
                     out=tmp_path / "run", progress=False).run_dir
    for name in ("champion.json", "logbook.csv", "checkpoint.json", "status.json", "config.resolved.json"):
        assert (run_dir / name).is_file(), name
    rows = (run_dir / "logbook.csv").read_text().splitlines()
    assert len(rows) == 1 + 5  # header + generations 0..4
    champ = ec.load(run_dir / "champion.json")
    assert champ.metadata["objectives"]["score"] >= 0.5
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "finished" and status["generation"] == 4
    if algorithm == "map_elites":
        assert "archive_coverage" in rows[0]


def test_resume_extends_a_finished_run_identically(tmp_path):
    # restart_after = 2 also exercises random restarts across the resume boundary (restart_below
    # above any score: restart even a solved population)
    var = {"variation": {"restart_after": 2, "restart_below": 1.01}}
    a = evolve(small_config(tmp_path, run={"generations": 8}, **var), out=tmp_path / "a", progress=False).run_dir
    b = evolve(small_config(tmp_path, run={"generations": 3}, **var), out=tmp_path / "b", progress=False).run_dir
    resume(b, generations=8, progress=False)
    assert final_state(a) == final_state(b)
    assert any(r["restart"] for r in final_state(a)["logbook"])


def python_config(**over) -> RunConfig:
    """The small run of :func:`small_config`, built in Python without a fitness path."""
    return RunConfig(**{"name": "t", "fitness": "", "seed": 3, "generations": 4, "population": 16,
                        "checkpoint_every": 2, "limits": Limits(max_neurons=8, max_synapses=30), **over})


def test_evolve_from_python_returns_a_result_and_has_no_side_effects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where motifs/library.db would appear
    spec = load_fitness(FITNESS)
    res = evolve(python_config(), fitness=spec, out=tmp_path / "run")
    assert isinstance(res, EvolutionResult) and res.status == "finished" and res.generations == 4
    assert res.run_dir == tmp_path / "run" and res.paths["champion"] == tmp_path / "run" / "champion.json"
    assert res.champion == ec.load(res.paths["champion"])
    assert res.champion.metadata == ec.load(res.paths["champion"]).metadata
    assert len(res.hall_of_fame) == len(list((res.run_dir / "hall_of_fame").glob("rank_*.json")))
    assert res.hall_of_fame[0] == ec.load(res.run_dir / "hall_of_fame" / "rank_01.json")
    assert [r["generation"] for r in res.logbook] == [0, 1, 2, 3, 4] and res.objectives[0] == "score"
    assert res.best_score == res.champion.metadata["objectives"]["score"] == res.logbook[-1]["score_best"]
    assert res.fitness is spec and res.plots == () and res.library is None and res.motifs == ()
    # No library written (neither the default one nor $EVO_CIRCUITS_LIBRARY), no plots.
    assert not (tmp_path / "motifs").exists() and not (tmp_path / "library.db").exists()
    assert not (res.run_dir / "plots").exists()
    # The spec object's own TOML gives it back: the run points at that file.
    assert json.loads((res.run_dir / "config.resolved.json").read_text())["fitness"] == str(FITNESS.resolve())
    # The same run from the TOML files gives the same state.
    path_run = evolve(small_config(tmp_path, run={"generations": 4}), out=tmp_path / "toml").run_dir
    assert final_state(res.run_dir) == final_state(path_run)


def test_a_spec_built_in_python_is_kept_in_the_run_and_resumes_identically(tmp_path):
    spec = FitnessSpec(name="py", description="built in Python", task=get_task("coincidence")(trials=24),
                       minimize=["spikes", "size"])
    full = evolve(python_config(generations=6), fitness=spec, out=tmp_path / "full")
    part = evolve(python_config(generations=3), fitness=spec, out=tmp_path / "part")
    own = tmp_path / "part" / "fitness.resolved.json"
    assert json.loads((part.run_dir / "config.resolved.json").read_text())["fitness"] == str(own.resolve())
    assert load_fitness(own).to_dict() == spec.to_dict()
    back = resume(part.run_dir, generations=6)
    assert back.generations == 6 and final_state(back.run_dir) == final_state(full.run_dir)
    assert back.best_score == full.best_score
    assert back.champion.replace(name="", metadata={}) == full.champion.replace(name="", metadata={})
    with pytest.raises(ConfigError, match="run.fitness"):
        evolve(python_config(), out=tmp_path / "none")  # no fitness anywhere: one line


def test_side_effects_when_asked(tmp_path):
    from evo_circuits.motifs import MotifLibrary

    cfg = python_config(generations=6, library_min_score=0.0)
    with MotifLibrary(tmp_path / "lib.db") as lib:
        res = evolve(cfg, fitness=FITNESS, out=tmp_path / "run", plots=True, library=lib)
        assert res.library == lib.path and len(res.motifs) == 1
        entry = lib.entry(res.motifs[0].motif_id)
        assert entry.occurrences == 1 and entry.provenance[0]["run_id"] == "run"
    assert {p.name for p in res.plots} >= {"fitness.png", "champion.png"} and all(p.is_file() for p in res.plots)
    assert resume(res.run_dir, library=tmp_path / "lib.db").new_generations == 0  # finished: nothing to do
    again = resume(res.run_dir, generations=7, library=tmp_path / "lib.db")  # a path works too
    assert again.generations == 7 and again.new_generations == 1 and again.library == tmp_path / "lib.db"
    with MotifLibrary(tmp_path / "lib.db") as lib:
        assert [lib.entry(h.motif_id).occurrences for h in again.motifs] == [1] * len(again.motifs)


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path):
    cfg = small_config(tmp_path, run={"generations": 30, "population": 24})
    ref = evolve(cfg, out=tmp_path / "ref", progress=False).run_dir
    killed = tmp_path / "killed"
    start = [sys.executable, "-m", "evo_circuits.cli", "evolve", str(cfg), "--out", str(killed), "--quiet"]
    again = [sys.executable, "-m", "evo_circuits.cli", "resume", str(killed), "--quiet"]
    rng = np.random.default_rng(0)

    def generation() -> int:
        try:
            return json.loads((killed / "status.json").read_text())["generation"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return -1

    kills = 0
    for attempt, target in enumerate((3, 9, 16, 24)):
        # Kill once the run has passed `target` generations, at a random moment after that
        # (mid-generation, mid-checkpoint, mid-write: whatever the process is doing).
        proc = subprocess.Popen(start if attempt == 0 else again, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while generation() < target and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(float(rng.uniform(0.0, 0.25)))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    subprocess.run(again, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    assert kills >= 2, "the run should have been killed several times"
    assert final_state(ref) == final_state(killed)
    assert (ref / "champion.json").read_text().replace("ref", "X") == \
        (killed / "champion.json").read_text().replace("killed", "X")


def test_sigint_checkpoints_and_exits_130(tmp_path):
    cfg = small_config(tmp_path, run={"generations": 500, "population": 24})
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "evo_circuits.cli", "evolve", str(cfg), "--out", str(out),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "checkpoint.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "resume" in err and "Traceback" not in err
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "interrupted"
    assert json.loads((out / "checkpoint.json").read_text())["generation"] == status["generation"]


@pytest.mark.slow
def test_backends_give_identical_results(tmp_path):
    cfg = small_config(tmp_path, run={"generations": 3, "population": 20})
    states = {}
    for backend, kw in (("local", {}), ("serial", {"backend": "serial"}), ("processes", {"workers": 2})):
        d = evolve(cfg, out=tmp_path / backend, progress=False, **kw).run_dir
        states[backend] = final_state(d)
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        d = evolve(cfg, out=tmp_path / "dask", progress=False, dask=cl.scheduler_address).run_dir
        states["dask"] = final_state(d)
    for name, st_ in states.items():
        assert st_ == states["local"], name


def test_cli_runs_list_show_plot(tmp_path, capsys):
    from evo_circuits.cli import main

    root = tmp_path / "runs"
    assert main(["evolve", str(small_config(tmp_path, run={"generations": 2})), "--out", str(root / "r1"),
                 "--quiet"]) == 0
    assert "motif library" in capsys.readouterr().out  # --quiet hides progress, not the library line
    assert main(["runs", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "r1" in out and f"under {root}/ (give --root DIR" in out
    assert main(["runs", "show", "r1", "--root", str(root)]) == 0
    assert "best score" in capsys.readouterr().out
    assert main(["plot", "r1", "--root", str(root)]) == 0
    assert (root / "r1" / "plots" / "fitness.png").is_file()
    assert main(["runs", "show", "nope", "--root", str(root)]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[run]\nfitness = 3\n")
    assert main(["evolve", str(bad)]) == 2
    assert "run.fitness" in capsys.readouterr().err


def test_a_pool_worker_that_dies_mid_generation_does_not_lose_the_run(tmp_path):
    """A plugin task kills the worker process that first sees a marker file."""
    marker = tmp_path / "kill-me"
    plugin = tmp_path / "dying.py"
    plugin.write_text(f'''
import os
from pathlib import Path
from evo_circuits.tasks import register_task
from evo_circuits.tasks.coincidence import Coincidence

@register_task
class Dying(Coincidence):
    name = "dying_coincidence"
    def make_batch(self, n_trials, rng, dt_ms):
        marker = Path({str(marker)!r})
        if os.environ.get("EVO_TEST_WORKER"):
            try:
                marker.unlink()  # only the worker that removes the marker dies (two may see it)
            except FileNotFoundError:
                pass
            else:
                os._exit(1)  # the worker vanishes mid-generation
        return super().make_batch(n_trials, rng, dt_ms)
''')
    spec = tmp_path / "dying.toml"
    spec.write_text('[task]\nplugin = "dying.py"\nfamily = "dying_coincidence"\n')
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(f'[run]\nfitness = "{spec}"\nseed = 1\ngenerations = 3\npopulation = 16\n'
                   '[motifs]\nadd_to_library = false\n')
    ref = evolve(cfg, out=tmp_path / "ref", progress=False).run_dir
    marker.write_text("")
    os.environ["EVO_TEST_WORKER"] = "1"  # inherited by the spawned pool workers only when set now
    try:
        d = evolve(cfg, out=tmp_path / "pool", progress=False, workers=2).run_dir
    finally:
        del os.environ["EVO_TEST_WORKER"]
    assert not marker.exists(), "a worker should have died"
    assert final_state(d) == final_state(ref)


# ---------------------------------------------------------------- validation, resampling, stopping
def test_validation_and_resampling_resume_identically_and_choose_the_champion(tmp_path):
    over = {"evaluation": {"validation_trials": 16, "validation_top": 3, "resample_every": 3},
            "variation": {"restart_after": 2, "restart_below": 1.01}}
    a = evolve(small_config(tmp_path, run={"generations": 8}, **over), out=tmp_path / "a").run_dir
    b = evolve(small_config(tmp_path, run={"generations": 4}, **over), out=tmp_path / "b").run_dir
    resume(b, generations=8)
    assert final_state(a) == final_state(b)
    ck = final_state(a)
    hof = ck["hall_of_fame"]
    assert all("validation" in h["extras"] for h in hof)
    vals = [h["extras"]["validation"] for h in hof]
    assert vals == sorted(vals, reverse=True)  # ranked on the held-out trials
    champ = ec.load(a / "champion.json")
    assert champ.metadata["validation_score"] == vals[0] == ck["logbook"][-1]["validation_best"]
    assert "fitness_hash" in champ.metadata
    # The validation score is the spec's score on the validation trials.
    from evo_circuits.evolve.seeds import validation_seed
    from evo_circuits.tasks import load_fitness

    res = load_fitness(FITNESS).evaluate(champ, seed=validation_seed(3), n_trials=16,
                                         individual_ids=[champ.metadata["uid"]])
    assert res.score[0] == vals[0]
    from evo_circuits.evolve.plots import run_plots

    assert any(p.name == "fitness.png" for p in run_plots(a))  # the validation column is drawn, not misread


def test_a_solved_population_is_not_restarted_and_stop_score_stops(tmp_path):
    cfg = small_config(tmp_path, run={"generations": 8}, variation={"restart_after": 1, "restart_below": 0.0})
    d = evolve(cfg, out=tmp_path / "a").run_dir
    assert not any(r["restart"] for r in final_state(d)["logbook"])
    cfg = small_config(tmp_path, run={"generations": 30, "stop_score": 0.5})
    d = evolve(cfg, out=tmp_path / "b").run_dir
    status = json.loads((d / "status.json").read_text())
    assert status["status"] == "finished" and status["generation"] < 30 and status["best_score"] >= 0.5
    with pytest.raises(ConfigError, match="run.stop_score"):
        load_config(small_config(tmp_path, run={"stop_score": 2.0}))
    with pytest.raises(ConfigError, match="evaluation.validation_top"):
        load_config(small_config(tmp_path, evaluation={"validation_top": 0}))


def test_stagnation_is_judged_on_validation_when_the_run_validates():
    from evo_circuits.evolve.algorithms import progress_column, stagnating

    # Fresh training trials: one lucky set (0.9) is never beaten on training while the
    # population keeps rising on its fixed validation scores -> not stalled.
    lucky = [{"generation": g, "score_best": 0.9 if g == 0 else 0.8, "validation_population": 0.5 + 0.01 * g}
             for g in range(6)]
    assert progress_column(lucky) == "validation_population" and not stagnating(lucky, 5)
    assert stagnating([{k: v for k, v in r.items() if k != "validation_population"} for r in lucky], 5)
    # Training keeps rising (learning its trials) but validation is flat -> stalled.
    memorising = [{"generation": g, "score_best": 0.5 + 0.1 * g, "validation_population": 0.6} for g in range(6)]
    assert stagnating(memorising, 5)
    assert not stagnating(memorising, 6)  # not enough generations yet
    assert not stagnating(memorising[:3] + [{**memorising[3], "restart": 1}] + memorising[4:], 5)


def test_excitatory_outputs_stay_excitatory():
    from evo_circuits.evolve.toolbox import random_individual_circuit

    cfg = config_from_dict({"run": {"fitness": str(FITNESS)}, "init": {"n_exc": [1, 2], "n_inh": [2, 4]},
                            "limits": {"excitatory_outputs": True, "max_neurons": 9}})
    rng = np.random.default_rng(0)
    for _ in range(20):
        c = random_individual_circuit(cfg, 2, 3, rng)
        for _ in range(10):
            c = mutate(c, rng, cfg.limits, {"flip_type": 1.0, "add_neuron": 0.3})
        assert (c.types[c.outputs] == 1).all()
