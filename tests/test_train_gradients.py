"""Gradient correctness of the BPTT kernels.

* Finite differences of the hard-threshold model with a surrogate so steep that it
  vanishes at every step (spikes held fixed): the backward kernel must then compute the
  exact gradient of the membrane readout through v, the synaptic currents, delays, the
  refractory clamp and the bias.
* The PyTorch module :class:`evo_circuits.torch.EICircuit` (the same hard-threshold
  forward pass in dense matrix products, autograd with its surrogate Function), written
  independently of the kernels, must give the same gradients to 1e-6 relative — with
  and without the reset's gradient, refractoriness, delays, both readouts, biases.
"""

from __future__ import annotations

import numpy as np
import pytest

from evo_circuits import Circuit
from evo_circuits.model import PARAM_INDEX
from evo_circuits.train import BPTT, Readout, TrainableNetwork


def small_circuit(seed: int = 0, n_in: int = 3, n: int = 7, n_out: int = 2, delays: bool = True, t_ref: float = 0.3,
                  dt: float = 0.1, p: float = 0.5, w_scale: float = 1.0) -> Circuit:
    """A random E/I circuit (recurrent, with delays and randomised neuron parameters)."""
    rng = np.random.default_rng(seed)
    types = np.where(rng.random(n) < 0.7, 1, -1).astype(np.int8)
    types[0], types[1] = 1, -1
    w = np.where(rng.random((n_in + n, n)) < p, rng.uniform(2.0, 8.0, (n_in + n, n)) * w_scale, 0.0)
    w[:n_in] = np.where(rng.random((n_in, n)) < 0.7, rng.uniform(6.0, 14.0, (n_in, n)) * w_scale, 0.0)
    d = rng.integers(0, 4, w.shape) if delays else np.zeros(w.shape, int)
    c = Circuit(types=types, n_inputs=n_in, weights=w, delays=d, outputs=list(range(n - n_out, n)), dt_ms=dt)
    params = c.params.copy()
    params[:, PARAM_INDEX["tau_m"]] = rng.uniform(3.0, 10.0, n)
    params[:, PARAM_INDEX["tau_e"]] = rng.uniform(0.5, 3.0, n)
    params[:, PARAM_INDEX["tau_i"]] = rng.uniform(1.0, 5.0, n)
    params[:, PARAM_INDEX["t_ref"]] = t_ref
    params[:, PARAM_INDEX["v_reset"]] = rng.uniform(-70.0, -60.0, n)
    params[:, PARAM_INDEX["i_bias"]] = rng.uniform(0.0, 8.0, n)
    return c.replace(params=params)


def input_spikes(seed: int, b: int = 4, t: int = 60, c: int = 3, rate: float = 0.15) -> np.ndarray:
    return (np.random.default_rng(seed).random((b, t, c)) < rate).astype(np.uint8)


# ----------------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("reset_grad", [False, True])
def test_gradient_with_spikes_held_matches_finite_differences(reset_grad):
    c = small_circuit(1)
    net = TrainableNetwork.from_circuit(c, train_bias=True)
    ro = Readout("membrane", gain=0.3, window=(10, 55))
    # slope 1e12: the surrogate is < 1e-12 unless v is within 1 fV of threshold, so the
    # gradient is the exact one of the model whose spike times do not move.
    bp = BPTT(net, ro, slope=1e12, reset_grad=reset_grad)
    x = input_spikes(2)
    y = np.array([0, 1, 1, 0])
    g = bp.loss_and_grad(x, y)
    p, m = bp.forward(x)
    spikes0 = bp.spikes_of(p, m)
    assert spikes0.sum() > 20 and np.isfinite(g.loss) and np.abs(g.weights).max() > 0

    def loss_at(w, bias):
        net.weights = w
        net.bias[...] = bias
        pp, mm = bp.forward(x)
        assert np.array_equal(bp.spikes_of(pp, mm), spikes0), "perturbation moved a spike; use a smaller eps"
        return bp.loss_and_grad(x, y).loss

    w0, b0 = net.weights.copy(), net.bias.copy()
    rng = np.random.default_rng(3)
    entries = np.argwhere(net.trainable)
    picks = entries[rng.choice(len(entries), 12, replace=False)]
    eps = 1e-6
    for r, k in picks:
        wp, wm = w0.copy(), w0.copy()
        wp[r, k] += eps
        wm[r, k] -= eps
        fd = (loss_at(wp, b0) - loss_at(wm, b0)) / (2 * eps)
        assert fd == pytest.approx(g.weights[r, k], rel=1e-5, abs=1e-8), (r, k)
    for i in range(c.n_neurons):
        bp_, bm = b0.copy(), b0.copy()
        bp_[i] += eps
        bm[i] -= eps
        fd = (loss_at(w0, bp_) - loss_at(w0, bm)) / (2 * eps)
        assert fd == pytest.approx(g.bias[i], rel=1e-5, abs=1e-8), i


