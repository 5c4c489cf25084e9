"""Modifiers usable with any task: robustness to noise, and a stability penalty.

* :class:`Robustness` evaluates with every synapse's release probability scaled by
  ``p_release`` and every input spike jittered by Gaussian noise of ``jitter_ms``.
* :class:`Stability` drives every input channel hard (``drive_hz``) for a few trials;
  the score is multiplied by ``1 - weight * f``, with ``f`` the fraction of neurons whose
  rate exceeds ``ceiling_hz`` (runaway excitation), floored at 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..circuit import Circuit
from ..simulate import InputSpikes, simulate


@dataclass(frozen=True)
class Robustness:
    """Evaluate under unreliable synapses and jittered inputs.

    Attributes
    ----------
    p_release : float
        Factor in (0, 1] applied to every synapse's release probability.
    jitter_ms : float
        Standard deviation of the Gaussian jitter of input spike times (>= 0).
    """

    p_release: float = 1.0
    jitter_ms: float = 0.0

    def perturb_circuits(self, circuits: Sequence[Circuit]) -> list[Circuit]:
        """Circuits with release probabilities scaled (unchanged if ``p_release`` is 1)."""
        if self.p_release >= 1.0:
            return list(circuits)
        return [c.replace(synapses=c.synapses._replace(p_release=c.synapses.p_release * self.p_release))
                for c in circuits]  # the synapse table: no dense matrices, large circuits too

    def perturb_batch(self, batch, rng: np.random.Generator, dt_ms: float):
        """A copy of the trial batch with jittered input spikes (duplicates merged)."""
        if self.jitter_ms <= 0:
            return batch
        inp = batch.inputs
        shift = np.rint(rng.normal(0.0, self.jitter_ms / dt_ms, len(inp.step))).astype(np.int64)
        step = np.clip(inp.step + shift, 0, inp.n_steps - 1)
        key = np.stack([inp.trial, inp.channel, step])
        _, keep = np.unique(key, axis=1, return_index=True)
        keep.sort()
        jittered = InputSpikes(trial=inp.trial[keep], channel=inp.channel[keep], step=step[keep],
                               n_trials=inp.n_trials, n_steps=inp.n_steps, dt_ms=inp.dt_ms)
        return type(batch)(inputs=jittered, labels=batch.labels, info=batch.info)


@dataclass(frozen=True)
class Stability:
    """Penalise runaway excitation under strong drive.

    Attributes
    ----------
    ceiling_hz : float
        Rate above which a neuron counts as runaway.
    drive_hz : float
        Poisson rate of every input channel during the check.
    duration_ms : float
    trials : int
    weight : float
        Penalty per unit fraction of runaway neurons.
    """

    ceiling_hz: float = 150.0
    drive_hz: float = 500.0
    duration_ms: float = 100.0
    trials: int = 2
    weight: float = 1.0

    def penalty(self, circuits: Sequence[Circuit], seed: int,
                individual_ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Multiplicative penalty in [0, 1] and the runaway fraction, per individual."""
        dt = circuits[0].dt_ms
        n_ch = max(c.n_inputs for c in circuits)
        inp = InputSpikes.bernoulli([self.drive_hz] * max(n_ch, 1), self.trials,
                                    max(1, int(round(self.duration_ms / dt))), dt_ms=dt, seed=[seed, 0x57AB])
        res = simulate(circuits, inp, seed=seed, individual_ids=individual_ids)
        rates = res.rates_hz().mean(axis=1)  # (n_ind, max_n)
        frac = np.array([(rates[k, :c.n_neurons] > self.ceiling_hz).mean() if c.n_neurons else 0.0
                         for k, c in enumerate(circuits)])
        return np.clip(1.0 - self.weight * frac, 0.0, 1.0), frac
