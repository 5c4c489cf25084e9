"""Progress display: tqdm bars on a terminal, the same plain log lines as ever elsewhere."""

from __future__ import annotations

import io
import re

from evo_circuits.evolve.progress import GenerationProgress
from evo_circuits.progress import format_duration
from evo_circuits.train.progress import TrainProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


ROW = {"score_best": 0.5, "score_mean": 0.25, "evals_per_s": 100.0}


def test_generation_log_lines_without_a_terminal():
    out = io.StringIO()
    p = GenerationProgress(3, ["score"], start=1, stream=out)
    p.update(2, ROW)
    p.update(3, {**ROW, "archive_coverage": 0.125})
    p.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue()
    assert re.fullmatch(r"gen    2/3  best 0\.5000  mean 0\.2500  100 eval/s  ETA \d+s", lines[0]), lines[0]
    assert re.fullmatch(r"gen    3/3  best 0\.5000  mean 0\.2500 coverage 0\.12  100 eval/s  ETA 0s", lines[1]), lines[1]


def test_generation_bar_on_a_terminal():
    out = Terminal()
    p = GenerationProgress(4, ["score"], start=1, stream=out)
    p.update(2, ROW)
    p.close()
    text = out.getvalue()
    assert "\r" in text and "2/4" in text and "gen/s" in text and "best 0.5000" in text and text.endswith("\n")
    assert "ETA" not in text  # tqdm shows its own remaining time


def test_training_log_lines_once_per_epoch_without_a_terminal():
    out = io.StringIO()
    p = TrainProgress(2, label="random s1", stream=out, width=8)
    p(0, 4, 4, {"train_loss": 2.0, "train_acc": 0.1, "test_acc": 0.1, "samples_per_s": float("nan")})
    for epoch in (1, 2):
        for b in range(1, 5):
            p(epoch, b, 4, {"loss": 1.0, "acc": 0.5, "samples_per_s": 1000.0})
        p(epoch, 4, 4, {"train_loss": 1.0, "train_acc": 0.5, "test_acc": 0.25 * epoch, "samples_per_s": 1000.0})
    lines = out.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert re.fullmatch(r"random s1  epoch   0/2 \[\.{8}\] loss 2\.0000  acc 0\.100  test 0\.100  nan samples/s  "
                        r"ETA --", lines[0]), lines[0]
    assert re.fullmatch(r"random s1  epoch   1/2 \[#{4}\.{4}\] loss 1\.0000  acc 0\.500  test 0\.250  "
                        r"1,000 samples/s  ETA \d+s", lines[1]), lines[1]
    assert lines[2].startswith("random s1  epoch   2/2 [########] ") and lines[2].endswith("ETA 0s")


def test_training_bar_on_a_terminal():
    out = Terminal()
    p = TrainProgress(1, label="twin", stream=out)
    for b in range(1, 3):
        p(1, b, 2, {"loss": 1.0, "acc": 0.5, "samples_per_s": 10.0})
    p(1, 2, 2, {"train_loss": 1.0, "train_acc": 0.5, "test_acc": 0.75, "samples_per_s": 10.0})
    text = out.getvalue()
    assert "twin" in text and "2/2" in text and "test 0.750" in text and text.endswith("\n")


def test_format_duration():
    assert format_duration(float("nan")) == "--" and format_duration(42.4) == "42s" and format_duration(65) == "1m05s"
