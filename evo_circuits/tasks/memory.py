"""Working memory (flip-flop): turned on by one cue, off by another, holding in between.

Input channel 0 carries the "on" cue and channel 1 the "off" cue; a cue is a brief
burst of ``cue_spikes`` spikes ``cue_isi_ms`` apart. Trial kinds, in fixed proportions
(of every 8 trials, shuffled):

* 4 × on → off: the on cue at ``first_cue_min_ms … first_cue_max_ms``, the off cue
  ``hold_min_ms … hold_max_ms`` later;
* 1 × on only (hold to the end of the trial);
* 1 × off → on (an off cue first, which must not start anything; then the on cue);
* 1 × off only; 1 × no cue.

Time is cut into bins of ``bin_ms``. The output port should be *active* (at least one
spike in the bin) in every bin after an on cue until the next off cue, and *silent*
otherwise. Bins overlapping a cue or the ``grace_ms`` after it are not scored, so the
circuit has time to switch.

Score: balanced accuracy over all scored bins of all trials (hit rate on should-be-active
bins and correct-rejection rate on should-be-silent ones, averaged). **Chance level 0.5**:
a silent or always-firing output scores exactly 0.5, and so does an output that only
responds to cues for less than ``grace_ms`` (those bins are not scored). A rate code over
the whole trial cannot solve it: what counts is *when* the output fires — it must hold a
state set by the last cue, after both cues have gone quiet.

**Holds longer than a synapse can bridge.** The holds (100–400 ms, and to the end of a
500 ms trial after a lone on cue) are long on purpose. One neuron with a slow synaptic
current (``tau_e`` up to 30 ms) kicked by a huge cue weight keeps firing for up to
~200 ms after the cue: a *timer*, not a memory. With the earlier holds of 40–100 ms in
200 ms trials such a timer, which ignores the off cue, scored 0.885 on validation
trials (evolution restricted to one neuron, 2 seeds) and the best timer cut short by
the off cue would have scored 1.0; with the present holds the best timer of at most
200 ms scores 0.82 (0.83 cut short by the off cue), so passing 0.9 takes activity that
outlasts any single synaptic time constant — reverberation through a loop
(``fitness/reference/memory.json``) or a bistable assembly.
"""

from __future__ import annotations

import numpy as np

from ..simulate import InputSpikes
from .base import Param, PortActivity, Task, TaskError, TrialBatch
from .decode import balanced_accuracy
from .registry import register_task

#: Trial kinds cycled through (then shuffled), named by their cues in order.
_KINDS = ("on-off", "on-off", "on-off", "on-off", "on", "off-on", "off", "none")


