"""Packing a population of circuits (of different sizes) into flat arrays for the kernel.

Every per-neuron quantity is stored once per neuron in one flat array, with
``neuron_off[c]`` the first neuron of circuit ``c``. Synapses are stored in CSR form by
presynaptic source (a circuit's inputs first, then its neurons): the outgoing synapses of
source row ``r`` of circuit ``c`` are ``syn_*[syn_ptr[src_off[c] + r] : syn_ptr[src_off[c] + r + 1]]``.
The neurons' propagators (:func:`evo_circuits.dynamics.propagators`) are computed once per population.

Packing works on the circuits' synapse tables (:attr:`evo_circuits.Circuit.synapses`),
concatenated once for the population and vectorised: no Python loop over synapses and no
``n x n`` temporaries, so it is fast for 256 tiny circuits and fits 10^5-neuron ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
from numba import njit

from ..circuit import Circuit
from ..errors import CircuitError
from ..dynamics.propagators import Propagators, propagators


# Circuits larger than this are simulated one trial at a time and deliver their plain rows
# on arrival (see :mod:`.kernel`; unless their delays are long for their synapse count,
# :func:`_with_segments`); smaller ones put trials in lanes.
LARGE_CIRCUIT_NEURONS = 256


class Layout(NamedTuple):
    """Where each circuit's neurons and source rows are in the flat arrays.

    ``neuron_off[c]:neuron_off[c+1]`` are circuit ``c``'s neurons, ``src_off[c]`` its first
    source row (its inputs, then its neurons), ``ring_size[c]`` its longest delay + 1 and
    ``ind_ids[c]`` the id of its random stream (set by :func:`.api.simulate`).
    """

    neuron_off: np.ndarray   # (C+1,) int64
    n_inputs: np.ndarray     # (C,) int64
    src_off: np.ndarray      # (C+1,) int64 into SynapseTable.ptr rows
    ring_size: np.ndarray    # (C,) int64
    ind_ids: np.ndarray      # (C,) int64
    seg_base: np.ndarray     # (C,) int64: first entry of the circuit in SynapseTable.seg_ptr (-1: none)


class SynapseTable(NamedTuple):
    """Synapses in CSR form by source row (see the module docstring)."""

    ptr: np.ndarray          # (total_rows+1,) int64
    post: np.ndarray         # int32, neuron index within the circuit
    w: np.ndarray
    delay: np.ndarray        # int32 steps
    p: np.ndarray            # release probability
    u: np.ndarray            # depression utilisation, 0 = no depression
    tau_rec: np.ndarray
    # "dense" source rows: every synapse has delay 0, p_release 1 and no depression, so a
    # spike is one vectorised add of row_dense[row_off[r] : row_off[r] + n] (-1: not dense)
    row_off: np.ndarray      # (total_rows,) int64
    row_inh: np.ndarray      # (total_rows,) bool: the source is inhibitory
    row_dense: np.ndarray
    row_plain: np.ndarray    # (total_rows,) bool: p_release 1 and no depression on every synapse
    # Large circuits (more than LARGE_CIRCUIT_NEURONS neurons) deliver their plain rows on
    # arrival: a copy of those rows sorted by delay, ``seg_post/seg_w[seg_ptr[b]:seg_ptr[b+1]]``
    # with ``b = layout.seg_base[c] + r * ring_size[c] + d`` the synapses of row ``r``
    # (within the circuit) with delay ``d``.
    seg_ptr: np.ndarray      # int64
    seg_post: np.ndarray     # int32
    seg_w: np.ndarray


class InputTable(NamedTuple):
    """Input spikes in CSR form by (step, input set): the spikes of sets ``a..b-1`` at step
    ``t`` are entries ``ptr[t * n_sets + a] : ptr[t * n_sets + b]`` (sorted by set, then
    channel) of ``set`` and ``channel``. Trial ``tr`` of circuit ``c`` reads set
    ``set_base[c] + tr``, so the trials of a circuit are consecutive sets."""

    ptr: np.ndarray
    set: np.ndarray
    channel: np.ndarray
    set_base: np.ndarray


@dataclass
class PackedPopulation:
    """Flat arrays describing a population of circuits (see module docstring)."""

    dt_ms: float
    conductance: bool
    n_circuits: int
    layout: Layout
    neurons: Propagators     # per neuron, all circuits concatenated
    synapses: SynapseTable

    @property
    def max_neurons(self) -> int:
        """Size of the largest circuit."""
        return int(np.diff(self.layout.neuron_off).max()) if self.n_circuits else 0


def pack(circuits: Sequence[Circuit]) -> PackedPopulation:
    """Pack circuits for the kernel.

    Parameters
    ----------
    circuits : sequence of Circuit
        All must share ``dt_ms`` and ``synapse_model``.

    Returns
    -------
    PackedPopulation

    Raises
    ------
    CircuitError
        If the circuits disagree on ``dt_ms`` or ``synapse_model``.
    """
    if len(circuits) == 0:
        raise CircuitError("population: no circuits to simulate")
    dt, model = circuits[0].dt_ms, circuits[0].synapse_model
    for k, c in enumerate(circuits):
        if c.dt_ms != dt or c.synapse_model != model:
            raise CircuitError(f"population[{k}]: dt_ms/synapse_model ({c.dt_ms}, {c.synapse_model}) differ from "
                               f"the first circuit's ({dt}, {model}); simulate them separately")
    # One pass over the circuits (evolution packs hundreds of small ones per call).
    syn = [c.synapses for c in circuits]
    params, types = [c.params for c in circuits], [c.types for c in circuits]
    sizes = np.array([len(t) for t in types], np.int64)
    n_in = np.array([c.n_inputs for c in circuits], np.int64)
    n_syn = np.array([len(s.pre) for s in syn], np.int64)
    neuron_off = np.concatenate([[0], np.cumsum(sizes)])
    src_off = np.concatenate([[0], np.cumsum(sizes + n_in)])
    params, types = np.concatenate(params), np.concatenate(types)
    table = _synapse_table(syn, n_syn, neuron_off, src_off, n_in, types)
    ring_size = _ring_sizes(table.delay, n_syn)
    table, seg_base = _with_segments(table, sizes, src_off, ring_size)
    return PackedPopulation(
        dt_ms=dt, conductance=(model == "conductance"), n_circuits=len(circuits),
        layout=Layout(neuron_off=neuron_off, n_inputs=n_in, src_off=src_off, ring_size=ring_size,
                      ind_ids=np.arange(len(circuits), dtype=np.int64), seg_base=seg_base),
        neurons=propagators(params, dt), synapses=table)


def _cat(parts: list, dtype) -> np.ndarray:
    """Concatenation as a contiguous array of ``dtype``; a single part is not copied if it
    already is one (a large circuit's synapse table is used in place)."""
    if len(parts) == 1:
        return np.ascontiguousarray(parts[0], dtype=dtype)
    return np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(0), dtype=dtype)


