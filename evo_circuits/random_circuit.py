"""Random E/I circuits: the null model for tests, benchmarks and initial populations."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .circuit import Circuit, default_params
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
    """
    rng = np.random.default_rng(seed)
    n = n_exc + n_inh
    types = np.array([EXCITATORY] * n_exc + [INHIBITORY] * n_inh, np.int8)
    rec = rng.random((n, n)) < p_conn
    if not self_loops:
        np.fill_diagonal(rec, False)
    mag = np.where(types[:, None] > 0, rng.uniform(*w_exc, (n, n)), rng.uniform(*w_inh, (n, n)))
    inp = rng.random((n_inputs, n)) < p_input
    w_in = rng.uniform(*w_input, (n_inputs, n)) if isinstance(w_input, tuple) else np.full((n_inputs, n), w_input)
    weights = np.vstack([np.where(inp, w_in, 0.0), np.where(rec, mag, 0.0)])
    delays = rng.integers(0, max_delay_steps + 1, weights.shape) * (weights > 0)
    if outputs is None:
        outputs = [max(n_exc - 1, 0)] if n else []
    return Circuit(types=types, n_inputs=n_inputs, weights=weights, delays=delays,
                   params=default_params(types), outputs=outputs, dt_ms=dt_ms,
                   synapse_model=synapse_model, name=name)


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
