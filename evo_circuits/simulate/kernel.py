"""numba kernel: one call simulates every (individual, trial) of a population.

Schedule of one step ``n`` (Brian2's default schedule, see ``docs/model.md``; the neuron
step itself is :mod:`evo_circuits.dynamics.lif`):

1. *update*: every non-refractory neuron advances over ``dt`` (exact propagator in
   current mode, exponential Euler with conductances held in conductance mode), using the
   synaptic variables from before this step's decay; synaptic variables decay. A
   neuron that spiked at step ``k`` stays clamped through the updates of steps
   ``k+1 … k+r-1`` and integrates again from ``k+r``.
2. *threshold*: a neuron that integrated this step and has ``v > v_th`` spikes at ``n``.
3. *propagate*: spikes emitted at ``n`` (input spikes included) are queued for step
   ``n + d`` in a ring buffer; the ring slot of step ``n`` is then added to the synaptic
   variables (so ``d = 0`` arrives in the same step, after the threshold).
4. *reset*: spiking neurons are set to ``v_reset`` and made refractory.

The kernel is event driven: synaptic work is done only for sources that spiked.

Large circuits (more than :data:`.pack.LARGE_CIRCUIT_NEURONS` neurons, one trial per
group) deliver their *plain* rows (p_release 1, no depression: the common case) on
arrival instead: the kernel keeps which rows fired in the last ``ring_size`` steps and at
step ``n`` adds, for each delay ``d`` (largest first, i.e. oldest emission first, as
Brian2's spike queue does), the synapses of delay ``d`` of the rows that fired at
``n - d``, read from a copy of the rows sorted by delay. Every delivery is then a
sequential read and an add into the cache-resident synaptic variables, where the ring is
a scattered write into ``ring_size`` times more memory (about 3x faster on workload L). The
order in which simultaneous arrivals are added differs from the ring's, so the two paths
can differ in the last bit (spikes agree with Brian2 on both; tests).

Trials in lanes: a *group* is ``lanes`` consecutive trials of one circuit, simulated
together with every state array laid out ``[neuron * lanes + lane]``. The neuron update is
then one vectorised loop over all neurons of all lanes, and the per-step costs (loop
control, the input table, the ring slot) are paid once per group instead of once per
trial: what dominates for the 3-12-neuron circuits of evolution. Each lane does the
same operations in the same order as a lone trial would (inputs in channel order, then
spiking neurons in index order, per lane), so results do not depend on ``lanes``.

Random draws (stochastic release) come from a SplitMix64 stream seeded by
``(seed, individual id, trial)`` (:mod:`evo_circuits.dynamics.rng`), so results do not
depend on how a population is split.

Arguments are grouped in the named tuples of :mod:`.pack` (layout, neuron constants,
synapse table, inputs) and :class:`Recording` (outputs).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from ..dynamics.lif import conductance_update, current_update, spikes
from ..dynamics.rng import next_unit, stream_seed


@intrinsic
def _trailing_zeros(typingctx, x):
    """Number of trailing zero bits of a nonzero uint64 (LLVM ``cttz``, one instruction)."""
    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))
    return types.uint64(types.uint64), codegen


class Recording(NamedTuple):
    """Output arrays of :func:`simulate_population` (task = circuit * n_trials + trial).

    ``counts[task, i]`` and ``first[task, i]`` (first spike step or -1) always; with
    ``record_spikes`` the spikes of the neurons flagged in ``spk_mask`` (one flag per
    neuron of the population) go to ``spk_step/spk_neuron[spk_off[task]:]`` in order of
    (step, neuron) (room from a counting pass or an upper bound); with ``record_v``,
    ``v_out[task, i, n]`` is v at the start of step n.
    """

    counts: np.ndarray
    first: np.ndarray
    record_spikes: bool
    spk_mask: np.ndarray
    spk_off: np.ndarray
    spk_step: np.ndarray
    spk_neuron: np.ndarray
    record_v: bool
    v_out: np.ndarray


@njit(cache=True, parallel=True)
def simulate_population(layout, neurons, synapses, inputs, rec, conductance, n_steps, n_trials, lanes, seed, dt):
    """Simulate all (circuit, trial) tasks; results are written into ``rec``.

    Parameters
    ----------
    layout : :class:`.pack.Layout`
    neurons : :class:`evo_circuits.dynamics.Propagators`
        Per-neuron constants of the whole population (concatenated circuits).
    synapses : :class:`.pack.SynapseTable`
    inputs : :class:`.pack.InputTable`
    rec : :class:`Recording`
    conductance : bool
    n_steps, n_trials : int
    lanes : int
        Trials simulated together (see the module docstring); any value >= 1 gives the
        same results, except that large circuits deliver on arrival only with one lane
        (the ring otherwise, which may differ in the last bit).
    seed : uint64
    dt : float
    """
    n_blocks = (n_trials + lanes - 1) // lanes
    n_groups = (layout.neuron_off.shape[0] - 1) * n_blocks
    for g in prange(n_groups):
        c = g // n_blocks
        tr0 = (g - c * n_blocks) * lanes
        _simulate_group(c, tr0, min(lanes, n_trials - tr0), layout, neurons, synapses, inputs, rec, conductance,
                        n_steps, n_trials, seed, dt)


@njit(cache=True)
def _lanes(a, nb0, n, nl):
    """Per-neuron constants ``a[nb0:nb0+n]`` repeated over ``nl`` lanes: ``out[i * nl + l] = a[nb0 + i]``."""
    out = np.empty(n * nl, a.dtype)
    for i in range(n):
        for l in range(nl):
            out[i * nl + l] = a[nb0 + i]
    return out


@njit(cache=True)
def _simulate_group(c, tr0, nl, layout, neurons, synapses, inputs, rec, conductance, n_steps, n_trials, seed, dt):
    nb0 = layout.neuron_off[c]
    n = layout.neuron_off[c + 1] - nb0
    m = n * nl
    nin = layout.n_inputs[c]
    r0 = layout.src_off[c]
    d_n = layout.ring_size[c]  # delays are 0 .. d_n - 1
    ring_n = 1  # ring slots: a power of two >= d_n, so a slot index wraps with a mask
    while ring_n < d_n:
        ring_n *= 2
    rmask = ring_n - 1
    syn_ptr, syn_post, syn_w = synapses.ptr, synapses.post, synapses.w
    syn_delay, syn_p, syn_u, syn_tau_rec = synapses.delay, synapses.p, synapses.u, synapses.tau_rec
    row_off, row_inh, row_dense = synapses.row_off, synapses.row_inh, synapses.row_dense
    row_plain = synapses.row_plain
    seg_ptr, seg_post, seg_w = synapses.seg_ptr, synapses.seg_post, synapses.seg_w
    sb = layout.seg_base[c]
    # A large circuit simulated one trial at a time (api makes it so): plain rows are
    # delivered on arrival; with several lanes the ring path serves any circuit.
    arrival = sb >= 0 and nl == 1
    in_ptr, in_set, in_ch = inputs.ptr, inputs.set, inputs.channel
    counts, first, spk_step, spk_neuron, v_out = rec.counts, rec.first, rec.spk_step, rec.spk_neuron, rec.v_out
    record_spikes, record_v, spk_mask = rec.record_spikes, rec.record_v, rec.spk_mask
    s0 = syn_ptr[r0]
    n_syn = syn_ptr[r0 + nin + n] - s0
    task0 = c * n_trials + tr0
    n_sets = (in_ptr.shape[0] - 1) // n_steps
    set0 = inputs.set_base[c] + tr0

    # State and constants per (neuron, lane), flat: the update below is one vectorised loop.
    v = _lanes(neurons.v_init, nb0, n, nl)
    c_em, c_de, c_di = _lanes(neurons.em, nb0, n, nl), _lanes(neurons.de, nb0, n, nl), _lanes(neurons.di, nb0, n, nl)
    c_ke, c_ki, c_vinf = _lanes(neurons.ke, nb0, n, nl), _lanes(neurons.ki, nb0, n, nl), _lanes(neurons.v_inf, nb0, n, nl)
    c_th, c_ref = _lanes(neurons.v_th, nb0, n, nl), _lanes(neurons.ref_steps, nb0, n, nl)
    c_reset = _lanes(neurons.v_reset, nb0, n, nl)
    if conductance:
        c_tau, c_ee, c_ei = _lanes(neurons.tau_m, nb0, n, nl), _lanes(neurons.e_e, nb0, n, nl), _lanes(neurons.e_i, nb0, n, nl)
    else:
        c_tau = c_ee = c_ei = c_em[:0]
    # v is double-buffered: the update writes every element of the other buffer, a plain
    # vector store (writing back in place only where integrating is a masked store, slow).
    v_next = np.empty(m)
    x_e = np.zeros(m)          # I_e (current mode) or g_e (conductance mode)
    x_i = np.zeros(m)
    # First step at which each neuron integrates again: the last spike's step + ref_steps,
    # so ``integrates(step, last, ref)`` is ``step >= ready`` (one compare, one array).
    ready = np.empty(m, np.int64)
    for k in range(m):
        ready[k] = -(1 << 40) + c_ref[k]
    ring_e = np.zeros(ring_n * m)
    ring_i = np.zeros(ring_n * m)
    ring_used = np.zeros(ring_n, np.uint8)  # per slot: 1 excitatory, 2 inhibitory arrivals pending
    std_x = np.ones(n_syn * nl)     # depression resources, [synapse * nl + lane]
    std_t = np.zeros(n_syn * nl, np.int64)  # step of the last delivery
    # Spike flags of the update, padded to whole 8-byte words: the scan skips 8 at a time.
    n_words = (m + 7) // 8
    flag = np.zeros(n_words * 8, np.uint8)
    flag_words = flag.view(np.uint64)
    fire_row = np.empty((n + nin) * nl, np.int64)
    fire_lane = np.empty((n + nin) * nl, np.int64)
    # Arrival delivery: the plain source rows that fired at each of the last ring_n steps.
    n_src = n + nin
    hist = np.empty(ring_n * n_src if arrival else 0, np.int64)
    hist_n = np.zeros(ring_n, np.int64)
    # Spike counts and first spikes of the group, copied to the records at the end (the
    # records span the population: a write per spike would leave the cache).
    cnt = np.zeros(m, np.int64)
    fst = np.full(m, -1, np.int64)
    rng = np.empty(nl, np.uint64)
    pos = np.zeros(nl, np.int64)
    for l in range(nl):
        rng[l] = stream_seed(seed, layout.ind_ids[c], tr0 + l)
        if record_spikes:
            pos[l] = rec.spk_off[task0 + l]

    for step in range(n_steps):
        if record_v:
            for k in range(m):
                i = k // nl
                v_out[task0 + k - i * nl, i, step] = v[k]
        # (1) update and (2) threshold in one vectorised loop that flags the spiking
        # neurons; most steps then skip the scan for them below.
        n_sp = 0
        # The loop is written once per synapse model (it differs in one call) so that the
        # model test stays outside the loop and LLVM vectorises each body on its own.
        if conductance:
            for k in range(m):
                integ = step >= ready[k]
                vn = conductance_update(v[k], x_e[k], x_i[k], c_vinf[k], c_tau[k], c_ee[k], c_ei[k], dt)
                vn = vn if integ else v[k]
                v_next[k] = vn
                f = spikes(vn, c_th[k], integ)
                flag[k] = f
                n_sp += f
                x_e[k] *= c_de[k]
                x_i[k] *= c_di[k]
        else:
            for k in range(m):
                integ = step >= ready[k]
                vn = current_update(v[k], x_e[k], x_i[k], c_vinf[k], c_em[k], c_ke[k], c_ki[k])
                vn = vn if integ else v[k]
                v_next[k] = vn
                f = spikes(vn, c_th[k], integ)
                flag[k] = f
                n_sp += f
                x_e[k] *= c_de[k]
                x_i[k] *= c_di[k]
        v, v_next = v_next, v
        # (3) sources that fire now, per lane in the order a lone trial delivers them:
        # input channels (the table is sorted by set, then channel), then spiking neurons
        # by index. Reset (4) and recording happen in the scan: they touch only v and the
        # records, which no delivery reads.
        n_fire = 0
        row = step * n_sets + set0
        for q in range(in_ptr[row], in_ptr[row + nl]):
            if in_ch[q] < nin:
                fire_row[n_fire] = r0 + in_ch[q]
                fire_lane[n_fire] = in_set[q] - set0
                n_fire += 1
        if n_sp > 0:
            for wd in range(n_words):
                # Each flag is one byte (0 or 1) of the word: visit the set ones in
                # order, lowest first, without a branch per byte (byte j of the word is
                # bits 8j..8j+7 on little-endian machines, numba's targets).
                bits = flag_words[wd]
                while bits != 0:
                    k = wd * 8 + np.int64(_trailing_zeros(bits) >> np.uint64(3))
                    bits &= bits - np.uint64(1)
                    i = k // nl
                    l = k - i * nl
                    fire_row[n_fire] = r0 + nin + i
                    fire_lane[n_fire] = l
                    n_fire += 1
                    v[k] = c_reset[k]
                    ready[k] = step + c_ref[k]
                    cnt[k] += 1
                    if fst[k] < 0:
                        fst[k] = step
                    if record_spikes and spk_mask[nb0 + i]:
                        spk_step[pos[l]] = step
                        spk_neuron[pos[l]] = i
                        pos[l] += 1
        # Events with delay 0 are due now (after the threshold) and are added directly;
        # later ones go to the ring slot of their arrival step. (Written inline: a call
        # per spike would pass ~25 arrays and cost more than the work itself.)
        slot = step & rmask
        hist_n[slot] = 0
        for q in range(n_fire):
            row = fire_row[q]
            l = fire_lane[q]
            if arrival and row_plain[row]:
                hist[slot * n_src + hist_n[slot]] = row - r0
                hist_n[slot] += 1
                continue
            off = row_off[row]
            inh = row_inh[row]
            if off >= 0:  # dense row: one add per neuron
                if inh:
                    for i in range(n):
                        x_i[i * nl + l] += row_dense[off + i]
                else:
                    for i in range(n):
                        x_e[i * nl + l] += row_dense[off + i]
                continue
            # The source's synaptic variable, its ring and its bit in ring_used.
            xx = x_i if inh else x_e
            ring = ring_i if inh else ring_e
            kind = np.uint8(2) if inh else np.uint8(1)
            if row_plain[row]:
                # Every synapse delivers with certainty and without depression (most
                # rows of large networks): only weight, delay and target are read.
                for s in range(syn_ptr[row], syn_ptr[row + 1]):
                    d = syn_delay[s]
                    k = syn_post[s] * nl + l
                    if d == 0:
                        xx[k] += syn_w[s]
                        continue
                    at = (slot + d) & rmask
                    ring[at * m + k] += syn_w[s]
                    ring_used[at] |= kind
                continue
            for s in range(syn_ptr[row], syn_ptr[row + 1]):
                if syn_p[s] < 1.0:
                    rng[l], u = next_unit(rng[l])
                    if u >= syn_p[s]:
                        continue
                w = syn_w[s]
                d = syn_delay[s]
                if syn_u[s] > 0.0:
                    # Deliveries of one synapse arrive in emission order, so depression
                    # can be computed now for the arrival step, as if applied on arrival.
                    k = (s - s0) * nl + l
                    arrive = step + d
                    x = 1.0 - (1.0 - std_x[k]) * math.exp(-(arrive - std_t[k]) * dt / syn_tau_rec[s])
                    w *= syn_u[s] * x
                    std_x[k] = x - syn_u[s] * x
                    std_t[k] = arrive
                k = syn_post[s] * nl + l
                if d == 0:
                    xx[k] += w
                    continue
                at = (slot + d) & rmask
                ring[at * m + k] += w
                ring_used[at] |= kind
        if arrival:
            # Large circuits: the plain synapses due now, oldest emission first (as Brian2's
            # spike queue orders them), read from the rows' delay-sorted copies. Each
            # delivery is a sequential read and a write into x (cache resident), where the
            # ring above would be a scattered write into ring_n times more memory.
            for d in range(min(d_n - 1, step), -1, -1):
                sl = (slot - d) & rmask
                for q in range(hist_n[sl]):
                    rr = hist[sl * n_src + q]
                    b = sb + rr * d_n + d
                    xx = x_i if row_inh[r0 + rr] else x_e
                    for s in range(seg_ptr[b], seg_ptr[b + 1]):
                        xx[seg_post[s]] += seg_w[s]
        # The ring slot due now, one pass per kind of arrival it holds.
        used = ring_used[slot]
        if used != 0:
            base = slot * m
            if used & 1:
                for k in range(m):
                    x_e[k] += ring_e[base + k]
                    ring_e[base + k] = 0.0
            if used & 2:
                for k in range(m):
                    x_i[k] += ring_i[base + k]
                    ring_i[base + k] = 0.0
            ring_used[slot] = 0
    for k in range(m):
        i = k // nl
        counts[task0 + k - i * nl, i] = cnt[k]
        first[task0 + k - i * nl, i] = fst[k]