def _ring_sizes(delay: np.ndarray, n_syn: np.ndarray) -> np.ndarray:
    """Longest delay + 1 of every circuit (1 for a circuit without synapses), from the
    population's concatenated delays and each circuit's synapse count."""
    ring = np.ones(len(n_syn), np.int64)
    has = n_syn > 0
    if has.any():
        starts = (np.cumsum(n_syn) - n_syn)[has]
        ring[has] = np.maximum.reduceat(delay, starts).astype(np.int64) + 1
    return ring


def _synapse_table(syn: list, n_syn: np.ndarray, neuron_off: np.ndarray, src_off: np.ndarray,
                   n_in: np.ndarray, types: np.ndarray) -> SynapseTable:
    """The population's synapses in CSR form by source row, built on the concatenated
    synapse lists: memory in proportion to synapses, no per-circuit matrices, and no
    temporaries larger than a few bytes per synapse."""
    n_rows = int(src_off[-1])
    row = _cat([s.pre for s in syn], np.int64 if len(syn) > 1 else np.int32)  # sorted by row within a circuit
    if len(syn) > 1:
        row += np.repeat(src_off[:-1], n_syn)
    post = _cat([s.post for s in syn], np.int32)
    w, delay = _cat([s.weight for s in syn], np.float64), _cat([s.delay for s in syn], np.int32)
    p, u = _cat([s.p_release for s in syn], np.float64), _cat([s.std_u for s in syn], np.float64)
    tau_rec = _cat([s.std_tau_rec for s in syn], np.float64)
    ptr = np.zeros(n_rows + 1, np.int64)
    per_row = np.bincount(row, minlength=n_rows)
    np.cumsum(per_row, out=ptr[1:])
    # Source signs: inputs are excitatory, neuron rows take their neuron's type.
    sizes = np.diff(neuron_off)
    row_inh = np.zeros(n_rows, np.bool_)
    row_inh[np.arange(int(neuron_off[-1])) + np.repeat(src_off[:-1] + n_in - neuron_off[:-1], sizes)] = types < 0
    # "Dense" rows: every synapse delivers now with certainty (delay 0, p 1, no depression)
    # and they reach at least a quarter of the circuit, so a spike is one loop over the
    # circuit's neurons; at most 4 values per synapse, so large sparse circuits stay sparse.
    n_of_row = np.repeat(sizes, sizes + n_in)
    dense = (per_row > 0) & (4 * per_row >= n_of_row)
    # "Plain" rows: every synapse releases with certainty and does not depress.
    not_plain = (p != 1.0) | (u > 0)
    if dense.any():
        # Any delayed, unreliable or depressing synapse in a candidate row: an OR over
        # [start, end) of each row (reduceat over interleaved bounds; a pad entry lets the
        # last row end at the table's end).
        bad = np.zeros(len(w) + 1, np.bool_)
        bad[:-1] = (delay != 0) | not_plain
        bounds = np.empty(2 * int(dense.sum()), np.int64)
        bounds[0::2], bounds[1::2] = ptr[:-1][dense], ptr[1:][dense]
        dense[dense] = ~np.logical_or.reduceat(bad, bounds)[0::2]
    row_plain = np.bincount(row[not_plain], minlength=n_rows) == 0
    row_len = np.where(dense, n_of_row, 0)
    row_off = np.where(dense, np.cumsum(row_len) - row_len, -1).astype(np.int64)
    row_dense = np.zeros(int(row_len.sum()))
    in_dense = np.flatnonzero(dense[row])
    row_dense[row_off[row[in_dense]] + post[in_dense]] = w[in_dense]
    return SynapseTable(ptr=ptr, post=post, w=w, delay=delay, p=p, u=u, tau_rec=tau_rec,
                        row_off=row_off, row_inh=row_inh, row_dense=row_dense, row_plain=row_plain,
                        seg_ptr=np.zeros(1, np.int64), seg_post=np.zeros(0, np.int32), seg_w=np.zeros(0))


