"""Simulator against closed-form solutions of the model in docs/model.md."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evo_circuits import Circuit, InputSpikes, simulate
from evo_circuits.circuit import default_params
from evo_circuits.model import PARAM_INDEX

DT = 0.1


def one_neuron(w_in: float = 0.0, n_inputs: int = 1, **params) -> Circuit:
    """One excitatory neuron driven by input channels with weight ``w_in``."""
    p = default_params(np.array([1]))
    for k, v in params.items():
        p[0, PARAM_INDEX[k]] = v
    return Circuit(types=[1], n_inputs=n_inputs, weights=np.full((n_inputs + 1, 1), w_in) * np.r_[np.ones(n_inputs), 0][:, None],
                   params=p, outputs=[0])


def spikes_at(steps, n_steps: int, channel: int = 0) -> InputSpikes:
    steps = np.asarray(steps)
    return InputSpikes(trial=np.zeros_like(steps), channel=np.full_like(steps, channel), step=steps,
                       n_trials=1, n_steps=n_steps)


def psp(t: np.ndarray, w: float, tau_s: float, tau_m: float) -> np.ndarray:
    """v - v_rest after a synaptic jump of w at t = 0 (current-based, exact solution)."""
    return w * tau_s / (tau_s - tau_m) * (np.exp(-t / tau_s) - np.exp(-t / tau_m))


@pytest.mark.parametrize("tau_m,tau_e", [(20.0, 5.0), (10.0, 2.0), (15.0, 15.0 * (1 + 1e-12))])
def test_epsp_shape_and_peak_match_closed_form(tau_m, tau_e):
    w, s0, n_steps = 10.0, 50, 1500
    c = one_neuron(w, tau_m=tau_m, tau_e=tau_e)
    res = simulate(c, spikes_at([s0], n_steps), record_v=True)
    v = res.v[0, 0, 0] - (-65.0)
    # Delivered after the threshold of step s0: v starts moving in the update of s0+1,
    # so v at the start of step s0+1+m is the solution at t = m*dt.
    m = np.arange(n_steps - s0 - 1)
    expected = psp(m * DT, w, tau_e, tau_m) if not math.isclose(tau_e, tau_m, rel_tol=1e-9) else \
        w * (m * DT) / tau_m * np.exp(-m * DT / tau_m)
    np.testing.assert_allclose(v[s0 + 1:], expected, rtol=1e-9, atol=1e-12)
    assert np.all(v[:s0 + 1] == 0.0)
    if not math.isclose(tau_e, tau_m, rel_tol=1e-6):
        t_peak = math.log(tau_m / tau_e) * tau_m * tau_e / (tau_m - tau_e)
        v_peak = psp(np.array([t_peak]), w, tau_e, tau_m)[0]
        k = int(np.argmax(v))
        assert abs((k - s0 - 1) * DT - t_peak) <= DT
        assert v_peak - 1e-3 * v_peak <= v[k] <= v_peak


def test_ipsp_is_negative_and_matches_closed_form():
    p = default_params(np.array([-1, 1]))
    p[0, PARAM_INDEX["tau_e"]] = 0.2  # a brief, huge input makes the I cell spike once
    w, s0, n_steps = 8.0, 10, 800
    c = Circuit(types=[-1, 1], n_inputs=1, weights=[[5000.0, 0.0], [0.0, w], [0.0, 0.0]], params=p, outputs=[1])
    res = simulate(c, spikes_at([s0], n_steps), record_spikes=True, record_v=True)
    (k,) = res.spikes["step"][res.spikes["neuron"] == 0]
    v = res.v[0, 0, 1] + 65.0
    m = np.arange(n_steps - k - 1)
    np.testing.assert_allclose(v[k + 1:], -psp(m * DT, w, 10.0, 20.0), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("bias,t_ref", [(20.0, 2.0), (16.0, 0.0), (40.0, 5.0), (25.0, 0.1)])
def test_first_spike_time_and_regular_firing_under_constant_bias(bias, t_ref):
    n_steps = 3000
    c = one_neuron(i_bias=bias, t_ref=t_ref, n_inputs=0)
    res = simulate(c, InputSpikes([], [], [], n_trials=1, n_steps=n_steps), record_spikes=True)
    steps = res.spikes["step"]
    # v(t) = v_rest + bias (1 - exp(-t/tau_m)) crosses v_th at t*; the update of step n
    # brings v to time (n+1) dt, so the first spike is stamped ceil(t*/dt) - 1.
    t_star = -20.0 * math.log(1 - 15.0 / bias)
    n1 = math.ceil(t_star / DT) - 1
    assert steps[0] == n1
    # After a spike at k, v is clamped through updates k+1..k+r-1 and integrates from
    # k+r, so every interval is max(r, 1) + n1 steps (r = round(t_ref/dt)).
    r = round(t_ref / DT)
    np.testing.assert_array_equal(np.diff(steps), max(r, 1) + n1)


def test_refractory_period_is_respected_under_strong_drive():
    from evo_circuits import random_circuit

    c = random_circuit(30, 10, 4, p_conn=0.3, w_exc=(20, 60), w_inh=(5, 10), w_input=80.0, max_delay_steps=5, seed=3)
    inp = InputSpikes.bernoulli([2000] * 4, 4, 2000, seed=1)
    res = simulate(c, inp, record_spikes=True)
    sp = res.spikes
    r = c.refractory_steps()
    assert len(sp["step"]) > 1000
    for t in range(4):
        for i in range(c.n_neurons):
            s = sp["step"][(sp["trial"] == t) & (sp["neuron"] == i)]
            if len(s) > 1:
                assert np.diff(s).min() >= max(r[i], 1)


def test_delay_shifts_delivery_by_whole_steps():
    n_steps, s0 = 400, 20
    traces = []
    for d in (0, 1, 7, 30):
        c = one_neuron(10.0)
        c = c.replace(delays=np.array([[d], [0]]))
        traces.append(simulate(c, spikes_at([s0], n_steps), record_v=True).v[0, 0, 0])
    for d, tr in zip((1, 7, 30), traces[1:]):
        np.testing.assert_array_equal(tr[d:], traces[0][:n_steps - d])


def test_release_fraction_matches_p_within_3_sigma():
    # Each transmitted event makes the neuron spike exactly once (huge, fast synapse,
    # long refractory period), so spikes / events estimates the release probability.
    p_rel, n_events, n_trials = 0.3, 200, 10
    c = one_neuron(5000.0, tau_e=0.2, t_ref=4.0)
    c = c.replace(p_release=np.array([[p_rel], [1.0]]))
    steps = np.arange(n_events) * 100 + 5
    inp = InputSpikes(trial=np.repeat(np.arange(n_trials), n_events), channel=np.zeros(n_events * n_trials, int),
                      step=np.tile(steps, n_trials), n_trials=n_trials, n_steps=n_events * 100 + 10)
    res = simulate([c] * 3, inp, seed=11)
    n = n_events * n_trials
    frac = res.counts[:, :, 0].sum(axis=1) / n
    sigma = math.sqrt(p_rel * (1 - p_rel) / n)
    assert np.all(np.abs(frac - p_rel) < 3 * sigma), (frac, sigma)
    # Streams are independent between individuals and trials.
    assert len({tuple(row) for row in res.counts[:, :, 0]}) == 3
    same = simulate([c] * 3, inp, seed=11)
    np.testing.assert_array_equal(same.counts, res.counts)
    other = simulate([c] * 3, inp, seed=12)
    assert not np.array_equal(other.counts, res.counts)


def test_short_term_depression_matches_recovery_formula():
    U, tau_rec, w = 0.4, 80.0, 10.0
    spike_steps = np.array([10, 60, 110, 160, 1000, 1050, 3000])
    n_steps = 4000
    c = one_neuron(w)
    c = c.replace(std_u=np.array([[U], [0.0]]), std_tau_rec=np.array([[tau_rec], [0.0]]))
    v = simulate(c, spikes_at(spike_steps, n_steps), record_v=True).v[0, 0, 0] + 65.0
    # Independent superposition: efficacy of each delivery from the Tsodyks–Markram rule.
    x, t_last, expected = 1.0, 0.0, np.zeros(n_steps)
    for s in spike_steps:
        x = 1 - (1 - x) * math.exp(-(s - t_last) * DT / tau_rec)
        eff = w * U * x
        x -= U * x
        t_last = s
        m = np.arange(n_steps - s - 1)
        expected[s + 1:] += psp(m * DT, eff, 5.0, 20.0)
    np.testing.assert_allclose(v, expected, rtol=1e-9, atol=1e-9)
    # Sanity: the second of a close pair is depressed, the late one recovered.
    assert v[70] - expected[70] == pytest.approx(0, abs=1e-9)
