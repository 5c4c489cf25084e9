"""Packing a population of circuits (of different sizes) into flat arrays for the kernel.

Every per-neuron quantity is stored once per neuron in one flat array, with
``neuron_off[c]`` the first neuron of circuit ``c``. Synapses are stored in CSR form by
presynaptic source (a circuit's inputs first, then its neurons): the outgoing synapses of
source row ``r`` of circuit ``c`` are ``syn_*[syn_ptr[src_off[c] + r] : syn_ptr[src_off[c] + r + 1]]``.
Propagators of the exact integration are precomputed here, once per population.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..circuit import Circuit
from ..errors import CircuitError
from ..model import NEURON_PARAMS


@dataclass
class PackedPopulation:
    """Flat arrays describing a population of circuits (see module docstring)."""

    dt_ms: float
    conductance: bool
    n_circuits: int
    neuron_off: np.ndarray   # (C+1,) int64
    n_inputs: np.ndarray     # (C,) int64
    src_off: np.ndarray      # (C+1,) int64 into syn_ptr rows
    ring_size: np.ndarray    # (C,) int64: max delay + 1
    # per neuron: propagators and thresholds
    em: np.ndarray
    de: np.ndarray
    di: np.ndarray
    ke: np.ndarray
    ki: np.ndarray
    v_inf: np.ndarray
    v_th: np.ndarray
    v_reset: np.ndarray
    v_init: np.ndarray
    ref_steps: np.ndarray    # int64
    tau_m: np.ndarray
    e_e: np.ndarray
    e_i: np.ndarray
    # synapses, CSR by source row
    syn_ptr: np.ndarray      # (total_rows+1,) int64
    syn_post: np.ndarray     # int32, neuron index within the circuit
    syn_inh: np.ndarray      # bool: presynaptic source is inhibitory
    syn_w: np.ndarray
    syn_delay: np.ndarray    # int32 steps
    syn_p: np.ndarray
    syn_u: np.ndarray        # 0 = no depression
    syn_tau_rec: np.ndarray
    # "dense" source rows: every synapse has delay 0, p_release 1 and no depression, so a
    # spike is one vectorised add of row_dense[row_off[r] : row_off[r] + n] (-1: not dense)
    row_off: np.ndarray      # (total_rows,) int64
    row_inh: np.ndarray      # (total_rows,) bool
    row_dense: np.ndarray

    @property
    def max_neurons(self) -> int:
        """Size of the largest circuit."""
        return int(np.diff(self.neuron_off).max()) if self.n_circuits else 0


def _psc_kernel(tau_s: np.ndarray, tau_m: np.ndarray, dt: float) -> np.ndarray:
    """Exact contribution of a synaptic current at the start of a step to v at its end.

    ``tau_s/(tau_s - tau_m) * (exp(-dt/tau_s) - exp(-dt/tau_m))``, with the limit
    ``dt/tau_m * exp(-dt/tau_m)`` when the time constants are equal.
    """
    em, es = np.exp(-dt / tau_m), np.exp(-dt / tau_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = tau_s / (tau_s - tau_m) * (es - em)
    close = np.isclose(tau_s, tau_m, rtol=1e-9, atol=0.0)
    k[close] = dt / tau_m[close] * em[close]
    return k


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
    col = {name: params[:, k] for k, name in enumerate(NEURON_PARAMS)}
    tau_m, tau_e, tau_i = col["tau_m"], col["tau_e"], col["tau_i"]

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
        neuron_off=neuron_off, n_inputs=n_in, src_off=src_off, ring_size=ring,
        em=np.exp(-dt / tau_m), de=np.exp(-dt / tau_e), di=np.exp(-dt / tau_i),
        ke=_psc_kernel(tau_e, tau_m, dt), ki=_psc_kernel(tau_i, tau_m, dt),
        v_inf=col["v_rest"] + col["i_bias"], v_th=col["v_th"].copy(), v_reset=col["v_reset"].copy(),
        v_init=col["v_rest"].copy(), ref_steps=np.rint(col["t_ref"] / dt).astype(np.int64),
        tau_m=tau_m.copy(), e_e=col["e_e"].copy(), e_i=col["e_i"].copy(),
        syn_ptr=cat(rows_ptr, np.int64), syn_post=cat(post, np.int32), syn_inh=cat(inh, np.bool_),
        syn_w=cat(w, np.float64), syn_delay=cat(d, np.int32), syn_p=cat(p, np.float64),
        syn_u=cat(u, np.float64), syn_tau_rec=cat(tr, np.float64),
        row_off=cat(row_off, np.int64), row_inh=cat(row_inh, np.bool_), row_dense=cat(dense, np.float64),
    )
