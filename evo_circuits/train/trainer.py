"""Training loop: mini-batch surrogate-gradient BPTT with Adam, clipping and projection.

::

    from evo_circuits.train import TrainConfig, load_digits, train
    tr, te = load_digits()
    result = train(circuit, tr, te, TrainConfig(epochs=30))
    result.circuit            # the trained network, an evo_circuits.Circuit again
    result.test_accuracy      # after the last epoch
    result.curve("test_acc")  # learning curve, epoch 0 = before training

Everything random is seeded by ``TrainConfig.seed``: the order of samples, and the draws
of a stochastic input encoding (a fresh draw per epoch; evaluation always uses the same,
seed-independent draw so that test accuracies of different runs are comparable).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from ..circuit import Circuit
from ..model import TYPE_DEFAULTS
from .adaptors import as_dataset
from .bptt import BPTT
from .data import SpikeDataset, SpikeTrainDataset
from .network import TrainableNetwork, TrainError
from .optim import Adam, clip_grad_norm
from .readout import LI_THRESHOLD_MV, Readout, check_li_outputs, cross_entropy, li_outputs
from .surrogate import DEFAULT_SLOPE


@dataclass
class TrainConfig:
    """Settings of a training run (all have defaults).

    Attributes
    ----------
    epochs, batch_size : int
    lr : float
        Adam learning rate. Weights and biases are optimised in units of the postsynaptic
        neuron's threshold gap ``v_th - v_rest`` (15 mV by default): 2e-3 moves a weight
        by up to 0.2 % of the gap (0.03 mV) per step.
    betas : (float, float)
    clip : float or None
        Maximum global L2 norm of the gradient w.r.t. those normalised parameters (None: no
        clipping).
    slope : float
        Fast-sigmoid surrogate slope (1/mV).
    reset_grad : bool
        Gradient through the reset (default False: detached reset).
    readout : {"count", "membrane", "li"}
        Output spike counts, mean membrane of the (spiking) outputs, or non-spiking
        leaky-integrator outputs (see :mod:`.readout`).
    gain : float
        Logit per spike (count) or per mV (membrane, li).
    reduce : {"mean", "max"}
        ``li``: mean or maximum of the output membrane over the window.
    readout_tau_ms : float or None
        ``li``: membrane time constant of the outputs (default: theirs).
    train_inputs, train_bias, grow : bool
        Train input synapses; train ``i_bias``; let absent synapses grow.
    dtype : {"float64", "float32"}
        float64 reproduces the simulator bit for bit.
    dale : bool
        Keep Dale's law (default): weights are magnitudes with their source's sign.
        False trains without it — weights may change sign (the unconstrained control;
        the result is then no Circuit if any did, see :attr:`TrainResult.circuit`).
    seed : int
    """

    epochs: int = 30
    batch_size: int = 128
    lr: float = 2e-3
    betas: tuple[float, float] = (0.9, 0.999)
    clip: float | None = 100.0
    slope: float = DEFAULT_SLOPE
    reset_grad: bool = False
    readout: str = "count"
    gain: float = 1.0
    reduce: str = "mean"
    readout_tau_ms: float | None = None
    train_inputs: bool = True
    train_bias: bool = False
    grow: bool = False
    dtype: str = "float64"
    dale: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        for key, low in (("epochs", 0), ("batch_size", 1)):
            value = getattr(self, key)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise TrainError(f"{key}: expected an integer >= {low}, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise TrainError(f"lr: expected a positive learning rate, got {self.lr!r}")
        if self.clip is not None and not self.clip > 0:
            raise TrainError(f"clip: expected a positive gradient norm or None, got {self.clip!r}")
        if not isinstance(self.dale, (bool, np.bool_)):
            raise TrainError(f"dale: expected True or False, got {self.dale!r}")
        if self.dtype not in ("float64", "float32"):
            raise TrainError(f"dtype: expected 'float64' or 'float32', got {self.dtype!r}")
        Readout(kind=self.readout, gain=self.gain, reduce=self.reduce, tau_ms=self.readout_tau_ms)  # validates


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    circuit : Circuit or None
        The trained network (metadata["training"] summarises the run); None when it was
        trained without Dale's law and a synapse changed sign (a Circuit holds magnitudes;
        ``network.weights`` holds the signed weights).
    network : TrainableNetwork
        Its trainable state (weights, bias, masks).
    history : list of dict
        One row per epoch (epoch 0 = before training): ``epoch, train_loss, train_acc,
        test_loss, test_acc, seconds, samples_per_s``.
    config : TrainConfig
    readout : Readout
    """

    circuit: Circuit | None
    network: TrainableNetwork
    history: list[dict]
    config: TrainConfig
    readout: Readout
    train_seconds: float = 0.0
    train_samples: int = 0
    extras: dict = field(default_factory=dict)

    @property
    def test_accuracy(self) -> float:
        """Test accuracy after the last epoch (NaN without test data)."""
        return float(self.history[-1]["test_acc"])

    @property
    def samples_per_s(self) -> float:
        """Training throughput: samples through forward + backward + update per second."""
        return self.train_samples / self.train_seconds if self.train_seconds > 0 else float("nan")

    def curve(self, key: str = "test_acc") -> np.ndarray:
        """One column of the history, epoch 0 first."""
        return np.array([row[key] for row in self.history], float)


