"""Spike-for-spike agreement with Brian2 2.9 on random E/I circuits (same equations, schedule).

Brian2 runs in its own virtualenv (``make brian2``); all circuits of a group go through
one merged Brian2 network, so the whole comparison costs a few Brian2 runs.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from evo_circuits import Circuit, InputSpikes, random_circuit, simulate
from evo_circuits.brian2_bridge import brian2_python, run_brian2
from evo_circuits.model import PARAM_INDEX
from evo_circuits.simulate.pack import LARGE_CIRCUIT_NEURONS

pytestmark = pytest.mark.slow

if brian2_python() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs the Brian2 venv: `make test` creates it with `make brian2`")
    pytest.skip("Brian2 venv missing: run `make brian2`", allow_module_level=True)

N_STEPS = 3000          # 300 ms
N_TRIALS = 2
RATES_HZ = [150.0, 250.0, 100.0]


def agreement_circuit(k: int, synapse_model: str = "current", depression: bool = False) -> Circuit:
    """A random E/I circuit with randomised neuron parameters and delays 0..30 steps."""
    rng = np.random.default_rng(1000 + k)
    n = int(rng.integers(8, 41))
    n_inh = max(1, int(round(0.2 * n)))
    if synapse_model == "current":
        w = dict(w_exc=(5.0, 25.0), w_inh=(10.0, 40.0), w_input=(8.0, 30.0))
    else:  # conductances relative to the leak
        w = dict(w_exc=(0.05, 0.3), w_inh=(0.2, 1.0), w_input=(0.2, 0.6))
    c = random_circuit(n - n_inh, n_inh, len(RATES_HZ), p_conn=0.2, p_input=0.5, max_delay_steps=30,
                       synapse_model=synapse_model, seed=rng, name=f"agree-{k}", **w)
    p = c.params.copy()
    p[:, PARAM_INDEX["tau_m"]] = rng.uniform(10, 30, n)
    p[:, PARAM_INDEX["tau_e"]] = rng.uniform(2, 8, n)
    p[:, PARAM_INDEX["tau_i"]] = rng.uniform(5, 15, n)
    p[:, PARAM_INDEX["v_th"]] = rng.uniform(-55, -48, n)
    p[:, PARAM_INDEX["v_reset"]] = rng.uniform(-70, -60, n)
    p[:, PARAM_INDEX["t_ref"]] = rng.integers(0, 51, n) * 0.1
    p[:, PARAM_INDEX["i_bias"]] = rng.uniform(0, 5, n)
    changes = dict(params=p)
    if depression:
        u = np.where((rng.random(c.weights.shape) < 0.5) & (c.weights > 0), rng.uniform(0.1, 0.8, c.weights.shape), 0.0)
        changes.update(std_u=u, std_tau_rec=np.where(u > 0, rng.uniform(20, 300, c.weights.shape), 0.0))
    return c.replace(**changes)


@pytest.fixture(scope="module")
def inputs() -> InputSpikes:
    return InputSpikes.bernoulli(RATES_HZ, N_TRIALS, N_STEPS, seed=7)


def ours(circuits, inputs) -> dict:
    return simulate(circuits, inputs, record_spikes=True).spikes


def spike_lists(sp: dict) -> dict:
    """(individual, trial, neuron) -> sorted spike steps."""
    out: dict = {}
    for key in zip(sp["individual"], sp["trial"], sp["neuron"], sp["step"]):
        out.setdefault(key[:3], []).append(key[3])
    return out


def assert_every_spike_equal(circuits, inputs) -> None:
    """Our spikes equal Brian2's, every one at the same step, on active circuits."""
    mine = ours(circuits, inputs)
    ref = run_brian2(circuits, inputs).spikes
    n_spikes = len(ref["step"])
    rates = n_spikes / (sum(c.n_neurons for c in circuits) * N_TRIALS * N_STEPS * 1e-4)
    assert 2.0 < rates < 200.0, f"test circuits should be active but not saturated, mean rate {rates:.1f} Hz"
    for k in ("individual", "trial", "neuron", "step"):
        assert len(mine[k]) == n_spikes, (len(mine[k]), n_spikes)
        np.testing.assert_array_equal(mine[k], ref[k], err_msg=k)


@pytest.mark.parametrize("depression", [False, True], ids=["plain", "depression"])
def test_current_mode_every_spike_at_the_same_step(inputs, depression):
    n_circ = 60 if not depression else 20
    circuits = [agreement_circuit(k + (500 if depression else 0), depression=depression) for k in range(n_circ)]
    assert_every_spike_equal(circuits, inputs)


@pytest.mark.parametrize("depression", [False, True], ids=["plain", "depression"])
def test_large_circuits_delivering_on_arrival_every_spike_at_the_same_step(inputs, depression):
    # Circuits above LARGE_CIRCUIT_NEURONS deliver their plain rows from delay-sorted
    # copies at arrival (depressing rows still through the ring): the same spikes.
    circuits = []
    for k in range(2):
        rng = np.random.default_rng(2000 + k + (10 if depression else 0))
        c = random_circuit(280 + 40 * k, 70, len(RATES_HZ), p_conn=0.03, p_input=0.3, max_delay_steps=30,
                           w_exc=(5.0, 20.0), w_inh=(10.0, 40.0), w_input=(8.0, 30.0), seed=rng, name=f"large-{k}")
        params = c.params.copy()
        params[:, PARAM_INDEX["i_bias"]] = rng.uniform(0, 5, c.n_neurons)
        c = c.replace(params=params)
        if depression:
            u = np.where((rng.random(c.weights.shape) < 0.5) & (c.weights > 0), rng.uniform(0.1, 0.8, c.weights.shape), 0.0)
            c = c.replace(std_u=u, std_tau_rec=np.where(u > 0, rng.uniform(20, 300, c.weights.shape), 0.0))
        circuits.append(c)
    assert min(c.n_neurons for c in circuits) > LARGE_CIRCUIT_NEURONS
    assert_every_spike_equal(circuits, inputs)


def test_conductance_mode_999_per_mille_within_one_step(inputs):
    circuits = [agreement_circuit(k, "conductance") for k in range(50)]
    mine = spike_lists(ours(circuits, inputs))
    ref = spike_lists(run_brian2(circuits, inputs).spikes)
    total = sum(len(v) for v in ref.values())
    assert total > 5000
    matched = 0
    for key, steps in ref.items():
        other = list(mine.get(key, []))
        j = 0
        for s in steps:  # greedy in-order matching within one step
            while j < len(other) and other[j] < s - 1:
                j += 1
            if j < len(other) and abs(other[j] - s) <= 1:
                matched += 1
                j += 1
    extra = sum(len(v) for v in mine.values()) - matched
    assert matched / total >= 0.999, f"{matched}/{total} matched"
    assert extra / total <= 0.001, f"{extra} spikes only in evo-circuits"
