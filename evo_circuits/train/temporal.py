"""Temporal benchmarks: data sets where spike timing, not spike counts, carries the label.

Both are built for ``train`` and ``compare`` (``--data itd``, ``--data patterns``) at any
time step that represents their timing, and both defeat a rate code by construction:
every class has the same distribution of spike counts per channel.

* :func:`itd_dataset` — **many-position sound localisation**: ``n_positions`` source
  positions (classes), ``n_bands`` frequency bands, each heard by a left- and a
  right-ear channel (``2 n_bands`` channels) firing phase-locked to the band's tone (one
  spike per cycle, Gaussian jitter, missed cycles); the right ear lags the left by the
  position's interaural time difference, ``itd_step_ms * (k - n_positions // 2)``. A
  single Jeffress motif sees one band; the label needs the ITD read across bands and
  positions, a scale larger than a motif.
* :func:`pattern_dataset` — **timing-pattern classification** (as for the tempotron):
  ``n_classes`` fixed random templates over ``n_channels`` channels; in a template every
  channel fires exactly once, at a time uniform in ``[0, span_ms)``; each sample is a
  template with every spike jittered (Gaussian, ``jitter_ms``). Every channel fires once
  in every sample of every class: only the relative timing over dozens of channels
  tells the classes apart.

Samples and templates come from seeded generators (``numpy.random.default_rng``), so the
same arguments give the same data set.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .data import SpikeTrainDataset
from .network import TrainError

__all__ = ["TEMPORAL_BENCHMARKS", "itd_dataset", "pattern_dataset", "temporal_benchmark"]


def _steps(times_ms: np.ndarray, dt_ms: float, n_steps: int) -> np.ndarray:
    """Times (ms) to step indices (nearest step); times outside the trial are dropped by the caller."""
    return np.clip(np.rint(times_ms / dt_ms).astype(np.int64), 0, n_steps - 1)


def itd_dataset(n_samples: int, seed: int = 0, dt_ms: float = 1.0, n_positions: int = 8, itd_step_ms: float = 1.0,
                n_bands: int = 8, freq_low_hz: float = 60.0, freq_high_hz: float = 120.0, jitter_ms: float = 0.3,
                p_miss: float = 0.2, onset_ms: float = 5.0, duration_ms: float = 60.0) -> SpikeTrainDataset:
    """Many-position ITD localisation with phase-locked inputs (see the module docstring).

    Parameters
    ----------
    n_samples : int
        Samples (classes balanced: sample ``i`` has position ``i % n_positions``, then shuffled).
    seed : int
    dt_ms : float
        Time step; ``itd_step_ms`` must be a whole number of steps (refused otherwise).
    n_positions : int
        Classes; ITDs ``itd_step_ms * (k - n_positions // 2)``.
    n_bands : int
        Frequency bands, log-spaced from ``freq_low_hz`` to ``freq_high_hz``; channel
        ``2 b`` is the left ear of band ``b``, ``2 b + 1`` the right ear.
    jitter_ms, p_miss : float
        Gaussian jitter of each spike; probability an ear skips a cycle.
    onset_ms, duration_ms : float
        The tones start (random phase) within one period after ``onset_ms``; trial length.

    Returns
    -------
    SpikeTrainDataset
        Spikes ``(n_samples, round(duration_ms / dt_ms), 2 n_bands)``, name ``itd``.
    """
    itds = itd_step_ms * (np.arange(n_positions) - n_positions // 2)
    span = itds.max() - itds.min()
    if abs(itd_step_ms / dt_ms - round(itd_step_ms / dt_ms)) > 1e-6:
        raise TrainError(f"itd: itd_step_ms {itd_step_ms:g} is not a whole number of steps of dt_ms {dt_ms:g}")
    if span >= 1000.0 / freq_high_hz:
        raise TrainError(f"itd: the ITDs span {span:g} ms, not less than the highest band's period "
                         f"({1000.0 / freq_high_hz:g} ms): positions would be ambiguous")
    rng = np.random.default_rng([seed, 0x17D])
    n_steps = int(round(duration_ms / dt_ms))
    labels = rng.permutation(np.arange(n_samples) % n_positions)
    spikes = np.zeros((n_samples, n_steps, 2 * n_bands), np.uint8)
    freqs = np.geomspace(freq_low_hz, freq_high_hz, n_bands)
    end = duration_ms - itds.max() - 3 * jitter_ms - 1.0
    for b, f in enumerate(freqs):
        period = 1000.0 / f
        n_cycles = int(np.floor((end - onset_ms - period) / period)) + 1
        start = onset_ms + rng.uniform(0, period, n_samples)
        cycles = start[:, None] + period * np.arange(max(n_cycles, 1))[None, :]
        for ear, shift in ((0, 0.0), (1, itds[labels][:, None])):
            t = cycles + shift + np.clip(rng.normal(0, jitter_ms, cycles.shape), -3 * jitter_ms, 3 * jitter_ms)
            keep = (rng.random(cycles.shape) >= p_miss) & (t >= 0) & (t < duration_ms)
            rows, cols = np.nonzero(keep)
            spikes[rows, _steps(t[rows, cols], dt_ms, n_steps), 2 * b + ear] = 1
    return SpikeTrainDataset(spikes, labels, n_positions, name="itd", dt_ms=dt_ms)


def pattern_dataset(n_samples: int, seed: int = 0, dt_ms: float = 1.0, n_classes: int = 10, n_channels: int = 32,
                    span_ms: float = 40.0, jitter_ms: float = 2.0, duration_ms: float = 50.0,
                    template_seed: int = 0) -> SpikeTrainDataset:
    """Timing-pattern classification over many channels (see the module docstring).

    Parameters
    ----------
    n_samples : int
        Samples (classes balanced, shuffled).
    seed : int
        Seed of the samples (jitter, order).
    dt_ms : float
    n_classes, n_channels : int
    span_ms : float
        Template spike times are uniform in ``[0, span_ms)``.
    jitter_ms : float
        Gaussian jitter of every spike of a sample (times kept inside the trial).
    duration_ms : float
    template_seed : int
        Seed of the templates: train and test sets must share it.

    Returns
    -------
    SpikeTrainDataset
        Spikes ``(n_samples, round(duration_ms / dt_ms), n_channels)``, name ``patterns``.
    """
    if span_ms > duration_ms:
        raise TrainError(f"patterns: span_ms {span_ms:g} is longer than the trial ({duration_ms:g} ms)")
    templates = np.random.default_rng([template_seed, 0x7E3]).uniform(0, span_ms, (n_classes, n_channels))
    rng = np.random.default_rng([seed, 0xBA7])
    n_steps = int(round(duration_ms / dt_ms))
    labels = rng.permutation(np.arange(n_samples) % n_classes)
    t = np.clip(templates[labels] + rng.normal(0, jitter_ms, (n_samples, n_channels)), 0, duration_ms - dt_ms)
    spikes = np.zeros((n_samples, n_steps, n_channels), np.uint8)
    rows, cols = np.indices(t.shape)
    spikes[rows.ravel(), _steps(t.ravel(), dt_ms, n_steps), cols.ravel()] = 1
    return SpikeTrainDataset(spikes, labels, n_classes, name="patterns", dt_ms=dt_ms)


#: Built-in temporal benchmarks by name: ``f(n_samples, seed, dt_ms) -> SpikeTrainDataset``.
TEMPORAL_BENCHMARKS: dict[str, Callable[..., SpikeTrainDataset]] = {"itd": itd_dataset, "patterns": pattern_dataset}


def temporal_benchmark(name: str, n_train: int, n_test: int, seed: int = 0,
                       dt_ms: float = 1.0) -> tuple[SpikeTrainDataset, SpikeTrainDataset]:
    """Train and test sets of a built-in temporal benchmark, from independent sample streams.

    Raises
    ------
    TrainError
        Unknown name, or a time step that cannot represent the benchmark's timing.
    """
    if name not in TEMPORAL_BENCHMARKS:
        raise TrainError(f"unknown temporal benchmark {name!r} (expected one of {', '.join(TEMPORAL_BENCHMARKS)})")
    make = TEMPORAL_BENCHMARKS[name]
    train, test = make(n_train, seed=2 * seed, dt_ms=dt_ms), make(n_test, seed=2 * seed + 1, dt_ms=dt_ms)
    train.name, test.name = f"{name}/train", f"{name}/test"
    return train, test
