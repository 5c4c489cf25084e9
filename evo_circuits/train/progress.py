"""Progress of training runs: one step per batch (see :class:`evo_circuits.progress.Progress`)."""

from __future__ import annotations

from typing import TextIO

from ..progress import Progress, format_duration


class TrainProgress:
    """Callable for ``train(..., progress=...)``: loss, accuracy, test accuracy, samples/s, ETA.

    A terminal gets a tqdm bar over all batches of all epochs; anything else one log line
    per epoch (after its evaluation).

    Parameters
    ----------
    epochs : int
    label : str
        Prefix of every line (e.g. ``"random s2"``).
    stream : file, default sys.stderr
    width : int
        Width of the ``[###...]`` gauge in the log lines.
    """

    def __init__(self, epochs: int, label: str = "", stream: TextIO | None = None, width: int = 24):
        self.epochs, self.label, self.width, self.stream = epochs, label, width, stream
        self.last_test = float("nan")
        self._progress: Progress | None = None  # made at the first call, when the batch count is known

    def __call__(self, epoch: int, batch: int, n_batches: int, info: dict) -> None:
        total = max(self.epochs * n_batches, 1)
        if self._progress is None:
            self._progress = Progress(total, unit="batch", desc=self.label, stream=self.stream)
        p = self._progress
        done = (max(epoch - 1, 0) * n_batches + batch) if epoch > 0 else 0
        end_of_epoch = "test_acc" in info
        if end_of_epoch:
            self.last_test = info["test_acc"]
        loss = info.get("train_loss", info.get("loss", float("nan")))
        acc = info.get("train_acc", info.get("acc", float("nan")))
        figures = (f"loss {loss:.4f}  acc {acc:.3f}  test {self.last_test:.3f}  "
                   f"{info.get('samples_per_s', float('nan')):,.0f} samples/s")
        fill = int(round(self.width * done / total))
        prefix = f"{self.label}  " if self.label else ""
        line = (f"{prefix}epoch {epoch:>3}/{self.epochs} [{'#' * fill}{'.' * (self.width - fill)}] {figures}  "
                f"ETA {format_duration(p.eta(done))}") if end_of_epoch else None
        p.update(done, f"epoch {epoch}/{self.epochs}  {figures}", line)
        if end_of_epoch and epoch == self.epochs:
            p.close()
