"""numba kernels of backpropagation through time: a forward and a backward pass, batched.

Model and schedule: exactly the simulator's (:mod:`evo_circuits.simulate.kernel`,
``docs/model.md``) for current-based circuits, synaptic delays included (integer steps
``d >= 0``). State of neuron ``i`` at the start of step ``t``: ``v``, ``E`` (= I_e),
``Q`` (= I_i). One step::

    u      = v_inf + (v - v_inf) em + ke E - ki Q        exact propagator
    p      = m u + (1 - m) v                             m = 1 unless refractory (clamped)
    E, Q  <- de E, di Q                                  decay
    s      = m H(p - v_th)                               threshold
    E     += sum_src s_src(t - d) W[src]   (E sources, inputs)    delivery
    Q     += sum_src s_src(t - d) W[src]   (I sources)
    v     <- p (1 - s) + v_reset s                       reset

``m`` (the refractory clamp) depends on earlier spikes only; it is recorded in the forward
pass and treated as a constant in the backward pass. The forward pass stores ``p``, ``m``
and the spikes ``s`` per (sample, step, neuron).

Backward pass, walking ``t`` down, with ``gv, gE, gQ`` the adjoints of the state at the
start of step ``t + 1`` and ``σ'`` the surrogate (:mod:`.surrogate`). A spike of step
``t`` through a synapse of delay ``d`` lands in the state of step ``t + d + 1``, whose
adjoints ``gE^(t+d+1)`` are kept in a ring of the last ``max delay + 2`` steps::

    dW[src, j] += s_src gE^(t+d+1)_j  (gQ for I sources)     deliveries of step t
    gs_src      = sum_j W[src, j] gE^(t+d+1)_j  (+ readout)  (+ gv_src (v_reset - p_src))
    gp          = gv (1 - s) + gs m σ'(p - v_th)  (+ readout)
    gu          = m gp;  gv <- (1 - m) gp + em gu
    gE         <- de gE + ke gu;   gQ <- di gQ - ki gu;   d bias += (1 - em) gu

The term in brackets is the reset's gradient, used only with ``reset_grad``. Otherwise
the reset is *detached* — the spike's effect through the reset is ignored — the common
choice (Zenke & Vogels 2021): it keeps the gradient from pushing a neuron not to spike
merely because a spike resets it.

Two kernels, both parallel (``prange``): :func:`forward` over samples, and :func:`backward`
over fixed chunks of samples (so results do not depend on the number of threads). The
backward kernel records the adjoints ``gE``, ``gQ`` fed by every step's deliveries;
matrix products of those records with the spikes give dL/dW of the *fast* synapses
(:meth:`.bptt.BPTT._weight_grad`, BLAS). *Listed* synapses — those with delays, and every
synapse of a sparse network (:attr:`.network.TrainableNetwork.sparse`) — are a list per
source row and take their own path in both kernels (delivered one by one forward, delays
through a ring of future steps; backward a gather of the adjoints they feed, from the
ring of past adjoints for delays, and their weight gradients summed per chunk from the
spikes of their source): work and memory proportional to synapses, which is what large
assembled networks need. The fast synapses of a source row are its synapses without
delay in a dense network. The forward kernel is compiled without fast-math and, in float64, adds deliveries in the simulator's order (delay-0 deliveries of
input channels ascending, then of neurons ascending, then the delayed ones due now), so it
computes bit-identical membrane potentials. In float32 (the fast path) the input currents
of all steps come precomputed from one matrix product. The backward kernel may
reassociate sums (``fastmath``).

Speed notes (measured on the digits workload): loops run over 0-based slices, and every
array a neuron loop writes is allocated inside the kernel — with a variable loop start, or
with arguments as write targets, LLVM keeps per-index wraparound checks or gives up
vectorising for fear of aliasing, and those loops ran 5-6x slower. For the same reason the
backward adjoint update is one loop per array it writes (one fused loop needed more
runtime alias checks than LLVM allows and ran unvectorised). Spiking sources are listed
first by branch-free compaction (a random branch per source mispredicted and cost more
than the short row updates). Ring slots are wrapped by a compare, not a division per
synapse.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..dynamics.lif import current_update, integrates, spikes
from .surrogate import surrogate_grad

#: "Long ago": the step of the last spike before the first step.
_NEVER = -(1 << 40)

_BACKWARD_MATH = {"reassoc", "contract", "nsz", "arcp"}


class Wiring(NamedTuple):
    """The synapses of a :class:`~.network.TrainableNetwork` in the kernels' float type.

    Attributes
    ----------
    w : float array (n_inputs + n, n), or (n_inputs, n), (0, n)
        Weight magnitudes of the fast synapses (listed ones 0); row ``r`` is non-zero
        only in ``col_lo[r]:col_hi[r]`` (rows beyond ``w``'s have no fast synapses).
    col_lo, col_hi : int64 arrays (n_inputs + n,)
    inh_row : bool array (n_inputs + n,)
        Source is inhibitory (delivers into Q).
    row_listed : bool array (n_inputs + n,)
        The row has listed synapses.
    dl_ptr, dl_row, dl_col, dl_delay : int64 arrays
    dl_w : float array
        The listed synapses, sparse: source row ``r``'s are entries
        ``dl_ptr[r]:dl_ptr[r + 1]``, with their row, column, delay in steps
        (``0 <= d < n_ring``) and weight.
    n_ring : int
        Longest delay + 1.
    """

    w: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    inh_row: np.ndarray
    row_listed: np.ndarray
    dl_ptr: np.ndarray
    dl_row: np.ndarray
    dl_col: np.ndarray
    dl_delay: np.ndarray
    dl_w: np.ndarray
    n_ring: int


class Transposed(NamedTuple):
    """Neuron-to-neuron fast synapses by postsynaptic neuron, for the backward pass.

    Attributes
    ----------
    wt : float array (n, n)
        ``wt[i, j] = w[n_inputs + j, i]``.
    inh_pre : float array (n,)
        1 for inhibitory neurons, 0 for excitatory ones (which adjoint, gQ or gE, their
        synapses feed).
    post_cols : int64 array
        Neurons ``i`` with incoming synapses in ``wt``; ``tcol_lo[i]:tcol_hi[i]`` bounds
        the presynaptic neurons ``j`` of those synapses.
    """

    wt: np.ndarray
    inh_pre: np.ndarray
    post_cols: np.ndarray
    tcol_lo: np.ndarray
    tcol_hi: np.ndarray


class Trace(NamedTuple):
    """What the forward pass records per (sample, step, neuron), shape (B, T, n) each.

    Attributes
    ----------
    p : float array
        Membrane potential after the update of each step (the value compared with v_th).
    m : uint8 array
        1 where the neuron integrated (was not refractory) in that step.
    s : float array
        Spikes (0/1), for the weight gradients.
    """

    p: np.ndarray
    m: np.ndarray
    s: np.ndarray


class LossGrad(NamedTuple):
    """Direct loss gradients w.r.t. each neuron's spike (``g_s``) and membrane ``p``
    (``g_p``), float arrays (B, n), at every step of the readout window
    ``win_lo <= t < win_hi`` (zero for non-output neurons); and per step (``g_pt``, float
    array (B, T, K), or shape (0, 0, 0)) w.r.t. the membrane of neurons ``out_cols``
    (e.g. at the maximum of a max-membrane readout)."""

    g_s: np.ndarray
    g_p: np.ndarray
    win_lo: int
    win_hi: int
    g_pt: np.ndarray
    out_cols: np.ndarray


class BackwardOut(NamedTuple):
    """What the backward pass writes.

    Attributes
    ----------
    grad_dl : float array (n_chunks, number of listed synapses), zeroed
        dL/dW of the listed synapses (order of ``dl_ptr``), one row per chunk.
    grad_b : float array (n_chunks, n), zeroed
        dL/d(i_bias), one row per chunk.
    e_lo, q_lo : int
    ge_rec, gq_rec : float arrays (B, T, n_e), (B, T, n_q)
        Receive ``gE^(t+1)`` of neurons ``e_lo:e_lo + n_e`` and ``gQ^(t+1)`` of neurons
        ``q_lo:q_lo + n_q``: the adjoints the deliveries of step ``t`` feed, for the
        columns that fast synapses reach (recording all of them cost a fifth of
        the kernel's time, in memory traffic).
    """

    grad_dl: np.ndarray
    grad_b: np.ndarray
    e_lo: int
    q_lo: int
    ge_rec: np.ndarray
    gq_rec: np.ndarray


@njit(cache=True, parallel=True)
def forward(spk_in, i_in, channels, wiring, neurons, trace):
    """Forward pass of a batch; fills ``trace`` (:class:`Trace`).

    Parameters
    ----------
    spk_in : uint8 array (B, T, C)
        Input spikes; channels ``>= n_inputs`` are ignored.
    i_in : float array (B, T, n), or shape (0, 0, 0)
        If given: the summed input current of the fast input synapses at
        every step (one matrix product, see :meth:`.bptt.BPTT`), added at once instead of
        channel by channel. That is the fast path: the sum is then not in the simulator's
        order, so potentials agree with the simulator to rounding, not bit for bit.
    channels : int64 array
        The input channels delivered spike by spike, ascending: all of them without
        ``i_in``, else those with listed synapses.
    wiring : Wiring
    neurons : evo_circuits.dynamics.Propagators
        In the kernels' float type; ``v_inf`` includes the trained bias.
    trace : Trace
    """
    for b in prange(spk_in.shape[0]):
        _forward_one(b, spk_in, i_in, channels, wiring, neurons, trace)


@njit(cache=True, inline="always")  # a call per spike cost more than its few synapses
def _deliver_listed(r, t, wiring, xe, xi, ring_e, ring_i):
    """Deliver one spike of source row ``r`` through its listed synapses: those without
    delay at once (as the simulator does), the others into the ring slots of their arrival
    steps. They are listed sparsely (rows of assembled motifs span many columns with few
    synapses). (The E/I choice is a branch per synapse, not an array chosen per row:
    binding an array to a new name costs reference counting, more than the branch.)"""
    n_ring, dl_col, dl_delay, dl_w = wiring.n_ring, wiring.dl_col, wiring.dl_delay, wiring.dl_w
    inh = wiring.inh_row[r]
    base = t % n_ring  # slot of step t + d: base + d, wrapped (no division per synapse)
    for q in range(wiring.dl_ptr[r], wiring.dl_ptr[r + 1]):
        d = dl_delay[q]
        col = dl_col[q]
        if d == 0:
            if inh:
                xi[col] += dl_w[q]
            else:
                xe[col] += dl_w[q]
        else:
            slot = base + d
            slot = slot - n_ring if slot >= n_ring else slot
            if inh:
                ring_i[slot, col] += dl_w[q]
            else:
                ring_e[slot, col] += dl_w[q]


@njit(cache=True)
def _forward_one(b, spk_in, i_in, channels, wiring, neurons, trace):
    em, de, di, ke, ki = neurons.em, neurons.de, neurons.di, neurons.ke, neurons.ki
    v_inf, v_th, v_reset, ref_steps = neurons.v_inf, neurons.v_th, neurons.v_reset, neurons.ref_steps
    w, col_lo, col_hi, inh_row, row_listed = wiring.w, wiring.col_lo, wiring.col_hi, wiring.inh_row, wiring.row_listed
    n_ring = wiring.n_ring
    n = em.shape[0]
    n_in = wiring.dl_ptr.shape[0] - 1 - n
    n_steps = spk_in.shape[1]
    # Every array written in the neuron loops is allocated here: LLVM then knows they
    # alias nothing and vectorises the loops (with arguments as targets it would need a
    # runtime check per pair of arrays, gives up, and the loops run ~6x slower).
    v = neurons.v_init.copy()
    xe = np.zeros_like(v)
    xi = np.zeros_like(v)
    s = np.zeros_like(v)
    pl = np.zeros_like(v)
    ml = np.zeros(n, np.uint8)
    ring_e = np.zeros((n_ring, n), v.dtype)
    ring_i = np.zeros((n_ring, n), v.dtype)
    last = np.full(n, _NEVER, np.int64)
    active = np.empty(max(n, channels.shape[0]), np.int64)  # sources that spiked this step, ascending
    for t in range(n_steps):
        # (1) update: the simulator's step function (bit-identical in float64).
        for i in range(n):
            vn = current_update(v[i], xe[i], xi[i], v_inf[i], em[i], ke[i], ki[i])
            integ = integrates(t, last[i], ref_steps[i])
            vn = vn if integ else v[i]
            v[i] = vn
            xe[i] *= de[i]
            xi[i] *= di[i]
            pl[i] = vn
            ml[i] = integ
        pt = trace.p[b, t]
        mt = trace.m[b, t]
        for i in range(n):
            pt[i] = pl[i]
            mt[i] = ml[i]
        # (2) threshold
        for i in range(n):
            s[i] = 1.0 if spikes(pl[i], v_th[i], ml[i] != 0) else 0.0
        st = trace.s[b, t]
        for i in range(n):
            st[i] = s[i]
        # (3) deliver, in the simulator's order: input channels, then neurons, then the
        # delayed deliveries due now. Active sources are first listed in ascending order by
        # branch-free compaction: a test per source mispredicts at random and cost more
        # than the short row updates themselves. Loops run over 0-based slices: with a
        # variable start numba keeps a wraparound check per index and LLVM does not
        # vectorise (6x slower).
        summed = i_in.shape[0] > 0
        if summed:
            it = i_in[b, t]
            for i in range(n):
                xe[i] += it[i]
        xs = spk_in[b, t]
        n_act = 0
        for q in range(channels.shape[0]):
            c = channels[q]
            active[n_act] = c
            n_act += xs[c] != 0
        for q in range(n_act):
            c = active[q]
            if row_listed[c]:
                _deliver_listed(c, t, wiring, xe, xi, ring_e, ring_i)
            if summed:  # its synapses without delay are in i_in
                continue
            lo, hi = col_lo[c], col_hi[c]
            if hi == lo:
                continue
            wr = w[c, lo:hi]
            x = xe[lo:hi]
            for k in range(wr.shape[0]):
                x[k] += wr[k]
        n_sp = 0
        for j in range(n):
            active[n_sp] = j
            n_sp += s[j] != 0.0
        for q in range(n_sp):
            j = active[q]
            r = n_in + j
            if row_listed[r]:
                _deliver_listed(r, t, wiring, xe, xi, ring_e, ring_i)
            lo, hi = col_lo[r], col_hi[r]
            if hi == lo:  # (w may have no row r: a sparse network's has the inputs' only)
                continue
            wr = w[r, lo:hi]
            x = xi[lo:hi] if inh_row[r] else xe[lo:hi]
            for k in range(wr.shape[0]):
                x[k] += wr[k]
        if n_ring > 1:
            slot = t % n_ring
            for i in range(n):
                xe[i] += ring_e[slot, i]
                xi[i] += ring_i[slot, i]
                ring_e[slot, i] = 0.0
                ring_i[slot, i] = 0.0
        # (4) reset
        for q in range(n_sp):
            j = active[q]
            v[j] = v_reset[j]
            last[j] = t


@njit(cache=True, parallel=True, fastmath=_BACKWARD_MATH)
def backward(spk_in, wiring, transposed, neurons, trace, target, slope, reset_grad, n_chunks, out):
    """Backward pass of a batch: adjoints, dL/d(i_bias) and dL/dW of listed synapses.

    Weight gradients of fast synapses are left to matrix products of the spikes
    and the adjoints this kernel records (:meth:`.bptt.BPTT._weight_grad`): a scattered row
    update per spike inside this loop was its costliest part.

    Parameters
    ----------
    spk_in : uint8 array (B, T, C)
    wiring : Wiring
    transposed : Transposed
    neurons : evo_circuits.dynamics.Propagators
    trace : Trace
        From :func:`forward`.
    target : LossGrad
    slope : float
        Slope of the surrogate (:mod:`.surrogate`).
    reset_grad : bool
        Let the gradient flow through the reset (otherwise it is detached).
    n_chunks : int
        Samples are split into this many contiguous chunks, each with its own row of
        ``out.grad_dl``/``out.grad_b`` (so results do not depend on the number of threads).
    out : BackwardOut
    """
    n_b = spk_in.shape[0]
    for k in prange(n_chunks):
        lo = k * n_b // n_chunks
        hi = (k + 1) * n_b // n_chunks
        for b in range(lo, hi):
            _backward_one(b, spk_in, wiring, transposed, neurons, trace, target, slope, reset_grad,
                          out.grad_dl[k], out.grad_b[k], out)


@njit(cache=True, inline="always", fastmath=_BACKWARD_MATH)
def _fed_adjoint(q, base, ih, now, hist, wiring):
    """The adjoint that a delivery at step ``t`` through listed synapse ``q`` feeds: that of
    its target's ``gE`` (``ih`` 0) or ``gQ`` (1) at the start of step ``t + 1 + d`` — the
    current one ``now`` for ``d = 0``, else slot ``base + d`` of the history, wrapped.
    (Backward, choosing ``now`` once per row beat a branch per synapse; forward, the
    reverse: see :func:`_deliver_listed`.)"""
    d = wiring.dl_delay[q]
    col = wiring.dl_col[q]
    if d == 0:
        return now[col]
    n_hist = hist.shape[1]
    slot = base + d
    return hist[ih, slot - n_hist if slot >= n_hist else slot, col]


@njit(cache=True, fastmath=_BACKWARD_MATH)
def _backward_one(b, spk_in, wiring, transposed, neurons, trace, target, slope, reset_grad, g_dl, gb, out):
    em, de, di, ke, ki = neurons.em, neurons.de, neurons.di, neurons.ke, neurons.ki
    v_th, v_reset = neurons.v_th, neurons.v_reset
    dl_ptr, dl_w = wiring.dl_ptr, wiring.dl_w
    inh_row, n_ring = wiring.inh_row, wiring.n_ring
    wt, inh_pre, post_cols = transposed.wt, transposed.inh_pre, transposed.post_cols
    tcol_lo, tcol_hi = transposed.tcol_lo, transposed.tcol_hi
    p, m = trace.p, trace.m
    win_lo, win_hi = target.win_lo, target.win_hi
    e_lo, q_lo, ge_rec, gq_rec = out.e_lo, out.q_lo, out.ge_rec, out.gq_rec
    n = em.shape[0]
    n_in = dl_ptr.shape[0] - 1 - n
    n_steps = spk_in.shape[1]
    # Arrays written in the neuron loops are allocated here so that LLVM vectorises them
    # (see _forward_one).
    gv = np.zeros_like(em)   # adjoints of v, E, Q at the start of step t + 1
    g_e = np.zeros_like(em)
    g_q = np.zeros_like(em)
    gbl = np.zeros_like(em)  # dL/d(i_bias) of this sample
    s = np.zeros_like(em)
    sd = np.zeros_like(em)   # ds/dp (surrogate, times m)
    gs = np.zeros_like(em)
    gp = np.zeros_like(em)
    gu = np.zeros_like(em)
    # Adjoints of E and Q at the start of steps t+1 ... t+n_ring (slot = step % (n_ring+1)),
    # needed by delayed deliveries; steps after the last are 0. (Listed synapses without
    # delay read the current adjoints.)
    n_hist = n_ring + 1 if n_ring > 1 else 1
    hist = np.zeros((2, n_hist, n), em.dtype)  # [0]: gE, [1]: gQ
    n_ch = spk_in.shape[2]
    listed_in = dl_ptr[n_in] > dl_ptr[0]        # any listed synapses of input channels
    listed_nn = dl_ptr[n_in + n] > dl_ptr[n_in]  # ... of neurons
    gsb = target.g_s[b]
    gpb = target.g_p[b]
    one = np.ones(1, em.dtype)[0]  # 1 in the kernel's float type (no float64 promotion)
    zero = one - one
    for t in range(n_steps - 1, -1, -1):
        pt = p[b, t]
        mt = m[b, t]
        for i in range(n):
            x = pt[i] - v_th[i]
            mf = one * mt[i]
            s[i] = mf if x > zero else zero
            sd[i] = mf * surrogate_grad(x, slope, one)
        # The adjoints fed by the deliveries of step t (for the weight gradients).
        ger = ge_rec[b, t]
        src = g_e[e_lo:e_lo + ger.shape[0]]
        for i in range(ger.shape[0]):
            ger[i] = src[i]
        gqr = gq_rec[b, t]
        src = g_q[q_lo:q_lo + gqr.shape[0]]
        for i in range(gqr.shape[0]):
            gqr[i] = src[i]
        # Listed synapses of the input channels that spiked at step t: their weight
        # gradients (the adjoints their deliveries feed, _fed_adjoint).
        base = (t + 1) % n_hist
        xs = spk_in[b, t]
        for c in range(min(n_in, n_ch) if listed_in else 0):
            if xs[c] == 0:
                continue
            ih = np.int64(inh_row[c])
            now = g_q if ih else g_e
            for q in range(dl_ptr[c], dl_ptr[c + 1]):
                g_dl[q] += _fed_adjoint(q, base, ih, now, hist, wiring)
        # dL/ds of every neuron through its fast synapses, column by column of the
        # transposed weights (one vectorised axpy per postsynaptic neuron rather than a short
        # dot product per presynaptic one); listed rows one by one below.
        for j in range(n):
            gs[j] = zero
        for q in range(post_cols.shape[0]):
            i = post_cols[q]
            lo, hi = tcol_lo[i], tcol_hi[i]
            a_e, d_a = g_e[i], g_q[i] - g_e[i]
            wti, ih = wt[i, lo:hi], inh_pre[lo:hi]
            gsl = gs[lo:hi]
            for k in range(gsl.shape[0]):
                gsl[k] += wti[k] * (a_e + d_a * ih[k])
        # Listed synapses of the neurons, row by row (a row's synapses feed one kind of
        # adjoint): dL/ds of the source, and the weight gradients of those that spiked.
        for j in range(n if listed_nn else 0):
            r = n_in + j
            k_lo, k_hi = dl_ptr[r], dl_ptr[r + 1]
            if k_lo == k_hi:
                continue
            ih = np.int64(inh_row[r])
            now = g_q if ih else g_e
            acc = zero
            for q in range(k_lo, k_hi):
                acc += dl_w[q] * _fed_adjoint(q, base, ih, now, hist, wiring)
            gs[j] += acc
            if s[j] != zero:
                for q in range(k_lo, k_hi):
                    g_dl[q] += _fed_adjoint(q, base, ih, now, hist, wiring)
        if reset_grad:
            for j in range(n):
                gs[j] += gv[j] * (v_reset[j] - pt[j])
        wf = one if win_lo <= t < win_hi else zero  # readout window
        # One loop per updated array: a loop writing several arrays while reading many
        # needs more runtime alias checks than LLVM allows, and ran unvectorised (1.7x
        # slower kernel). gp = dL/dp, gu = dL/du (u: the free update); m is 0 or 1, so
        # (1 - m) gp + em gu = gp - gu + em gu.
        for i in range(n):
            gp[i] = gv[i] * (one - s[i]) + (gs[i] + wf * gsb[i]) * sd[i] + wf * gpb[i]
        if target.g_pt.shape[0] > 0:
            gpt = target.g_pt[b, t]
            for k in range(target.out_cols.shape[0]):
                gp[target.out_cols[k]] += gpt[k]
        for i in range(n):
            gu[i] = mt[i] * gp[i]
        for i in range(n):
            gv[i] = gp[i] - gu[i] + em[i] * gu[i]
        for i in range(n):
            gbl[i] += (one - em[i]) * gu[i]
        for i in range(n):
            g_e[i] = de[i] * g_e[i] + ke[i] * gu[i]
        for i in range(n):
            g_q[i] = di[i] * g_q[i] - ki[i] * gu[i]
        if n_ring > 1:
            slot = t % n_hist
            for i in range(n):
                hist[0, slot, i] = g_e[i]
                hist[1, slot, i] = g_q[i]
    for i in range(n):
        gb[i] += gbl[i]
