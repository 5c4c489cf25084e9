"""Loss and gradients of a batch: the Python front end of the BPTT kernels.

:class:`BPTT` binds a :class:`~.network.TrainableNetwork` to its settings (readout,
surrogate slope, reset gradient, float type) and turns input spikes and labels into the
loss, the logits and the gradients of the trainable parameters::

    bp = BPTT(net, Readout("count"), slope=1.0)
    g = bp.loss_and_grad(spikes, labels)       # g.loss, g.logits, g.synapses, g.bias

The forward pass alone (:meth:`BPTT.logits`) evaluates a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from threadpoolctl import ThreadpoolController

from .kernels import BackwardOut, LossGrad, Trace, Transposed, Wiring, backward, forward
from .network import TrainableNetwork, TrainError
from .readout import Readout, cross_entropy
from .surrogate import DEFAULT_SLOPE

#: Weight-gradient buffers of the backward pass (fixed, so results do not depend on threads).
N_CHUNKS = 8
#: Evaluation (:meth:`BPTT.logits`) records at most this many (sample, step, neuron)
#: entries per forward pass (128 MB per float32 record).
TRACE_MAX_ENTRIES = 1 << 25


@dataclass
class Gradients:
    """What :meth:`BPTT.loss_and_grad` returns.

    Attributes
    ----------
    loss : float
        Mean cross-entropy over the batch.
    logits : ndarray (B, n_classes)
    synapses : ndarray (n_syn,)
        dL/d(weight magnitude) of every entry of the network's synapse list
        (``net.pre``, ``net.post``); zero where not trainable.
    bias : ndarray (n,)
        dL/d(i_bias); zero unless biases are trained.
    net : TrainableNetwork
        The network (for :attr:`weights`).
    """

    loss: float
    logits: np.ndarray
    synapses: np.ndarray
    bias: np.ndarray
    net: TrainableNetwork = field(repr=False)

    @property
    def weights(self) -> np.ndarray:
        """dL/d(weight magnitude) as a dense matrix (n_inputs + n, n), for small networks."""
        return self.net.dense(self.synapses, 0.0)


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
        Float type of the kernels. float64 reproduces the simulator bit for bit (input
        spikes are delivered one by one, in its order); float32 is the fast path: it sums
        the input currents of all steps in one matrix product, and may move a spike whose
        potential is within rounding of threshold.
    """

    def __init__(self, net: TrainableNetwork, readout: Readout | None = None, *, slope: float = DEFAULT_SLOPE,
                 reset_grad: bool = False, dtype=np.float64):
        self.net = net
        self.readout = readout or Readout()
        if not (np.isfinite(slope) and slope > 0):
            raise TrainError(f"slope: expected a positive number (1/mV), got {slope}")
        self.slope, self.reset_grad = float(slope), bool(reset_grad)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TrainError(f"dtype: expected float32 or float64, got {self.dtype}")
        if len(net.outputs) == 0:
            raise TrainError(f"circuit '{net.circuit.name}': has no output neurons to read out")
        self._neurons = net.prop.astype(self.dtype)  # v_inf replaced per batch (trained bias)
        self._inh_pre = np.ascontiguousarray(net.inh_row[net.n_inputs:], self.dtype)
        self._exact = self.dtype == np.float64  # the simulator's delivery order (see dtype)
        # Work arrays reused from batch to batch: fresh multi-MB arrays every call cost
        # page faults comparable to the kernels themselves.
        self._buffers: dict[str, np.ndarray] = {}

    def _buffer(self, name: str, shape: tuple, dtype, zeros: bool = False) -> np.ndarray:
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[name] = (np.zeros if zeros else np.empty)(shape, dtype)
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
        p, m, _ = self._forward(self._spikes(spikes), buffered=False)
        return p, m

    def _weights(self) -> Wiring:
        """The current weights in the kernels' float type, once per batch: the fast synapses
        (dense, other entries 0) and the listed ones (sparse, ``net.dl_*`` order)."""
        net = self.net
        # The fast entries are the same every batch: one zeroed buffer, rewritten in place.
        w = net.fast_weights(self.dtype, self._buffer("w_fast", (net.n_fast_rows, net.n_neurons), self.dtype, zeros=True))
        return Wiring(w, net.col_lo, net.col_hi, net.inh_row, net.row_listed,
                      net.dl_ptr, net.dl_row, net.dl_col, net.dl_delay, net.listed_weights(self.dtype), net.n_ring)

    def _neuron_constants(self):
        """The propagators in the kernels' float type, with the current (trained) bias."""
        return self._neurons._replace(v_inf=np.ascontiguousarray(self.net.v_inf, self.dtype))

    def _input_current(self, x: np.ndarray, w_fast: np.ndarray, shape: tuple) -> np.ndarray:
        """Summed current of the fast input synapses at every step, (B, T, n), as
        one matrix product of the inputs ``x`` (B*T, C) and their weights; an empty array in
        float64, where inputs are delivered one by one in the simulator's order
        (bit-identical potentials), and without fast input synapses."""
        if self._exact or self.net.input_cols == (0, 0):
            return np.zeros((0, 0, 0), self.dtype)
        lo, hi = self.net.input_cols
        i_in = self._buffer("i_in", shape, self.dtype, zeros=True)  # columns outside lo:hi stay 0
        with _serial_blas():
            np.matmul(x, w_fast[:x.shape[1], lo:hi], out=i_in.reshape(-1, shape[2])[:, lo:hi])
        return i_in

    def _inputs(self, spikes: np.ndarray) -> np.ndarray:
        """Input spikes as a float matrix (B*T, C), the left factor of the products."""
        return spikes.reshape(-1, spikes.shape[2]).astype(self.dtype)

    def _forward(self, spikes: np.ndarray, x: np.ndarray | None = None, weights: Wiring | None = None,
                 buffered: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """p, m and the spikes s of every neuron, (B, T, n) each; ``x`` (:meth:`_inputs`) and
        ``weights`` (:meth:`_weights`) if already computed; ``buffered`` reuses work arrays."""
        net = self.net
        wiring = weights if weights is not None else self._weights()
        shape = spikes.shape[:2] + (net.n_neurons,)
        alloc = self._buffer if buffered else (lambda name, sh, dt: np.empty(sh, dt))
        p, m, s = alloc("p", shape, self.dtype), alloc("m", shape, np.uint8), alloc("s", shape, self.dtype)
        if not self._exact and x is None:
            x = self._inputs(spikes)
        i_in = self._input_current(x, wiring.w, shape)
        n_ch = spikes.shape[2]
        # Channels delivered spike by spike: all in float64, else those with listed synapses.
        channels = np.arange(n_ch) if self._exact else np.flatnonzero(net.row_listed[:n_ch])
        forward(spikes, i_in, channels, wiring, self._neuron_constants(), Trace(p, m, s))
        return p, m, s

    def spikes_of(self, p: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Spikes of every neuron (0/1) from the ``p`` and ``m`` of :meth:`forward`."""
        return ((p > self.net.v_th) & (m != 0)).astype(np.uint8)

    def _activity(self, p: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Readout activity (B, K) from the membrane ``p`` and spikes ``s`` of :meth:`_forward`."""
        lo, hi = self.readout.span(p.shape[1])
        outs = self.net.outputs
        pw, sw = _columns(p[:, lo:hi], outs, axis=2), _columns(s[:, lo:hi], outs, axis=2)
        return self.readout.activity(sw, pw, self.net.v_rest[outs], p.shape[1])

    def logits(self, spikes: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class logits of every sample (forward pass only, in batches of at most
        ``batch_size``, fewer for large networks: the pass records (batch, steps, neurons))."""
        spikes = self._spikes(spikes)
        batch_size = max(1, min(batch_size, TRACE_MAX_ENTRIES // max(spikes.shape[1] * self.net.n_neurons, 1)))
        out = []
        for k in range(0, len(spikes), batch_size):
            p, _, s = self._forward(spikes[k:k + batch_size])
            out.append(self.readout.logits(self._activity(p, s)))
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
        net = self.net
        x, weights = self._inputs(spikes), self._weights()
        p, m, s = self._forward(spikes, x, weights)
        n_steps = p.shape[1]
        z = self.readout.logits(self._activity(p, s))
        loss, dz = cross_entropy(z, labels)
        d_act = self.readout.activity_grad(dz)
        lo, hi = self.readout.span(n_steps)
        g_s = np.zeros((len(spikes), net.n_neurons), self.dtype)
        g_p = np.zeros_like(g_s)
        g_pt = np.zeros((0, 0, 0), self.dtype)
        if self.readout.kind == "count":
            g_s[:, net.outputs] = d_act
        else:
            per_step, at_steps = self.readout.membrane_grad(d_act, _columns(p[:, lo:hi], net.outputs, axis=2), n_steps)
            if at_steps.size:
                g_pt = np.zeros((len(spikes), n_steps, len(net.outputs)), self.dtype)
                g_pt[:, lo:hi] = at_steps
            else:
                g_p[:, net.outputs] = per_step
        n_chunks = max(1, min(N_CHUNKS, len(spikes)))
        g_dl = self._buffer("g_dl", (n_chunks, max(len(net.dl_col), 1)), self.dtype)  # listed synapses
        gb = self._buffer("gb", (n_chunks, net.n_neurons), self.dtype)
        g_dl.fill(0)
        gb.fill(0)
        wt = np.ascontiguousarray(weights.w[net.n_inputs:].T)  # (post, pre)
        (e_lo, e_hi), (q_lo, q_hi) = net.rec_cols[False], net.rec_cols[True]
        ge_rec = self._buffer("ge", (len(spikes), n_steps, e_hi - e_lo), self.dtype)
        gq_rec = self._buffer("gq", (len(spikes), n_steps, q_hi - q_lo), self.dtype)
        slope = self.dtype.type(self.slope)
        backward(spikes, weights, Transposed(wt, self._inh_pre, net.post_cols, net.tcol_lo, net.tcol_hi),
                 self._neuron_constants(), Trace(p, m, s), LossGrad(g_s, g_p, lo, hi, g_pt, np.asarray(net.outputs, np.int64)), slope, self.reset_grad,
                 n_chunks, BackwardOut(g_dl, gb, e_lo, q_lo, ge_rec, gq_rec))
        grad_w = np.zeros(net.n_synapses)
        if len(net.fast_idx):
            dense = self._weight_grad(x, s, ge_rec, gq_rec)
            grad_w[net.fast_idx] = dense.reshape(-1)[net.fast_flat]
        if len(net.dl_idx):  # listed synapses: summed by the kernel
            grad_w[net.dl_idx] = g_dl.sum(axis=0, dtype=np.float64)
        grad_w[~net.free] = 0.0
        grad_b = gb.sum(axis=0, dtype=np.float64) if net.train_bias else np.zeros(net.n_neurons)
        return Gradients(loss=loss, logits=z, synapses=grad_w, bias=grad_b, net=net)

    def _weight_grad(self, x: np.ndarray, s: np.ndarray, ge_rec: np.ndarray, gq_rec: np.ndarray) -> np.ndarray:
        """dL/dW of the fast synapses (dense): ``sum_{b,t} s_r(b, t) G(b, t, j)``.

        ``s_r`` are the spikes of source row ``r`` (input channel: ``x`` from
        :meth:`_inputs`, or neuron: ``s``) and ``G`` the adjoint the deliveries of step ``t``
        feed (``gE``, or ``gQ`` for inhibitory sources), recorded by the backward kernel.
        The sum over samples and steps is one matrix product per block of source rows
        (BLAS): several times faster than a scattered row update per spike.
        """
        net = self.net
        n_bt = x.shape[0]
        s = s.reshape(n_bt, net.n_neurons)
        g_e, g_q = ge_rec.reshape(n_bt, -1), gq_rec.reshape(n_bt, -1)
        grad = np.zeros((net.n_fast_rows, net.n_neurons))
        for rows, lo, hi, inh in net.grad_blocks:
            if rows[0] < net.n_inputs:
                rows = rows[rows < x.shape[1]]  # channels the data leave silent have no gradient
                src = _columns(x, rows)
            else:
                src = _columns(s, rows - net.n_inputs)
            if len(rows):
                off = net.rec_cols[inh][0]  # the records start at that column
                g = (g_q if inh else g_e)[:, lo - off:hi - off]
                with _serial_blas():
                    grad[rows, lo:hi] = src.T @ g
        return grad


@lru_cache(maxsize=None)
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def _serial_blas():
    """Context: BLAS on the calling thread only. OpenBLAS's worker threads keep spinning
    for a while after a product, and slowed the numba kernel that follows by 2-3x on two
    cores (measured on the digits workload); the products here are small enough for one."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _columns(a: np.ndarray, idx: np.ndarray, axis: int = 1) -> np.ndarray:
    """``a`` indexed by ``idx`` along ``axis``: a view (no copy) when ``idx`` is a contiguous range."""
    if len(idx) and (np.diff(idx) == 1).all():
        sl = slice(int(idx[0]), int(idx[-1]) + 1)
    else:
        sl = idx
    return a[(slice(None),) * axis + (sl,)]
