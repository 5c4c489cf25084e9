"""Users' own data for training: NumPy arrays, NPZ files, event lists, torch and tonic.

Every way in ends as a :class:`~.data.SpikeTrainDataset` (dense ``uint8`` spikes
``(samples, steps, channels)`` + integer labels + the ``dt_ms`` the steps count), which
:func:`~.trainer.train` checks against the circuit's time step. One entry point,
:func:`as_dataset`, takes any of:

- a :class:`~.data.SpikeDataset` (returned as is);
- a pair ``(X, y)``: ``X`` 0/1 spikes ``(samples, steps, channels)`` (NumPy or torch);
- a torch ``Dataset`` (``len`` + ``ds[i] -> (x, y)``, ``x`` of shape ``(steps, channels)``);
- a path to an NPZ file (:func:`load_dataset`).

Event data (spike times in ms) go through :func:`from_events`; tonic-style recordings
(structured arrays with fields ``x``, ``t`` and optionally ``y``, ``p``, times in µs, and
a ``sensor_size``) through :func:`from_tonic`.

NPZ layouts (read with ``allow_pickle=False``; sizes checked from the array headers before
anything is allocated)::

    dense:  spikes (N, T, C) uint8/bool 0/1,  labels (N,) int,  dt_ms () float
    events: sample (k,) int, t_ms (k,) float, channel (k,) int,  labels (N,) int,
            dt_ms () float,  optional n_channels () int, duration_ms () float

Optional in both: ``n_classes`` () int (default ``max(labels) + 1``).
"""

from __future__ import annotations

import os
import warnings
import zipfile
from typing import Any, Sequence

import numpy as np

from ..errors import FormatError
from ..io import atomic
from .data import SpikeDataset, SpikeTrainDataset

#: Largest dense spike array built from a file or events, in bytes (one byte per entry).
MAX_DENSE_BYTES = 2 * 1024**3


def as_dataset(data: Any, *, dt_ms: float | None = None, name: str = "") -> SpikeDataset:
    """Turn any supported form of labelled spike data into a data set.

    Parameters
    ----------
    data : SpikeDataset, (X, y), torch Dataset, or path to an NPZ file
        See the module docstring.
    dt_ms : float, optional
        Time step of ``X``'s steps, for arrays and torch data sets (``None``: counted in
        the circuit's steps, like the digits). NPZ files carry their own.
    name : str
        Label used in messages and reports.

    Returns
    -------
    SpikeDataset
    """
    if isinstance(data, SpikeDataset):
        return data
    if isinstance(data, (str, os.PathLike)):
        return load_dataset(data)
    if isinstance(data, tuple) and len(data) == 2:
        return from_arrays(data[0], data[1], dt_ms=dt_ms, name=name or "arrays")
    if hasattr(data, "__getitem__") and hasattr(data, "__len__") and not isinstance(data, (list, np.ndarray)):
        return from_torch(data, dt_ms=dt_ms, name=name or type(data).__name__)
    raise FormatError(f"data: expected a SpikeDataset, an (X, y) pair, a torch Dataset or an NPZ path, "
                      f"got {type(data).__name__}")


def _numpy(a: Any, what: str) -> np.ndarray:
    if hasattr(a, "detach"):  # torch tensor, without importing torch
        a = a.detach().cpu().numpy()
    try:
        return np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise FormatError(f"{what}: not an array ({exc})") from None


def _labels(y: Any, n: int, where: str, n_classes: int | None = None) -> tuple[np.ndarray, int]:
    y = _numpy(y, f"{where} labels")
    if y.ndim != 1 or len(y) != n:
        raise FormatError(f"{where}: labels must be a 1-d array of {n} class indices, got shape {y.shape}")
    if n == 0:
        raise FormatError(f"{where}: no samples")
    if y.dtype.kind in "fc" and np.isfinite(y).all() and (y == np.round(y)).all():
        y = y.real.astype(np.int64)  # integral floats (e.g. from torch) are class indices too
    if n and (y.dtype.kind not in "iu" or y.min() < 0):
        raise FormatError(f"{where}: labels must be integer class indices >= 0, got dtype {y.dtype}"
                          + (f", min {y.min()}" if y.dtype.kind in "iuf" and n else ""))
    k = int(y.max()) + 1 if n else 0
    if n_classes is not None:
        if n_classes < k:
            raise FormatError(f"{where}: n_classes is {n_classes} but labels go up to {k - 1}")
        k = n_classes
    return y.astype(np.int64), k


