"""What :func:`~evo_circuits.evolve.evolve` and :func:`~evo_circuits.evolve.resume` return."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..circuit import Circuit
from ..tasks import FitnessSpec
from .config import RunConfig


@dataclass(frozen=True)
class EvolutionResult:
    """The outcome of a run, in memory; the run directory holds the same on disk.

    Attributes
    ----------
    run_dir : Path
        The run directory (checkpoints, ``logbook.csv``, ``champion.json``, ...).
    status : str
        ``"finished"`` (an interrupted run raises :class:`~evo_circuits.errors.Interrupted`
        after checkpointing, so it can be resumed).
    generations : int
        Generations completed.
    new_generations : int
        Generations this call completed (0: :func:`resume` of a finished run had nothing
        to do).
    champion : Circuit
        Best circuit, as written to ``champion.json`` (its ``metadata`` holds the run,
        generation, seed and objective values).
    hall_of_fame : tuple of Circuit
        Best distinct circuits, best first (``hall_of_fame/rank_NN.json``).
    logbook : tuple of dict
        One row per generation, the columns of ``logbook.csv``.
    objectives : tuple of str
        Fitness order: ``"score"`` (maximised) then the spec's costs (minimised).
    best_score : float
        The champion's score (on the training trials).
    validation_score : float or None
        The champion's score on the held-out validation trials (runs with
        ``validation_trials``; the champion is chosen on it), else None.
    config : RunConfig
        The resolved config the run used.
    fitness : FitnessSpec
        The fitness spec the run used.
    plots : tuple of Path
        Figures drawn (only with ``plots=True``).
    library : Path or None
        Motif library the champion was offered to (only with ``library=``).
    motifs : tuple
        What the library did with the pruned champion (``Harvested`` records of
        :func:`evo_circuits.motifs.discover.harvest_run`); empty when the pruned champion
        scored below ``[motifs] min_score`` or no library was given.
    """

    run_dir: Path
    status: str
    generations: int
    champion: Circuit
    hall_of_fame: tuple[Circuit, ...]
    logbook: tuple[dict, ...]
    objectives: tuple[str, ...]
    best_score: float
    validation_score: float | None
    config: RunConfig
    fitness: FitnessSpec
    new_generations: int = 0
    plots: tuple[Path, ...] = ()
    library: Path | None = None
    motifs: tuple[Any, ...] = ()

    @property
    def paths(self) -> dict[str, Path]:
        """Where the run directory keeps each output."""
        d = self.run_dir
        return {"run_dir": d, "champion": d / "champion.json", "hall_of_fame": d / "hall_of_fame",
                "logbook": d / "logbook.csv", "checkpoint": d / "checkpoint.json", "status": d / "status.json",
                "config": d / "config.resolved.json", "fitness": d / "fitness.resolved.json", "plots": d / "plots"}
