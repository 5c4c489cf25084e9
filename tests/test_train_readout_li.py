"""Leaky-integrator (non-spiking) readout, epoch callbacks, and compare's trained networks."""

from __future__ import annotations

import numpy as np
import pytest

import evo_circuits as ec
from evo_circuits.train import BPTT, Readout, TrainableNetwork, TrainConfig, compare, feedforward_circuit, train
from evo_circuits.train.readout import LI_THRESHOLD_MV, li_outputs
from evo_circuits.train.trainer import LI_UNIT_MV, weight_unit
from test_train_gradients import input_spikes, small_circuit
from test_train_loop import toy_data


@pytest.mark.parametrize("reduce", ["mean", "max"])
def test_li_readout_trains_and_its_outputs_never_spike(reduce):
    c, mask = feedforward_circuit(8, 16, 2, seed=1)
    data = toy_data()
    cfg = TrainConfig(epochs=6, batch_size=16, lr=0.02, seed=3, readout="li", gain=2.0, reduce=reduce,
                      readout_tau_ms=8.0)
    res = train(c, data, data, cfg, mask=mask)
    assert res.test_accuracy >= 0.85
    out = res.circuit.outputs
    assert (res.circuit.param("v_th")[out] == LI_THRESHOLD_MV).all()
    assert (res.circuit.param("tau_m")[out] == 8.0).all()
    # the saved circuit runs in the simulator as trained: outputs integrate, never fire
    x = data.spikes[:8]
    b, t, ch = np.nonzero(x)
    sim = ec.simulate(res.circuit, ec.InputSpikes(b, ch, t, n_trials=8, n_steps=x.shape[1]))
    assert sim.counts[0][:, out].sum() == 0 and sim.counts[0].sum() > 0


def test_li_learning_rate_does_not_depend_on_the_stand_in_threshold():
    c, mask = feedforward_circuit(8, 16, 2, seed=1)
    net = TrainableNetwork.from_circuit(li_outputs(c), mask)
    unit = weight_unit(net)  # whatever readout trains it later (e.g. retraining a saved li circuit)
    assert (unit[net.outputs] == LI_UNIT_MV).all() and LI_UNIT_MV == 15.0
    hidden = np.setdiff1d(np.arange(net.n_neurons), net.outputs)
    np.testing.assert_array_equal(unit[hidden], weight_unit(TrainableNetwork.from_circuit(c, mask))[hidden])
    # a prepared network whose outputs still spike is refused with the li readout
    from evo_circuits.train import TrainError

    with pytest.raises(TrainError, match="can still spike"):
        train(TrainableNetwork.from_circuit(c, mask), toy_data(16), None, TrainConfig(epochs=1, readout="li"))


def test_li_max_gradient_matches_finite_differences():
    c = li_outputs(small_circuit(3))
    net = TrainableNetwork.from_circuit(c)
    ro = Readout("li", gain=0.3, reduce="max", window=(5, 55))
    bp = BPTT(net, ro, slope=1e12)  # surrogate vanishes: spikes of the hidden neurons held
    x, y = input_spikes(4), np.array([0, 1, 1, 0])
    g = bp.loss_and_grad(x, y)
    spikes0 = bp.spikes_of(*bp.forward(x))
    assert spikes0[:, :, net.outputs].sum() == 0 and np.abs(g.weights).max() > 0
    w0 = net.weights.copy()
    eps = 1e-6
    entries = np.argwhere(net.trainable & (np.arange(w0.shape[1]) >= c.n_neurons - 2)[None, :])
    for r, k in entries[:10]:
        vals = []
        for sign in (1, -1):
            w = w0.copy()
            w[r, k] += sign * eps
            net.weights = w
            assert np.array_equal(bp.spikes_of(*bp.forward(x)), spikes0)
            vals.append(bp.loss_and_grad(x, y).loss)
        assert (vals[0] - vals[1]) / (2 * eps) == pytest.approx(g.weights[r, k], rel=1e-5, abs=1e-9), (r, k)
    net.weights = w0


def test_readout_settings_are_validated():
    from evo_circuits.train import TrainError

    with pytest.raises(TrainError, match="only the 'li' readout"):
        Readout("membrane", reduce="max")
    with pytest.raises(TrainError, match="tau_ms"):
        Readout("li", tau_ms=-1.0)


def test_epoch_callback_sees_the_network_and_adds_metrics(tmp_path):
    c, mask = feedforward_circuit(8, 16, 2, seed=1)
    data = toy_data()
    seen = []

    def rates(report):
        seen.append((report.epoch, report.network.weights.copy()))
        assert report.outputs.spikes.shape == (16, data.n_steps, c.n_neurons)
        assert report.outputs.logits.shape == (16, 2)
        return {"hidden_rate_hz": float(report.outputs.rates_hz()[:16].mean()),
                "n_synapses": int((report.network.to_circuit().weights > 0).sum())}

    res = train(c, data, data, TrainConfig(epochs=3, batch_size=16, lr=0.02, seed=3), mask=mask, callback=rates)
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    assert not np.array_equal(seen[0][1], seen[-1][1])  # it saw the network change
    assert all("hidden_rate_hz" in row and row["hidden_rate_hz"] >= 0 for row in res.history)


def test_compare_returns_the_trained_networks():
    c, mask = feedforward_circuit(8, 16, 2, seed=1)
    data = toy_data(48)
    res = compare(c, data, data, TrainConfig(epochs=1, batch_size=16, lr=0.02), seeds=2, mask=mask)
    assert set(res.networks) == {"assembled", "random"}
    assert all(len(v) == 2 and all(isinstance(n, ec.Circuit) for n in v) for v in res.networks.values())
    assert not np.array_equal(res.networks["assembled"][0].weights, c.weights)
