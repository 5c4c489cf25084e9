"""numba kernels: one call simulates every (individual, trial) of a population.

Schedule of one step ``n`` (Brian2's default schedule, see ``docs/model.md``):

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
``(seed, individual id, trial)``, so results do not depend on how a population is split.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, uint64

_GOLDEN = uint64(0x9E3779B97F4A7C15)
_M1 = uint64(0xBF58476D1CE4E5B9)
_M2 = uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def _mix64(z: uint64) -> uint64:
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@njit(cache=True)
def stream_seed(seed: int, individual: int, trial: int) -> uint64:
    """Initial SplitMix64 state of the stream of one (individual, trial)."""
    s = _mix64(uint64(seed) + _GOLDEN)
    s = _mix64(s + uint64(individual) + _GOLDEN)
    return _mix64(s + uint64(trial) + _GOLDEN)


@njit(cache=True, parallel=True)
def simulate_population(conductance, n_steps, n_trials, seed, ind_ids, set_index, in_ptr, in_ch,
                        neuron_off, n_inputs, src_off, ring_size,
                        em, de, di, ke, ki, v_inf, v_th, v_reset, v_init, ref_steps, tau_m, e_e, e_i, dt,
                        syn_ptr, syn_post, syn_inh, syn_w, syn_delay, syn_p, syn_u, syn_tau_rec,
                        row_off, row_inh, row_dense, counts, first, record_spikes, spk_off, spk_step, spk_neuron, record_v, v_out):
    """Simulate all (circuit, trial) tasks; results are written into the output arrays.

    Output arrays: ``counts[task, i]`` and ``first[task, i]`` (first spike step or -1),
    task = circuit * n_trials + trial; with ``record_spikes`` the spikes of a task go to
    ``spk_step/spk_neuron[spk_off[task]:spk_off[task+1]]`` (sizes from a counting pass);
    with ``record_v``, ``v_out[task, i, n]`` is v at the start of step n.
    """
    n_tasks = (neuron_off.shape[0] - 1) * n_trials
    for task in prange(n_tasks):
        c = task // n_trials
        tr = task - c * n_trials
        _simulate_one(task, c, tr, conductance, n_steps, seed, ind_ids[c], set_index[c, tr], in_ptr, in_ch,
                      neuron_off, n_inputs, src_off, ring_size,
                      em, de, di, ke, ki, v_inf, v_th, v_reset, v_init, ref_steps, tau_m, e_e, e_i, dt,
                      syn_ptr, syn_post, syn_inh, syn_w, syn_delay, syn_p, syn_u, syn_tau_rec,
                      row_off, row_inh, row_dense, counts, first, record_spikes, spk_off, spk_step, spk_neuron, record_v, v_out)


@njit(cache=True)
def _simulate_one(task, c, tr, conductance, n_steps, seed, ind_id, input_set, in_ptr, in_ch,
                  neuron_off, n_inputs, src_off, ring_size,
                  em, de, di, ke, ki, v_inf, v_th, v_reset, v_init, ref_steps, tau_m, e_e, e_i, dt,
                  syn_ptr, syn_post, syn_inh, syn_w, syn_delay, syn_p, syn_u, syn_tau_rec,
                  row_off, row_inh, row_dense, counts, first, record_spikes, spk_off, spk_step, spk_neuron, record_v, v_out):
    nb0 = neuron_off[c]
    n = neuron_off[c + 1] - nb0
    nin = n_inputs[c]
    r0 = src_off[c]
    ring_n = ring_size[c]
    s0 = syn_ptr[r0]
    n_syn = syn_ptr[r0 + nin + n] - s0

    v = v_init[nb0:nb0 + n].copy()
    # Per-circuit views: the neuron loops below index contiguous arrays, so LLVM vectorises them.
    c_em, c_de, c_di = em[nb0:nb0 + n], de[nb0:nb0 + n], di[nb0:nb0 + n]
    c_ke, c_ki, c_vinf = ke[nb0:nb0 + n], ki[nb0:nb0 + n], v_inf[nb0:nb0 + n]
    c_th, c_ref, c_tau = v_th[nb0:nb0 + n], ref_steps[nb0:nb0 + n], tau_m[nb0:nb0 + n]
    c_ee, c_ei = e_e[nb0:nb0 + n], e_i[nb0:nb0 + n]
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
    rng = stream_seed(seed, ind_id, tr)
    in_base = input_set * n_steps
    rec = spk_off[task] if record_spikes else 0

    for step in range(n_steps):
        if record_v:
            for i in range(n):
                v_out[task, i, step] = v[i]
        # (1) update. Refractory (clamped) iff fewer than r steps since the last spike.
        # The count of neurons above threshold (vectorised with the update) lets most
        # steps skip the spike scan below.
        n_above = 0
        if conductance:
            for i in range(n):
                b = -(1.0 + x_e[i] + x_i[i]) / c_tau[i]
                ba = (c_vinf[i] + x_e[i] * c_ee[i] + x_i[i] * c_ei[i]) / c_tau[i] / b
                vn = -ba + (ba + v[i]) * math.exp(b * dt)
                vn = vn if step - last[i] >= c_ref[i] else v[i]
                v[i] = vn
                n_above += vn > c_th[i]
                x_e[i] *= c_de[i]
                x_i[i] *= c_di[i]
        else:
            for i in range(n):
                vn = c_vinf[i] + (v[i] - c_vinf[i]) * c_em[i] + c_ke[i] * x_e[i] - c_ki[i] * x_i[i]
                vn = vn if step - last[i] >= c_ref[i] else v[i]
                v[i] = vn
                n_above += vn > c_th[i]
                x_e[i] *= c_de[i]
                x_i[i] *= c_di[i]
        # (2) threshold
        n_sp = 0
        if n_above > 0:
            for i in range(n):
                if v[i] > c_th[i] and step - last[i] >= c_ref[i]:
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
                    rng += _GOLDEN
                    if (_mix64(rng) >> uint64(11)) * _TO_UNIT >= syn_p[s]:
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
            v[i] = v_reset[nb0 + i]
            last[i] = step
            counts[task, i] += 1
            if first[task, i] < 0:
                first[task, i] = step
            if record_spikes:
                spk_step[rec] = step
                spk_neuron[rec] = i
                rec += 1