def _dt(dt_ms: Any, where: str) -> float | None:
    if dt_ms is None:
        return None
    dt = float(dt_ms)
    if not (np.isfinite(dt) and dt > 0):
        raise FormatError(f"{where}: dt_ms must be a positive number of ms, got {dt_ms!r}")
    return dt


def from_arrays(x: Any, y: Any, *, dt_ms: float | None = None, time_first: bool = False, name: str = "arrays",
                n_classes: int | None = None) -> SpikeTrainDataset:
    """Dense 0/1 spikes and labels as a data set.

    Parameters
    ----------
    x : array (samples, steps, channels), or (steps, samples, channels) with ``time_first``
        0/1 or bool; NumPy or torch.
    y : array (samples,) of int
    dt_ms : float, optional
    time_first : bool
    name : str
    n_classes : int, optional
        Default ``max(y) + 1``.
    """
    x = _numpy(x, name)
    if x.ndim != 3:
        raise FormatError(f"{name}: spikes must be 3-d (samples, steps, channels), got shape {x.shape}")
    if time_first:
        x = x.transpose(1, 0, 2)
    if x.size and x.dtype.kind not in "biuf":
        raise FormatError(f"{name}: spikes must be numbers 0/1, got dtype {x.dtype}")
    if x.size and not np.isin(x, (0, 1)).all():
        raise FormatError(f"{name}: spikes must be 0 or 1 (at most one spike per step and channel); "
                          f"found values in [{x.min()}, {x.max()}]")
    labels, k = _labels(y, x.shape[0], name, n_classes)
    return SpikeTrainDataset(x.astype(np.uint8), labels, k, name=name, dt_ms=_dt(dt_ms, name))


def from_events(sample: Any, t_ms: Any, channel: Any, labels: Any, dt_ms: float, *, n_channels: int | None = None,
                duration_ms: float | None = None, name: str = "events", n_classes: int | None = None,
                max_bytes: int = MAX_DENSE_BYTES) -> SpikeTrainDataset:
    """Spike events ``(sample, t_ms, channel)`` binned at ``dt_ms``: an event at ``t`` falls
    in step ``floor(t / dt)``, the step ``[k dt, (k + 1) dt)`` that holds it (as tonic's
    frames and snnTorch's spike generators bin).

    Several events of one channel in one step count as one spike (a warning says how many
    were merged). Events at or after ``duration_ms`` (default: just after the last event)
    are refused.
    """
    where = name
    dt = _dt(dt_ms, where)
    if dt is None:
        raise FormatError(f"{where}: events need dt_ms (the step to bin them at)")
    s, t, c = (_numpy(a, where) for a in (sample, t_ms, channel))
    if not (s.ndim == t.ndim == c.ndim == 1 and len(s) == len(t) == len(c)):
        raise FormatError(f"{where}: sample, t_ms and channel must be 1-d arrays of equal length, "
                          f"got shapes {s.shape}, {t.shape}, {c.shape}")
    for arr, key in ((s, "sample"), (c, "channel")):
        if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0):
            raise FormatError(f"{where}: {key} must hold integers >= 0, got dtype {arr.dtype}")
    if t.size and (t.dtype.kind not in "iuf" or not np.isfinite(t).all() or t.min() < 0):
        raise FormatError(f"{where}: t_ms must hold finite times >= 0 ms")
    y, k = _labels(labels, len(_numpy(labels, where)), where, n_classes)
    n = len(y)
    if s.size and s.max() >= n:
        raise FormatError(f"{where}: sample index {int(s.max())} but only {n} labels")
    n_ch = int(c.max()) + 1 if c.size else 0
    if n_channels is not None:
        if c.size and n_ch > n_channels:
            raise FormatError(f"{where}: channel {n_ch - 1} but n_channels is {n_channels}")
        n_ch = int(n_channels)
    # floor, with a relative tolerance so that t = k * dt written in decimal lands in step k
    step = np.floor(t.astype(np.float64) / dt * (1.0 + 1e-12)).astype(np.int64)
    if duration_ms is not None:
        n_steps = int(round(float(duration_ms) / dt))
        if step.size and step.max() >= n_steps:
            raise FormatError(f"{where}: an event at {float(t.max()):g} ms is beyond duration_ms {duration_ms:g}")
    else:
        n_steps = int(step.max()) + 1 if step.size else 1
    size = n * n_steps * n_ch
    if size > max_bytes:
        raise FormatError(f"{where}: {n} samples x {n_steps} steps x {n_ch} channels = {size:,} bytes of dense "
                          f"spikes, over the limit of {max_bytes:,} (bin at a coarser dt_ms, or raise max_bytes)")
    x = np.zeros((n, n_steps, n_ch), np.uint8)
    x[s.astype(np.int64), step, c.astype(np.int64)] = 1
    merged = int(len(s) - np.count_nonzero(x))
    if merged:
        warnings.warn(f"{where}: {merged} of {len(s)} events fell into a step where their channel already "
                      f"spiked and were merged (one spike per step; a smaller dt_ms keeps them apart)", stacklevel=2)
    return SpikeTrainDataset(x, y, k, name=name, dt_ms=dt)


