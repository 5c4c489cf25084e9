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
    ref = ec.load(FITNESS / "reference" / f"{spec.task.name}.json")
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
    ref = ec.load(FITNESS / "reference" / "coincidence.json")
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


def _channel_counts(batch, n_channels):
    counts = np.zeros((batch.inputs.n_trials, n_channels), int)
    np.add.at(counts, (batch.inputs.trial, batch.inputs.channel), 1)
    return counts


@pytest.mark.parametrize("params", [{}, {"n_channels": 3, "n_events": 2, "gap_jitter_ms": 0.0}])
def test_timing_pattern_rate_decoder_is_at_chance(params):
    task = get_task("timing_pattern")(**params)
    batch = task.make_batch(64, np.random.default_rng(0), 0.1)
    counts = _channel_counts(batch, task.n_inputs)
    # By construction every channel spikes n_events times in every trial of both classes,
    # so the count distributions are identical and any count-based decoder is at chance.
    assert np.all(counts == task.p.n_events)
    for c in (0, 1):
        assert np.array_equal(np.unique(counts[batch.labels == c], axis=0), np.unique(counts, axis=0))
    # ... while the order carries the label: class 0 sweeps forward (channel 0 first).
    inp = batch.inputs
    for tr in range(8):
        first = [inp.step[(inp.trial == tr) & (inp.channel == ch)].min() for ch in range(task.n_inputs)]
        assert (np.diff(first) > 0).all() if batch.labels[tr] == 0 else (np.diff(first) < 0).all()
    silent = ec.Circuit(types=[1, 1], n_inputs=task.n_inputs, weights=np.zeros((task.n_inputs + 2, 2)),
                        outputs=[0, 1])
    assert task.evaluate(silent, seed=0).score[0] == task.chance_level() == 0.5


