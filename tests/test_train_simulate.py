"""The trained network is an ordinary Circuit: the simulator reproduces the training forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from evo_circuits import InputSpikes, load, save, simulate
from evo_circuits.train import (BPTT, SpikeTrainDataset, TrainableNetwork, TrainConfig, TrainError,
                                feedforward_circuit, train)

from test_train_gradients import input_spikes, small_circuit


def simulate_spikes(circuit, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spikes (B, T, n) and start-of-step v (B, n, T) from the ordinary simulator."""
    b, t, c = np.nonzero(x)
    inputs = InputSpikes(trial=b, channel=c, step=t, n_trials=x.shape[0], n_steps=x.shape[1])
    res = simulate(circuit, inputs, record_spikes=True, record_v=True)
    out = np.zeros((x.shape[0], x.shape[1], circuit.n_neurons), np.uint8)
    sp = res.spikes
    out[sp["trial"], sp["step"], sp["neuron"]] = 1
    return out, res.v[0]


@pytest.mark.parametrize("sparse", [False, True])  # dense rows, or every synapse from the list
def test_forward_pass_is_the_simulator(sparse):
    for seed in range(4):
        c = small_circuit(30 + seed, n=12, t_ref=0.4)
        x = input_spikes(40 + seed, b=6, t=150)
        bp = BPTT(TrainableNetwork.from_circuit(c, sparse=sparse))
        p, m = bp.forward(x)
        spikes = bp.spikes_of(p, m)
        sim, v = simulate_spikes(c, x)
        assert spikes.sum() > 50
        np.testing.assert_array_equal(spikes, sim)
        # Bit-identical membrane potential: v at the start of step t+1 is p_t, or v_reset after a spike.
        v_next = np.where(spikes[:, :-1], c.param("v_reset"), p[:, :-1])
        np.testing.assert_array_equal(v_next, np.transpose(v[:, :, 1:], (0, 2, 1)))


def test_trained_circuit_simulates_identically():
    c = small_circuit(50, n=10, t_ref=0.3, n_out=2)
    rng = np.random.default_rng(0)
    x = (rng.random((48, 120, 3)) < 0.12).astype(np.uint8)
    y = (x[:, :, 0].sum(1) > x[:, :, 1].sum(1)).astype(int)
    data = SpikeTrainDataset(x, y, 2)
    res = train(c, data, data, TrainConfig(epochs=3, batch_size=16, lr=0.05, train_bias=True, seed=1))
    trained = res.circuit
    assert not np.array_equal(trained.weights, c.weights)
    assert ((trained.weights > 0) <= (c.weights > 0)).all()  # no synapse appeared
    assert (np.sign(trained.signed_weights) * np.sign(c.signed_weights) >= 0).all()  # Dale's law
    bp = BPTT(TrainableNetwork.from_circuit(trained))
    p, m = bp.forward(x)
    sim, _ = simulate_spikes(trained, x)
    np.testing.assert_array_equal(bp.spikes_of(p, m), sim)
    # And the evaluation the trainer reported is the simulator's.
    counts = sim[:, :, trained.outputs].sum(axis=1)
    acc = np.mean(counts.argmax(axis=1) == y)
    assert acc == pytest.approx(res.test_accuracy)


def test_trained_json_roundtrip(tmp_path):
    c, mask = feedforward_circuit(4, 6, 2, seed=0)
    x = (np.random.default_rng(1).random((20, 32, 4)) < 0.3).astype(np.uint8)
    data = SpikeTrainDataset(x, np.arange(20) % 2, 2)
    res = train(c, data, None, TrainConfig(epochs=1, batch_size=10), mask=mask)
    save(res.circuit, tmp_path / "t.json")
    back = load(tmp_path / "t.json")
    assert back == res.circuit
    assert res.circuit.metadata["training"]["epochs"] == 1


def test_float32_forward_close_to_simulator():
    c = small_circuit(60, n=12, t_ref=0.3)
    x = input_spikes(61, b=4, t=120)
    bp = BPTT(TrainableNetwork.from_circuit(c), dtype=np.float32)
    p, m = bp.forward(x)
    sim, _ = simulate_spikes(c, x)
    # float32 may move a spike whose potential is within rounding of threshold; nearly all agree.
    assert np.mean(bp.spikes_of(p, m) == sim) > 0.99


