"""Coincidence detection: the output fires only when both inputs spike within a window.

Each trial, input channels 0 and 1 each spike once. In half of the trials (shuffled)
the two spikes are *coincident*, ``|Δt| <= window_ms``; in the others they are
``min_gap_ms … max_gap_ms`` apart (either order). The output port should spike at least
once in coincident trials and stay silent otherwise.

Score: balanced accuracy (hit rate on coincident trials and correct-rejection rate on
the others, averaged). **Chance level 0.5**: a silent or always-firing output scores 0.5.
A rate code cannot solve it: both inputs carry exactly one spike in every trial.
"""

from __future__ import annotations

import numpy as np

from ..simulate import InputSpikes
from .base import Param, PortActivity, Task, TaskError, TrialBatch
from .decode import balanced_accuracy
from .registry import register_task


@register_task
class Coincidence(Task):
    name = "coincidence"
    description = "fire only when two inputs spike within a short window (timing, not rate)"
    params = {
        "window_ms": Param(2.0, "coincidence window |Δt| <= window", min=0.0, max=50.0),
        "min_gap_ms": Param(8.0, "smallest |Δt| of a non-coincident pair", min=0.1, max=200.0),
        "max_gap_ms": Param(20.0, "largest |Δt| of a non-coincident pair", min=0.1, max=500.0),
        "onset_ms": Param(5.0, "time of the first spike", min=0.0, max=1000.0),
        "duration_ms": Param(50.0, "trial length", min=1.0, max=10_000.0),
    }

    def validate(self) -> None:
        p = self.p
        if p.min_gap_ms <= p.window_ms:
            raise TaskError(f"task.min_gap_ms: must exceed window_ms ({p.window_ms}), got {p.min_gap_ms}")
        if p.max_gap_ms < p.min_gap_ms:
            raise TaskError(f"task.max_gap_ms: must be >= min_gap_ms ({p.min_gap_ms}), got {p.max_gap_ms}")
        if p.onset_ms + p.max_gap_ms >= p.duration_ms:
            raise TaskError(f"task.duration_ms: must exceed onset_ms + max_gap_ms "
                            f"({p.onset_ms + p.max_gap_ms}), got {p.duration_ms}")

    n_inputs = 2
    n_outputs = 1
    chance = 0.5

    def make_batch(self, n_trials: int, rng: np.random.Generator, dt_ms: float) -> TrialBatch:
        p = self.p
        coincident = rng.permutation(np.arange(n_trials) % 2 == 0)
        gap = np.where(coincident, rng.uniform(0.0, p.window_ms, n_trials),
                       rng.uniform(p.min_gap_ms, p.max_gap_ms, n_trials))
        first = rng.integers(0, 2, n_trials)  # which channel leads
        t0 = np.full(n_trials, p.onset_ms)
        steps = np.rint(np.stack([t0, t0 + gap]) / dt_ms).astype(np.int64)  # (2, n_trials): lead, lag
        # Coincident gaps are measured after rounding to steps, so labels match the inputs.
        coincident = np.abs(steps[1] - steps[0]) * dt_ms <= p.window_ms + 1e-9
        channel = np.stack([first, 1 - first])
        trial = np.tile(np.arange(n_trials), 2)
        inputs = InputSpikes(trial=trial, channel=channel.ravel(), step=steps.ravel(), n_trials=n_trials,
                             n_steps=int(round(p.duration_ms / dt_ms)), dt_ms=dt_ms)
        return TrialBatch(inputs=inputs, labels=coincident, info={"gap_ms": gap})

    def score_ports(self, ports: PortActivity, batch: TrialBatch):
        fired = ports.counts[:, :, 0] > 0
        score = balanced_accuracy(fired, batch.labels)
        hits = fired[:, batch.labels].mean(axis=1) if batch.labels.any() else np.zeros(len(fired))
        false_alarms = fired[:, ~batch.labels].mean(axis=1) if (~batch.labels).any() else np.zeros(len(fired))
        return score, {"hit_rate": hits, "false_alarm_rate": false_alarms}
