"""Random E/I circuits: the null model for tests, benchmarks and initial populations."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .circuit import DENSE_MAX_ENTRIES, Circuit, Synapses, default_params
from .model import EXCITATORY, INHIBITORY


def random_circuit(n_exc: int, n_inh: int, n_inputs: int, *, p_conn: float = 0.2,
                   w_exc: tuple[float, float] = (0.5, 1.5), w_inh: tuple[float, float] = (1.0, 3.0),
                   p_input: float = 0.5, w_input: float | tuple[float, float] = 2.0,
                   max_delay_steps: int = 0, self_loops: bool = False,
                   outputs: Sequence[int] | None = None, synapse_model: str = "current",
                   dt_ms: float = 0.1, seed: int | np.random.Generator = 0, name: str = "") -> Circuit:
    """Draw an Erdős–Rényi E/I circuit obeying Dale's law.

    Parameters
    ----------
    n_exc, n_inh : int
        Numbers of excitatory and inhibitory neurons (E first, then I).
    n_inputs : int
        Input channels; each connects to each neuron with probability ``p_input``.
    p_conn : float
        Recurrent connection probability.
    w_exc, w_inh : (low, high)
        Uniform ranges of E and I weight magnitudes (mV).
    w_input : float or (low, high)
        Input weight, fixed or uniform range.
    max_delay_steps : int
        Delays drawn uniformly from ``0..max_delay_steps`` (inputs included).
    self_loops : bool
        Allow autapses.
    outputs : sequence of int, optional
        Output neurons; default: the last excitatory neuron.
    seed : int or numpy Generator

    Returns
    -------
    Circuit

    Notes
    -----
    Circuits of more than :data:`~evo_circuits.circuit.DENSE_MAX_ENTRIES` matrix entries
    are drawn synapse by synapse (memory grows with synapses, not neurons²): the same
    distribution, but another random stream than the dense draw of smaller circuits.
    """
    rng = np.random.default_rng(seed)
    n = n_exc + n_inh
    types = np.array([EXCITATORY] * n_exc + [INHIBITORY] * n_inh, np.int8)
    if outputs is None:
        outputs = [max(n_exc - 1, 0)] if n else []
    if (n_inputs + n) * n > DENSE_MAX_ENTRIES:
        syn = _sparse_draw(rng, types, n_inputs, p_conn, w_exc, w_inh, p_input, w_input, max_delay_steps, self_loops)
        return Circuit.adopt(types, n_inputs, syn, outputs=outputs, dt_ms=dt_ms, synapse_model=synapse_model,
                             name=name)
    rec = rng.random((n, n)) < p_conn
    if not self_loops:
        np.fill_diagonal(rec, False)
    mag = np.where(types[:, None] > 0, rng.uniform(*w_exc, (n, n)), rng.uniform(*w_inh, (n, n)))
    inp = rng.random((n_inputs, n)) < p_input
    w_in = rng.uniform(*w_input, (n_inputs, n)) if isinstance(w_input, tuple) else np.full((n_inputs, n), w_input)
    weights = np.vstack([np.where(inp, w_in, 0.0), np.where(rec, mag, 0.0)])
    delays = rng.integers(0, max_delay_steps + 1, weights.shape) * (weights > 0)
    return Circuit(types=types, n_inputs=n_inputs, weights=weights, delays=delays,
                   params=default_params(types), outputs=outputs, dt_ms=dt_ms,
                   synapse_model=synapse_model, name=name)


def _sparse_draw(rng: np.random.Generator, types: np.ndarray, n_inputs: int, p_conn: float,
                 w_exc: tuple[float, float], w_inh: tuple[float, float], p_input: float,
                 w_input: float | tuple[float, float], max_delay_steps: int, self_loops: bool) -> Synapses:
    """The synapses of :func:`random_circuit` drawn without dense matrices."""
    n = len(types)
    in_rows, in_cols = bernoulli_pairs(rng, n_inputs, n, p_input)
    rec_rows, rec_cols = bernoulli_pairs(rng, n, n, p_conn)
    if not self_loops:
        off = rec_rows != rec_cols
        rec_rows, rec_cols = rec_rows[off], rec_cols[off]
    exc = types[rec_rows] > 0
    w_rec = np.where(exc, rng.uniform(*w_exc, len(rec_rows)), rng.uniform(*w_inh, len(rec_rows)))
    w_in = (rng.uniform(*w_input, len(in_rows)) if isinstance(w_input, tuple)
            else np.full(len(in_rows), float(w_input)))
    pre = np.concatenate([in_rows, rec_rows + np.int32(n_inputs)])
    del in_rows, rec_rows
    m = len(pre)
    return Synapses(pre, np.concatenate([in_cols, rec_cols]), np.concatenate([w_in, w_rec]),
                    rng.integers(0, max_delay_steps + 1, m).astype(np.int32), np.ones(m), np.zeros(m), np.zeros(m))


def bernoulli_pairs(rng: np.random.Generator, n_rows: int, n_cols: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Each (row, col) of an ``n_rows x n_cols`` grid independently with probability ``p``.

    Drawn as geometric gaps between chosen cells, so time and memory grow with the number
    chosen, not the grid. Returns ``(rows, cols)`` (int32) sorted row-major.
    """
    total = n_rows * n_cols
    if total == 0 or p <= 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    if p >= 1:
        flat = np.arange(total, dtype=np.int64)
    else:
        parts, last = [], -1
        while last < total:
            expected = (total - last) * p
            gaps = rng.geometric(p, int(expected + 5 * np.sqrt(expected) + 16))
            pos = last + np.cumsum(gaps)
            parts.append(pos[pos < total])
            last = int(pos[-1])
        flat = np.concatenate(parts)
        del parts
    return (flat // n_cols).astype(np.int32), (flat % n_cols).astype(np.int32)


def random_task_circuit(n_inputs: int, n_outputs: int, seed: int | np.random.Generator = 0, *,
                        n_exc: tuple[int, int] = (3, 8), n_inh: tuple[int, int] = (1, 3),
                        max_delay_steps: int = 30) -> Circuit:
    """A small random E/I circuit wired for a task: the null model of the task suite.

    Sizes are drawn from the inclusive ranges ``n_exc`` and ``n_inh``; weights are broad
    (inputs U(50, 400) mV, E U(10, 200), I U(10, 200)) so circuits span silent to very
    active; delays U{0..max_delay_steps}; outputs are ``n_outputs`` distinct excitatory
    neurons (inhibitory ones if there are too few).
    """
    rng = np.random.default_rng(seed)
    ne = int(rng.integers(n_exc[0], n_exc[1] + 1))
    ni = int(rng.integers(n_inh[0], n_inh[1] + 1))
    ne = max(ne, n_outputs - ni)
    order = list(rng.permutation(ne)) + list(ne + rng.permutation(ni))
    return random_circuit(ne, ni, n_inputs, p_conn=0.3, w_exc=(10.0, 200.0), w_inh=(10.0, 200.0),
                          p_input=0.5, w_input=(50.0, 400.0), max_delay_steps=max_delay_steps,
                          outputs=[int(i) for i in order[:n_outputs]], seed=rng)