ProgressFn = Callable[[int, int, int, dict], None]


@dataclass
class EpochReport:
    """What an epoch callback of :func:`train` sees after each epoch's evaluation.

    Attributes
    ----------
    epoch : int
        0 before training, then 1, 2, ...
    row : dict
        The history row of the epoch (losses, accuracies, timing).
    network : TrainableNetwork
        The network being trained, as it is now (``network.to_circuit()`` for a Circuit;
        do not modify it).
    bptt : BPTT
        Its forward/backward passes (``bptt.forward(x)`` for membrane and refractory
        records, ``bptt.logits(x)``).
    outputs : BatchOutputs
        The epoch's last training batch run forward again with the weights as they are
        after the epoch (evaluation encoding, draw 0): what the network now does on data it
        just trained on.
    """

    epoch: int
    row: dict
    network: TrainableNetwork
    bptt: BPTT
    outputs: "BatchOutputs"


@dataclass
class BatchOutputs:
    """One batch through the network: inputs, labels, every neuron's spikes and membrane.

    Attributes
    ----------
    inputs : ndarray (B, T, C) uint8
    labels : ndarray (B,)
    spikes : ndarray (B, T, n) uint8
    p : ndarray (B, T, n)
        Membrane potential after each step's update.
    logits : ndarray (B, n_classes)
    dt_ms : float
    """

    inputs: np.ndarray
    labels: np.ndarray
    spikes: np.ndarray
    p: np.ndarray
    logits: np.ndarray
    dt_ms: float

    def rates_hz(self) -> np.ndarray:
        """Mean firing rate of every neuron over the batch (Hz), shape (n,)."""
        return self.spikes.mean(axis=(0, 1)) * 1e3 / self.dt_ms


EpochCallback = Callable[[EpochReport], "dict | None"]


def batch_outputs(bp: BPTT, inputs: np.ndarray, labels: np.ndarray) -> BatchOutputs:
    """Run one batch forward and collect what :class:`BatchOutputs` holds."""
    p, m = bp.forward(inputs)
    return BatchOutputs(inputs=np.asarray(inputs), labels=np.asarray(labels), spikes=bp.spikes_of(p, m), p=p,
                        logits=bp.logits(inputs), dt_ms=bp.net.circuit.dt_ms)


#: Unit of the optimised parameters of neurons without a threshold (leaky-integrator
#: readouts): the default neuron's threshold gap, so their learning rate does not depend
#: on the stand-in threshold that keeps them silent.
LI_UNIT_MV = TYPE_DEFAULTS["E"].v_th - TYPE_DEFAULTS["E"].v_rest


def weight_unit(net: TrainableNetwork) -> np.ndarray:
    """Unit of the optimised parameters per postsynaptic neuron: its threshold gap
    ``|v_th - v_rest|`` in mV (at least 0.1 mV); :data:`LI_UNIT_MV` for neurons without a
    reachable threshold (leaky-integrator readouts, ``v_th >= LI_THRESHOLD_MV``), whatever
    readout trains them."""
    unit = np.maximum(np.abs(net.v_th - net.v_rest), 0.1)
    unit[net.v_th >= LI_THRESHOLD_MV] = LI_UNIT_MV
    return unit


def make_readout(config: TrainConfig, data: SpikeDataset) -> Readout:
    """The Readout of a run: kind and gain from the config, class layout from the data set."""
    hint = dict(getattr(data, "readout_hint", {}) or {})
    return Readout(kind=config.readout, gain=config.gain, reduce=config.reduce, tau_ms=config.readout_tau_ms, **hint)


