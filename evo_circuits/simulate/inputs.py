"""Input spike trains: the external drive of a simulation.

Inputs are lists of spikes ``(trial, channel, step)``, optionally per individual, with at
most one spike per (trial, channel, step) — the same rule as a Brian2
``SpikeGeneratorGroup``. They are stored on disk in the NPZ layout of ``docs/formats.md``
and converted to a per-step compressed (CSR) table for the kernel.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ..errors import FormatError
from ..io.atomic import save_npz
from ..io.caps import cap
from ..io.files import load_npz

#: Largest trial, step, channel or individual index: the kernel counts in int32 and the
#: duplicate check multiplies indices in int64, neither of which may wrap.
_MAX_INDEX = 2**31 - 1


@dataclass
class InputSpikes:
    """Spikes of external input channels.

    Parameters
    ----------
    trial, channel, step : ndarray of int
        One entry per spike.
    n_trials, n_steps : int
        Number of trials and time steps simulated.
    individual : ndarray of int, optional
        If given, spike ``k`` drives only individual ``individual[k]`` (per-individual
        inputs, ``n_individuals`` required); otherwise every individual gets the same
        inputs for the same trial.
    n_individuals : int, optional
    dt_ms : float, optional
        Time step the steps are counted in (ms). :func:`~evo_circuits.simulate` refuses
        inputs whose ``dt_ms`` differs from the circuits'; ``None`` (files written before
        inputs carried dt, hand-built step lists) means "steps of whatever dt the circuit uses".
    """

    trial: np.ndarray
    channel: np.ndarray
    step: np.ndarray
    n_trials: int
    n_steps: int
    individual: np.ndarray | None = None
    n_individuals: int | None = None
    dt_ms: float | None = None

    def __post_init__(self) -> None:
        if self.dt_ms is not None:
            dt = float(self.dt_ms)
            if not (np.isfinite(dt) and dt > 0):
                raise FormatError(f"inputs: dt_ms must be a positive number of ms, got {self.dt_ms!r}")
            self.dt_ms = dt
        self.trial = _as_index(self.trial, "spike_trial")
        self.channel = _as_index(self.channel, "spike_channel")
        self.step = _as_index(self.step, "spike_step")
        if not (len(self.trial) == len(self.channel) == len(self.step)):
            raise FormatError("inputs: spike_trial, spike_channel and spike_step must have equal lengths")
        self.n_trials, self.n_steps = int(self.n_trials), int(self.n_steps)
        if self.n_trials < 1 or self.n_steps < 1:
            raise FormatError(f"inputs: n_trials and n_steps must be >= 1, got {self.n_trials}, {self.n_steps}")
        for name, arr, hi in (("spike_trial", self.trial, self.n_trials), ("spike_step", self.step, self.n_steps)):
            bad = (arr < 0) | (arr >= hi)
            if bad.any():
                raise FormatError(f"inputs: {name} value {int(arr[bad][0])} out of range [0, {hi})")
        if (self.channel < 0).any() or (self.channel > _MAX_INDEX).any():
            raise FormatError(f"inputs: spike_channel values must be in [0, {_MAX_INDEX}], got "
                              f"{int(self.channel.min())}..{int(self.channel.max())}")
        if max(self.n_trials, self.n_steps, self.n_individuals or 1) > _MAX_INDEX:
            raise FormatError(f"inputs: n_trials, n_steps and n_individuals must be at most {_MAX_INDEX}")
        if self.individual is not None:
            self.individual = _as_index(self.individual, "spike_individual")
            if self.n_individuals is None or len(self.individual) != len(self.trial):
                raise FormatError("inputs: per-individual spikes need n_individuals and one spike_individual per spike")
            bad = (self.individual < 0) | (self.individual >= self.n_individuals)
            if bad.any():
                raise FormatError(f"inputs: spike_individual value {int(self.individual[bad][0])} out of range")
        # Sorted (set, channel, step) triples; a repeat is a neighbour equal in all three
        # (no packed integer key: it could overflow int64 for large indices).
        keys = np.stack([self._set_index(), self.channel, self.step])
        keys = keys[:, np.lexsort(keys[::-1])]
        if keys.shape[1] > 1 and (np.diff(keys, axis=1) == 0).all(axis=0).any():
            raise FormatError("inputs: a channel spikes twice in the same step of a trial (at most one spike per step)")

    @property
    def n_channels(self) -> int:
        """Number of channels that carry at least the highest channel index."""
        return int(self.channel.max()) + 1 if len(self.channel) else 0

    def check_dt(self, dt_ms: float, what: str = "the circuits") -> None:
        """Refuse (one-line :class:`FormatError`) if these inputs were made for another dt."""
        if self.dt_ms is not None and not np.isclose(self.dt_ms, dt_ms, rtol=1e-9, atol=0.0):
            raise FormatError(f"inputs: made for dt_ms {self.dt_ms:g}, but {what} use dt_ms {dt_ms:g}; "
                              "generate the inputs at the circuit's time step")

    @property
    def per_individual(self) -> bool:
        """True if inputs differ between individuals."""
        return self.individual is not None

    @property
    def n_sets(self) -> int:
        """Number of distinct input sets (trials, or individuals × trials)."""
        return self.n_trials * (self.n_individuals if self.per_individual else 1)

    def _set_index(self) -> np.ndarray:
        if self.individual is None:
            return self.trial
        return self.individual * self.n_trials + self.trial

    def to_csr(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-set table.

        Returns
        -------
        ptr : ndarray, shape (n_sets * n_steps + 1,)
            Spikes of set ``s`` at step ``k`` are ``channels[ptr[s*n_steps+k] : ptr[s*n_steps+k+1]]``.
        channels : ndarray of int32
        """
        ptr, _, channels = self._table(self._set_index().astype(np.int64) * self.n_steps + self.step)
        return ptr, channels

    def step_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-step table for the kernel (:class:`evo_circuits.simulate.pack.InputTable`).

        Returns
        -------
        ptr : ndarray, shape (n_steps * n_sets + 1,)
            Spikes at step ``k`` of set ``s`` are entries ``ptr[k*n_sets+s] : ptr[k*n_sets+s+1]``,
            so those of consecutive sets at one step are one range.
        sets, channels : ndarray of int64, int32
        """
        return self._table(self.step.astype(np.int64) * self.n_sets + self._set_index())

    def _table(self, row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR over ``row`` (one per spike, in [0, n_sets * n_steps)), channels ascending within a row."""
        order = np.lexsort((self.channel, row))
        counts = np.bincount(row, minlength=self.n_sets * self.n_steps)
        ptr = np.zeros(self.n_sets * self.n_steps + 1, np.int64)
        np.cumsum(counts, out=ptr[1:])
        return ptr, self._set_index()[order], self.channel[order].astype(np.int32)

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike) -> None:
        """Write the NPZ layout of ``docs/formats.md`` atomically."""
        arrays = dict(spike_trial=self.trial, spike_channel=self.channel, spike_step=self.step,
                      n_trials=np.int64(self.n_trials), n_steps=np.int64(self.n_steps))
        if self.individual is not None:
            arrays.update(spike_individual=self.individual, n_individuals=np.int64(self.n_individuals))
        if self.dt_ms is not None:
            arrays.update(dt_ms=np.float64(self.dt_ms))
        save_npz(path, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "InputSpikes":
        """Read an input NPZ; reject missing or mistyped arrays by name."""
        data = load_npz(path, "input spikes NPZ")
        for k in ("spike_trial", "spike_channel", "spike_step", "n_trials", "n_steps"):
            if k not in data:
                raise FormatError(f"{path}: missing array '{k}'")
        for k in ("n_trials", "n_steps", "n_individuals"):
            if k in data and (data[k].ndim != 0 or data[k].dtype.kind not in "iu"):
                raise FormatError(f"{path}: '{k}' must be an integer scalar, got dtype {data[k].dtype} shape {data[k].shape}")
        if "dt_ms" in data and (data["dt_ms"].ndim != 0 or data["dt_ms"].dtype.kind not in "iuf"):
            raise FormatError(f"{path}: 'dt_ms' must be a number, got dtype {data['dt_ms'].dtype} shape {data['dt_ms'].shape}")
        # The kernel's per-step table has one entry per (set, step): check its size first.
        sets = [int(data[k]) for k in ("n_trials", "n_steps", "n_individuals") if k in data]
        if any(v < 1 for v in sets):
            raise FormatError(f"{path}: n_trials, n_steps and n_individuals must be >= 1, got {sets}")
        if math.prod(sets) > cap("input_steps"):
            raise FormatError(f"{path}: {' x '.join(map(str, sets))} (trials x steps[ x individuals]) is more than "
                              f"the cap of {cap('input_steps'):,} (EVO_CIRCUITS_MAX_INPUT_STEPS)")
        try:
            return cls(trial=data["spike_trial"], channel=data["spike_channel"], step=data["spike_step"],
                       n_trials=int(data["n_trials"]), n_steps=int(data["n_steps"]),
                       individual=data.get("spike_individual"),
                       n_individuals=int(data["n_individuals"]) if "n_individuals" in data else None,
                       dt_ms=float(data["dt_ms"]) if "dt_ms" in data else None)
        except FormatError as exc:
            raise FormatError(f"{path}: {exc}") from None

    # ------------------------------------------------------------------ generators
    @classmethod
    def bernoulli(cls, rates_hz, n_trials: int, n_steps: int, dt_ms: float = 0.1,
                  seed: int | np.random.Generator = 0) -> "InputSpikes":
        """Bernoulli (discretised Poisson) spike trains, at most one spike per step.

        Parameters
        ----------
        rates_hz : float or array_like, shape (n_channels,) or (n_trials, n_channels)
            Firing rate of each channel; the spike probability per step is ``rate * dt``.
        n_trials, n_steps : int
        dt_ms : float
        seed : int or numpy Generator

        Returns
        -------
        InputSpikes
        """
        rng = np.random.default_rng(seed)
        rates = np.broadcast_to(np.atleast_1d(np.asarray(rates_hz, float)), (n_trials, np.size(rates_hz) if np.ndim(rates_hz) < 2 else np.shape(rates_hz)[1]))
        p = rates * dt_ms * 1e-3
        if (p > 1).any() or (p < 0).any():
            raise ValueError(f"rates must be in [0, 1/dt] = [0, {1e3 / dt_ms:g}] Hz")
        hits = rng.random((n_trials, p.shape[1], n_steps)) < p[:, :, None]
        trial, channel, step = np.nonzero(hits)
        return cls(trial=trial, channel=channel, step=step, n_trials=n_trials, n_steps=n_steps, dt_ms=dt_ms)


def _as_index(value, name: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise FormatError(f"inputs: '{name}' must be a 1-d array, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise FormatError(f"inputs: '{name}' must hold integers, got dtype {arr.dtype}")
    if arr.size and arr.dtype.kind == "u" and arr.max() > _MAX_INDEX:  # would wrap negative as int64
        raise FormatError(f"inputs: '{name}' value {int(arr.max())} is too large")
    return arr.astype(np.int64)
