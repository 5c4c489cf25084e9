"""Inhibitory gating: a control input routes a signal to one of two outputs.

Input channel 0 is the *signal*, channel 1 the *control*. Each trial is one of four
conditions, balanced over trials (shuffled):

========== ========= ===============================
control    signal    the circuit should
========== ========= ===============================
off        on        relay the signal on port 0 (A)
on         on        relay the signal on port 1 (B)
off / on   off       keep both ports silent
========== ========= ===============================

The control, when on, is tonic: a train at ``control_hz`` for the whole trial. The signal,
when on, is a train at ``signal_hz`` for ``signal_ms`` from ``signal_onset_ms``, so the
control sets the context before the signal arrives, and the trial runs on after the signal
ends for the last responses (``duration_ms``). ``encoding`` makes both trains
Poisson (Bernoulli per step, default) or regular (period 1/rate, random phase).

Score: the worse of two parts, each 0.5 for a circuit that ignores its inputs::

    score = min(routing, detection)

* ``routing``: per signal-on trial, the fraction of output spikes (both ports, whole
  trial) that fall in the right port, ``n_right / (n_A + n_B)``, or 0.5 (a tie) if no
  port spiked; averaged over the A trials and over the B trials, then the two means
  averaged.
* ``detection``: balanced accuracy of "some port spiked" against "the signal is on"
  (:func:`~evo_circuits.tasks.decode.balanced_accuracy`), so that output driven by the
  control alone, or by nothing, is penalised.

**Chance level 0.5**: a circuit that ignores its inputs puts the same fraction of its
spikes in A whatever the control, so its routing averages 0.5 over the balanced A/B
trials (0.5 exactly if silent), and its detection is 0.5. A circuit that relays the
signal without switching it, or switches its outputs by the control without needing the
signal, scores 0.5 too: it must do both to score above chance.

Rate code: yes — the answer is which port carries the signal's spikes. What the task
demands is a conditional path: the control must suppress one pathway and open the other
without driving either output itself (inhibition of A, disinhibition or gated
excitation of B).
"""

from __future__ import annotations

import numpy as np

from ..simulate import InputSpikes
from .base import Param, PortActivity, Task, TaskError, TrialBatch
from .decode import balanced_accuracy
from .registry import register_task

#: Conditions by index: (signal on, control on), and the target port of each (the label; -1: silent).
CONDITIONS = np.array([[True, False], [True, True], [False, False], [False, True]])
TARGETS = np.array([0, 1, -1, -1])


def _train(rng: np.random.Generator, on: np.ndarray, rate_hz: float, start: int, stop: int,
           dt_ms: float, encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """Spikes (trial, step) of a train in steps ``start..stop-1`` of the trials where ``on``."""
    trials = np.nonzero(on)[0]
    length = stop - start
    if encoding == "poisson":
        hits = rng.random((len(trials), length)) < rate_hz * dt_ms * 1e-3
        k, j = np.nonzero(hits)
        return trials[k], start + j
    period = 1e3 / rate_hz / dt_ms  # steps (float); rate 0 is rejected by validate()
    phase = rng.uniform(0.0, period, len(trials))
    n_max = int(np.ceil(length / period)) + 1
    steps = np.rint(phase[:, None] + period * np.arange(n_max)[None, :]).astype(np.int64)
    trial = np.broadcast_to(trials[:, None], steps.shape)
    keep = steps < length
    return trial[keep], start + steps[keep]


@register_task
class Gating(Task):
    name = "gating"
    description = "route the signal (input 0) to output A, or to output B when the control (input 1) is on"
    params = {
        "signal_hz": Param(150.0, "rate of the signal train (input 0)", min=1.0, max=2000.0),
        "control_hz": Param(200.0, "rate of the tonic control train (input 1)", min=1.0, max=2000.0),
        "encoding": Param("poisson", "both trains Poisson (Bernoulli per step) or regular (random phase)",
                          choices=("poisson", "regular")),
        "signal_onset_ms": Param(20.0, "start of the signal; the control starts at 0", min=0.0, max=1000.0),
        "signal_ms": Param(50.0, "length of the signal train", min=0.1, max=10_000.0),
        "duration_ms": Param(80.0, "trial length", min=1.0, max=10_000.0),
    }

    def validate(self) -> None:
        p = self.p
        if p.trials < 4:
            raise TaskError(f"task.trials: at least 4 (one per condition), got {p.trials}")
        if p.signal_onset_ms + p.signal_ms > p.duration_ms:
            raise TaskError(f"task.duration_ms: must be at least signal_onset_ms + signal_ms "
                            f"({p.signal_onset_ms + p.signal_ms:g}), got {p.duration_ms}")

    n_inputs = 2
    n_outputs = 2
    chance = 0.5

    def make_batch(self, n_trials: int, rng: np.random.Generator, dt_ms: float) -> TrialBatch:
        p = self.p
        cond = rng.permutation(np.arange(n_trials) % len(CONDITIONS))
        signal_on, control_on = CONDITIONS[cond].T
        n_steps = int(round(p.duration_ms / dt_ms))
        for key in ("signal_hz", "control_hz"):
            if getattr(p, key) * dt_ms * 1e-3 > 1.0:
                raise TaskError(f"task.{key}: at most one spike per step of {dt_ms:g} ms "
                                f"({1e3 / dt_ms:g} Hz), got {getattr(p, key)}")
        start = min(int(round(p.signal_onset_ms / dt_ms)), n_steps - 1)
        stop = min(max(int(round((p.signal_onset_ms + p.signal_ms) / dt_ms)), start + 1), n_steps)
        s_tr, s_st = _train(rng, signal_on, p.signal_hz, start, stop, dt_ms, p.encoding)
        c_tr, c_st = _train(rng, control_on, p.control_hz, 0, n_steps, dt_ms, p.encoding)
        inputs = InputSpikes(trial=np.concatenate([s_tr, c_tr]),
                             channel=np.concatenate([np.zeros(len(s_tr), np.int64), np.ones(len(c_tr), np.int64)]),
                             step=np.concatenate([s_st, c_st]), n_trials=n_trials, n_steps=n_steps, dt_ms=dt_ms)
        return TrialBatch(inputs=inputs, labels=TARGETS[cond],
                          info={"signal_on": signal_on, "control_on": control_on})

    def score_ports(self, ports: PortActivity, batch: TrialBatch) -> tuple[np.ndarray, dict]:
        target = np.asarray(batch.labels)
        counts = ports.counts[:, :, :2]
        total = counts.sum(axis=2)
        fired = total > 0
        sig = target >= 0
        n_ind = counts.shape[0]
        if sig.any():
            right = np.take_along_axis(counts[:, sig], np.broadcast_to(target[sig][None, :, None],
                                                                       (n_ind, int(sig.sum()), 1)), axis=2)[..., 0]
            tot = total[:, sig]
            credit = np.where(tot > 0, right / np.maximum(tot, 1), 0.5)
            # Mean per target port, so that an input-blind circuit gets exactly 0.5 even if
            # the A and B trials are not equally many.
            routing = np.mean([credit[:, target[sig] == port].mean(axis=1)
                               for port in (0, 1) if (target[sig] == port).any()], axis=0)
        else:
            routing = np.full(n_ind, 0.5)
        detection = balanced_accuracy(fired, sig)
        false_alarms = fired[:, ~sig].mean(axis=1) if (~sig).any() else np.zeros(n_ind)
        return np.minimum(routing, detection), {"routing": routing, "detection": detection,
                                                "false_alarm_rate": false_alarms}
