"""Task suite: every family is solvable by its reference circuit, random circuits score
near chance, scores are deterministic and independent of batching, specs are validated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import evo_circuits as ec
from evo_circuits.tasks import (TaskError, available_tasks, fitness_from_dict, get_task, load_fitness,
                                load_plugin)

ROOT = Path(__file__).resolve().parent.parent
FITNESS = ROOT / "fitness"
TASKS = sorted(available_tasks())
N_RANDOM = 100


@pytest.fixture(scope="module", params=TASKS)
def spec(request):
    return load_fitness(FITNESS / f"{request.param}.toml")


@pytest.fixture(scope="module")
def random_pop(spec):
    t = spec.task
    return [ec.random_task_circuit(t.n_inputs, t.n_outputs, seed=k) for k in range(N_RANDOM)]


def test_every_task_has_spec_and_reference():
    for name in TASKS:
        assert (FITNESS / f"{name}.toml").is_file(), name
        assert (FITNESS / "reference" / f"{name}.json").is_file(), name


def test_reference_circuit_solves_the_task(spec):
    ref = ec.load_circuit(FITNESS / "reference" / f"{spec.task.name}.json")
    scores = [spec.evaluate(ref, seed=s).score[0] for s in range(3)]
    assert min(scores) >= 0.9, scores


def test_random_circuits_score_near_chance(spec, random_pop):
    res = spec.evaluate(random_pop, seed=0)
    chance = spec.task.chance_level()
    assert abs(np.median(res.score) - chance) <= 0.1, (np.median(res.score), chance)
    assert np.all((res.score >= 0) & (res.score <= 1))


def test_scores_are_deterministic_and_batch_independent(spec, random_pop):
    pop = random_pop[:12]
    ids = np.arange(12)
    whole = spec.evaluate(pop, seed=5, individual_ids=ids)
    again = spec.evaluate(pop, seed=5, individual_ids=ids)
    np.testing.assert_array_equal(whole.score, again.score)
    halves = [spec.evaluate(pop[a:b], seed=5, individual_ids=ids[a:b]) for a, b in ((0, 5), (5, 12))]
    np.testing.assert_array_equal(np.concatenate([h.score for h in halves]), whole.score)
    np.testing.assert_array_equal(np.concatenate([h.spikes_per_trial for h in halves]), whole.spikes_per_trial)


def test_spec_errors_name_the_key():
    base = {"task": {"family": "coincidence"}}
    cases = [
        ({"task": {"family": "nope"}}, "task.family"),
        ({"task": {}}, "task.family"),
        ({"task": {"family": "coincidence", "window": 1.0}}, "task.window"),
        ({"task": {"family": "coincidence", "window_ms": "2"}}, "task.window_ms"),
        ({"task": {"family": "coincidence", "window_ms": -1.0}}, "task.window_ms"),
        ({"task": {"family": "coincidence", "trials": 2.5}}, "task.trials"),
        ({**base, "objectives": {"minimize": ["speed"]}}, "objectives.minimize"),
        ({**base, "robustness": {"p_release": 1.5}}, "robustness.p_release"),
        ({**base, "stability": {"ceiling": 3}}, "stability.ceiling"),
        ({**base, "extra": 1}, "extra"),
    ]
    for data, key in cases:
        with pytest.raises(TaskError) as exc:
            fitness_from_dict(data)
        assert key in str(exc.value) and "\n" not in str(exc.value), (key, str(exc.value))


def test_robustness_and_stability_modifiers():
    ref = ec.load_circuit(FITNESS / "reference" / "coincidence.json")
    spec = fitness_from_dict({"task": {"family": "coincidence", "trials": 64},
                              "robustness": {"p_release": 0.5, "jitter_ms": 0.5}})
    noisy = spec.evaluate(ref, seed=1).score[0]
    clean = load_fitness(FITNESS / "coincidence.toml").evaluate(ref, seed=1).score[0]
    assert noisy < clean
    runaway = ec.random_circuit(10, 0, 2, p_conn=1.0, w_exc=(300, 400), w_input=500.0, p_input=1.0, outputs=[0])
    stab = fitness_from_dict({"task": {"family": "coincidence"}, "stability": {"ceiling_hz": 100.0}})
    res = stab.evaluate(runaway, seed=0)
    assert res.extras["stability_runaway_fraction"][0] == 1.0 and res.score[0] == 0.0
    assert res.raw_score[0] >= 0.0


def test_plugin_task_loaded_by_path(tmp_path):
    plugin = tmp_path / "always_fire.py"
    plugin.write_text('''
import numpy as np
from evo_circuits.simulate import InputSpikes
from evo_circuits.tasks import Param, Task, TrialBatch, register_task

@register_task
class AlwaysFire(Task):
    name = "always_fire_test"
    description = "the output fires in every trial"
    params = {"duration_ms": Param(20.0, "trial length", min=1.0)}
    n_inputs = 1
    n_outputs = 1
    def chance_level(self):
        return 0.5
    def make_batch(self, n_trials, rng, dt_ms):
        return TrialBatch(InputSpikes(np.arange(n_trials), np.zeros(n_trials, int), np.full(n_trials, 10),
                                      n_trials=n_trials, n_steps=int(self.p.duration_ms / dt_ms)), np.ones(n_trials))
    def score_ports(self, ports, batch):
        return (ports.counts[:, :, 0] > 0).mean(axis=1), {}
''')
    toml = tmp_path / "always.toml"
    toml.write_text('[task]\nplugin = "always_fire.py"\nfamily = "always_fire_test"\ntrials = 4\n')
    spec = load_fitness(toml)
    strong = ec.random_circuit(1, 0, 1, p_input=1.0, w_input=5000.0, outputs=[0])
    assert spec.evaluate(strong).score[0] == 1.0
    assert "always_fire_test" in available_tasks()
    with pytest.raises(TaskError, match="plugin"):
        load_plugin(tmp_path / "missing.py")


def test_cli_tasks_and_score(capsys, tmp_path):
    from evo_circuits.cli import main

    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    for name in TASKS:
        assert name in out
    png = tmp_path / "s.png"
    assert main(["score", str(FITNESS / "reference" / "coincidence.json"), "--fitness",
                 str(FITNESS / "coincidence.toml"), "--seed", "2", "--plot", str(png)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("score: ") and float(last.split()[1]) >= 0.9
    assert png.stat().st_size > 1000
    bad = tmp_path / "bad.toml"
    bad.write_text('[task]\nfamily = "coincidence"\nwindow_ms = "wide"\n')
    assert main(["score", str(FITNESS / "reference" / "coincidence.json"), "--fitness", str(bad)]) == 2
    assert "task.window_ms" in capsys.readouterr().err


def test_coincidence_is_not_solvable_by_rate():
    task = get_task("coincidence")()
    batch = task.make_batch(64, np.random.default_rng(0), 0.1)
    counts = np.zeros((64, 2))
    np.add.at(counts, (batch.inputs.trial, batch.inputs.channel), 1)
    assert np.all(counts == 1)  # every trial: one spike per channel, whatever the label
