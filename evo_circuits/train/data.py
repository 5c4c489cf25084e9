"""Supervised spike data: digits with rate or latency coding, and the task suite as data sets.

A data set hands out batches of input spikes, ``uint8`` arrays of shape
``(batch, n_steps, n_channels)``, and class labels:

* :class:`EncodedDataset` keeps analog features in [0, 1] and encodes them into spikes
  on demand (:class:`Encoder`). Rate coding draws fresh Bernoulli spikes for every
  presentation (``draw``): each (seed, draw, sample) has its own counter-based random
  stream, so a sample's spikes do not depend on which batch it is in or on the number of
  threads.
* :class:`SpikeTrainDataset` holds fixed spike trains (the trials of a task).

:func:`load_digits` is scikit-learn's 8x8 digits (1797 images, 10 classes, shipped with
the package: extra ``train``), split as ``train_test_split(test_size=0.25,
random_state=0, stratify=y)``. :func:`task_dataset` turns a task of the suite into a
classification problem; :data:`TASK_CLASSES` says how each task's labels become classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange, uint64

from ..dynamics.rng import GOLDEN, mix64, stream_seed
from .network import TrainError

ENCODINGS = ("rate", "latency")

@njit(cache=True, parallel=True)
def _rate_kernel(x, ids, seed, draw, n_steps, out):
    # out[b, t, c] = 1 with probability x[b, c]; SplitMix64 stream per (seed, draw, sample id).
    n_b, n_c = x.shape
    for b in prange(n_b):
        state = stream_seed(seed, draw, ids[b])
        thr = np.empty(n_c, np.uint64)
        for c in range(n_c):
            # P(u < x) with u uniform on 53-bit integers: compare integers, no float conversion.
            thr[c] = uint64(min(max(x[b, c], 0.0), 1.0) * 9007199254740992.0)
        for t in range(n_steps):
            for c in range(n_c):
                state += GOLDEN
                out[b, t, c] = (mix64(state) >> uint64(11)) < thr[c]


@dataclass(frozen=True)
class Encoder:
    """Analog features in [0, 1] to spike trains.

    Parameters
    ----------
    kind : {"rate", "latency"}
        ``rate``: Bernoulli spikes, probability ``gain * x`` per step (fresh per draw).
        ``latency``: one spike per channel at step ``round((1 - x) * (n_steps - 1))``
        (strongest first); features ``<= threshold`` stay silent. Deterministic.
    n_steps : int
    gain : float
        Rate coding: spike probability per step of a feature equal to 1.
    threshold : float
        Latency coding: features at or below it do not spike.
    seed : int
        Seed of the rate code's random streams.
    """

    kind: str = "rate"
    n_steps: int = 32
    gain: float = 1.0
    threshold: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ENCODINGS:
            raise TrainError(f"encoding: expected one of {', '.join(ENCODINGS)}, got {self.kind!r}")
        if not (isinstance(self.n_steps, (int, np.integer)) and self.n_steps >= 1):
            raise TrainError(f"n_steps: expected an integer >= 1, got {self.n_steps!r}")
        if not (0.0 < self.gain <= 1.0):
            raise TrainError(f"gain: expected a spike probability in (0, 1], got {self.gain}")

    def encode(self, x: np.ndarray, ids: np.ndarray | None = None, draw: int = 0) -> np.ndarray:
        """Spikes of shape (N, n_steps, F) for features ``x`` of shape (N, F).

        ``ids`` (default ``0..N-1``) and ``draw`` select the random streams of the rate code.
        """
        x = np.ascontiguousarray(x, np.float64)
        if x.ndim != 2:
            raise TrainError(f"features: expected a 2-d array (samples, features), got shape {x.shape}")
        n, f = x.shape
        out = np.zeros((n, self.n_steps, f), np.uint8)
        if self.kind == "rate":
            ids = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, np.int64)
            _rate_kernel(x * self.gain, ids, np.uint64(self.seed % 2**64), np.uint64(draw), self.n_steps, out)
        else:
            step = np.rint((1.0 - np.clip(x, 0.0, 1.0)) * (self.n_steps - 1)).astype(np.int64)
            b, c = np.nonzero(x > self.threshold)
            out[b, step[b, c], c] = 1
        return out


class SpikeDataset:
    """Base of the data sets: ``labels``, ``n_classes``, ``n_steps``, ``n_channels`` and :meth:`batch`."""

    labels: np.ndarray
    n_classes: int
    n_steps: int
    n_channels: int
    name: str = ""
    #: Readout settings the data set needs (e.g. a "none" class), see :class:`~.readout.Readout`.
    readout_hint: dict = {}
    #: Time step the samples' steps are counted in (ms); ``None``: step-based data (e.g. the
    #: digits' T presentation steps), valid at any dt. ``train`` refuses a mismatch.
    dt_ms: float | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, idx: np.ndarray, draw: int = 0) -> np.ndarray:
        """Input spikes (len(idx), n_steps, n_channels) of the samples ``idx``.

        ``draw`` numbers presentations (stochastic encodings draw new spikes for a new
        ``draw``; evaluation uses draw 0).
        """
        raise NotImplementedError


@dataclass
class EncodedDataset(SpikeDataset):
    """Analog features encoded into spikes on demand (see :class:`Encoder`)."""

    features: np.ndarray
    labels: np.ndarray
    encoder: Encoder
    n_classes: int
    name: str = ""
    ids: np.ndarray | None = None  # stable sample ids (random streams), default 0..N-1
    readout_hint: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.features = np.asarray(self.features, np.float64)
        self.labels = np.asarray(self.labels, np.int64)
        if self.ids is None:
            self.ids = np.arange(len(self.labels), dtype=np.int64)
        if len(self.features) != len(self.labels):
            raise TrainError(f"data set: {len(self.features)} samples but {len(self.labels)} labels")

    @property
    def n_steps(self) -> int:
        return self.encoder.n_steps

    @property
    def n_channels(self) -> int:
        return self.features.shape[1]

    def batch(self, idx: np.ndarray, draw: int = 0) -> np.ndarray:
        idx = np.asarray(idx, np.int64)
        return self.encoder.encode(self.features[idx], self.ids[idx], draw)


@dataclass
class SpikeTrainDataset(SpikeDataset):
    """Fixed spike trains, e.g. the trials of a task."""

    spikes: np.ndarray  # (N, T, C) uint8
    labels: np.ndarray
    n_classes: int
    name: str = ""
    readout_hint: dict = field(default_factory=dict)
    dt_ms: float | None = None

    def __post_init__(self) -> None:
        self.spikes = np.ascontiguousarray(self.spikes, np.uint8)
        self.labels = np.asarray(self.labels, np.int64)
        if self.spikes.ndim != 3 or len(self.spikes) != len(self.labels):
            raise TrainError(f"data set: spikes of shape {self.spikes.shape} do not fit {len(self.labels)} labels")

    @property
    def n_steps(self) -> int:
        return self.spikes.shape[1]

    @property
    def n_channels(self) -> int:
        return self.spikes.shape[2]

    def batch(self, idx: np.ndarray, draw: int = 0) -> np.ndarray:
        return self.spikes[np.asarray(idx, np.int64)]


# ---------------------------------------------------------------------- digits
def load_digits(encoding: str = "rate", n_steps: int = 32, seed: int = 0, gain: float = 1.0,
                threshold: float = 0.0, test_size: float = 0.25) -> tuple[EncodedDataset, EncodedDataset]:
    """scikit-learn's 8x8 digits as spike data: 64 channels (pixel intensity / 16), 10 classes.

    Parameters
    ----------
    encoding : {"rate", "latency"}
    n_steps : int
    seed : int
        Seed of the rate code (the train/test split is fixed: ``random_state=0``, stratified).
    gain, threshold : float
        See :class:`Encoder`.
    test_size : float

    Returns
    -------
    train, test : EncodedDataset
    """
    try:
        from sklearn.datasets import load_digits as _load
        from sklearn.model_selection import train_test_split
    except ImportError:  # pragma: no cover - depends on the environment
        raise TrainError("the digits data set needs scikit-learn: pip install 'evo-circuits[train]'") from None
    d = _load()
    x = d.data / 16.0
    ids = np.arange(len(x))
    x_tr, x_te, y_tr, y_te, id_tr, id_te = train_test_split(x, d.target, ids, test_size=test_size, random_state=0,
                                                            stratify=d.target)
    enc = Encoder(kind=encoding, n_steps=n_steps, gain=gain, threshold=threshold, seed=seed)
    return (EncodedDataset(x_tr, y_tr, enc, 10, name="digits/train", ids=id_tr),
            EncodedDataset(x_te, y_te, enc, 10, name="digits/test", ids=id_te))


# ---------------------------------------------------------------------- tasks
#: How each task of the suite becomes a classification problem. "none" is the extra
#: class "no output active" (Readout(none_class=True)), i.e. class index n_outputs.
TASK_CLASSES: dict[str, str] = {
    "coincidence": "1 output; class 0 = coincident (the output should fire), class 1 = none",
    "xor": "1 output; class 0 = exactly one input on (fire), class 1 = none (both off, both on)",
    "gating": "2 outputs; class 0 = route to A, class 1 = route to B, class 2 = none (signal off)",
    "itd": "K outputs; class k = source position k",
    "timing_pattern": "2 outputs; class 0 = forward sweep, class 1 = backward sweep",
    "wta": "k outputs; class i = input i is the fastest",
    "memory": "1 output, read out in the last bin only; class 0 = state 'on' at the end "
              "(should fire), class 1 = none ('off')",
    "oscillator": "not a classification task (a rhythm to generate, no labels): rejected",
}


def _task_labels(task, batch, dt_ms: float) -> tuple[np.ndarray, int, dict]:
    """Class labels, number of classes and readout hint of one task batch."""
    name, k = task.name, int(task.n_outputs)
    labels = np.asarray(batch.labels)
    if name == "oscillator":
        raise TrainError("task 'oscillator': not a classification task (its outputs must generate a rhythm; "
                         "trials have no class labels), so it cannot be a supervised data set")
    if name == "memory":
        # The remembered state at the end of the trial, read out in the last bin.
        target = np.asarray(batch.info["target"])
        bin_steps = max(1, int(round(batch.info["bin_ms"] / dt_ms)))
        n_bins = target.shape[1]
        window = ((n_bins - 1) * bin_steps, n_bins * bin_steps)
        return np.where(target[:, -1], 0, 1).astype(np.int64), 2, {"none_class": True, "window": window}
    if labels.ndim == 1 and labels.dtype == np.bool_:
        if k != 1:
            raise TrainError(f"task '{name}': boolean labels need exactly 1 output, the task has {k}")
        return np.where(labels, 0, 1).astype(np.int64), 2, {"none_class": True}
    if labels.ndim == 1 and labels.dtype.kind in "iu":
        if labels.min(initial=0) < -1 or labels.max(initial=0) >= k:
            raise TrainError(f"task '{name}': labels outside [-1, {k}) cannot be mapped to its {k} outputs")
        if (labels == -1).any() or name == "gating":
            return np.where(labels < 0, k, labels).astype(np.int64), k + 1, {"none_class": True}
        return labels.astype(np.int64), k, {}
    raise TrainError(f"task '{name}': labels of dtype {labels.dtype} and shape {labels.shape} do not name a class; "
                     "only tasks with one class per trial can be supervised data sets")


def task_dataset(task, n_trials: int, seed: int = 0, dt_ms: float = 0.1) -> SpikeTrainDataset:
    """Trials of a task as a supervised data set (see :data:`TASK_CLASSES`).

    Parameters
    ----------
    task : str or Task
        A task name (default parameters) or a configured :class:`~evo_circuits.tasks.Task`.
    n_trials : int
    seed : int
        Seed of the trial generator (``make_batch``).
    dt_ms : float
        Time step of the circuit that will be trained.

    Returns
    -------
    SpikeTrainDataset
        With ``readout_hint`` (e.g. ``{"none_class": True}``) to build the matching Readout.
    """
    from ..tasks import get_task

    if isinstance(task, str):
        task = get_task(task)()
    batch = task.make_batch(int(n_trials), np.random.default_rng([seed, 0x7A5C]), dt_ms)
    labels, n_classes, hint = _task_labels(task, batch, dt_ms)
    inp = batch.inputs
    spikes = np.zeros((inp.n_trials, inp.n_steps, max(int(task.n_inputs), inp.n_channels)), np.uint8)
    spikes[inp.trial, inp.step, inp.channel] = 1
    return SpikeTrainDataset(spikes, labels, n_classes, name=f"task:{task.name}", readout_hint=hint, dt_ms=dt_ms)
