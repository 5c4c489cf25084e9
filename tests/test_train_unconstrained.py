"""Training without Dale's law (the unconstrained control of docs/science.md, issue 14).

A network trained with ``dale=False`` keeps signed weights: the projection leaves signs
alone, the kernels take a negative weight as a reversed synapse (an E row's negative
weight lowers ``I_e``), and their gradient is still the exact one.
"""

from __future__ import annotations

import numpy as np
import pytest

from evo_circuits.train import BPTT, Readout, SpikeTrainDataset, TrainableNetwork, TrainConfig, compare, train
from evo_circuits.train.compare import parse_controls
from evo_circuits.train.network import TrainError

from test_science import small_spec
from test_train_gradients import input_spikes, small_circuit


def test_signed_weights_get_the_exact_gradient():
    c = small_circuit(1)
    net = TrainableNetwork.from_circuit(c, dale=False)
    rng = np.random.default_rng(7)
    flip = net.trainable & (rng.random(net.weights.shape) < 0.4)
    w = net.weights.copy()
    w[flip] *= -1.0                                   # reversed synapses: E rows inhibit, I rows excite
    net.weights = w
    assert net.sign_flips == int(flip.sum()) > 5
    bp = BPTT(net, Readout("membrane", gain=0.3, window=(10, 55)), slope=1e12)  # spikes held (see test_train_gradients)
    x, y = input_spikes(2), np.array([0, 1, 1, 0])
    g = bp.loss_and_grad(x, y)
    p, m = bp.forward(x)
    spikes0 = bp.spikes_of(p, m)
    assert spikes0.sum() > 20

    def loss_at(w):
        net.weights = w
        pp, mm = bp.forward(x)
        assert np.array_equal(bp.spikes_of(pp, mm), spikes0), "perturbation moved a spike; use a smaller eps"
        return bp.loss_and_grad(x, y).loss

    w0 = net.weights.copy()
    picks = np.argwhere(flip)[:6].tolist() + np.argwhere(net.trainable & ~flip)[:6].tolist()
    eps = 1e-6
    for r, k in picks:
        wp, wm = w0.copy(), w0.copy()
        wp[r, k] += eps
        wm[r, k] -= eps
        assert (loss_at(wp) - loss_at(wm)) / (2 * eps) == pytest.approx(g.weights[r, k], rel=1e-5, abs=1e-8), (r, k)
    # a reversed synapse acts with the opposite sign: the membrane differs from the Dale network's
    dale = BPTT(TrainableNetwork.from_circuit(c), Readout("membrane", gain=0.3, window=(10, 55)))
    assert not np.allclose(dale.forward(x)[0], bp.forward(x)[0])


def test_projection_keeps_signs_only_without_dale():
    c = small_circuit(2)
    for dale in (True, False):
        net = TrainableNetwork.from_circuit(c, dale=dale)
        present = net.weights > 0
        w = net.weights.copy()
        w[present] = -1.0
        w[~net.structure] = 5.0  # (entries outside the structure do not exist: ignored)
        net.weights = w
        net.project()
        assert (net.weights[~net.structure] == 0).all()                  # absent entries stay absent
        assert (net.weights[present] == (0.0 if dale else -1.0)).all()
        assert net.copy().dale == dale
    with pytest.raises(TrainError, match=r"changed sign in training without Dale's law"):
        net.to_circuit()


def toy(n: int = 48, seed: int = 0) -> SpikeTrainDataset:
    """Two classes told apart by which half of the 8 channels fires more."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = (rng.random((n, 20, 8)) < np.where((np.arange(8) // 4) == y[:, None], 0.4, 0.05)[:, None, :])
    return SpikeTrainDataset(x.astype(np.uint8), y, 2, dt_ms=0.1)


def test_training_without_dale_flips_signs_and_returns_no_circuit():
    c = small_circuit(3, n_in=8, n=10, n_out=2, delays=False)
    data = toy()
    cfg = TrainConfig(epochs=3, batch_size=16, lr=0.2, readout="membrane")
    free = train(c, data, data, TrainConfig(**{**cfg.__dict__, "dale": False}))
    assert free.network.sign_flips > 0 and free.circuit is None
    kept = train(c, data, data, cfg)
    assert kept.network.sign_flips == 0 and kept.circuit is not None and (kept.circuit.weights >= 0).all()
    with pytest.raises(TrainError, match="dale: expected True or False"):
        TrainConfig(dale="no")


def test_compare_unconstrained_arm_starts_as_the_plain_network():
    from evo_circuits.assemble import assemble

    asm = assemble(small_spec())
    data = toy(32)
    res = compare(asm.circuit, data, data, TrainConfig(epochs=1, batch_size=16, lr=0.02, readout="membrane"),
                  seeds=2, mask=asm.mask, trainable=asm.trainable, controls="plain,nodale")
    assert list(res.curves) == ["assembled", "plain", "unconstrained"]
    np.testing.assert_array_equal(res.curves["plain"][:, 0], res.curves["unconstrained"][:, 0])  # same start
    rows = {r["network"]: r for r in res.summary()}
    assert rows["unconstrained"]["trainable"] == rows["plain"]["trainable"] == rows["assembled"]["trainable"]
    assert "unconstrained" in res.report()
    assert parse_controls("nodale,unconstrained,plain") == ["unconstrained", "plain"]
