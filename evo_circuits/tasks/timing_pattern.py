"""Timing patterns: two classes with identical spike counts that differ only in spike order.

Each trial holds ``n_events`` events at random onsets (at least ``min_interval_ms``
apart, the first no earlier than ``onset_ms``). In an event every input channel spikes
exactly once, in a sweep across the channels with ``gap`` ms between neighbours: class 0
sweeps forward (channel 0, then 1, … — "A then B" with the default two channels), class
1 backward (… 1, then 0 — "B then A"). Each event's gap is drawn uniformly from
``gap_ms ± gap_jitter_ms``, with the same distribution in both classes. The class is
fixed within a trial; classes are balanced and shuffled.

The circuit has 2 output ports, port c for class c. Score: the fraction of trials in
which the true class's port fires most (:func:`~evo_circuits.tasks.decode.winner_credit`,
ties shared fairly). **Chance level 0.5**: a circuit that ignores its inputs (silent, or
firing the same on both ports) earns 0.5 per trial.

A rate code cannot solve it, by construction: every channel spikes exactly
``n_events`` times in every trial of either class, and the onsets and gaps have the same
distribution in both classes, so spike counts per channel (and any function of them) are
identical across classes. Only the order of the spikes within an event carries the label
(direction selectivity, e.g. delay + coincidence or delay + inhibitory veto).
"""

from __future__ import annotations

import numpy as np

from ..model import DEFAULT_DT_MS
from ..simulate import InputSpikes
from .base import Param, PortActivity, Task, TaskError, TrialBatch
from .decode import winner_credit
from .registry import register_task

#: Time after the last event left for the circuit to respond (ms).
_RESPONSE_MS = 5.0


@register_task
class TimingPattern(Task):
    name = "timing_pattern"
    description = "tell 'A then B' from 'B then A': same spike counts, only the order differs"
    params = {
        "n_channels": Param(2, "input channels swept in each event (forward = class 0, backward = class 1)",
                            min=2, max=16),
        "n_events": Param(3, "sweeps per trial, at random onsets", min=1, max=50),
        "gap_ms": Param(4.0, "mean interval between neighbouring channels in a sweep", min=0.1, max=50.0),
        "gap_jitter_ms": Param(1.0, "each event's gap is uniform in gap_ms ± gap_jitter_ms", min=0.0, max=50.0),
        "min_interval_ms": Param(20.0, "smallest interval between the onsets of consecutive events", min=0.1,
                                 max=1000.0),
        "onset_ms": Param(5.0, "earliest onset of the first event", min=0.0, max=1000.0),
        "duration_ms": Param(80.0, "trial length", min=1.0, max=10_000.0),
    }

    @property
    def sweep_ms(self) -> float:
        """Longest duration of one event (first to last spike, ms)."""
        return (self.p.n_channels - 1) * (self.p.gap_ms + self.p.gap_jitter_ms)

    def validate(self) -> None:
        p = self.p
        if p.gap_ms - p.gap_jitter_ms < DEFAULT_DT_MS - 1e-9:
            raise TaskError(f"task.gap_jitter_ms: must leave gaps of at least {DEFAULT_DT_MS} ms "
                            f"(<= gap_ms - {DEFAULT_DT_MS}), got {p.gap_jitter_ms}")
        if p.min_interval_ms < self.sweep_ms + 1.0:
            raise TaskError(f"task.min_interval_ms: events must not overlap; need >= the longest sweep + 1 ms "
                            f"({self.sweep_ms + 1.0:g}), got {p.min_interval_ms}")
        need = p.onset_ms + (p.n_events - 1) * p.min_interval_ms + self.sweep_ms + _RESPONSE_MS
        if p.duration_ms < need:
            raise TaskError(f"task.duration_ms: too short for n_events sweeps; need >= {need:g}, "
                            f"got {p.duration_ms}")

    @property
    def n_inputs(self) -> int:
        return self.p.n_channels

    n_outputs = 2
    chance = 0.5

    def make_batch(self, n_trials: int, rng: np.random.Generator, dt_ms: float) -> TrialBatch:
        p = self.p
        n_ch, n_ev = p.n_channels, p.n_events
        labels = rng.permutation(np.arange(n_trials) % 2)
        # Onsets at least min_interval apart: sorted uniform slack plus fixed spacing.
        free = p.duration_ms - _RESPONSE_MS - self.sweep_ms - p.onset_ms - (n_ev - 1) * p.min_interval_ms
        slack = np.sort(rng.uniform(0.0, free, (n_trials, n_ev)), axis=1)
        onset = np.rint((p.onset_ms + slack + p.min_interval_ms * np.arange(n_ev)) / dt_ms).astype(np.int64)
        gap = rng.uniform(p.gap_ms - p.gap_jitter_ms, p.gap_ms + p.gap_jitter_ms, (n_trials, n_ev))
        gap = np.maximum(np.rint(gap / dt_ms).astype(np.int64), 1)  # channels never share a step
        # Position of each channel in the sweep: c forward, n_ch - 1 - c backward.
        pos = np.where(labels[:, None] == 0, np.arange(n_ch), n_ch - 1 - np.arange(n_ch))  # (trial, channel)
        step = onset[:, :, None] + gap[:, :, None] * pos[:, None, :]  # (trial, event, channel)
        trial, _, channel = np.indices(step.shape)
        inputs = InputSpikes(trial=trial.ravel(), channel=channel.ravel(), step=step.ravel(), n_trials=n_trials,
                             n_steps=int(round(p.duration_ms / dt_ms)), dt_ms=dt_ms)
        return TrialBatch(inputs=inputs, labels=labels, info={"onset_steps": onset, "gap_steps": gap})

    def score_ports(self, ports: PortActivity, batch: TrialBatch) -> tuple[np.ndarray, dict]:
        credit = winner_credit(ports.counts, batch.labels)
        strict = credit == 1.0  # the true port alone fired most
        return credit.mean(axis=1), {"strict_win_rate": strict.mean(axis=1)}
