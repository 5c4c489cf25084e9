"""The Task contract: generate seeded trials, simulate a population once, decode, score.

A task family is a subclass of :class:`Task` registered with
:func:`evo_circuits.tasks.registry.register_task`. It declares its parameters
(:class:`Param`), its input channels and output ports, and implements two methods:

* :meth:`Task.make_batch` — input spikes and labels for ``n_trials`` trials from a numpy
  Generator (the same seed gives the same trials, whatever the population);
* :meth:`Task.score_ports` — a score in [0, 1] per individual from the activity of the
  output ports (:class:`PortActivity`).

:meth:`Task.evaluate` does the rest: one simulator call for the whole population,
secondary figures (spikes per trial as an energy cost, silent/runaway flags), and the
optional robustness and stability modifiers of a fitness spec.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, ClassVar, Sequence

import numpy as np

from ..circuit import Circuit
from ..errors import EvoCircuitsError
from ..simulate import InputSpikes, SimResult, simulate


class TaskError(EvoCircuitsError, ValueError):
    """A task or fitness spec is invalid; the message names the key."""


@dataclass(frozen=True)
class Param:
    """One task parameter: default, type, allowed range or choices, and a doc line."""

    default: Any
    doc: str
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None

    def check(self, key: str, value: Any) -> Any:
        """Validate ``value``; return it converted to the default's type."""
        kind = type(self.default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is bool and not isinstance(value, bool) or (kind is not bool and isinstance(value, bool)):
            raise TaskError(f"{key}: expected {kind.__name__}, got {value!r}")
        if not isinstance(value, kind):
            raise TaskError(f"{key}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
        if self.choices is not None and value not in self.choices:
            raise TaskError(f"{key}: expected one of {', '.join(map(repr, self.choices))}, got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise TaskError(f"{key}: expected a finite number, got {value!r}")
            if self.min is not None and value < self.min or self.max is not None and value > self.max:
                raise TaskError(f"{key}: {value!r} out of range [{self.min}, {self.max}]")
        return value


@dataclass
class TrialBatch:
    """Trials of a task: the input spikes and what the circuit should do in each.

    Attributes
    ----------
    inputs : InputSpikes
    labels : ndarray, shape (n_trials, ...)
        Task-specific targets (class index, target port, expected on/off...).
    info : dict
        Anything else the decoder needs (cue times, windows...).
    """

    inputs: InputSpikes
    labels: np.ndarray
    info: dict = field(default_factory=dict)


class PortActivity:
    """Spikes of each individual's output ports, padded to the task's number of ports.

    Attributes
    ----------
    counts : ndarray of int, shape (n_individuals, n_trials, n_ports)
    first : ndarray of int, same shape: step of the first spike, -1 if none
    n_steps : int
    dt_ms : float
    """

    def __init__(self, result: SimResult, circuits: Sequence[Circuit], n_ports: int):
        n_ind, n_tr = result.counts.shape[:2]
        self.n_steps, self.dt_ms, self.n_ports = result.n_steps, result.dt_ms, n_ports
        self.counts = np.zeros((n_ind, n_tr, n_ports), np.int64)
        self.first = np.full((n_ind, n_tr, n_ports), -1, np.int64)
        # port_of[k, neuron] = port index of that neuron in individual k, or -1
        self._port_of = np.full((n_ind, result.counts.shape[2]), -1, np.int64)
        # One (individual, port, neuron) entry per port of every individual, gathered at once.
        outs = [np.asarray(c.outputs[:n_ports], np.int64) for c in circuits]
        n_out = np.array([len(o) for o in outs], np.int64)
        neuron = np.concatenate(outs) if outs else np.zeros(0, np.int64)
        ind = np.repeat(np.arange(n_ind), n_out)
        port = np.arange(len(neuron)) - np.repeat(np.cumsum(n_out) - n_out, n_out)
        self.counts[ind, :, port] = result.counts[ind, :, neuron]
        self.first[ind, :, port] = result.first_spike[ind, :, neuron]
        self._port_of[ind, neuron] = port
        self._spikes = result.spikes

    def binned(self, bin_ms: float) -> np.ndarray:
        """Spike counts of each port in time bins, shape (n_individuals, n_trials, n_ports, n_bins).

        Requires the task to set ``needs_spike_times = True``.
        """
        if self._spikes is None:
            raise RuntimeError("binned(): the task must set needs_spike_times = True")
        bin_steps = max(1, int(round(bin_ms / self.dt_ms)))
        n_bins = -(-self.n_steps // bin_steps)
        sp = self._spikes
        port = self._port_of[sp["individual"], sp["neuron"]]
        keep = port >= 0
        out = np.zeros(self.counts.shape + (n_bins,), np.int64)
        np.add.at(out, (sp["individual"][keep], sp["trial"][keep], port[keep], sp["step"][keep] // bin_steps), 1)
        return out

    def spike_steps(self, individual: int, trial: int, port: int) -> np.ndarray:
        """Steps at which one port spiked (requires ``needs_spike_times``)."""
        if self._spikes is None:
            raise RuntimeError("spike_steps(): the task must set needs_spike_times = True")
        sp = self._spikes
        sel = (sp["individual"] == individual) & (sp["trial"] == trial)
        sel &= self._port_of[individual, sp["neuron"]] == port
        return sp["step"][sel]


@dataclass
class TaskResult:
    """Scores and secondary figures of a population on a task.

    Attributes
    ----------
    score : ndarray, shape (n_individuals,)
        Task score in [0, 1] (after modifiers).
    raw_score : ndarray
        Score before the stability penalty.
    spikes_per_trial : ndarray
        Mean total spikes of all neurons per trial (energy cost).
    silent : ndarray of bool
        No output port spiked in any trial.
    runaway : ndarray of bool
        Some neuron fired at >= 50 % of its ceiling rate on average (runaway excitation).
    extras : dict of ndarray
        Task-specific figures (per individual).
    """

    score: np.ndarray
    raw_score: np.ndarray
    spikes_per_trial: np.ndarray
    silent: np.ndarray
    runaway: np.ndarray
    extras: dict = field(default_factory=dict)


class Task:
    """Base class of task families (see module docstring).

    Class attributes to set in subclasses: ``name``, ``description``, ``params``
    (dict of :class:`Param`), ``n_inputs``, ``n_outputs``, ``chance``, and optionally
    ``needs_spike_times``.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}
    needs_spike_times: ClassVar[bool] = False
    #: Parameters every task has.
    common: ClassVar[dict[str, Param]] = {
        "trials": Param(32, "trials per evaluation", min=1, max=100_000),
    }

    def __init__(self, **params: Any):
        allowed = {**self.common, **self.params}
        for key in params:
            if key not in allowed:
                raise TaskError(f"task.{key}: unknown parameter of task '{self.name}' "
                                f"(allowed: {', '.join(sorted(allowed))})")
        values = {k: p.default for k, p in allowed.items()}
        for key, value in params.items():
            values[key] = allowed[key].check(f"task.{key}", value)
        self.p = SimpleNamespace(**values)
        self.validate()

    # ---------------------------------------------------------------- to override
    def validate(self) -> None:
        """Check relations between parameters; raise :class:`TaskError`."""

    #: Input channels the task drives and output ports it reads (override with a
    #: property when they depend on parameters).
    n_inputs: ClassVar[int] = 0
    n_outputs: ClassVar[int] = 0
    #: Score of a circuit that ignores its inputs (documented per task).
    chance: ClassVar[float] = 0.0

    def chance_level(self) -> float:
        """Expected score of a circuit that ignores its inputs (override if it depends on parameters)."""
        return self.chance

    def make_batch(self, n_trials: int, rng: np.random.Generator, dt_ms: float) -> TrialBatch:
        """Input spikes and labels of ``n_trials`` trials."""
        raise NotImplementedError

    def score_ports(self, ports: PortActivity, batch: TrialBatch) -> tuple[np.ndarray, dict]:
        """Score in [0, 1] per individual, and a dict of extra per-individual figures."""
        raise NotImplementedError

    # ---------------------------------------------------------------- shared
    def settings(self) -> dict:
        """Current parameter values."""
        return dict(vars(self.p))

    def evaluate(self, circuits: Circuit | Sequence[Circuit], seed: int = 0, *,
                 individual_ids: Sequence[int] | None = None, n_trials: int | None = None,
                 robustness: "Robustness | None" = None, stability: "Stability | None" = None,
                 return_raw: bool = False) -> TaskResult | tuple[TaskResult, TrialBatch, SimResult]:
        """Score a population; one simulator call (two with a stability check).

        Parameters
        ----------
        circuits : Circuit or sequence of Circuit
        seed : int
            Fixes the trials and the release streams: same seed, same scores.
        individual_ids : sequence of int, optional
            Stable ids for the release streams, so that scores do not depend on batching.
        n_trials : int, optional
            Overrides the task's ``trials`` parameter.
        robustness, stability : optional modifiers (see :mod:`evo_circuits.tasks.modifiers`)
        return_raw : bool
            Also return the batch and the simulation result (its ``spikes``, for tasks
            that need spike times, are those of the output ports only).
        """
        if isinstance(circuits, Circuit):
            circuits = [circuits]
        circuits = list(circuits)
        dt = circuits[0].dt_ms
        batch = self.make_batch(n_trials or self.p.trials, np.random.default_rng([seed, 0x7A5C]), dt)
        sim_circuits = circuits
        if robustness is not None:
            batch = robustness.perturb_batch(batch, np.random.default_rng([seed, 0x0B57]), dt)
            sim_circuits = robustness.perturb_circuits(circuits)
        # Spike times are recorded for the output ports only: all the decoders read.
        ports_only = [c.outputs[:self.n_outputs] for c in circuits] if self.needs_spike_times else None
        res = simulate(sim_circuits, batch.inputs, seed=seed, individual_ids=individual_ids,
                       record_spikes=self.needs_spike_times, spike_neurons=ports_only)
        ports = PortActivity(res, circuits, self.n_outputs)
        raw, extras = self.score_ports(ports, batch)
        raw = np.clip(np.asarray(raw, float), 0.0, 1.0)
        score = raw
        if stability is not None:
            penalty, frac = stability.penalty(circuits, seed, individual_ids)
            score = raw * penalty
            extras = {**extras, "stability_runaway_fraction": frac}
        n_tr = batch.inputs.n_trials
        result = TaskResult(
            score=score, raw_score=raw, spikes_per_trial=res.total_spikes / n_tr,
            silent=ports.counts.sum(axis=(1, 2)) == 0,
            runaway=(res.saturation().mean(axis=1) >= 0.5).any(axis=1), extras=extras)
        return (result, batch, res) if return_raw else result


# Imported here for the type hints of Task.evaluate without a cycle at import time.
from .modifiers import Robustness, Stability  # noqa: E402