def from_tonic(events: Sequence[np.ndarray], labels: Any, sensor_size: Sequence[int], dt_ms: float, *,
               time_unit_ms: float = 1e-3, duration_ms: float | None = None, name: str = "tonic",
               max_bytes: int = MAX_DENSE_BYTES) -> SpikeTrainDataset:
    """tonic-style event recordings as a data set.

    Parameters
    ----------
    events : sequence of structured arrays
        One per sample, with fields ``x``, ``t`` and optionally ``y``, ``p`` (tonic's
        layout; e.g. SHD: ``x`` = channel, ``p`` = 0, sensor size (700, 1, 1)).
    labels : array (samples,) of int
    sensor_size : (W, H, P)
        Channel of an event: ``x + W * (y + H * p)`` (``W * H * P`` channels).
    dt_ms : float
    time_unit_ms : float
        Unit of ``t`` in ms (tonic uses µs: 1e-3).
    duration_ms : float, optional
    """
    if len(sensor_size) != 3 or any(int(v) < 1 for v in sensor_size):
        raise FormatError(f"{name}: sensor_size must be (W, H, P) with positive sizes, got {tuple(sensor_size)}")
    w, h, p = (int(v) for v in sensor_size)
    parts_s, parts_t, parts_c = [], [], []
    for i, ev in enumerate(events):
        ev = np.asarray(ev)
        names = ev.dtype.names or ()
        if "x" not in names or "t" not in names:
            raise FormatError(f"{name}[{i}]: expected a structured array with fields x and t (tonic layout), "
                              f"got fields {names or 'none'}")
        ch = ev["x"].astype(np.int64)
        yy = ev["y"].astype(np.int64) if "y" in names else np.zeros_like(ch)
        pp = ev["p"].astype(np.int64) if "p" in names else np.zeros_like(ch)
        for arr, key, hi in ((ch, "x", w), (yy, "y", h), (pp, "p", p)):
            if arr.size and (arr.min() < 0 or arr.max() >= hi):
                raise FormatError(f"{name}[{i}]: field {key} outside [0, {hi}) of sensor_size {tuple(sensor_size)}")
        parts_c.append(ch + w * (yy + h * pp))
        parts_t.append(ev["t"].astype(np.float64) * time_unit_ms)
        parts_s.append(np.full(len(ev), i, np.int64))
    cat = lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt)  # noqa: E731
    return from_events(cat(parts_s, np.int64), cat(parts_t, np.float64), cat(parts_c, np.int64), labels, dt_ms,
                       n_channels=w * h * p, duration_ms=duration_ms, name=name, max_bytes=max_bytes)


def from_torch(dataset: Any, *, dt_ms: float | None = None, channels_first: bool = False, name: str = "torch",
               max_bytes: int = MAX_DENSE_BYTES) -> SpikeTrainDataset:
    """A torch ``Dataset`` of ``(x, y)`` pairs as a data set.

    ``x``: 0/1 spikes of shape (steps, channels), or (channels, steps) with
    ``channels_first``; ``y``: an integer class index.
    """
    n = len(dataset)
    if n == 0:
        raise FormatError(f"{name}: the data set is empty")
    x0, _ = dataset[0]
    shape = _numpy(x0, name).shape
    if len(shape) != 2:
        raise FormatError(f"{name}: each sample must be (steps, channels), got shape {shape}")
    if n * shape[0] * shape[1] > max_bytes:
        raise FormatError(f"{name}: {n} x {shape} spikes exceed {max_bytes:,} bytes")
    xs, ys = np.zeros((n,) + shape, np.uint8), []
    for i in range(n):
        x, y = dataset[i]
        x = _numpy(x, name)
        if x.shape != shape:
            raise FormatError(f"{name}[{i}]: shape {x.shape} differs from the first sample's {shape}")
        if x.size and not np.isin(x, (0, 1)).all():
            raise FormatError(f"{name}[{i}]: spikes must be 0 or 1; found values in [{x.min()}, {x.max()}]")
        xs[i] = x
        ys.append(_numpy(y, name).reshape(()))
    if channels_first:
        xs = xs.transpose(0, 2, 1)
    return from_arrays(xs, np.stack(ys), dt_ms=dt_ms, name=name)


