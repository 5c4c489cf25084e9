"""Progress display shared by evolution and training: a tqdm bar on a terminal, plain log
lines otherwise (CI logs, files, pipes), so redirected output stays one line per step
that scripts can read."""

from __future__ import annotations

import math
import os
import sys
import time
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Progress of a loop of ``total`` steps.

    On a terminal it draws a tqdm bar (rate, elapsed time and ETA by tqdm, the caller's
    figures as its postfix); on any other stream it writes the caller's log lines.

    Parameters
    ----------
    total : int
        Steps the loop will reach.
    unit : str
        Name of a step in the bar's rate (``"gen"``, ``"batch"``).
    desc : str
        Label in front of the bar.
    initial : int
        Steps already done (a resumed run).
    stream : file, default sys.stderr
    """

    def __init__(self, total: int, *, unit: str, desc: str = "", initial: int = 0, stream: TextIO | None = None):
        self.total, self.initial = total, initial
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._t0 = time.perf_counter()
        # A terminal of unknown size (a pty without one) would get an empty bar: assume 100 x 24.
        known = _columns(self.stream) > 0
        self._bar = (tqdm(total=total, initial=initial, unit=unit, desc=desc or None, file=self.stream,
                          dynamic_ncols=known, ncols=None if known else 100, nrows=None if known else 24,
                          leave=True) if self.tty else None)

    def eta(self, done: int) -> float:
        """Seconds left after ``done`` steps at the mean pace so far (NaN before the first)."""
        steps = done - self.initial
        if steps <= 0:
            return float("nan")
        return (time.perf_counter() - self._t0) / steps * (self.total - done)

    def update(self, done: int, postfix: str = "", line: str | None = None) -> None:
        """Show that ``done`` steps are done.

        Parameters
        ----------
        done : int
        postfix : str
            Figures shown after the bar (terminal).
        line : str, optional
            Log line written instead when the stream is not a terminal (none if omitted).
        """
        if self._bar is not None:
            self._bar.set_postfix_str(postfix, refresh=False)
            self._bar.update(done - self._bar.n)
        elif line is not None:
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        """End the bar (leaves it on screen)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):  # no file descriptor (e.g. StringIO), not a terminal
        return 0


def format_duration(seconds: float) -> str:
    """``1m05s`` / ``42s`` / ``--`` (NaN): for ETAs in log lines."""
    if math.isnan(seconds):
        return "--"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"