def test_unsupported_circuits_are_rejected():
    c = small_circuit(70)
    r, k = np.argwhere(c.weights > 0)[0]
    pr = c.p_release.copy()
    pr[r, k] = 0.5
    with pytest.raises(TrainError, match="release probability"):
        TrainableNetwork.from_circuit(c.replace(p_release=pr))
    u, tr = c.std_u.copy(), c.std_tau_rec.copy()
    u[r, k], tr[r, k] = 0.5, 100.0
    with pytest.raises(TrainError, match="depression"):
        TrainableNetwork.from_circuit(c.replace(std_u=u, std_tau_rec=tr))
    with pytest.raises(TrainError, match="current-based"):
        TrainableNetwork.from_circuit(c.replace(synapse_model="conductance"))
    with pytest.raises(TrainError, match="not in the mask"):
        TrainableNetwork.from_circuit(c, mask=np.zeros(c.weights.shape, bool))
    with pytest.raises(TrainError, match="grow=True"):
        TrainableNetwork.from_circuit(c, trainable=np.ones(c.weights.shape, bool))


def test_growth_only_when_allowed():
    c, mask = feedforward_circuit(4, 6, 2, seed=0)
    x = (np.random.default_rng(2).random((32, 32, 4)) < 0.3).astype(np.uint8)
    data = SpikeTrainDataset(x, np.arange(32) % 2, 2)
    cfg = TrainConfig(epochs=2, batch_size=8, lr=0.05)
    fixed = train(c, data, None, cfg, mask=mask)
    assert not (fixed.circuit.weights > 0)[~mask].any()
    grown = train(c, data, None, TrainConfig(epochs=2, batch_size=8, lr=0.05, grow=True), mask=mask)
    assert (grown.circuit.weights > 0)[~mask].any()
    assert (grown.circuit.delays[~mask] == 0).all()
    # and the grown network is still reproduced by the simulator
    bp = BPTT(TrainableNetwork.from_circuit(grown.circuit))
    p, m = bp.forward(x)
    np.testing.assert_array_equal(bp.spikes_of(p, m), simulate_spikes(grown.circuit, x)[0])


def _growth_assembly(seed: int = 0):
    """A small assembly whose input connections may grow, with a 2-step delay."""
    from evo_circuits.assemble import assemble

    return assemble({"name": "g", "dt_ms": 1.0, "seed": seed, "inputs": 4, "readout": "out",
                     "modules": {"hid": {"neurons": 8, "type": "E"}, "out": {"neurons": 2}},
                     "connections": [
                         {"from": "inputs", "to": "hid", "pattern": "all-to-all", "p": 0.4, "weight": 6.0,
                          "delay_ms": 2.0, "grow": True},
                         {"from": "hid", "to": "out", "pattern": "all-to-all", "weight": 4.0}]})


@pytest.mark.parametrize("sparse", [False, True])
def test_grown_synapses_keep_the_assembly_delay(sparse):
    """Growth entries of an assembly carry their connection's delay (Assembly.delays):
    training uses it, and the trained circuit's grown synapses have it."""
    asm = _growth_assembly()
    assert asm.growable.any() and (asm.delays[asm.growable] == 2).all()
    net = TrainableNetwork.from_circuit(asm.circuit, asm.mask, asm.trainable, delays=asm.delays, sparse=sparse)
    assert (net.delay[asm.growable] == 2).all()
    x = (np.random.default_rng(3).random((32, 24, 4)) < 0.3).astype(np.uint8)
    data = SpikeTrainDataset(x, (x[:, :, 0].sum(1) > x[:, :, 1].sum(1)).astype(int), 2)
    res = train(net, data, None, TrainConfig(epochs=3, batch_size=8, lr=0.1))
    grown = (res.circuit.weights > 0) & asm.growable
    assert grown.any() and (res.circuit.delays[grown] == 2).all()
    bp = BPTT(TrainableNetwork.from_circuit(res.circuit))
    np.testing.assert_array_equal(bp.spikes_of(*bp.forward(x)), simulate_spikes(res.circuit, x)[0])


def test_compare_grows_the_assembled_and_frozen_arms_with_the_assembly_delay():
    """compare(): the assembled and frozen arms train the assembly's own mask, so their
    grown synapses take the assembly's delay (a factory's fifth element), not 0."""
    from evo_circuits.train import compare

    x = (np.random.default_rng(3).random((32, 24, 4)) < 0.3).astype(np.uint8)
    data = SpikeTrainDataset(x, (x[:, :, 0].sum(1) > x[:, :, 1].sum(1)).astype(int), 2)

    def network(seed):
        a = _growth_assembly(seed)
        return a.circuit, a.mask, a.trainable, a.motif_synapses, a.delays

    res = compare(network, data, data, TrainConfig(epochs=3, batch_size=8, lr=0.1), seeds=1, controls="frozen")
    growable = _growth_assembly(0).growable
    for arm in ("assembled", "frozen"):
        trained = res.networks[arm][0]
        grown = (trained.weights > 0) & growable
        assert grown.any() and (trained.delays[grown] == 2).all(), arm
