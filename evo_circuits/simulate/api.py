"""User-facing entry point: :func:`simulate` a population of circuits on input spikes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numba
import numpy as np

from ..circuit import Circuit
from ..errors import EvoCircuitsError
from .inputs import InputSpikes
from .kernel import Recording, simulate_population
from .pack import LARGE_CIRCUIT_NEURONS, InputTable, PackedPopulation, pack

#: Refuse voltage recordings larger than this many values (8 bytes each).
MAX_TRACE_VALUES = 200_000_000
#: Record spikes in one pass when at most this many can occur (16 bytes each).
ONE_PASS_SPIKES = 4_000_000
#: Trials simulated together in one kernel group at most, and only for circuits up to
#: this size (larger ones have enough work per step without).
MAX_LANES = 32


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
        # Padding (absent neurons) has ceiling 0 and no spikes: divided by 1 it reads 0.
        # In place: a fresh population-sized temporary costs more in page faults than
        # the division itself.
        frac = self.rates_hz()
        frac /= np.where(self.max_rates_hz > 0, self.max_rates_hz, 1.0)[:, None, :]
        return frac

    @property
    def total_spikes(self) -> np.ndarray:
        """Total spikes of each individual over all trials (an energy cost)."""
        return self.counts.sum(axis=(1, 2))


def simulate(circuits: Circuit | Sequence[Circuit], inputs: InputSpikes, *, seed: int = 0,
             individual_ids: Sequence[int] | None = None, record_spikes: bool = False,
             record_v: bool = False, max_spikes: int | None = None,
             spike_neurons: Sequence[Sequence[int]] | None = None) -> SimResult:
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
    spike_neurons : sequence of sequence of int, optional
        With ``record_spikes``: record only these neurons of each circuit (one list per
        circuit, e.g. its output ports); default every neuron.

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
    set_base = np.arange(n_ind, dtype=np.int64) * n_trials if inputs.per_individual else np.zeros(n_ind, np.int64)
    table = InputTable(*inputs.step_table(), set_base)
    layout = packed.layout._replace(ind_ids=ids)
    max_n = packed.max_neurons
    n_tasks = n_ind * n_trials
    lanes = _lanes(n_ind, n_trials, max_n)
    if record_v and n_tasks * max_n * n_steps > MAX_TRACE_VALUES:
        raise EvoCircuitsError(f"record_v: {n_tasks * max_n * n_steps:,} values is too many to record; "
                               "simulate fewer circuits or trials")
    spk_mask = _spike_mask(packed, spike_neurons) if record_spikes else np.zeros(0, np.bool_)

    def run(spk_off: np.ndarray | None, v_out: np.ndarray):
        # numba does not bounds-check: v_out is recorded into only when it is full-sized.
        counts = np.zeros((n_tasks, max_n), np.int64)
        first = np.full((n_tasks, max_n), -1, np.int64)
        room = 0 if spk_off is None else int(spk_off[-1])
        spk_step, spk_neuron = np.zeros(room, np.int64), np.zeros(room, np.int64)
        simulate_population(layout, packed.neurons, packed.synapses, table,
                            Recording(counts, first, spk_off is not None, spk_mask,
                                      np.zeros(1, np.int64) if spk_off is None else spk_off, spk_step, spk_neuron,
                                      v_out.size > 0, v_out),
                            packed.conductance, n_steps, n_trials, lanes, np.uint64(seed % 2**64), packed.dt_ms)
        return counts, first, spk_step, spk_neuron

    v_out = np.zeros((n_tasks, max_n, n_steps) if record_v else (0, 0, 0))
    # Spikes in one pass when an upper bound on their number (one per refractory period)
    # is small; otherwise a counting pass first, then a recording pass with exact sizes.
    bound = _spike_bound(packed, spk_mask, n_steps) if record_spikes else None
    one_pass = bound is not None and (bound * n_trials).sum() <= min(ONE_PASS_SPIKES, max_spikes or ONE_PASS_SPIKES)
    room = np.concatenate([[0], np.cumsum(np.repeat(bound, n_trials))]) if one_pass else None
    counts, first, step, neuron = run(room, v_out)
    result = SimResult(counts=counts.reshape(n_ind, n_trials, max_n), first_spike=first.reshape(n_ind, n_trials, max_n),
                       n_neurons=np.diff(packed.layout.neuron_off), max_rates_hz=_max_rates(packed, max_n),
                       n_steps=n_steps, dt_ms=packed.dt_ms)
    if record_v:
        result.v = v_out.reshape(n_ind, n_trials, max_n, n_steps)
    if record_spikes:
        per_task = (counts * _padded(spk_mask, packed, max_n).repeat(n_trials, axis=0)).sum(axis=1)
        if not one_pass:
            if max_spikes is not None and per_task.sum() > max_spikes:
                raise EvoCircuitsError(f"record_spikes: the run emits {int(per_task.sum()):,} spikes, more than the "
                                       f"cap of {max_spikes:,} (EVO_CIRCUITS_MAX_SPIKES on the command line); "
                                       "simulate fewer trials or steps")
            room = np.concatenate([[0], np.cumsum(per_task)]).astype(np.int64)
            _, _, step, neuron = run(room, np.zeros((0, 0, 0)))
        # Each task's spikes are written in (step, neuron) order from room[task] on.
        task = np.repeat(np.arange(n_tasks), per_task)
        at = np.arange(len(task)) + np.repeat(room[:-1] - (np.cumsum(per_task) - per_task), per_task)
        result.spikes = {"individual": task // n_trials, "trial": task % n_trials, "neuron": neuron[at],
                         "step": step[at]}
    return result


def _lanes(n_circuits: int, n_trials: int, max_neurons: int) -> int:
    """Trials per kernel group: as many as keep every thread busy (see :mod:`.kernel`)."""
    if max_neurons > LARGE_CIRCUIT_NEURONS:  # one lane: the kernel's arrival delivery needs it
        return 1
    per_group = max(1, min(n_trials, MAX_LANES, n_circuits * n_trials // (4 * numba.get_num_threads())))
    n_blocks = -(-n_trials // per_group)
    return -(-n_trials // n_blocks)  # the same number of trials in every block, as far as possible


def _spike_mask(p: PackedPopulation, spike_neurons: Sequence[Sequence[int]] | None) -> np.ndarray:
    """One flag per neuron of the population: record its spikes."""
    n_total = int(p.layout.neuron_off[-1])
    if spike_neurons is None:
        return np.ones(n_total, np.bool_)
    if len(spike_neurons) != p.n_circuits:
        raise EvoCircuitsError(f"spike_neurons: expected one list per circuit ({p.n_circuits}), got {len(spike_neurons)}")
    mask = np.zeros(n_total, np.bool_)
    sizes = np.diff(p.layout.neuron_off)
    for k, sel in enumerate(spike_neurons):
        sel = np.asarray(sel, np.int64)
        if sel.size and (sel.min() < 0 or sel.max() >= sizes[k]):
            raise EvoCircuitsError(f"spike_neurons[{k}]: neuron indices must be in [0, {sizes[k]})")
        mask[p.layout.neuron_off[k] + sel] = True
    return mask


def _spike_bound(p: PackedPopulation, spk_mask: np.ndarray, n_steps: int) -> np.ndarray:
    """Most spikes the recorded neurons of each circuit can emit in one trial (a neuron
    spikes at most once per ``max(r, 1)`` steps, ``r`` its refractory period)."""
    per_neuron = -(-n_steps // np.maximum(p.neurons.ref_steps, 1)) * spk_mask
    sizes = np.diff(p.layout.neuron_off)
    return np.bincount(np.repeat(np.arange(p.n_circuits), sizes), per_neuron, p.n_circuits).astype(np.int64)


def _padded(per_neuron: np.ndarray, p: PackedPopulation, max_n: int) -> np.ndarray:
    """A per-neuron population array as (n_circuits, max_n), zero-padded."""
    sizes = np.diff(p.layout.neuron_off)
    out = np.zeros((p.n_circuits, max_n), per_neuron.dtype)
    out[np.repeat(np.arange(p.n_circuits), sizes), np.arange(len(per_neuron)) - np.repeat(p.layout.neuron_off[:-1], sizes)] = per_neuron
    return out


def _max_rates(p: PackedPopulation, max_n: int) -> np.ndarray:
    rates = 1e3 / (np.maximum(p.neurons.ref_steps, 1) * p.dt_ms)
    return _padded(rates, p, max_n)
