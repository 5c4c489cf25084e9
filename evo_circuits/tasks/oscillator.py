"""Half-centre oscillator: turn tonic drive into two outputs bursting in alternation.

Input channel 0 carries a Poisson spike train of constant rate ``input_hz`` (no rhythm
in it). Output ports 0 and 1 should burst in anti-phase at ``target_hz``
(± ``tol_hz``), like the flexor and extensor half-centres of a locomotor network.

Score: each port's spikes are counted in bins of ``bin_ms`` after a ``settle_ms`` start
transient, and each count series ``x_p`` (mean removed, ``N`` bins) is projected onto a
sinusoid of frequency ``f``: ``c_p(f) = Σ_t x_p(t) exp(-2πi f t)``. For each ``f`` of a
grid over ``target_hz ± tol_hz``:

* rhythm: ``r_p(f) = 2 |c_p(f)|² / (N Σ_t x_p(t)²)`` is the fraction of the port's
  variance carried by that frequency (1 for a sinusoid, ≈ 0.8 for square-wave bursting,
  ≈ 2/N for white noise). With ``g = sqrt(r_0 r_1)`` (both ports must be rhythmic) the
  rhythm credit is ``clip((g - floor) / (full_power - floor), 0, 1)``, where
  ``floor = 3/N`` sits above the level of an irregular (Poisson-like) spike train;
* alternation: ``(1 - cos Δφ) / 2`` with ``Δφ`` the phase difference of ``c_0`` and
  ``c_1``: 1 in anti-phase, 0 in phase.

A trial scores the best product of the two over the frequency grid; the score is the
mean over trials. **Chance level 0**: a silent port has no variance (credit 0); a port
firing tonically (regularly, or irregularly like its Poisson drive) has no power
concentrated at ``target_hz`` and earns ≈ 0; two ports bursting together (in phase)
earn 0 alternation. A rate code cannot solve it: the drive is constant, and the
score depends only on *when* the two ports fire relative to each other.
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
        "bin_ms": Param(5.0, "bin of the spike counts whose spectrum is taken", min=0.1, max=100.0),
        "settle_ms": Param(50.0, "unscored start transient", min=0.0, max=10_000.0),
        "full_power": Param(0.5, "fraction of a port's variance at the rhythm frequency that earns full "
                            "rhythm credit", min=0.05, max=1.0),
        "duration_ms": Param(400.0, "trial length", min=1.0, max=10_000.0),
    }
    # Each trial is long and rich (many cycles), so few are needed.
    common = {**Task.common, "trials": Param(4, "trials per evaluation", min=1, max=100_000)}

    def validate(self) -> None:
        p = self.p
        if p.tol_hz >= p.target_hz:
            raise TaskError(f"task.tol_hz: must be below target_hz ({p.target_hz}), got {p.tol_hz}")
        nyquist = 500.0 / p.bin_ms
        if p.target_hz + p.tol_hz >= nyquist:
            raise TaskError(f"task.bin_ms: target_hz + tol_hz ({p.target_hz + p.tol_hz}) must be below the "
                            f"Nyquist frequency of the bins ({nyquist:g} Hz), got bin_ms = {p.bin_ms}")
        window = p.duration_ms - p.settle_ms
        if window * p.target_hz < 2000.0:
            raise TaskError(f"task.duration_ms: the scored window (duration_ms - settle_ms = {window:g} ms) must "
                            f"hold at least 2 periods of target_hz ({2000.0 / p.target_hz:g} ms)")
        if window < 8 * p.bin_ms:
            raise TaskError(f"task.bin_ms: the scored window ({window:g} ms) must hold at least 8 bins, "
                            f"got bin_ms = {p.bin_ms}")
        if not p.full_power > self._floor(int(window / p.bin_ms)):
            raise TaskError(f"task.full_power: must exceed the noise floor 3/N "
                            f"({self._floor(int(window / p.bin_ms)):.3g}), got {p.full_power}")

    @property
    def n_inputs(self) -> int:
        return 1

    @property
    def n_outputs(self) -> int:
        return 2

    def chance_level(self) -> float:
        return 0.0

    @staticmethod
    def _floor(n_bins: int) -> float:
        # White noise puts ~2/N of its variance at any one frequency; 3/N clears most of
        # the maximum over the (correlated) frequency grid for irregular spike trains.
        return 3.0 / n_bins

    def make_batch(self, n_trials: int, rng: np.random.Generator, dt_ms: float) -> TrialBatch:
        p = self.p
        n_steps = int(round(p.duration_ms / dt_ms))
        # Bernoulli per step: a Poisson train with at most one spike per step.
        trial, step = np.nonzero(rng.random((n_trials, n_steps)) < min(1.0, p.input_hz * dt_ms * 1e-3))
        inputs = InputSpikes(trial=trial, channel=np.zeros_like(trial), step=step, n_trials=n_trials,
                             n_steps=n_steps)
        bin_steps = max(1, int(round(p.bin_ms / dt_ms)))
        return TrialBatch(inputs=inputs, labels=np.full(n_trials, p.target_hz),
                          info={"bin_ms": bin_steps * dt_ms,
                                "first_bin": int(np.ceil(p.settle_ms / (bin_steps * dt_ms) - 1e-9)),
                                "n_bins": n_steps // bin_steps})

    def score_ports(self, ports: PortActivity, batch: TrialBatch):
        info = batch.info
        x = ports.binned(info["bin_ms"])[:, :, :2, info["first_bin"]:info["n_bins"]]
        score, rhythm, alternation, peak_hz = self.score_counts(x, info["bin_ms"])
        return score.mean(axis=1), {"rhythm": rhythm.mean(axis=1), "alternation": alternation.mean(axis=1),
                                    "peak_hz": peak_hz.mean(axis=1)}

    def score_counts(self, x: np.ndarray, bin_ms: float) -> tuple[np.ndarray, ...]:
        """Score binned spike counts of the two ports.

        Parameters
        ----------
        x : ndarray, shape (..., 2, n_bins)
            Spike counts of ports 0 and 1 in the scored bins.
        bin_ms : float

        Returns
        -------
        score, rhythm, alternation, peak_hz : ndarrays of shape ``x.shape[:-2]``
            The trial score and, at the best frequency of the grid, its rhythm and
            alternation factors and that frequency.
        """
        p = self.p
        n = x.shape[-1]
        x = x - x.mean(axis=-1, keepdims=True)
        var = (x ** 2).sum(axis=-1)  # (..., 2)
        freqs = np.linspace(p.target_hz - p.tol_hz, p.target_hz + p.tol_hz, max(1, int(p.tol_hz / 0.5)) * 2 + 1)
        t_s = (np.arange(n) + 0.5) * bin_ms * 1e-3
        c = x @ np.exp(-2j * np.pi * t_s[:, None] * freqs[None, :])  # (..., 2, n_freqs)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(var[..., None] > 0, 2.0 * np.abs(c) ** 2 / (n * var[..., None]), 0.0)
        r = np.clip(r, 0.0, 1.0)
        floor = self._floor(n)
        g = np.sqrt(r[..., 0, :] * r[..., 1, :])
        rhythm = np.clip((g - floor) / (p.full_power - floor), 0.0, 1.0)
        cross = c[..., 0, :] * np.conj(c[..., 1, :])
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = np.where(np.abs(cross) > 0, cross.real / np.abs(cross), 1.0)
        alternation = (1.0 - cos) / 2.0
        s = rhythm * alternation
        # The peak is located on the unclipped product, so a saturated band still reports
        # the frequency that carries the most alternating power.
        best = (g * alternation).argmax(axis=-1)[..., None]
        pick = (lambda a: np.take_along_axis(a, best, axis=-1)[..., 0])
        return s.max(axis=-1), pick(rhythm), pick(alternation), freqs[best[..., 0]]
