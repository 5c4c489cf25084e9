"""User-facing entry point: :func:`simulate` a population of circuits on input spikes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..circuit import Circuit
from ..errors import EvoCircuitsError
from .inputs import InputSpikes
from .kernel import Recording, simulate_population
from .pack import InputTable, PackedPopulation, pack

#: Refuse voltage recordings larger than this many values (8 bytes each).
MAX_TRACE_VALUES = 200_000_000


@dataclass
class SimResult:
    """What a simulation returns.

    Attributes
    ----------
    counts : ndarray of int, shape (n_individuals, n_trials, max_neurons)
        Spike count of every neuron (padding columns beyond a circuit's size are 0).
    first_spike : ndarray of int, shape (n_individuals, n_trials, max_neurons)
        Step of each neuron's first spike, -1 if it never spiked.
    n_neurons : ndarray of int, shape (n_individuals,)
    max_rates_hz : ndarray, shape (n_individuals, max_neurons)
        Highest rate each neuron can reach, one spike per ``max(r, 1)`` steps (refractory
        period ``r`` steps): the ceiling a runaway circuit saturates at.
    n_steps : int
    dt_ms : float
    spikes : dict of ndarray, optional
        ``individual``, ``trial``, ``neuron``, ``step`` (sorted by individual, trial,
        step, neuron) when ``record_spikes=True``.
    v : ndarray, shape (n_individuals, n_trials, max_neurons, n_steps), optional
        Membrane potential at the start of each step when ``record_v=True``.
    """

    counts: np.ndarray
    first_spike: np.ndarray
    n_neurons: np.ndarray
    max_rates_hz: np.ndarray
    n_steps: int
    dt_ms: float
    spikes: dict | None = None
    v: np.ndarray | None = None

    @property
    def duration_ms(self) -> float:
        """Simulated time per trial (ms)."""
        return self.n_steps * self.dt_ms

    def rates_hz(self) -> np.ndarray:
        """Firing rate of every neuron (Hz), shape like :attr:`counts`."""
        return self.counts / (self.duration_ms * 1e-3)

    def mean_rate_hz(self) -> np.ndarray:
        """Mean firing rate over each individual's neurons and trials (Hz)."""
        total = self.counts.sum(axis=(1, 2))
        return total / (np.maximum(self.n_neurons, 1) * self.counts.shape[1] * self.duration_ms * 1e-3)

    def saturation(self) -> np.ndarray:
        """Rate of every neuron as a fraction of its ceiling (1.0 = fires every refractory period)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = self.rates_hz() / self.max_rates_hz[:, None, :]
        return np.nan_to_num(frac)

    @property
    def total_spikes(self) -> np.ndarray:
        """Total spikes of each individual over all trials (an energy cost)."""
        return self.counts.sum(axis=(1, 2))


def simulate(circuits: Circuit | Sequence[Circuit], inputs: InputSpikes, *, seed: int = 0,
             individual_ids: Sequence[int] | None = None, record_spikes: bool = False,
             record_v: bool = False, max_spikes: int | None = None) -> SimResult:
    """Simulate a population of circuits on input spikes in one parallel kernel call.

    Parameters
    ----------
    circuits : Circuit or sequence of Circuit
        Circuits may differ in size; they must share ``dt_ms`` and ``synapse_model``.
    inputs : InputSpikes
        Spike trains per (trial, channel), shared by the population or per individual.
        Channels beyond a circuit's ``n_inputs`` are ignored by that circuit.
    seed : int
        Seed of the random streams (stochastic release): one stream per
        (individual id, trial), so splitting a population does not change results.
    individual_ids : sequence of int, optional
        Stream ids of the individuals (default ``0..N-1``); pass stable ids when you
        simulate a population in chunks.
    record_spikes, record_v : bool
        Also return every spike, and voltage traces.
    max_spikes : int, optional
        With ``record_spikes``: refuse (:class:`EvoCircuitsError`, before recording
        anything) a run that emits more spikes than this, instead of holding them all.

    Returns
    -------
    SimResult
    """
    if isinstance(circuits, Circuit):
        circuits = [circuits]
    circuits = list(circuits)
    packed = pack(circuits)
    inputs.check_dt(packed.dt_ms)
    n_ind, n_trials, n_steps = len(circuits), inputs.n_trials, inputs.n_steps
    if inputs.per_individual and inputs.n_individuals != n_ind:
        raise EvoCircuitsError(f"inputs: per-individual inputs for {inputs.n_individuals} individuals, "
                               f"but {n_ind} circuits were given")
    ids = np.arange(n_ind, dtype=np.int64) if individual_ids is None else np.asarray(individual_ids, np.int64)
    if ids.shape != (n_ind,):
        raise EvoCircuitsError(f"individual_ids: expected {n_ind} ids, got shape {ids.shape}")
    set_index = np.tile(np.arange(n_trials, dtype=np.int64), (n_ind, 1))
    if inputs.per_individual:
        set_index += np.arange(n_ind, dtype=np.int64)[:, None] * n_trials
    in_ptr, in_ch = inputs.to_csr()
    table = InputTable(in_ptr, in_ch, set_index)
    layout = packed.layout._replace(ind_ids=ids)
    max_n = packed.max_neurons
    n_tasks = n_ind * n_trials
    if record_v and n_tasks * max_n * n_steps > MAX_TRACE_VALUES:
        raise EvoCircuitsError(f"record_v: {n_tasks * max_n * n_steps:,} values is too many to record; "
                               "simulate fewer circuits or trials")

    def run(record: bool, spk_off: np.ndarray, v_out: np.ndarray):
        # numba does not bounds-check: v_out is recorded into only when it is full-sized.
        rec_v = v_out.size > 0
        counts = np.zeros((n_tasks, max_n), np.int64)
        first = np.full((n_tasks, max_n), -1, np.int64)
        total = int(spk_off[-1]) if record else 0
        spk_step = np.zeros(total, np.int64)
        spk_neuron = np.zeros(total, np.int64)
        simulate_population(layout, packed.neurons, packed.synapses, table,
                            Recording(counts, first, record, spk_off, spk_step, spk_neuron, rec_v, v_out),
                            packed.conductance, n_steps, n_trials, np.uint64(seed % 2**64), packed.dt_ms)
        return counts, first, spk_step, spk_neuron

    v_out = np.zeros((n_tasks, max_n, n_steps) if record_v else (0, 0, 0))
    counts, first, _, _ = run(False, np.zeros(1, np.int64), v_out)
    result = SimResult(counts=counts.reshape(n_ind, n_trials, max_n), first_spike=first.reshape(n_ind, n_trials, max_n),
                       n_neurons=np.diff(packed.layout.neuron_off), max_rates_hz=_max_rates(packed, max_n),
                       n_steps=n_steps, dt_ms=packed.dt_ms)
    if record_v:
        result.v = v_out.reshape(n_ind, n_trials, max_n, n_steps)
    if record_spikes:
        # Second, recording pass with exact buffer sizes (the run is deterministic).
        per_task = counts.sum(axis=1)
        if max_spikes is not None and per_task.sum() > max_spikes:
            raise EvoCircuitsError(f"record_spikes: the run emits {int(per_task.sum()):,} spikes, more than the cap "
                                   f"of {max_spikes:,} (EVO_CIRCUITS_MAX_SPIKES on the command line); "
                                   "simulate fewer trials or steps")
        spk_off = np.concatenate([[0], np.cumsum(per_task)]).astype(np.int64)
        _, _, step, neuron = run(True, spk_off, np.zeros((0, 0, 0)))
        task = np.repeat(np.arange(n_tasks), per_task)
        order = np.lexsort((neuron, step, task))
        task, step, neuron = task[order], step[order], neuron[order]
        result.spikes = {"individual": task // n_trials, "trial": task % n_trials, "neuron": neuron, "step": step}
    return result


def _max_rates(p: PackedPopulation, max_n: int) -> np.ndarray:
    out = np.zeros((p.n_circuits, max_n))
    off = p.layout.neuron_off
    for c in range(p.n_circuits):
        r = np.maximum(p.neurons.ref_steps[off[c]:off[c + 1]], 1)
        out[c, :len(r)] = 1e3 / (r * p.dt_ms)
    return out
