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

The score is the mean over trials. **Chance level 0**: a silent port earns 0; ports
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
        return coverage * credit, locking, coverage, freqs[best]