# ---------------------------------------------------------------------- files
def _npz_headers(path: str | os.PathLike) -> dict[str, tuple[tuple, np.dtype]]:
    """Shape and dtype of every array of an NPZ, read from the headers (nothing loaded)."""
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as fh:
                    major, _ = np.lib.format.read_magic(fh)
                    read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                    shape, _, dtype = read(fh)
                out[info.filename[:-4]] = (shape, dtype)
    except FileNotFoundError:
        raise FormatError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise FormatError(f"{path}: not a valid NPZ file ({exc})") from None
    return out


def load_dataset(path: str | os.PathLike, *, max_bytes: int = MAX_DENSE_BYTES) -> SpikeTrainDataset:
    """Read a labelled spike data set (dense or event layout, see the module docstring).

    Sizes are checked from the array headers before anything is read; every refusal is a
    one-line :class:`~evo_circuits.errors.FormatError` naming the file and the array.
    """
    where = os.fspath(path)
    headers = _npz_headers(path)
    if "spikes" in headers:
        layout, keys = "dense", ("spikes", "labels", "dt_ms")
    elif "sample" in headers:
        layout, keys = "events", ("sample", "t_ms", "channel", "labels", "dt_ms")
    else:
        raise FormatError(f"{where}: expected arrays 'spikes' + 'labels' (dense) or 'sample', 't_ms', 'channel' "
                          f"+ 'labels' (events), found {sorted(headers) or 'none'}")
    for k in keys:
        if k not in headers:
            raise FormatError(f"{where}: missing array '{k}' ({layout} layout)")
    total = 0
    for k, (shape, dtype) in headers.items():
        if dtype.hasobject:
            raise FormatError(f"{where}: array '{k}' holds Python objects; only numeric arrays are read")
        total += int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if total > max_bytes:
        raise FormatError(f"{where}: its arrays declare {total:,} bytes, over the limit of {max_bytes:,}")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in headers}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise FormatError(f"{where}: could not read its arrays ({exc})") from None
    for k in ("dt_ms", "n_classes", "n_channels", "duration_ms"):
        if k in data and (data[k].ndim != 0 or data[k].dtype.kind not in "iuf"):
            raise FormatError(f"{where}: '{k}' must be a number, got dtype {data[k].dtype} shape {data[k].shape}")
    n_classes = int(data["n_classes"]) if "n_classes" in data else None
    name = os.path.basename(where)
    if layout == "dense":
        return from_arrays(data["spikes"], data["labels"], dt_ms=float(data["dt_ms"]), name=name, n_classes=n_classes)
    return from_events(data["sample"], data["t_ms"], data["channel"], data["labels"], float(data["dt_ms"]),
                       n_channels=int(data["n_channels"]) if "n_channels" in data else None,
                       duration_ms=float(data["duration_ms"]) if "duration_ms" in data else None,
                       name=name, n_classes=n_classes, max_bytes=max_bytes)


def save_dataset(dataset: SpikeTrainDataset, path: str | os.PathLike) -> None:
    """Write a data set in the dense layout (atomically)."""
    if dataset.dt_ms is None:
        raise FormatError(f"data set {dataset.name}: has no dt_ms; pass one when building it")
    atomic.save_npz(path, spikes=dataset.spikes, labels=dataset.labels, dt_ms=np.float64(dataset.dt_ms),
          n_classes=np.int64(dataset.n_classes))


def split(dataset: SpikeTrainDataset, test_fraction: float = 0.25, seed: int = 0) -> tuple[SpikeTrainDataset,
                                                                                        SpikeTrainDataset]:
    """Stratified train/test split (deterministic for a seed)."""
    rng = np.random.default_rng([seed, 0x5E11])
    test = []
    for cls in range(dataset.n_classes):
        idx = np.flatnonzero(dataset.labels == cls)
        rng.shuffle(idx)
        test.append(idx[:int(round(len(idx) * test_fraction))])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(len(dataset)), test_idx)
    if len(test_idx) == 0 or len(train_idx) == 0:
        raise FormatError(f"data set {dataset.name}: {len(dataset)} samples are too few to split off a test set; "
                          "pass one (--test)")

    def part(idx: np.ndarray, suffix: str) -> SpikeTrainDataset:
        return SpikeTrainDataset(dataset.spikes[idx], dataset.labels[idx], dataset.n_classes,
                                 name=f"{dataset.name}/{suffix}", readout_hint=dict(dataset.readout_hint),
                                 dt_ms=dataset.dt_ms)
    return part(train_idx, "train"), part(test_idx, "test")
