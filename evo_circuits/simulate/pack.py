"""Packing a population of circuits (of different sizes) into flat arrays for the kernel.

Every per-neuron quantity is stored once per neuron in one flat array, with
``neuron_off[c]`` the first neuron of circuit ``c``. Synapses are stored in CSR form by
presynaptic source (a circuit's inputs first, then its neurons): the outgoing synapses of
source row ``r`` of circuit ``c`` are ``syn_*[syn_ptr[src_off[c] + r] : syn_ptr[src_off[c] + r + 1]]``.
The neurons' propagators (:func:`evo_circuits.dynamics.propagators`) are computed once per population.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from ..circuit import Circuit
from ..errors import CircuitError
from ..dynamics.propagators import Propagators, propagators


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


class SynapseTable(NamedTuple):
    """Synapses in CSR form by source row (see the module docstring)."""

    ptr: np.ndarray          # (total_rows+1,) int64
    post: np.ndarray         # int32, neuron index within the circuit
    inh: np.ndarray          # bool: presynaptic source is inhibitory
    w: np.ndarray
    delay: np.ndarray        # int32 steps
    p: np.ndarray            # release probability
    u: np.ndarray            # depression utilisation, 0 = no depression
    tau_rec: np.ndarray
    # "dense" source rows: every synapse has delay 0, p_release 1 and no depression, so a
    # spike is one vectorised add of row_dense[row_off[r] : row_off[r] + n] (-1: not dense)
    row_off: np.ndarray      # (total_rows,) int64
    row_inh: np.ndarray      # (total_rows,) bool
    row_dense: np.ndarray


class InputTable(NamedTuple):
    """Input spikes in CSR form by (input set, step): the channels firing at step ``t`` of
    set ``k`` are ``channel[ptr[k * n_steps + t] : ptr[k * n_steps + t + 1]]``; task
    (circuit ``c``, trial ``tr``) reads set ``set_index[c, tr]``."""

    ptr: np.ndarray
    channel: np.ndarray
    set_index: np.ndarray


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
    sizes = np.array([c.n_neurons for c in circuits], np.int64)
    n_in = np.array([c.n_inputs for c in circuits], np.int64)
    neuron_off = np.concatenate([[0], np.cumsum(sizes)])
    src_off = np.concatenate([[0], np.cumsum(sizes + n_in)])
    params = np.concatenate([c.params for c in circuits])

    rows_ptr, post, inh, w, d, p, u, tr = [[0]], [], [], [], [], [], [], []
    ring = np.zeros(len(circuits), np.int64)
    total = 0
    row_off, row_inh, dense, dense_len = [], [], [], 0
    for k, c in enumerate(circuits):
        simple = ~(((c.delays != 0) | (c.p_release != 1.0) | (c.std_u > 0)) & (c.weights > 0)).any(axis=1)
        offs = np.full(c.n_inputs + c.n_neurons, -1, np.int64)
        offs[simple] = dense_len + c.n_neurons * np.arange(int(simple.sum()))
        dense_len += c.n_neurons * int(simple.sum())
        dense.append(c.weights[simple].ravel())
        row_off.append(offs)
        row_inh.append(c.source_signs < 0)
        # CSR by source row: transpose view so that nonzero() walks rows in order.
        pre_idx, post_idx = np.nonzero(c.weights)
        counts = np.bincount(pre_idx, minlength=c.n_inputs + c.n_neurons)
        rows_ptr.append(total + np.cumsum(counts))
        total += len(pre_idx)
        post.append(post_idx)
        inh.append(c.source_signs[pre_idx] < 0)
        w.append(c.weights[pre_idx, post_idx])
        d.append(c.delays[pre_idx, post_idx])
        p.append(c.p_release[pre_idx, post_idx])
        u.append(c.std_u[pre_idx, post_idx])
        tr.append(c.std_tau_rec[pre_idx, post_idx])
        ring[k] = (int(d[-1].max()) if len(d[-1]) else 0) + 1

    def cat(parts, dtype):
        return np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(0), dtype=dtype)

    return PackedPopulation(
        dt_ms=dt, conductance=(model == "conductance"), n_circuits=len(circuits),
        layout=Layout(neuron_off=neuron_off, n_inputs=n_in, src_off=src_off, ring_size=ring,
                      ind_ids=np.arange(len(circuits), dtype=np.int64)),
        neurons=propagators(params, dt),
        synapses=SynapseTable(
            ptr=cat(rows_ptr, np.int64), post=cat(post, np.int32), inh=cat(inh, np.bool_),
            w=cat(w, np.float64), delay=cat(d, np.int32), p=cat(p, np.float64),
            u=cat(u, np.float64), tau_rec=cat(tr, np.float64),
            row_off=cat(row_off, np.int64), row_inh=cat(row_inh, np.bool_), row_dense=cat(dense, np.float64)),
    )
