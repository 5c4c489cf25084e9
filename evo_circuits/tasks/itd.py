"""Sound localisation by interaural time difference (ITD), as in the Jeffress model.

Each trial, a pure tone of ``freq_hz`` is heard from one of ``n_positions`` (K) source
positions. Input channel 0 (left ear) and channel 1 (right ear) carry phase-locked spike
trains: at most one spike per cycle of the tone, each spike jittered (Gaussian,
``jitter_ms``, clipped at 3 SD) and each cycle skipped independently per ear with
probability ``p_miss``. The right ear's spikes lag the left ear's by the position's ITD;
the K ITDs are ``itd_step_ms * (k - (K - 1) / 2)``, k = 0 … K-1 (default -0.6, 0, +0.6
ms), each a whole number of 0.1 ms steps. The tone's phase is random: the first cycle
starts uniformly within one period after ``onset_ms``, and every trial has the same
number of cycles.

The circuit has K output ports, port k for position k (ITD increasing with k). Score:
the fraction of trials in which the true position's port fires most
(:func:`~evo_circuits.tasks.decode.winner_credit`, ties shared fairly). **Chance level
1/K**: a circuit that ignores its inputs (silent, or firing the same on every port) earns
1/K per trial, and classes are balanced.

A rate code cannot solve it: the spike count of either ear is drawn from the same
distribution (a binomial number of the fixed number of cycles) whatever the position;
only the relative timing of the two ears, a fraction of a millisecond, carries the label.
Periodic tones are ambiguous modulo one period, so the task requires the K ITDs to stay
at least one step apart around the cycle (``n_positions * itd_step_ms <= 1000 /
freq_hz``).
"""

from __future__ import annotations

import numpy as np

from ..model import DEFAULT_DT_MS
from ..simulate import InputSpikes
from .base import Param, PortActivity, Task, TaskError, TrialBatch
from .decode import winner_credit
from .registry import register_task

#: Time after the last spike left for the circuit to respond (ms).
_RESPONSE_MS = 1.0


def _whole_steps(value_ms: float, dt_ms: float) -> bool:
    return abs(value_ms / dt_ms - round(value_ms / dt_ms)) < 1e-6


@register_task
class ITD(Task):
    name = "itd"
    description = "localise a tone by the sub-ms time difference between two ears (Jeffress)"
    params = {
        "n_positions": Param(3, "source positions K = output ports", min=2, max=16),
        "itd_step_ms": Param(0.6, "ITD between neighbouring positions (ITDs centred on 0)", min=0.1, max=10.0),
        "freq_hz": Param(250.0, "tone frequency: one phase-locked spike per cycle", min=10.0, max=2000.0),
        "jitter_ms": Param(0.1, "SD of the Gaussian jitter of each spike (clipped at 3 SD)", min=0.0, max=5.0),
        "p_miss": Param(0.2, "probability that an ear skips a cycle", min=0.0, max=0.9),
        "onset_ms": Param(5.0, "earliest first cycle (the phase is random within one period)", min=0.0,
                          max=1000.0),
        "duration_ms": Param(50.0, "trial length", min=1.0, max=10_000.0),
    }

    # ------------------------------------------------------------------ derived values
    @property
    def period_ms(self) -> float:
        """Period of the tone (ms)."""
        return 1000.0 / self.p.freq_hz

    def itds_ms(self) -> np.ndarray:
        """ITD of each position (right minus left, ms), increasing with the port index."""
        k = self.p.n_positions
        return self.p.itd_step_ms * (np.arange(k) - (k - 1) / 2)

    @property
    def n_cycles(self) -> int:
        """Cycles of the tone per trial (the same in every trial)."""
        p = self.p
        room = p.duration_ms - p.onset_ms - self.itds_ms().max() - 3 * p.jitter_ms - _RESPONSE_MS
        return int(np.floor(room / self.period_ms + 1e-9))

    def validate(self) -> None:
        p = self.p
        itds = self.itds_ms()
        if not all(_whole_steps(v, DEFAULT_DT_MS) for v in itds):
            raise TaskError(f"task.itd_step_ms: the ITDs {', '.join(f'{v:g}' for v in itds)} ms must be whole "
                            f"multiples of {DEFAULT_DT_MS} ms, got itd_step_ms {p.itd_step_ms}")
        if p.n_positions * p.itd_step_ms > self.period_ms + 1e-9:
            raise TaskError(f"task.freq_hz: ITDs are ambiguous modulo the period; need n_positions * itd_step_ms "
                            f"({p.n_positions * p.itd_step_ms:g} ms) <= 1000 / freq_hz, got freq_hz {p.freq_hz}")
        if 10 * p.jitter_ms > self.period_ms:
            raise TaskError(f"task.jitter_ms: must be <= a tenth of the period ({self.period_ms / 10:g} ms), "
                            f"got {p.jitter_ms}")
        if p.onset_ms < -itds.min() + 3 * p.jitter_ms:
            raise TaskError(f"task.onset_ms: must be >= the largest lead of the right ear plus 3 jitter SD "
                            f"({-itds.min() + 3 * p.jitter_ms:g} ms), got {p.onset_ms}")
        if self.n_cycles < 1:
            raise TaskError(f"task.duration_ms: too short for one cycle of the tone after onset_ms, "
                            f"got {p.duration_ms}")

    n_inputs = 2

    @property
    def n_outputs(self) -> int:
        return self.p.n_positions

    def chance_level(self) -> float:
        return 1.0 / self.p.n_positions

    # ------------------------------------------------------------------ trials
    def make_batch(self, n_trials: int, rng: np.random.Generator, dt_ms: float) -> TrialBatch:
        p = self.p
        itds = self.itds_ms()
        if not all(_whole_steps(v, dt_ms) for v in itds):
            raise TaskError(f"task.itd_step_ms: the ITDs must be whole steps of dt = {dt_ms} ms")
        k, n_cyc = p.n_positions, self.n_cycles
        labels = rng.permutation(np.arange(n_trials) % k)
        phase = rng.uniform(0.0, self.period_ms, n_trials)
        # Cycle times on the step grid; the ITD is added in whole steps so that rounding
        # never changes it.
        cycle = np.rint((p.onset_ms + phase[:, None] + self.period_ms * np.arange(n_cyc)) / dt_ms).astype(np.int64)
        itd_steps = np.rint(itds / dt_ms).astype(np.int64)[labels]
        jit = np.clip(rng.normal(0.0, p.jitter_ms, (2, n_trials, n_cyc)), -3 * p.jitter_ms, 3 * p.jitter_ms)
        jit = np.rint(jit / dt_ms).astype(np.int64)
        step = np.stack([cycle + jit[0], cycle + itd_steps[:, None] + jit[1]])  # (ear, trial, cycle)
        keep = rng.random((2, n_trials, n_cyc)) >= p.p_miss
        ear, trial, _ = np.nonzero(keep)
        inputs = InputSpikes(trial=trial, channel=ear, step=step[keep], n_trials=n_trials,
                             n_steps=int(round(p.duration_ms / dt_ms)), dt_ms=dt_ms)
        return TrialBatch(inputs=inputs, labels=labels, info={"itd_ms": itds[labels]})

    def score_ports(self, ports: PortActivity, batch: TrialBatch) -> tuple[np.ndarray, dict]:
        credit = winner_credit(ports.counts, batch.labels)
        strict = credit == 1.0  # the true port alone fired most
        return credit.mean(axis=1), {"strict_win_rate": strict.mean(axis=1)}
