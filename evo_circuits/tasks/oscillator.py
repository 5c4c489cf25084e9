"""Half-centre oscillator: turn tonic drive into two outputs bursting in alternation.

Input channel 0 carries a Poisson spike train of constant rate ``input_hz`` (no rhythm
in it). Output ports 0 and 1 should burst in anti-phase at ``target_hz``
(± ``tol_hz``), like the flexor and extensor half-centres of a locomotor network.

Score, from the spike times of the two ports after a ``settle_ms`` start transient
(resolution ``bin_ms``), for each frequency ``f`` of a grid over ``target_hz ± tol_hz``:

* anti-phase locking ``L(f) = -mean cos(φ_a - φ_b)`` over all pairs of a spike ``a`` of
  port 0 and a spike ``b`` of port 1, with ``φ = 2π f t`` (the cross-port pairwise phase
  consistency, Vinck et al. 2010). It is 1 for single spikes in exact anti-phase,
  ≈ 0.4 for two ports each firing for half the cycle in alternation, ≈ 0 for ports
  unrelated or unrhythmic at ``f`` (no bias from spike-count noise), negative in phase;
* credit ``clip((max_f L(f) - 2/sqrt(n_0 n_1)) / full_locking, 0, 1)``: the floor
  ``2/sqrt(n_0 n_1)`` (``n_p`` spikes of port p) is ≈ 3 standard deviations of ``L``
  for independent Poisson ports, so that irregular firing earns nothing;
* times coverage: the smaller, over the two ports, fraction of windows of the longest
  accepted period (``1/(target_hz - tol_hz)``) in which the port fires at all — so a
  few well-placed spikes do not pass for a rhythm.

**Shaping** (``shaping`` = s > 0, used by the shipped spec so evolution has a gradient
from silence): the trial score becomes ``(1 - s) * full + s * partial``, where ``full``
is the score above and ``partial`` combines

* activity: per port, ``min(1, spikes / cycles)`` (at least one spike per target cycle),
  averaged over the two ports — silence earns nothing, any output spike earns a little;
* rhythm: per port, the pairwise phase consistency of its own spikes at its best
  frequency of the grid, above a noise floor ``2 sqrt(2) / n``, relative to
  ``full_locking`` and clipped to [0, 1], averaged over the two ports — tonic irregular
  firing earns ~0, each port bursting at ``target_hz`` earns 1, even in phase.

* phase: the rhythm times ``clip(1/2 + L / (2 full_locking), 0, 1)`` with ``L`` the
  anti-phase locking above — 0 in phase, 1/2 unrelated, 1 in anti-phase.

``partial`` is the mean of the three. So silence → firing → rhythmic firing → ports
drifting apart → anti-phase rhythm is a slope of rising scores, and only the last step
can pass 0.9 (partial alone is worth at most ``s``; with ``s = 0.3`` a circuit needs
``full`` >= 0.86 to reach 0.9). Measured without the phase term: half the runs sat on the
in-phase plateau (0.3), since in phase and unrelated ports scored alike.

The score is the mean over trials. **Chance level 0** without shaping (``shaping / 3``
with it: active ports without rhythm): a silent port earns 0; ports
firing tonically — regularly, or irregularly like their Poisson drive — or bursting in
phase earn 0 (measured: Poisson ports of any rate average <= 0.011, and 999 of 1000
random circuits score exactly 0). A rate code cannot solve it: the drive is constant,
and the score depends only on *when* the two ports fire relative to each other.
"""

from __future__ import annotations

import numpy as np

from ..simulate import InputSpikes
from .base import Param, PortActivity, Task, TaskError, TrialBatch
from .registry import register_task


