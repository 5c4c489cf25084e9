"""Training storage proportional to synapses: the synapse list of TrainableNetwork, masks
given as scipy.sparse matrices, the size rules of large networks (sparse kernels, growth
limited to the mask), and the optimiser's state per synapse."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from evo_circuits.train import BPTT, Readout, SpikeTrainDataset, TrainableNetwork, TrainConfig, TrainError, train
from evo_circuits.train import network as network_module

from test_train_gradients import input_spikes, small_circuit


def test_synapse_list_is_the_structure():
    c = small_circuit(5)
    net = TrainableNetwork.from_circuit(c)
    present = c.weights > 0
    assert net.n_synapses == present.sum()
    np.testing.assert_array_equal(net.weights, c.weights)
    np.testing.assert_array_equal(net.mask, present)
    np.testing.assert_array_equal(net.delay, np.where(present, c.delays, 0))
    order = net.pre * c.n_neurons + net.post
    assert (np.diff(order) > 0).all()  # sorted by source row, then target
    with pytest.raises(ValueError):
        net.weights[0, 0] = 1.0  # the dense view is read-only: assign a matrix instead
    w = c.weights * 2
    net.weights = w
    np.testing.assert_array_equal(net.w, w[net.pre, net.post])
    with pytest.raises(TrainError, match="weights: expected shape"):
        net.weights = w[:1]


def test_scipy_sparse_masks_equal_dense_ones():
    c = small_circuit(6)
    rng = np.random.default_rng(0)
    mask = (c.weights > 0) | (rng.random(c.weights.shape) < 0.2)
    trainable = mask & (rng.random(c.weights.shape) < 0.7)
    delays = np.where(mask, rng.integers(0, 4, mask.shape), 0)
    a = TrainableNetwork.from_circuit(c, mask, trainable, delays=delays)
    b = TrainableNetwork.from_circuit(c, sp.csr_matrix(mask), sp.coo_matrix(trainable), delays=sp.csr_matrix(delays))
    for k in ("pre", "post", "w", "delays", "in_mask", "free"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    present = c.weights > 0
    np.testing.assert_array_equal(a.delay[present], c.delays[present])  # the circuit's delays win
    grow = mask & ~present
    np.testing.assert_array_equal(a.delay[grow], delays[grow])
    with pytest.raises(TrainError, match="mask: expected a matrix of shape"):
        TrainableNetwork.from_circuit(c, sp.csr_matrix(mask[1:]))
    with pytest.raises(TrainError, match="exists in the circuit but not in the mask"):
        TrainableNetwork.from_circuit(c, sp.csr_matrix(np.zeros(mask.shape, bool)))
    with pytest.raises(TrainError, match="delays: expected integers"):
        TrainableNetwork.from_circuit(c, mask, delays=np.where(mask, -1, 0))


def test_large_networks_use_the_list_and_grow_only_inside_the_mask(monkeypatch):
    c = small_circuit(7, n=12)
    mask = c.weights > 0
    mask[c.n_inputs:, :3] = True  # growth entries
    monkeypatch.setattr(network_module, "LARGE_NETWORK_ENTRIES", 10)  # this circuit counts as large
    monkeypatch.setattr(network_module, "SPARSE_MAX_DENSITY", 1.0)  # ... and sparse
    net = TrainableNetwork.from_circuit(c, mask, grow=True)
    assert net.sparse and len(net.fast_idx) == 0
    np.testing.assert_array_equal(net.structure, mask)  # only the mask may grow
    assert net.free.all()
    monkeypatch.undo()
    small = TrainableNetwork.from_circuit(c, mask, grow=True)
    assert not small.sparse and small.structure.all()  # every entry may grow


def test_training_a_sparse_network_equals_the_dense_path():
    """The same training run through dense rows and through the synapse list (float64):
    identical spikes every batch, so the same trained weights up to rounding."""
    c = small_circuit(8, n=10, t_ref=0.3)
    x = input_spikes(9, b=24, t=60)
    data = SpikeTrainDataset(x, (x[:, :, 0].sum(1) > x[:, :, 1].sum(1)).astype(int), 2)
    cfg = TrainConfig(epochs=2, batch_size=8, lr=0.05, readout="membrane", gain=0.3)
    runs = [train(TrainableNetwork.from_circuit(c, sparse=s), data, data, cfg) for s in (False, True)]
    np.testing.assert_allclose(runs[1].network.w, runs[0].network.w, rtol=1e-9, atol=1e-12)
    assert runs[0].history[-1]["test_acc"] == runs[1].history[-1]["test_acc"]
    bp = BPTT(runs[1].network, Readout("membrane", gain=0.3))
    assert bp.loss_and_grad(x[:8], data.labels[:8]).synapses.shape == (runs[1].network.n_synapses,)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_synapse_listed_equals_dense_rows(monkeypatch, dtype):
    """A sparse network with sparse inputs delivers every synapse from the list (inputs
    included): float64 potentials bit for bit those of the dense path (the simulator's,
    tests/test_train_simulate.py), gradients equal to rounding."""
    c = small_circuit(11, n=10, t_ref=0.3)
    x, y = input_spikes(12, b=6, t=80), np.array([0, 1] * 3)
    dense = TrainableNetwork.from_circuit(c, train_bias=True)
    monkeypatch.setattr(network_module, "DENSE_INPUT_DENSITY", 2.0)  # no input block is dense enough
    listed = TrainableNetwork.from_circuit(c, train_bias=True, sparse=True)
    assert len(listed.fast_idx) == 0 and listed.n_fast_rows == 0 and len(dense.fast_idx) > 0
    ro = Readout("membrane", gain=0.2)
    (pa, _), (pb, _) = (BPTT(n, ro, dtype=dtype).forward(x) for n in (dense, listed))
    if dtype == np.float64:
        np.testing.assert_array_equal(pa, pb)
    ga, gb = (BPTT(n, ro, dtype=dtype).loss_and_grad(x, y) for n in (dense, listed))
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(gb.weights, ga.weights, rtol=tol, atol=tol * np.abs(ga.weights).max())
    np.testing.assert_allclose(gb.bias, ga.bias, rtol=tol, atol=tol * np.abs(ga.bias).max())


def test_evaluation_of_large_networks_runs_in_smaller_batches(monkeypatch):
    """logits() caps the (sample, step, neuron) record of one forward pass: same logits."""
    from evo_circuits.train import bptt as bptt_module

    c = small_circuit(13, n=10)
    x = input_spikes(14, b=9, t=40)
    bp = BPTT(TrainableNetwork.from_circuit(c), Readout("membrane", gain=0.2))
    whole = bp.logits(x)
    monkeypatch.setattr(bptt_module, "TRACE_MAX_ENTRIES", 40 * 10 * 2)  # two samples per pass
    np.testing.assert_array_equal(bp.logits(x), whole)


def test_from_assembly_reads_the_entry_table():
    """TrainableNetwork.from_assembly (entries, no dense matrix) = from_circuit with the
    assembly's dense mask, trainable set and delays; index pairs are checked."""
    from evo_circuits.assemble import assemble

    asm = assemble({"name": "g", "dt_ms": 1.0, "seed": 0, "inputs": 4, "readout": "out",
                    "modules": {"hid": {"neurons": 8, "type": "E"}, "out": {"neurons": 2}},
                    "connections": [
                        {"from": "inputs", "to": "hid", "pattern": "all-to-all", "p": 0.4, "weight": 6.0,
                         "delay_ms": 2.0, "grow": True},
                        {"from": "hid", "to": "out", "pattern": "all-to-all", "weight": 4.0, "trainable": False}]})
    a = TrainableNetwork.from_assembly(asm)
    b = TrainableNetwork.from_circuit(asm.circuit, asm.mask, asm.trainable, delays=asm.delays)
    assert a.n_synapses == asm.mask.sum() and not a.free.all() and (a.delay[asm.growable] == 2).all()
    for k in ("pre", "post", "w", "delays", "in_mask", "free"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    with pytest.raises(TrainError, match="mask: entries outside the shape"):
        TrainableNetwork.from_circuit(asm.circuit, (np.array([0]), np.array([99])))
    with pytest.raises(TrainError, match="mask: expected 2 arrays"):
        TrainableNetwork.from_circuit(asm.circuit, (np.array([0]),))
