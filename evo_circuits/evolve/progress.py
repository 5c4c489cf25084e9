"""Progress of a run: one step per generation (see :class:`evo_circuits.progress.Progress`)."""

from __future__ import annotations

from typing import TextIO

from ..progress import Progress, format_duration


class GenerationProgress:
    """Reports generation, best and mean score, evaluations/s and ETA.

    Parameters
    ----------
    total : int
        Generations the run will reach.
    objectives : list of str
    start : int
        Generation the run starts (or resumes) from.
    stream : file, default sys.stderr
        A terminal gets a tqdm bar; anything else one log line per generation.
    """

    def __init__(self, total: int, objectives: list[str], start: int = 0, stream: TextIO | None = None):
        self.objectives = objectives
        self._progress = Progress(total, unit="gen", initial=start, stream=stream)

    def update(self, generation: int, row: dict) -> None:
        """Show one logbook row."""
        p = self._progress
        figures = (f"best {row['score_best']:.4f}  mean {row['score_mean']:.4f}"
                   + (f" coverage {row['archive_coverage']:.2f}" if "archive_coverage" in row else "")
                   + f"  {row['evals_per_s']:.0f} eval/s")
        p.update(generation, figures,
                 f"gen {generation:>4}/{p.total}  {figures}  ETA {format_duration(p.eta(generation))}")

    def close(self) -> None:
        """End the bar."""
        self._progress.close()