def _with_segments(t: SynapseTable, sizes: np.ndarray, src_off: np.ndarray,
                   ring_size: np.ndarray) -> tuple[SynapseTable, np.ndarray]:
    """``t`` with the delay-sorted copies of the plain rows of the circuits that deliver on
    arrival, and each circuit's first entry in ``seg_ptr`` (-1: the ring).

    Those are the circuits above LARGE_CIRCUIT_NEURONS whose segment table (one int64 per
    source row and delay) is at most 4 entries per plain synapse: long delays on sparse
    rows stay on the ring, where they cost neither that memory nor a lookup per delay and
    spike.
    """
    seg_base = np.full(len(sizes), -1, np.int64)
    candidates = np.flatnonzero(sizes > LARGE_CIRCUIT_NEURONS)
    if candidates.size == 0:
        return t, seg_base
    n_rows = np.diff(src_off)
    plain = np.bincount(np.repeat(np.arange(len(sizes)), n_rows), np.diff(t.ptr) * t.row_plain, len(sizes))
    large = candidates[n_rows[candidates] * ring_size[candidates] <= 4 * plain[candidates]]
    if large.size == 0:
        return t, seg_base
    n_entries = n_rows[large] * ring_size[large]
    seg_base[large] = np.cumsum(n_entries) - n_entries
    seg_ptr = np.zeros(int(n_entries.sum()) + 1, np.int64)
    n_seg_syn = int(plain[large].sum())
    seg_post, seg_w = np.empty(n_seg_syn, np.int32), np.empty(n_seg_syn)
    _fill_segments(t.ptr, t.post, t.delay, t.w, t.row_plain, src_off[large], n_rows[large], ring_size[large],
                   seg_base[large], seg_ptr, seg_post, seg_w)
    return t._replace(seg_ptr=seg_ptr, seg_post=seg_post, seg_w=seg_w), seg_base


@njit(cache=True)
def _fill_segments(ptr, post, delay, w, plain, row0, n_rows, ring, base, seg_ptr, seg_post, seg_w):
    """Counting sort of each plain row by delay (stable: by post within a delay)."""
    o = 0
    for c in range(row0.shape[0]):
        d_n = ring[c]
        cnt = np.zeros(d_n, np.int64)
        for r in range(n_rows[c]):
            row = row0[c] + r
            b = base[c] + r * d_n
            cnt[:] = 0
            if plain[row]:
                for s in range(ptr[row], ptr[row + 1]):
                    cnt[delay[s]] += 1
            for d in range(d_n):
                seg_ptr[b + d] = o
                o += cnt[d]
                cnt[d] = seg_ptr[b + d]
            if plain[row]:
                for s in range(ptr[row], ptr[row + 1]):
                    d = delay[s]
                    seg_post[cnt[d]] = post[s]
                    seg_w[cnt[d]] = w[s]
                    cnt[d] += 1
        seg_ptr[base[c] + n_rows[c] * d_n] = o
