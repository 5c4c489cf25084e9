"""Progress display: a live line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Reports generation, best and mean score, evaluations/s and ETA.

    Parameters
    ----------
    total : int
        Generations the run will reach.
    objectives : list of str
    start : int
        Generation the run starts (or resumes) from.
    stream : file, default sys.stderr
    """

    def __init__(self, total: int, objectives: list[str], start: int = 0, stream: TextIO | None = None):
        self.total, self.objectives, self.start = total, objectives, start
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.t0 = time.perf_counter()

    def update(self, generation: int, row: dict) -> None:
        """Show one logbook row."""
        done = generation - self.start
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / done * (self.total - generation) if done > 0 else float("nan")
        extra = f" coverage {row['archive_coverage']:.2f}" if "archive_coverage" in row else ""
        line = (f"gen {generation:>4}/{self.total}  best {row['score_best']:.4f}  mean {row['score_mean']:.4f}"
                f"{extra}  {row['evals_per_s']:.0f} eval/s  ETA {format_duration(eta)}")
        if self.tty:
            self.stream.write("\r" + line.ljust(100))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the live line."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def format_duration(seconds: float) -> str:
    """``1m05s`` / ``42s`` / ``--`` (NaN): for ETAs in progress lines."""
    if seconds != seconds:
        return "--"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"
