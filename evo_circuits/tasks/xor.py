"""Spiking XOR: the output fires when exactly one of two inputs is on.

Each trial, input channels 0 and 1 are each either *on* or *off* (silent). An *on*
channel emits, from its onset (``onset_ms`` plus a uniform jitter in ``[0, jitter_ms]``
drawn per channel and trial):

* ``encoding = "burst"`` (default): a regular burst of ``burst_spikes`` spikes every
  ``isi_ms``;
* ``encoding = "poisson"``: a brief high-rate train, a spike at onset then Bernoulli
  (discretised Poisson) spikes at ``rate_hz`` for ``on_ms``.

The four patterns (off/off, on/off, off/on, on/on) are balanced over trials (shuffled).
The output port should spike at least once when exactly one input is on, and stay silent
when both are off or both are on.

Score: XOR is OR *and* NAND, so the score is the worse of two balanced accuracies
(:func:`~evo_circuits.tasks.decode.balanced_accuracy`, "fired at least once" vs "should
fire"): exactly-one-on against both-off (the OR part) and exactly-one-on against
both-on (the NAND part)::

    score = min(BA(one vs none), BA(one vs both))

**Chance level 0.5**: a circuit that ignores its inputs (silent or always firing) scores
0.5 on both parts. So does an OR gate, the commonest behaviour of a random circuit (1 on
the first part, 0.5 on the second), which a plain balanced accuracy over the four
patterns would credit with 0.75. A relay of one input scores 0.25 and an AND gate 0; only
a non-monotone response scores above 0.5.

Rate code: both-on trials carry twice the input spikes of one-on trials, so a count code
carries the answer, but the output must respond to an intermediate drive and not to a
larger one: no single threshold on summed excitation does it. The circuit needs
inhibition that wins only when both inputs are on (e.g. a coincidence-detecting
interneuron that vetoes the output).
"""

from __future__ import annotations

import numpy as np

from ..simulate import InputSpikes
from .base import Param, PortActivity, Task, TaskError, TrialBatch
from .decode import balanced_accuracy
from .registry import register_task

#: Input patterns by index (``info["pattern"]``): (channel 0 on, channel 1 on).
PATTERNS = np.array([[False, False], [True, False], [False, True], [True, True]])


@register_task
class Xor(Task):
    name = "xor"
    description = "fire when exactly one of two inputs is on (burst), not when none or both are"
    params = {
        "encoding": Param("burst", "how an 'on' input spikes: regular burst or brief Poisson train",
                          choices=("burst", "poisson")),
        "burst_spikes": Param(3, "spikes in a burst (encoding 'burst')", min=1, max=100),
        "isi_ms": Param(3.0, "interval between burst spikes (encoding 'burst')", min=0.1, max=100.0),
        "rate_hz": Param(300.0, "rate of the Poisson train after its first spike (encoding 'poisson')",
                         min=0.0, max=5000.0),
        "on_ms": Param(10.0, "length of the Poisson train (encoding 'poisson')", min=0.1, max=1000.0),
        "onset_ms": Param(5.0, "earliest onset of an input", min=0.0, max=1000.0),
        "jitter_ms": Param(1.0, "onset of each on-input is onset_ms + U[0, jitter_ms]", min=0.0, max=100.0),
        "duration_ms": Param(40.0, "trial length", min=1.0, max=10_000.0),
    }

    def _train_ms(self) -> float:
        p = self.p
        return (p.burst_spikes - 1) * p.isi_ms if p.encoding == "burst" else p.on_ms

    def validate(self) -> None:
        p = self.p
        if p.trials < 4:
            raise TaskError(f"task.trials: at least 4 (one per input pattern), got {p.trials}")
        end = p.onset_ms + p.jitter_ms + self._train_ms()
        if end >= p.duration_ms:
            raise TaskError(f"task.duration_ms: must exceed the end of the input trains "
                            f"(onset_ms + jitter_ms + train length = {end:g}), got {p.duration_ms}")

    n_inputs = 2
    n_outputs = 1
    chance = 0.5

    def make_batch(self, n_trials: int, rng: np.random.Generator, dt_ms: float) -> TrialBatch:
        p = self.p
        pattern = rng.permutation(np.arange(n_trials) % 4)
        on = PATTERNS[pattern]  # (n_trials, 2)
        onset = p.onset_ms + rng.uniform(0.0, p.jitter_ms, (n_trials, 2))
        n_steps = int(round(p.duration_ms / dt_ms))
        trial_idx, chan_idx = np.nonzero(on)
        t0 = onset[trial_idx, chan_idx]
        if p.encoding == "burst":
            offsets = np.arange(p.burst_spikes) * p.isi_ms
            times = t0[:, None] + offsets[None, :]
            steps = np.rint(times / dt_ms).astype(np.int64)
            k = np.repeat(np.arange(len(t0)), p.burst_spikes)
            steps = steps.ravel()
        else:
            n_on = int(round(p.on_ms / dt_ms))
            first = np.rint(t0 / dt_ms).astype(np.int64)
            extra = rng.random((len(t0), n_on)) < p.rate_hz * dt_ms * 1e-3
            extra[:, 0] = True  # the onset spike
            k, j = np.nonzero(extra)
            steps = first[k] + j
        trial, channel = trial_idx[k], chan_idx[k]
        # A fine burst ISI may round two spikes into one step: keep one (InputSpikes rule).
        key = (trial * 2 + channel) * n_steps + steps
        _, keep = np.unique(key, return_index=True)
        inputs = InputSpikes(trial=trial[keep], channel=channel[keep], step=steps[keep],
                             n_trials=n_trials, n_steps=n_steps, dt_ms=dt_ms)
        return TrialBatch(inputs=inputs, labels=on.sum(axis=1) == 1,
                          info={"pattern": pattern, "on": on, "onset_ms": onset})

    def score_ports(self, ports: PortActivity, batch: TrialBatch) -> tuple[np.ndarray, dict]:
        fired = ports.counts[:, :, 0] > 0
        n_on = batch.info["on"].sum(axis=1)
        one, none, both = n_on == 1, n_on == 0, n_on == 2
        ba_or = _pair_accuracy(fired, one, none)
        ba_nand = _pair_accuracy(fired, one, both)
        rate = {name: (fired[:, sel].mean(axis=1) if sel.any() else np.zeros(len(fired)))
                for name, sel in (("fire_rate_none", none), ("fire_rate_one", one), ("fire_rate_both", both))}
        return np.minimum(ba_or, ba_nand), {"accuracy_vs_none": ba_or, "accuracy_vs_both": ba_nand, **rate}


def _pair_accuracy(fired: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Balanced accuracy of firing on ``pos`` trials and not on ``neg`` ones (0.5 if neither occurs)."""
    sel = pos | neg
    if not sel.any():
        return np.full(len(fired), 0.5)
    return balanced_accuracy(fired[:, sel], pos[sel])
