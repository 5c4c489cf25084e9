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
from numba import njit, prange

from ..dynamics.lif import conductance_update, current_update, integrates, spikes
from ..dynamics.rng import next_unit, stream_seed


class Recording(NamedTuple):
    """Output arrays of :func:`simulate_population` (task = circuit * n_trials + trial).

    ``counts[task, i]`` and ``first[task, i]`` (first spike step or -1) always; with
    ``record_spikes`` the spikes of a task go to ``spk_step/spk_neuron[spk_off[task]:
    spk_off[task+1]]`` (sizes from a counting pass); with ``record_v``, ``v_out[task, i, n]``
    is v at the start of step n.
    """

    counts: np.ndarray
    first: np.ndarray
    record_spikes: bool
    spk_off: np.ndarray
    spk_step: np.ndarray
    spk_neuron: np.ndarray
    record_v: bool
    v_out: np.ndarray


@njit(cache=True, parallel=True)
def simulate_population(layout, neurons, synapses, inputs, rec, conductance, n_steps, n_trials, seed, dt):
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
    seed : uint64
    dt : float
    """
    n_tasks = (layout.neuron_off.shape[0] - 1) * n_trials
    for task in prange(n_tasks):
        _simulate_one(task, layout, neurons, synapses, inputs, rec, conductance, n_steps, n_trials, seed, dt)


@njit(cache=True)
def _simulate_one(task, layout, neurons, synapses, inputs, rec, conductance, n_steps, n_trials, seed, dt):
    c = task // n_trials
    tr = task - c * n_trials
    nb0 = layout.neuron_off[c]
    n = layout.neuron_off[c + 1] - nb0
    nin = layout.n_inputs[c]
    r0 = layout.src_off[c]
    ring_n = layout.ring_size[c]
    syn_ptr, syn_post, syn_inh, syn_w = synapses.ptr, synapses.post, synapses.inh, synapses.w
    syn_delay, syn_p, syn_u, syn_tau_rec = synapses.delay, synapses.p, synapses.u, synapses.tau_rec
    row_off, row_inh, row_dense = synapses.row_off, synapses.row_inh, synapses.row_dense
    in_ptr, in_ch = inputs.ptr, inputs.channel
    counts, first, spk_step, spk_neuron, v_out = rec.counts, rec.first, rec.spk_step, rec.spk_neuron, rec.v_out
    record_spikes, record_v = rec.record_spikes, rec.record_v
    s0 = syn_ptr[r0]
    n_syn = syn_ptr[r0 + nin + n] - s0

    v = neurons.v_init[nb0:nb0 + n].copy()
    # Per-circuit views: the neuron loops below index contiguous arrays, so LLVM vectorises them.
    c_em, c_de, c_di = neurons.em[nb0:nb0 + n], neurons.de[nb0:nb0 + n], neurons.di[nb0:nb0 + n]
    c_ke, c_ki, c_vinf = neurons.ke[nb0:nb0 + n], neurons.ki[nb0:nb0 + n], neurons.v_inf[nb0:nb0 + n]
    c_th, c_ref, c_tau = neurons.v_th[nb0:nb0 + n], neurons.ref_steps[nb0:nb0 + n], neurons.tau_m[nb0:nb0 + n]
    c_ee, c_ei = neurons.e_e[nb0:nb0 + n], neurons.e_i[nb0:nb0 + n]
    c_reset = neurons.v_reset[nb0:nb0 + n]
    x_e = np.zeros(n)          # I_e (current mode) or g_e (conductance mode)
    x_i = np.zeros(n)
    last = np.full(n, -(1 << 40), np.int64)  # step of the last spike
    ring_e = np.zeros(ring_n * n)
    ring_i = np.zeros(ring_n * n)
    ring_used = np.zeros(ring_n, np.bool_)
    std_x = np.ones(n_syn)     # depression resources
    std_t = np.zeros(n_syn, np.int64)  # step of the last delivery
    spiked = np.empty(n, np.int64)
    fire = np.empty(n + nin, np.int64)
    rng = stream_seed(seed, layout.ind_ids[c], tr)
    in_base = inputs.set_index[c, tr] * n_steps
    pos = rec.spk_off[task] if record_spikes else 0

    for step in range(n_steps):
        if record_v:
            for i in range(n):
                v_out[task, i, step] = v[i]
        # (1) update. The count of neurons above threshold (vectorised with the update)
        # lets most steps skip the spike scan below.
        n_above = 0
        if conductance:
            for i in range(n):
                vn = conductance_update(v[i], x_e[i], x_i[i], c_vinf[i], c_tau[i], c_ee[i], c_ei[i], dt)
                vn = vn if integrates(step, last[i], c_ref[i]) else v[i]
                v[i] = vn
                n_above += vn > c_th[i]
                x_e[i] *= c_de[i]
                x_i[i] *= c_di[i]
        else:
            for i in range(n):
                vn = current_update(v[i], x_e[i], x_i[i], c_vinf[i], c_em[i], c_ke[i], c_ki[i])
                vn = vn if integrates(step, last[i], c_ref[i]) else v[i]
                v[i] = vn
                n_above += vn > c_th[i]
                x_e[i] *= c_de[i]
                x_i[i] *= c_di[i]
        # (2) threshold
        n_sp = 0
        if n_above > 0:
            for i in range(n):
                if spikes(v[i], c_th[i], integrates(step, last[i], c_ref[i])):
                    spiked[n_sp] = i
                    n_sp += 1
        # (3) propagate: sources that fire now (input channels, then spiking neurons).
        # Events with delay 0 are due now (after the threshold) and are added directly;
        # later ones go to the ring slot of their arrival step. (Written inline: a call
        # per spike would pass ~25 arrays and cost more than the work itself.)
        slot = step % ring_n
        n_fire = 0
        for q in range(in_ptr[in_base + step], in_ptr[in_base + step + 1]):
            if in_ch[q] < nin:
                fire[n_fire] = r0 + in_ch[q]
                n_fire += 1
        for q in range(n_sp):
            fire[n_fire] = r0 + nin + spiked[q]
            n_fire += 1
        for q in range(n_fire):
            row = fire[q]
            off = row_off[row]
            if off >= 0:  # dense row: one vectorised add
                if row_inh[row]:
                    for i in range(n):
                        x_i[i] += row_dense[off + i]
                else:
                    for i in range(n):
                        x_e[i] += row_dense[off + i]
                continue
            for s in range(syn_ptr[row], syn_ptr[row + 1]):
                if syn_p[s] < 1.0:
                    rng, u = next_unit(rng)
                    if u >= syn_p[s]:
                        continue
                w = syn_w[s]
                d = syn_delay[s]
                if syn_u[s] > 0.0:
                    # Deliveries of one synapse arrive in emission order, so depression
                    # can be computed now for the arrival step, as if applied on arrival.
                    k = s - s0
                    arrive = step + d
                    x = 1.0 - (1.0 - std_x[k]) * math.exp(-(arrive - std_t[k]) * dt / syn_tau_rec[s])
                    w *= syn_u[s] * x
                    std_x[k] = x - syn_u[s] * x
                    std_t[k] = arrive
                post = syn_post[s]
                if d == 0:
                    if syn_inh[s]:
                        x_i[post] += w
                    else:
                        x_e[post] += w
                    continue
                at = slot + d  # d < ring_n: one subtraction instead of a modulo
                if at >= ring_n:
                    at -= ring_n
                if syn_inh[s]:
                    ring_i[at * n + post] += w
                else:
                    ring_e[at * n + post] += w
                ring_used[at] = True
        if ring_used[slot]:
            base = slot * n
            for i in range(n):
                x_e[i] += ring_e[base + i]
                x_i[i] += ring_i[base + i]
                ring_e[base + i] = 0.0
                ring_i[base + i] = 0.0
            ring_used[slot] = False
        # (4) reset and record
        for q in range(n_sp):
            i = spiked[q]
            v[i] = c_reset[i]
            last[i] = step
            counts[task, i] += 1
            if first[task, i] < 0:
                first[task, i] = step
            if record_spikes:
                spk_step[pos] = step
                spk_neuron[pos] = i
                pos += 1