def test_absent_and_frozen_entries_get_no_gradient():
    c = small_circuit(4)
    trainable = c.weights > 0
    trainable[:c.n_inputs] = False
    net = TrainableNetwork.from_circuit(c, trainable=trainable)
    g = BPTT(net).loss_and_grad(input_spikes(5), np.array([0, 1, 0, 1]))
    assert (g.weights[~trainable] == 0).all()
    assert (g.bias == 0).all()


def test_gradient_does_not_depend_on_batch_split():
    c = small_circuit(6)
    net = TrainableNetwork.from_circuit(c)
    bp = BPTT(net)
    x, y = input_spikes(7, b=8), np.array([0, 1] * 4)
    g = bp.loss_and_grad(x, y)
    g1, g2 = bp.loss_and_grad(x[:4], y[:4]), bp.loss_and_grad(x[4:], y[4:])
    np.testing.assert_allclose(g.weights, (g1.weights + g2.weights) / 2, rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------- PyTorch reference
def torch_loss_and_grad(circuit: Circuit, weights, bias, spikes, labels, readout: Readout, slope: float,
                        reset_grad: bool):
    """The same forward pass in PyTorch (:class:`evo_circuits.torch.EICircuit`, dense matrix
    products per delay, its own surrogate Function); autograd gives the gradient."""
    pytest.importorskip("torch")
    import torch

    from evo_circuits.torch import EICircuit

    net = TrainableNetwork.from_circuit(circuit, train_bias=True)
    net.weights, net.bias[...] = weights, bias
    m = EICircuit(net, slope=slope, reset_grad=reset_grad, batch_first=True, dtype=torch.float64)
    _, rec = m(torch.as_tensor(spikes), record=True)
    loss = torch.nn.functional.cross_entropy(m.logits(rec, readout), torch.as_tensor(labels))
    loss.backward()
    return float(loss.detach()), m.weight.grad.numpy(), m.bias.grad.numpy(), rec.spikes.detach().numpy()


@pytest.mark.parametrize("reset_grad", [False, True])
@pytest.mark.parametrize("readout", [Readout("count", gain=0.5), Readout("membrane", gain=0.2, window=(5, 70)),
                                     Readout("count", gain=1.0, none_class=True)])
@pytest.mark.parametrize("sparse", [False, True])  # dense rows, or every synapse from the list
def test_gradients_match_pytorch_autograd(reset_grad, readout, sparse):
    pytest.importorskip("torch")
    for seed in range(3):
        c = small_circuit(10 + seed, n=9, t_ref=0.3)  # 3-step refractory clamp, delays 0-3 steps
        net = TrainableNetwork.from_circuit(c, train_bias=True, sparse=sparse)
        bp = BPTT(net, readout, slope=1.3, reset_grad=reset_grad)
        x = input_spikes(20 + seed, b=5, t=80)
        y = np.array([0, 1, 1, 0, 1]) if not readout.none_class else np.array([0, 2, 1, 2, 0])
        g = bp.loss_and_grad(x, y)
        p, m = bp.forward(x)
        loss, gw, gb, spikes = torch_loss_and_grad(c, net.weights, net.bias, x, y, readout, 1.3, reset_grad)
        assert spikes.sum() > 20  # the networks are active
        np.testing.assert_array_equal(bp.spikes_of(p, m), spikes.astype(np.uint8))
        assert g.loss == pytest.approx(loss, rel=1e-12)
        gw = np.where(net.trainable, gw, 0.0)
        scale = np.abs(gw).max()
        np.testing.assert_allclose(g.weights, gw, rtol=1e-6, atol=1e-6 * scale)
        np.testing.assert_allclose(g.bias, gb, rtol=1e-6, atol=1e-6 * np.abs(gb).max())


def test_float32_fast_path_matches_float64():
    """float32 sums input currents in one matrix product (not the simulator's order) and
    computes weight gradients by BLAS: same spikes and gradients to float32 precision,
    with delayed and undelayed input rows and recurrent synapses."""
    for seed in range(3):
        c = small_circuit(40 + seed, n_in=4, n=10, t_ref=0.3)
        d = c.delays.copy()
        d[:2] = 0  # two input rows without delays (summed by the product), two with
        c = c.replace(delays=d)
        x, y = input_spikes(50 + seed, b=6, t=80, c=4), np.array([0, 1] * 3)
        grads, spikes = [], []
        # float64 dense, float32 dense (products), float32 sparse (every synapse listed)
        for dtype, sparse in ((np.float64, False), (np.float32, False), (np.float32, True)):
            net = TrainableNetwork.from_circuit(c, train_bias=True, sparse=sparse)
            bp = BPTT(net, Readout("membrane", gain=0.2), dtype=dtype)
            grads.append(bp.loss_and_grad(x, y))
            spikes.append(bp.spikes_of(*bp.forward(x)))
        assert spikes[0].sum() > 50
        for k in (1, 2):
            np.testing.assert_array_equal(spikes[0], spikes[k])
            for a, b in ((grads[0].weights, grads[k].weights), (grads[0].bias, grads[k].bias)):
                np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-4 * np.abs(a).max())
            assert grads[k].loss == pytest.approx(grads[0].loss, rel=1e-5)