@register_task
class Memory(Task):
    name = "memory"
    description = "flip-flop memory: fire persistently from an 'on' cue until an 'off' cue"
    needs_spike_times = True
    params = {
        "bin_ms": Param(10.0, "time bin; an active bin holds >= 1 output spike", min=0.5, max=100.0),
        "grace_ms": Param(10.0, "unscored time after each cue's last spike (time to switch)", min=0.0, max=100.0),
        "cue_spikes": Param(3, "spikes per cue burst", min=1, max=20),
        "cue_isi_ms": Param(2.0, "interval between the spikes of a cue burst", min=0.1, max=20.0),
        "first_cue_min_ms": Param(10.0, "earliest time of the first cue", min=0.0, max=1000.0),
        "first_cue_max_ms": Param(60.0, "latest time of the first cue", min=0.0, max=1000.0),
        "hold_min_ms": Param(100.0, "shortest interval between the two cues of a trial", min=1.0, max=1000.0),
        "hold_max_ms": Param(400.0, "longest interval between the two cues of a trial", min=1.0, max=1000.0),
        "duration_ms": Param(500.0, "trial length", min=1.0, max=10_000.0),
    }

    def validate(self) -> None:
        p = self.p
        burst = (p.cue_spikes - 1) * p.cue_isi_ms
        if p.first_cue_max_ms < p.first_cue_min_ms:
            raise TaskError(f"task.first_cue_max_ms: must be >= first_cue_min_ms ({p.first_cue_min_ms}), "
                            f"got {p.first_cue_max_ms}")
        if p.hold_max_ms < p.hold_min_ms:
            raise TaskError(f"task.hold_max_ms: must be >= hold_min_ms ({p.hold_min_ms}), got {p.hold_max_ms}")
        if p.hold_min_ms <= burst + p.grace_ms:
            raise TaskError(f"task.hold_min_ms: must exceed the cue burst plus grace_ms ({burst + p.grace_ms}), "
                            f"got {p.hold_min_ms}")
        end = p.first_cue_max_ms + p.hold_max_ms + burst + p.grace_ms + p.bin_ms
        if p.duration_ms < end:
            raise TaskError(f"task.duration_ms: must be >= first_cue_max_ms + hold_max_ms + cue burst + grace_ms "
                            f"+ bin_ms ({end}), got {p.duration_ms}")

    n_inputs = 2
    n_outputs = 1
    chance = 0.5

    def _steps(self, ms: float, dt_ms: float) -> int:
        return round(ms / dt_ms)

    def make_batch(self, n_trials: int, rng: np.random.Generator, dt_ms: float) -> TrialBatch:
        p = self.p
        n_steps = self._steps(p.duration_ms, dt_ms)
        bin_steps = max(1, self._steps(p.bin_ms, dt_ms))
        n_bins = n_steps // bin_steps  # a partial last bin is not scored
        isi, grace = self._steps(p.cue_isi_ms, dt_ms), self._steps(p.grace_ms, dt_ms)
        burst = np.arange(p.cue_spikes) * max(isi, 1)  # offsets of a burst's spikes (distinct steps)
        kinds = rng.permutation(np.arange(n_trials) % len(_KINDS))
        first = np.rint(rng.uniform(p.first_cue_min_ms, p.first_cue_max_ms, n_trials) / dt_ms).astype(np.int64)
        second = first + np.rint(rng.uniform(p.hold_min_ms, p.hold_max_ms, n_trials) / dt_ms).astype(np.int64)
        cue_ms = np.full((n_trials, 2), np.nan)  # onset of the on and off cue (ms), NaN if absent
        target = np.zeros((n_trials, n_bins), bool)
        scored = np.ones((n_trials, n_bins), bool)
        bin_start = np.arange(n_bins) * bin_steps
        trial, channel, step = [], [], []
        for t, k in enumerate(kinds):
            cues = [c for c in _KINDS[k].split("-") if c != "none"]
            state = np.zeros(n_bins, bool)
            for onset, cue in zip((first[t], second[t]), cues):
                ch = 0 if cue == "on" else 1
                trial.append(np.full(len(burst), t))
                channel.append(np.full(len(burst), ch))
                step.append(onset + burst)
                cue_ms[t, ch] = round(onset * dt_ms, 6)
                # A bin after the cue's window takes the cue's state; bins touching the window are unscored.
                end = onset + burst[-1] + grace
                scored[t] &= ~((bin_start + bin_steps > onset) & (bin_start <= end))
                state[bin_start > end] = cue == "on"
            target[t] = state
        trial, channel, step = (np.concatenate(xs) if xs else np.zeros(0, np.int64) for xs in (trial, channel, step))
        inputs = InputSpikes(trial=trial, channel=channel, step=step, n_trials=n_trials, n_steps=n_steps, dt_ms=dt_ms)
        return TrialBatch(inputs=inputs, labels=cue_ms,
                          info={"target": target, "scored": scored, "kind": np.array(_KINDS)[kinds],
                                "bin_ms": bin_steps * dt_ms})

    def score_ports(self, ports: PortActivity, batch: TrialBatch):
        target, scored = batch.info["target"], batch.info["scored"]
        binned = ports.binned(batch.info["bin_ms"])[:, :, 0, :target.shape[1]]
        fired = binned[:, scored] > 0  # (n_individuals, scored bins of all trials)
        should = target[scored]
        score = balanced_accuracy(fired, should)
        n = len(fired)
        hits = fired[:, should].mean(axis=1) if should.any() else np.zeros(n)
        false_alarms = fired[:, ~should].mean(axis=1) if (~should).any() else np.zeros(n)
        return score, {"hit_rate": hits, "false_alarm_rate": false_alarms}
