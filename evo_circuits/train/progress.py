"""Progress bar of training runs: a live line on a terminal, one line per epoch otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..evolve.progress import format_duration as _fmt


class TrainProgress:
    """Callable for ``train(..., progress=...)``: bar, loss, accuracy, samples/s, ETA.

    Parameters
    ----------
    epochs : int
    label : str
        Prefix of every line (e.g. ``"random s2"``).
    stream : file, default sys.stderr
    """

    def __init__(self, epochs: int, label: str = "", stream: TextIO | None = None, width: int = 24):
        self.epochs, self.label, self.width = epochs, label, width
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.t0 = time.perf_counter()
        self.last_test = float("nan")

    def __call__(self, epoch: int, batch: int, n_batches: int, info: dict) -> None:
        done = (max(epoch - 1, 0) * n_batches + batch) if epoch > 0 else 0
        total = max(self.epochs * n_batches, 1)
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / done * (total - done) if done > 0 else float("nan")
        end_of_epoch = "test_acc" in info
        if end_of_epoch:
            self.last_test = info["test_acc"]
        loss = info.get("train_loss", info.get("loss", float("nan")))
        acc = info.get("train_acc", info.get("acc", float("nan")))
        fill = int(round(self.width * done / total))
        prefix = f"{self.label}  " if self.label else ""
        line = (f"{prefix}epoch {epoch:>3}/{self.epochs} [{'#' * fill}{'.' * (self.width - fill)}] "
                f"loss {loss:.4f}  acc {acc:.3f}  test {self.last_test:.3f}  "
                f"{info.get('samples_per_s', float('nan')):,.0f} samples/s  ETA {_fmt(eta)}")
        if self.tty:
            self.stream.write("\r" + line.ljust(110))
            if end_of_epoch and epoch == self.epochs:
                self.stream.write("\n")
        elif end_of_epoch:
            self.stream.write(line + "\n")
        self.stream.flush()