def evaluate(bp: BPTT, data: SpikeDataset, batch_size: int = 256) -> tuple[float, float]:
    """Mean loss and accuracy of a network on a data set (forward pass only, draw 0)."""
    if len(data) == 0:
        return float("nan"), float("nan")
    logits = []
    for k in range(0, len(data), batch_size):
        idx = np.arange(k, min(k + batch_size, len(data)))
        logits.append(bp.logits(data.batch(idx, draw=0), batch_size=batch_size))
    z = np.concatenate(logits)
    loss, _ = cross_entropy(z, data.labels)
    return loss, float(np.mean(z.argmax(axis=1) == data.labels))


def _named(data: SpikeDataset) -> str:
    return f"data set {data.name}" if data.name else "data set"


def _like_train(test: SpikeDataset, train: SpikeDataset) -> SpikeDataset:
    """The test set, checked against the training set: same steps per sample; a test set
    whose labels miss the top classes takes the training set's class count."""
    if test.n_steps != train.n_steps:
        raise TrainError(f"test {_named(test)}: {test.n_steps} steps per sample, the training {_named(train)} "
                         f"{train.n_steps}; both must have the same duration")
    if test.n_classes < train.n_classes and isinstance(test, SpikeTrainDataset):
        return dataclasses.replace(test, n_classes=train.n_classes)
    return test


def _check_fit(circuit: Circuit, readout: Readout, data: SpikeDataset) -> None:
    if data.dt_ms is not None and not np.isclose(data.dt_ms, circuit.dt_ms, rtol=1e-9, atol=0.0):
        raise TrainError(f"{_named(data)}: made for dt_ms {data.dt_ms:g}, but circuit '{circuit.name}' "
                         f"uses dt_ms {circuit.dt_ms:g}; build the data set at the circuit's time step")
    if data.n_channels > circuit.n_inputs:
        raise TrainError(f"{_named(data)}: {data.n_channels} input channels, but circuit "
                         f"'{circuit.name}' has only {circuit.n_inputs} inputs")
    n_cls = readout.n_classes(len(circuit.outputs))
    if n_cls != data.n_classes:
        extra = " plus a 'none' class" if readout.none_class else ""
        raise TrainError(f"{_named(data)}: {data.n_classes} classes, but circuit '{circuit.name}' has "
                         f"{len(circuit.outputs)} output neuron(s){extra} = {n_cls} classes")


