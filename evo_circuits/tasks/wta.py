"""Winner-take-all: only the output matching the strongest input should fire.

There are ``k`` input channels and ``k`` output ports. Each trial draws a base rate ``b``
uniformly in ``[low_min_hz, low_max_hz]`` and a winner channel (balanced over trials,
shuffled); the winner emits a Poisson (Bernoulli per step) train at ``ratio * b`` and
the other channels at ``b``, all from ``onset_ms`` to the end of the trial. Output port
``i`` stands for input ``i``: only the winner's port should fire.

Score (selectivity): per trial, the winner's port's share of all output spikes, ``n_win
/ (n_0 + ... + n_{k-1})``, or ``1/k`` if no port spiked; averaged over the trials of each
winner, then over winners.

**Chance level 1/k**: a circuit that ignores its inputs splits its spikes over the ports
in the same proportions whatever the winner, so its share averaged over winners is
exactly ``1/k`` (silent: ``1/k`` per trial).

Rate code: the winner is defined by rate, so yes, but by relative rate. The base rate
varies from trial to trial over a range as wide as ``ratio`` (defaults 40–120 Hz, ratio
3: the slowest winner, 120 Hz, is as fast as the fastest loser), so no fixed rate
threshold per output separates winners from losers; the outputs must compete (lateral or
global inhibition), and the share score rewards silencing the losers, not merely firing
the winner most.
"""

from __future__ import annotations

import numpy as np

from ..simulate import InputSpikes
from .base import Param, PortActivity, Task, TaskError, TrialBatch
from .registry import register_task


@register_task
class Wta(Task):
    name = "wta"
    description = "k Poisson inputs, one faster: only the output of the fastest input should fire"
    params = {
        "k": Param(3, "number of inputs and of outputs", min=2, max=64),
        "low_min_hz": Param(40.0, "lowest base (loser) rate", min=0.0, max=2000.0),
        "low_max_hz": Param(120.0, "highest base (loser) rate", min=0.0, max=2000.0),
        "ratio": Param(3.0, "winner rate / loser rate", min=1.0, max=100.0),
        "onset_ms": Param(0.0, "start of the input trains", min=0.0, max=1000.0),
        "duration_ms": Param(100.0, "trial length", min=1.0, max=10_000.0),
    }

    def validate(self) -> None:
        p = self.p
        if p.low_max_hz < p.low_min_hz:
            raise TaskError(f"task.low_max_hz: must be >= low_min_hz ({p.low_min_hz}), got {p.low_max_hz}")
        if p.ratio * p.low_min_hz <= 0.0:
            raise TaskError(f"task.low_min_hz: the winner must spike (ratio * low_min_hz > 0), got {p.low_min_hz}")
        if p.onset_ms >= p.duration_ms:
            raise TaskError(f"task.duration_ms: must exceed onset_ms ({p.onset_ms}), got {p.duration_ms}")

    @property
    def n_inputs(self) -> int:
        return self.p.k

    @property
    def n_outputs(self) -> int:
        return self.p.k

    def chance_level(self) -> float:
        return 1.0 / self.p.k

    def make_batch(self, n_trials: int, rng: np.random.Generator, dt_ms: float) -> TrialBatch:
        p = self.p
        if p.ratio * p.low_max_hz * dt_ms * 1e-3 > 1.0:
            raise TaskError(f"task.ratio: the winner's rate ratio * low_max_hz = {p.ratio * p.low_max_hz:g} Hz "
                            f"exceeds one spike per step of {dt_ms:g} ms")
        winner = rng.permutation(np.arange(n_trials) % p.k)
        base = rng.uniform(p.low_min_hz, p.low_max_hz, n_trials)
        rates = np.repeat(base[:, None], p.k, axis=1)
        rates[np.arange(n_trials), winner] *= p.ratio
        n_steps = int(round(p.duration_ms / dt_ms))
        start = min(int(round(p.onset_ms / dt_ms)), n_steps - 1)
        hits = rng.random((n_trials, p.k, n_steps - start)) < rates[:, :, None] * (dt_ms * 1e-3)
        trial, channel, step = np.nonzero(hits)
        inputs = InputSpikes(trial=trial, channel=channel, step=step + start, n_trials=n_trials, n_steps=n_steps, dt_ms=dt_ms)
        return TrialBatch(inputs=inputs, labels=winner, info={"rates_hz": rates})

    def score_ports(self, ports: PortActivity, batch: TrialBatch) -> tuple[np.ndarray, dict]:
        k = self.p.k
        winner = np.asarray(batch.labels)
        counts = ports.counts[:, :, :k]
        n_ind, n_tr = counts.shape[:2]
        total = counts.sum(axis=2)
        right = np.take_along_axis(counts, np.broadcast_to(winner[None, :, None], (n_ind, n_tr, 1)), axis=2)[..., 0]
        share = np.where(total > 0, right / np.maximum(total, 1), 1.0 / k)
        classes = [c for c in range(k) if (winner == c).any()]
        # Mean per winner first, so an input-blind circuit scores exactly 1/k.
        score = np.mean([share[:, winner == c].mean(axis=1) for c in classes], axis=0)
        # Secondary figures: how often the winner's port fired most (strictly), and silence.
        others = np.where(np.arange(k)[None, None, :] == winner[None, :, None], -1, counts).max(axis=2)
        return score, {"winner_fired_most": (right > others).mean(axis=1),
                       "silent_trials": (total == 0).mean(axis=1)}