def test_itd_labels_are_in_the_timing_not_the_counts():
    task = get_task("itd")(jitter_ms=0.0, trials=30)
    itds = task.itds_ms()
    np.testing.assert_allclose(itds, [-0.6, 0.0, 0.6])
    batch = task.make_batch(300, np.random.default_rng(1), 0.1)
    inp, period = batch.inputs, int(round(task.period_ms / 0.1))
    for tr in range(30):  # without jitter every right spike lags its left partner by the ITD
        left = inp.step[(inp.trial == tr) & (inp.channel == 0)]
        right = inp.step[(inp.trial == tr) & (inp.channel == 1)]
        d = (right[:, None] - left[None, :]).ravel()
        d = d[np.abs(d) < period // 2]
        assert len(d) == 0 or np.all(d == round(itds[batch.labels[tr]] / 0.1))
    # Counts per ear come from the same distribution in every class (a fixed number of
    # cycles, misses drawn independently of the label): class means agree within ~4 SE.
    big = task.make_batch(3000, np.random.default_rng(2), 0.1)
    counts = _channel_counts(big, 2)
    assert counts.max() <= task.n_cycles
    means = np.array([counts[big.labels == k].mean(axis=0) for k in range(3)])
    assert np.ptp(means, axis=0).max() < 0.25, means
    silent = ec.Circuit(types=[1, 1, 1], n_inputs=2, weights=np.zeros((5, 3)), outputs=[0, 1, 2])
    assert task.evaluate(silent, seed=0).score[0] == pytest.approx(task.chance_level())


def _input_blind(n_inputs: int, biases) -> ec.Circuit:
    """Unconnected E neurons (the outputs) driven only by their own i_bias: ignores every input."""
    from evo_circuits.circuit import default_params
    from evo_circuits.model import PARAM_INDEX

    n = len(biases)
    params = default_params(np.ones(n, np.int8))
    params[:, PARAM_INDEX["i_bias"]] = biases
    return ec.Circuit(types=[1] * n, n_inputs=n_inputs, weights=np.zeros((n_inputs + n, n)), params=params,
                      outputs=list(range(n)))


def test_xor_trials_and_monotone_gates_at_chance():
    task = get_task("xor")()
    batch = task.make_batch(64, np.random.default_rng(0), 0.1)
    counts = np.zeros((64, 2), int)
    np.add.at(counts, (batch.inputs.trial, batch.inputs.channel), 1)
    on = batch.info["on"]
    assert np.array_equal(counts, on * task.p.burst_spikes)  # on: one burst; off: silent
    assert np.array_equal(np.bincount(batch.info["pattern"]), [16, 16, 16, 16])
    assert np.array_equal(batch.labels, on.sum(axis=1) == 1)
    # OR gate, a relay of input 0 only, silent and tonic outputs: the min of the two
    # balanced accuracies keeps every monotone or input-blind response at or below 0.5.
    or_gate = ec.Circuit(types=[1], n_inputs=2, weights=[[300.0], [300.0], [0.0]], outputs=[0])
    relay0 = ec.Circuit(types=[1], n_inputs=2, weights=[[300.0], [0.0], [0.0]], outputs=[0])
    pop = [or_gate, relay0, _input_blind(2, [0.0]), _input_blind(2, [30.0])]
    np.testing.assert_allclose(task.evaluate(pop, seed=0).score, [0.5, 0.25, 0.5, 0.5])
    ref = ec.load(FITNESS / "reference" / "xor.json")
    assert get_task("xor")(encoding="poisson").evaluate(ref, seed=0).score[0] > 0.5
    with pytest.raises(TaskError, match="task.trials"):
        get_task("xor")(trials=3)


def test_gating_needs_both_routing_and_the_signal():
    task = get_task("gating")()
    batch = task.make_batch(64, np.random.default_rng(0), 0.1)
    sig, ctl = batch.info["signal_on"], batch.info["control_on"]
    assert np.array_equal(np.bincount(batch.labels + 1), [32, 16, 16])
    assert np.array_equal(batch.labels, np.where(sig, ctl.astype(int), -1))
    inp = batch.inputs
    s_trials, c_trials = inp.trial[inp.channel == 0], inp.trial[inp.channel == 1]
    assert sig[s_trials].all() and ctl[c_trials].all()  # trains only where on
    s_ms = inp.step[inp.channel == 0] * 0.1
    assert s_ms.min() >= task.p.signal_onset_ms and s_ms.max() < task.p.signal_onset_ms + task.p.signal_ms
    # A relay of the signal to A that ignores the control, and a switch that routes by the
    # control without needing the signal (A tonic, silenced by the control; B excited by
    # it), each get one part right: both score chance, as do input-blind circuits.
    relay = ec.Circuit(types=[1, 1], n_inputs=2, weights=[[300.0, 0], [0, 0], [0, 0], [0, 0]], outputs=[0, 1])
    switch = _input_blind(2, [30.0, 0.0, 0.0]).replace(
        types=[1, 1, -1], weights=[[0, 0, 0], [0, 300.0, 300.0], [0, 0, 0], [0, 0, 0], [3000.0, 0, 0]])
    pop = [relay, switch, _input_blind(2, [0.0, 0.0]), _input_blind(2, [30.0, 20.0])]
    res = task.evaluate(pop, seed=0)
    np.testing.assert_allclose(res.score, 0.5)
    assert res.extras["detection"][0] == 1.0 and res.extras["routing"][1] == 1.0
    ref = ec.load(FITNESS / "reference" / "gating.json")
    assert get_task("gating")(encoding="regular").evaluate(ref, seed=0).score[0] >= 0.9


def test_wta_input_blind_is_chance_and_competition_beats_relay():
    task = get_task("wta")()
    batch = task.make_batch(60, np.random.default_rng(0), 0.1)
    assert np.array_equal(np.bincount(batch.labels), [20, 20, 20])
    rates = batch.info["rates_hz"]
    np.testing.assert_allclose(rates.max(axis=1), task.p.ratio * rates.min(axis=1))
    assert np.array_equal(rates.argmax(axis=1), batch.labels)
    # Unequal, input-blind outputs split spikes the same way whatever the winner: exactly 1/k.
    blind = _input_blind(3, [30.0, 20.0, 0.0])
    assert task.evaluate(blind, seed=0).score[0] == pytest.approx(1 / 3)
    # One-to-one relays without competition fire the losers too; the reference silences them.
    relay = ec.Circuit(types=[1, 1, 1], n_inputs=3, weights=np.vstack([300.0 * np.eye(3), np.zeros((3, 3))]),
                       outputs=[0, 1, 2])
    ref = ec.load(FITNESS / "reference" / "wta.json")
    s_relay, s_ref = task.evaluate([relay, ref], seed=0).score
    assert 1 / 3 + 0.1 < s_relay < s_ref - 0.2, (s_relay, s_ref)
    assert get_task("wta")(k=4).chance_level() == 0.25
    with pytest.raises(TaskError, match="task.low_max_hz"):
        get_task("wta")(low_min_hz=50.0, low_max_hz=40.0)


def test_memory_targets_follow_the_last_cue_and_ignoring_circuits_score_chance():
    from evo_circuits.circuit import default_params
    from evo_circuits.model import PARAM_INDEX

    task = get_task("memory")()
    batch = task.make_batch(64, np.random.default_rng(3), 0.1)
    kinds, target, scored = batch.info["kind"], batch.info["target"], batch.info["scored"]
    assert (kinds == "on-off").sum() == 32 and (kinds == "none").sum() == 8  # fixed proportions
    on, off = batch.labels[:, 0], batch.labels[:, 1]
    start = np.arange(target.shape[1]) * task.p.bin_ms
    for t in range(64):
        last_on = np.where(np.isnan(on[t]), np.inf, on[t])
        last_off = np.where(np.isnan(off[t]), -np.inf, off[t])
        # Scored bins are active exactly when the on cue came and no later off cue has yet.
        expect = (start >= last_on) & ((last_off < last_on) | (start < last_off))
        np.testing.assert_array_equal(target[t, scored[t]], expect[scored[t]])
    types = [1]
    silent = ec.Circuit(types=types, n_inputs=2, weights=np.zeros((3, 1)), outputs=[0])
    params = default_params(np.array(types))
    params[0, PARAM_INDEX["i_bias"]] = 100.0  # fires every ~5 ms, whatever the cues
    tonic = silent.replace(params=params)
    res = task.evaluate([silent, tonic], seed=0)
    np.testing.assert_array_equal(res.score, [0.5, 0.5])


def test_memory_needs_more_than_a_timer():
    """A neuron kicked by the on cue through the slowest synapse mutation allows (tau_e 30 ms)
    and a huge weight keeps firing for a while: a timer, not a memory. With or without an
    inhibitory cell that cuts it short at the off cue it stays well below 0.9 on the shipped
    spec (holds of 100-400 ms), while it reached 0.9 with the earlier 40-100 ms holds."""
    from evo_circuits.circuit import default_params
    from evo_circuits.evolve.operators import EVOLVABLE_PARAMS
    from evo_circuits.model import PARAM_INDEX

    spec = load_fitness(FITNESS / "memory.toml")
    short_holds = get_task("memory")(hold_min_ms=40.0, hold_max_ms=100.0, duration_ms=200.0)
    for veto in (False, True):
        types = np.array([1, -1] if veto else [1], np.int8)
        w = np.zeros((2 + len(types), len(types)))
        w[0, 0] = 3000.0  # on cue -> output
        if veto:
            w[1, 1], w[3, 0] = 500.0, 3000.0  # off cue -> I cell -| output
        params = default_params(types)
        params[:, PARAM_INDEX["tau_e"]] = EVOLVABLE_PARAMS["tau_e"][1]
        params[:, PARAM_INDEX["tau_i"]] = EVOLVABLE_PARAMS["tau_i"][1]
        params[0, PARAM_INDEX["i_bias"]] = 14.9  # just below threshold: the longest firing tail
        timer = ec.Circuit(types=types, n_inputs=2, weights=w, outputs=[0], params=params)
        assert spec.evaluate(timer, seed=0, n_trials=64).score[0] < 0.85, veto
        assert short_holds.evaluate(timer, seed=0, n_trials=64).score[0] > 0.82, veto  # it nearly passed before


def test_oscillator_rewards_antiphase_rhythm_only():
    task = get_task("oscillator")()
    rng = np.random.default_rng(0)
    n_bins = 350  # 1 ms bins of the scored window
    poisson = rng.poisson(0.1, (200, 2, n_bins))  # independent 100 Hz ports
    assert task.score_counts(poisson, 1.0)[0].mean() < 0.02
    t = np.arange(n_bins)
    phase = (t * task.p.target_hz / 1000.0) % 1.0
    a = (phase < 0.4).astype(float)
    b = (((phase + 0.5) % 1.0) < 0.4).astype(float)
    score = task.score_counts(np.stack([np.stack([a, b]), np.stack([a, a]), np.stack([a, 0 * a])]), 1.0)[0]
    np.testing.assert_allclose(score, [1.0, 0.0, 0.0])  # anti-phase, in phase, one port silent
    off_band = (((t * 2 * task.p.target_hz / 1000.0) % 1.0) < 0.5).astype(float)
    assert task.score_counts(np.stack([off_band, 1 - off_band])[None], 1.0)[0][0] < 0.1
    ref = ec.load(FITNESS / "reference" / "oscillator.json")
    in_phase = ref.replace(outputs=[0, 2])  # port 1 reads E0's own I cell, which follows it
    s_ref, s_same = task.evaluate([ref, in_phase], seed=1).score
    assert s_ref >= 0.9 and s_same == 0.0


def test_oscillator_shaping_is_a_staircase_from_silence_to_antiphase():
    task = get_task("oscillator")(shaping=0.3)
    n_bins = 350
    t = np.arange(n_bins)
    phase = (t * task.p.target_hz / 1000.0) % 1.0

    def burst(shift):
        return (((phase + shift) % 1.0) < 0.4).astype(float)

    rng = np.random.default_rng(1)
    poisson = rng.poisson(0.05, (2, n_bins)).astype(float)  # active, no rhythm
    cases = [np.zeros((2, n_bins)), poisson, np.stack([burst(0), burst(0)]), np.stack([burst(0), burst(0.25)]),
             np.stack([burst(0), burst(0.5)])]
    score = task.score_counts(np.stack(cases), 1.0)[0]
    assert score[0] == 0.0 and score[-1] == pytest.approx(1.0)
    assert np.all(np.diff(score) > 0), score  # silence < firing < rhythm in phase < drifting apart < anti-phase
    assert score[:-1].max() < 0.9  # only anti-phase rhythm passes 0.9
    assert task.chance_level() == pytest.approx(0.1)
    # Without shaping the score is the anti-phase score alone (the default).
    plain = get_task("oscillator")().score_counts(np.stack(cases), 1.0)[0]
    np.testing.assert_allclose(plain[:3], 0.0)
