"""Loss and gradients of a batch: the Python front end of the BPTT kernels.

:class:`BPTT` binds a :class:`~.network.TrainableNetwork` to its settings (readout,
surrogate slope, reset gradient, float type) and turns input spikes and labels into the
loss, the logits and the gradients of the trainable parameters::

    bp = BPTT(net, Readout("count"), slope=1.0)
    g = bp.loss_and_grad(spikes, labels)       # g.loss, g.logits, g.weights, g.bias

The forward pass alone (:meth:`BPTT.logits`) evaluates a network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import backward, forward, weight_grad
from .network import TrainableNetwork, TrainError
from .readout import Readout, cross_entropy
from .surrogate import DEFAULT_SLOPE

#: Weight-gradient buffers of the backward pass (fixed, so results do not depend on threads).
N_CHUNKS = 8


@dataclass
class Gradients:
    """What :meth:`BPTT.loss_and_grad` returns.

    Attributes
    ----------
    loss : float
        Mean cross-entropy over the batch.
    logits : ndarray (B, n_classes)
    weights : ndarray (n_inputs + n, n)
        dL/d(weight magnitude); zero outside the trainable entries.
    bias : ndarray (n,)
        dL/d(i_bias); zero unless biases are trained.
    """

    loss: float
    logits: np.ndarray
    weights: np.ndarray
    bias: np.ndarray


class BPTT:
    """Forward and backward passes of one network.

    Parameters
    ----------
    net : TrainableNetwork
    readout : Readout
    slope : float
        Slope of the fast-sigmoid surrogate (1/mV).
    reset_grad : bool
        Let gradients flow through the reset (default: detached reset).
    dtype : {np.float64, np.float32}
        Float type of the kernels. float64 reproduces the simulator bit for bit; float32
        is faster but may move a spike whose potential is within rounding of threshold.
    smooth : bool
        Test device: smooth spikes (see :mod:`.surrogate`); refractoriness is ignored.
    """

    def __init__(self, net: TrainableNetwork, readout: Readout | None = None, *, slope: float = DEFAULT_SLOPE,
                 reset_grad: bool = False, dtype=np.float64, smooth: bool = False):
        self.net = net
        self.readout = readout or Readout()
        if not (np.isfinite(slope) and slope > 0):
            raise TrainError(f"slope: expected a positive number (1/mV), got {slope}")
        self.slope, self.reset_grad, self.smooth = float(slope), bool(reset_grad), bool(smooth)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TrainError(f"dtype: expected float32 or float64, got {self.dtype}")
        if len(net.outputs) == 0:
            raise TrainError(f"circuit '{net.circuit.name}': has no output neurons to read out")
        f = lambda a: np.ascontiguousarray(a, self.dtype)  # noqa: E731
        self._const = dict(em=f(net.em), de=f(net.de), di=f(net.di), ke=f(net.ke), ki=f(net.ki),
                           v_th=f(net.v_th), v_reset=f(net.v_reset), v_init=f(net.v_init))
        self._ref = np.ascontiguousarray(net.ref_steps, np.int64)
        # Work arrays reused from batch to batch: fresh multi-MB arrays every call cost
        # page faults comparable to the kernels themselves.
        self._buffers: dict[str, np.ndarray] = {}

    def _buffer(self, name: str, shape: tuple, dtype) -> np.ndarray:
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[name] = np.empty(shape, dtype)
        return buf

    # ------------------------------------------------------------------ forward
    def _spikes(self, spikes: np.ndarray) -> np.ndarray:
        spikes = np.asarray(spikes)
        if spikes.ndim != 3:
            raise TrainError(f"spikes: expected an array (batch, steps, channels), got shape {spikes.shape}")
        if spikes.shape[2] > self.net.n_inputs:
            raise TrainError(f"spikes: {spikes.shape[2]} input channels, but the circuit has "
                             f"{self.net.n_inputs} inputs")
        return np.ascontiguousarray(spikes, np.uint8)

    def forward(self, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the forward pass.

        Parameters
        ----------
        spikes : ndarray (B, T, C) of 0/1
            Input spikes, ``C <= n_inputs``.

        Returns
        -------
        p : ndarray (B, T, n)
            Membrane potential after each step's update.
        m : ndarray of uint8 (B, T, n)
            1 where the neuron integrated (not refractory).
        """
        spikes = self._spikes(spikes)
        b, t, _ = spikes.shape
        p = np.empty((b, t, self.net.n_neurons), self.dtype)
        m = np.empty((b, t, self.net.n_neurons), np.uint8)
        self._forward_into(spikes, p, m)
        return p, m

    def _forward_into(self, spikes: np.ndarray, p: np.ndarray, m: np.ndarray) -> None:
        net, c = self.net, self._const
        forward(spikes, np.ascontiguousarray(net.weights, self.dtype), net.delay, net.inh_row, net.row_delayed,
                net.col_lo, net.col_hi, net.n_ring, c["em"], c["de"], c["di"], c["ke"], c["ki"],
                np.ascontiguousarray(net.v_inf, self.dtype), c["v_th"], c["v_reset"], c["v_init"], self._ref,
                self.dtype.type(self.slope), self.smooth, p, m)

    def _forward_buffered(self, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b, t, _ = spikes.shape
        p = self._buffer("p", (b, t, self.net.n_neurons), self.dtype)
        m = self._buffer("m", (b, t, self.net.n_neurons), np.uint8)
        self._forward_into(spikes, p, m)
        return p, m

    def spikes_of(self, p: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Spikes of every neuron (0/1, or the smooth values with ``smooth``) from the
        ``p`` and ``m`` of :meth:`forward`."""
        if self.smooth:
            x = self.slope * (p - self.net.v_th)
            return (0.5 + 0.5 * x / (1.0 + np.abs(x))) * m
        return ((p > self.net.v_th) & (m != 0)).astype(np.uint8)

    def _activity(self, p: np.ndarray, m: np.ndarray) -> np.ndarray:
        lo, hi = self.readout.span(p.shape[1])
        outs = self.net.outputs
        pw, mw = p[:, lo:hi][:, :, outs], m[:, lo:hi][:, :, outs]
        th = self.net.v_th[outs]
        if self.smooth:
            x = self.slope * (pw - th)
            spikes = (0.5 + 0.5 * x / (1.0 + np.abs(x))) * mw
        else:
            spikes = (pw > th) & (mw != 0)
        return self.readout.activity(spikes, pw, self.net.v_rest[outs], p.shape[1])

    def logits(self, spikes: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class logits of every sample (forward pass only, in batches)."""
        spikes = self._spikes(spikes)
        out = []
        for k in range(0, len(spikes), batch_size):
            p, m = self._forward_buffered(spikes[k:k + batch_size])
            out.append(self.readout.logits(self._activity(p, m)))
        return np.concatenate(out) if out else np.zeros((0, self.readout.n_classes(len(self.net.outputs))))

    # ------------------------------------------------------------------ backward
    def loss_and_grad(self, spikes: np.ndarray, labels: np.ndarray) -> Gradients:
        """Cross-entropy of a batch and its gradients (surrogate BPTT).

        Parameters
        ----------
        spikes : ndarray (B, T, C)
        labels : ndarray of int (B,)
            Class indices in ``[0, n_classes)``.

        Returns
        -------
        Gradients
        """
        spikes = self._spikes(spikes)
        labels = np.asarray(labels, np.int64)
        n_cls = self.readout.n_classes(len(self.net.outputs))
        if labels.shape != (len(spikes),) or (labels < 0).any() or (labels >= n_cls).any():
            raise TrainError(f"labels: expected {len(spikes)} class indices in [0, {n_cls}), "
                             f"got shape {labels.shape}, range [{labels.min(initial=0)}, {labels.max(initial=0)}]")
        net, c = self.net, self._const
        p, m = self._forward_buffered(spikes)
        n_steps = p.shape[1]
        z = self.readout.logits(self._activity(p, m))
        loss, dz = cross_entropy(z, labels)
        d_act = self.readout.activity_grad(dz)
        lo, hi = self.readout.span(n_steps)
        g_s = np.zeros((len(spikes), net.n_neurons), self.dtype)
        g_p = np.zeros_like(g_s)
        if self.readout.kind == "count":
            g_s[:, net.outputs] = d_act
        else:
            g_p[:, net.outputs] = d_act / max(hi - lo, 1)
        n_chunks = max(1, min(N_CHUNKS, len(spikes)))
        # Per-chunk buffers of delayed rows' weight gradients (unused, so tiny, without delays).
        gw = self._buffer("gw", (n_chunks,) + (net.weights.shape if net.row_delayed.any() else (1, 1)), self.dtype)
        gb = self._buffer("gb", (n_chunks, net.n_neurons), self.dtype)
        gw.fill(0)
        gb.fill(0)
        wt_e, wt_i = net.transposed(self.dtype)
        shape = (len(spikes), n_steps, net.n_neurons)
        ge_rec, gq_rec = self._buffer("ge", shape, self.dtype), self._buffer("gq", shape, self.dtype)
        w = np.ascontiguousarray(net.weights, self.dtype)
        slope = self.dtype.type(self.slope)
        backward(spikes, w, net.delay, net.inh_row, net.row_delayed, net.col_lo, net.col_hi, net.n_ring, wt_e, wt_i,
                 net.post_cols, net.tcol_lo, net.tcol_hi, net.delayed_neurons, c["em"], c["de"], c["di"], c["ke"],
                 c["ki"], c["v_th"], c["v_reset"], slope, self.smooth, self.reset_grad, p, m, g_s, g_p, lo, hi,
                 n_chunks, gw, gb, ge_rec, gq_rec)
        wg = self._buffer("wg", (n_chunks,) + net.weights.shape, self.dtype)
        weight_grad(spikes, p, m, c["v_th"], slope, self.smooth, ge_rec, gq_rec, net.fast_row, net.inh_row,
                    net.col_lo, net.col_hi, n_chunks, wg)
        grad_w = wg.sum(axis=0, dtype=np.float64)
        if net.row_delayed.any():
            grad_w += gw.sum(axis=0, dtype=np.float64)
        grad_w[~net.trainable] = 0.0
        grad_b = gb.sum(axis=0, dtype=np.float64) if net.train_bias else np.zeros(net.n_neurons)
        return Gradients(loss=loss, logits=z, weights=grad_w, bias=grad_b)