def train(circuit: Circuit | TrainableNetwork, train_data: Any, test_data: Any = None,
          config: TrainConfig | None = None, *, mask: np.ndarray | None = None,
          trainable: np.ndarray | None = None, delays: np.ndarray | None = None, progress: ProgressFn | None = None,
          callback: EpochCallback | None = None) -> TrainResult:
    """Train a circuit on a data set with surrogate-gradient BPTT.

    Parameters
    ----------
    circuit : Circuit or TrainableNetwork
        The starting network (its weights are the initial values).
    train_data, test_data : SpikeDataset, (X, y), torch Dataset or NPZ path
        Anything :func:`.adaptors.as_dataset` takes: e.g. ``(X, y)`` with ``X`` 0/1 spikes
        ``(samples, steps, channels)`` and integer labels ``y``. Data that carry a time
        step (``dt_ms``) must match the circuit's.
    config : TrainConfig, optional
    mask, trainable : ndarray of bool, optional
        Structure mask (which synapses exist) and trainable subset, e.g. from
        :func:`evo_circuits.assemble.assemble`; see :meth:`TrainableNetwork.from_circuit`.
    delays : ndarray of int, optional
        Delays (steps) of the mask's entries, e.g. ``Assembly.delays``: synapses that grow
        take theirs from here (default: 0).
    progress : callable, optional
        ``progress(epoch, batch, n_batches, info)`` after every batch (``info``: running
        ``loss``, ``acc``, ``samples_per_s``) and with ``batch == n_batches`` after each
        epoch's evaluation (``info`` = the history row).
    callback : callable, optional
        ``callback(report)`` after each epoch's evaluation, with an :class:`EpochReport`
        (the current network, its BPTT and the forward pass of the epoch's last batch); a
        dict it returns is added to the epoch's history row (your own metrics, e.g. firing
        rates or a regression error, land in ``history.csv``).

    Returns
    -------
    TrainResult
    """
    cfg = config or TrainConfig()
    train_data = as_dataset(train_data, name="train")
    test_data = None if test_data is None else as_dataset(test_data, name="test")
    test_data = None if test_data is None else _like_train(test_data, train_data)
    readout = make_readout(cfg, train_data)
    if isinstance(circuit, TrainableNetwork):
        net = circuit.copy()
        net.dale = cfg.dale
        check_li_outputs(net.circuit, readout)
    else:
        if readout.kind == "li":  # outputs without threshold: trained and saved as such
            circuit = li_outputs(circuit, readout.tau_ms)
        net = TrainableNetwork.from_circuit(circuit, mask, trainable, delays=delays, train_inputs=cfg.train_inputs,
                                            train_bias=cfg.train_bias, grow=cfg.grow, dale=cfg.dale)
    _check_fit(net.circuit, readout, train_data)
    if test_data is not None:
        _check_fit(net.circuit, readout, test_data)
    bp = BPTT(net, readout, slope=cfg.slope, reset_grad=cfg.reset_grad, dtype=np.dtype(cfg.dtype))
    # Adam works on weights and biases in units of the postsynaptic neuron's threshold gap
    # (as with a normalised membrane, threshold 1), so that one learning rate suits circuits
    # whatever their scale in mV.
    unit = weight_unit(net)
    unit_w = unit[net.post]  # per synapse: its target's unit
    theta_w = net.w / unit_w
    theta_b = net.bias / unit
    params, masks = [theta_w], [net.free]
    if net.train_bias:
        params.append(theta_b)
        masks.append(None)
    opt = Adam(params, lr=cfg.lr, betas=cfg.betas, masks=masks)
    rng = np.random.default_rng([cfg.seed, 0x7121])
    n = len(train_data)
    n_batches = -(-n // cfg.batch_size)
    history: list[dict] = []
    last_batch = np.arange(min(n, cfg.batch_size))

    def log_epoch(epoch: int, loss: float, acc: float, seconds: float, samples: int) -> None:
        te_loss, te_acc = evaluate(bp, test_data) if test_data is not None else (float("nan"), float("nan"))
        row = dict(epoch=epoch, train_loss=loss, train_acc=acc, test_loss=te_loss, test_acc=te_acc,
                   seconds=seconds, samples_per_s=samples / seconds if seconds > 0 else float("nan"))
        if callback is not None:
            x = train_data.batch(last_batch, draw=0)
            extra = callback(EpochReport(epoch, dict(row), net, bp, batch_outputs(bp, x, train_data.labels[last_batch])))
            if extra:
                row.update({str(k): v for k, v in dict(extra).items() if k not in row})
        history.append(row)
        if progress is not None:
            progress(epoch, n_batches, n_batches, row)

    tr_loss, tr_acc = evaluate(bp, train_data)
    log_epoch(0, tr_loss, tr_acc, 0.0, 0)
    total_s, total_n = 0.0, 0
    for epoch in range(1, cfg.epochs + 1):
        order = rng.permutation(n)
        t0 = time.perf_counter()
        loss_sum, correct, seen = 0.0, 0, 0
        for k in range(n_batches):
            idx = last_batch = order[k * cfg.batch_size:(k + 1) * cfg.batch_size]
            # A fresh encoding draw per (seed, epoch); draw 0 is reserved for evaluation.
            spikes = train_data.batch(idx, draw=(cfg.seed % 2**20) * 2**20 + epoch)
            labels = train_data.labels[idx]
            g = bp.loss_and_grad(spikes, labels)
            grads = [g.synapses * unit_w] + ([g.bias * unit] if net.train_bias else [])
            clip_grad_norm(grads, cfg.clip)
            opt.step(grads)
            np.multiply(theta_w, unit_w, out=net.w)
            np.multiply(theta_b, unit, out=net.bias)
            net.project()
            np.divide(net.w, unit_w, out=theta_w)
            loss_sum += g.loss * len(idx)
            correct += int(np.sum(g.logits.argmax(axis=1) == labels))
            seen += len(idx)
            if progress is not None:
                dt = time.perf_counter() - t0
                progress(epoch, k + 1, n_batches, dict(loss=loss_sum / seen, acc=correct / seen,
                                                      samples_per_s=seen / dt if dt > 0 else float("nan")))
        seconds = time.perf_counter() - t0
        total_s += seconds
        total_n += seen
        log_epoch(epoch, loss_sum / max(seen, 1), correct / max(seen, 1), seconds, seen)

    final = history[-1]["test_acc"]
    summary = dict(data=train_data.name, epochs=cfg.epochs, test_accuracy=final if final == final else None,
                   config={k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()})
    trained = None if net.sign_flips else net.to_circuit(metadata={"training": summary})
    return TrainResult(circuit=trained, network=net, history=history, config=cfg, readout=readout,
                       train_seconds=total_s, train_samples=total_n)