@register_task
class Oscillator(Task):
    name = "oscillator"
    description = "half-centre oscillator: tonic Poisson drive in, two outputs bursting in anti-phase at target_hz"
    needs_spike_times = True
    params = {
        "target_hz": Param(15.0, "frequency of the alternating bursts", min=0.5, max=200.0),
        "tol_hz": Param(3.0, "frequencies within target_hz ± tol_hz earn full credit", min=0.0, max=100.0),
        "input_hz": Param(400.0, "rate of the Poisson drive on input channel 0", min=0.0, max=5000.0),
        "bin_ms": Param(1.0, "time resolution of the spike phases", min=0.1, max=20.0),
        "settle_ms": Param(50.0, "unscored start transient", min=0.0, max=10_000.0),
        "full_locking": Param(0.25, "anti-phase locking (mean -cos of cross-port spike phase differences, "
                              "above the noise floor) that earns full credit", min=0.01, max=1.0),
        "duration_ms": Param(400.0, "trial length", min=1.0, max=10_000.0),
        "shaping": Param(0.0, "weight of the partial credit for output activity and per-port rhythm "
                         "(a gradient from silence; 0 = anti-phase rhythm only)", min=0.0, max=0.5),
    }
    # Each trial is long and rich (many cycles), so few are needed.
    common = {**Task.common, "trials": Param(4, "trials per evaluation", min=1, max=100_000)}

    def validate(self) -> None:
        p = self.p
        if p.tol_hz >= p.target_hz:
            raise TaskError(f"task.tol_hz: must be below target_hz ({p.target_hz}), got {p.tol_hz}")
        period = 1000.0 / (p.target_hz + p.tol_hz)
        if p.bin_ms > period / 8:
            raise TaskError(f"task.bin_ms: must be at most 1/8 of the shortest period ({period / 8:.3g} ms), "
                            f"got {p.bin_ms}")
        window, slow = p.duration_ms - p.settle_ms, p.target_hz - p.tol_hz
        if window * slow < 2000.0:
            raise TaskError(f"task.duration_ms: the scored window (duration_ms - settle_ms = {window:g} ms) must "
                            f"hold at least 2 periods of target_hz - tol_hz ({2000.0 / slow:g} ms), "
                            f"got {p.duration_ms}")

    n_inputs = 1
    n_outputs = 2
    chance = 0.0

    def chance_level(self) -> float:
        """0 without shaping; with it, what two active ports without rhythm earn (``shaping / 3``)."""
        return self.p.shaping / 3.0

    def make_batch(self, n_trials: int, rng: np.random.Generator, dt_ms: float) -> TrialBatch:
        p = self.p
        n_steps = round(p.duration_ms / dt_ms)
        # Bernoulli per step: a Poisson train with at most one spike per step.
        trial, step = np.nonzero(rng.random((n_trials, n_steps)) < min(1.0, p.input_hz * dt_ms * 1e-3))
        inputs = InputSpikes(trial=trial, channel=np.zeros_like(trial), step=step, n_trials=n_trials,
                             n_steps=n_steps, dt_ms=dt_ms)
        bin_steps = max(1, round(p.bin_ms / dt_ms))
        return TrialBatch(inputs=inputs, labels=np.full(n_trials, p.target_hz),
                          info={"bin_ms": bin_steps * dt_ms,
                                "first_bin": int(np.ceil(p.settle_ms / (bin_steps * dt_ms) - 1e-9)),
                                "n_bins": n_steps // bin_steps})

    def score_ports(self, ports: PortActivity, batch: TrialBatch):
        info = batch.info
        x = ports.binned(info["bin_ms"])[:, :, :2, info["first_bin"]:info["n_bins"]]
        score, locking, coverage, peak_hz = self.score_counts(x, info["bin_ms"])
        return score.mean(axis=1), {"antiphase_locking": locking.mean(axis=1), "coverage": coverage.mean(axis=1),
                                    "peak_hz": peak_hz.mean(axis=1)}

    def score_counts(self, x: np.ndarray, bin_ms: float) -> tuple[np.ndarray, ...]:
        """Score binned spike counts of the two ports (see the module docstring).

        Parameters
        ----------
        x : ndarray, shape (..., 2, n_bins)
            Spike counts of ports 0 and 1 in the scored bins.
        bin_ms : float

        Returns
        -------
        score, locking, coverage, peak_hz : ndarrays of shape ``x.shape[:-2]``
            The trial score; the anti-phase locking ``L(f)`` at its peak over the grid and
            that frequency; the smaller coverage of the two ports.
        """
        p = self.p
        x = np.asarray(x, float)
        n_t = x.shape[-1]
        freqs = np.linspace(p.target_hz - p.tol_hz, p.target_hz + p.tol_hz, 2 * max(1, int(p.tol_hz / 0.5)) + 1)
        t_s = (np.arange(n_t) + 0.5) * bin_ms * 1e-3
        s = x @ np.exp(2j * np.pi * t_s[:, None] * freqs[None, :])  # (..., 2, n_freqs): sum of spike phasors
        n = x.sum(axis=-1)  # (..., 2)
        nn = n[..., 0] * n[..., 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            # Mean cosine of the phase difference over all cross-port spike pairs.
            cross = np.where(nn[..., None] > 0, (s[..., 0, :] * np.conj(s[..., 1, :])).real / nn[..., None], 0.0)
            floor = np.where(nn > 0, 2.0 / np.sqrt(nn), 1.0)
        locking = -cross  # 1: perfectly anti-phase, ~0: unrelated, < 0: in phase
        best = locking.argmax(axis=-1)
        locking = np.take_along_axis(locking, best[..., None], axis=-1)[..., 0]
        credit = np.clip((locking - floor) / p.full_locking, 0.0, 1.0)
        # Coverage: fraction of windows of the longest accepted period in which the port fires at all.
        slow = p.target_hz - p.tol_hz
        edges = np.floor(np.arange(int(n_t * bin_ms * slow / 1000.0) + 1) * 1000.0 / (slow * bin_ms))
        edges = edges.astype(np.int64)
        csum = np.concatenate([np.zeros(x.shape[:-1] + (1,)), np.cumsum(x, axis=-1)], axis=-1)
        per_cycle = np.diff(csum[..., edges], axis=-1)
        coverage = (per_cycle > 0).mean(axis=-1).min(axis=-1) if len(edges) > 1 else np.zeros(x.shape[:-2])
        score = coverage * credit
        if p.shaping > 0:
            partial = self._partial_credit(x, s, n, n_t * bin_ms, locking)
            score = (1.0 - p.shaping) * score + p.shaping * partial
        return score, locking, coverage, freqs[best]

    def _partial_credit(self, x: np.ndarray, s: np.ndarray, n: np.ndarray, window_ms: float,
                        locking: np.ndarray) -> np.ndarray:
        """Shaping credit: mean of activity, rhythm and rhythm-weighted phase (module docstring)."""
        p = self.p
        cycles = max(1.0, window_ms * p.target_hz / 1000.0)
        activity = np.minimum(1.0, n / cycles).mean(axis=-1)
        # Pairwise phase consistency of each port's own spikes: |sum of phasors|^2 without the
        # pairs of a spike with itself (or with spikes of the same bin), over the number of pairs.
        same_bin = (x * x).sum(axis=-1)  # (..., 2)
        pairs = n * n - same_bin
        with np.errstate(divide="ignore", invalid="ignore"):
            ppc = np.where(pairs[..., None] > 0, (np.abs(s) ** 2 - same_bin[..., None]) / pairs[..., None], 0.0)
            floor = np.where(n > 0, 2.0 * np.sqrt(2.0) / n, 1.0)
        rhythm = np.clip((ppc.max(axis=-1) - floor) / p.full_locking, 0.0, 1.0).mean(axis=-1)
        # In phase 0, unrelated 1/2, anti-phase 1: a slope from "both ports rhythmic" to the goal.
        phase = np.clip(0.5 + 0.5 * locking / p.full_locking, 0.0, 1.0)
        return (activity + rhythm + rhythm * phase) / 3.0
