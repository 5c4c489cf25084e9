"""Does the motif prior help? An assembled network against controls, over seeds.

For every seed the assembled network (:func:`evo_circuits.assemble.assemble`) and the
controls chosen (``controls=``, :mod:`.controls`) are trained with the same optimiser,
data and budget:

============= =====================================================================
arm           network
============= =====================================================================
assembled     the assembly; motifs are the initialisation, everything trainable
frozen        the assembly with its motifs' own synapses frozen (fixed prior)
random        the random twin: the same synapses scattered over all neurons
layered       the same modules and block synapse counts, random wiring in each block
plain         inputs → one hidden E/I layer → readout, same neurons and trainable count
unconstrained the plain network (same initial weights) trained without Dale's law
============= =====================================================================

Reported per arm, as mean ± 95 % confidence half-width over seeds (Student t): final
test accuracy; epochs to reach a common accuracy threshold (``threshold``, default 90 %
of the best arm's mean final accuracy; a run that never reaches it counts as
``epochs + 1``); epochs to 90 % of the run's own final accuracy; the mean firing rate of
the non-readout neurons at the end of training; and, for every other arm, the two-sided
permutation-test p-value of its difference from the assembled network.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np

from ..circuit import Circuit
from ..stats import mean_ci, permutation_test
from .adaptors import as_dataset
from .builders import random_like
from .controls import frozen_prior, layered_like, plain_like
from .data import SpikeDataset
from .network import TrainError
from .trainer import EpochReport, TrainConfig, train

#: Control names accepted by :func:`compare` (``twin`` and ``random`` are the same arm, so
#: are ``unconstrained`` and ``nodale``).
CONTROLS = ("twin", "layered", "plain", "frozen", "unconstrained")
_ARM = {"twin": "random", "random": "random", "layered": "layered", "plain": "plain", "frozen": "frozen",
        "unconstrained": "unconstrained", "nodale": "unconstrained"}
#: Arms trained without Dale's law (weights free to change sign).
NO_DALE_ARMS = ("unconstrained",)
#: Arms trained on the assembly's own circuit and mask (its growth delays apply).
SAME_STRUCTURE_ARMS = ("assembled", "frozen")
#: One line per arm, for tables and plots.
ARM_DESCRIPTIONS = {
    "assembled": "the assembly (motifs as initialisation)",
    "frozen": "the assembly, the motifs' own synapses frozen (fixed prior)",
    "random": "random twin: same synapses scattered over all neurons",
    "layered": "layered control: same modules and block counts, random wiring inside",
    "plain": "plain Dale network: inputs -> hidden E/I -> readout, same trainable count",
    "unconstrained": "the plain network without Dale's law: same start, weights free to change sign",
}
#: Significance level of the '*' marks in :meth:`CompareResult.report`.
ALPHA = 0.05


def epochs_to_fraction(curve: np.ndarray, fraction: float = 0.9) -> int:
    """First epoch (index into a curve starting at epoch 0) reaching ``fraction`` x the final value."""
    curve = np.asarray(curve, float)
    hit = np.flatnonzero(curve >= fraction * curve[-1])
    return int(hit[0]) if len(hit) else len(curve) - 1


def epochs_to_threshold(curve: np.ndarray, threshold: float) -> int:
    """First epoch whose value reaches ``threshold``; ``len(curve)`` (= epochs + 1) if none does."""
    hit = np.flatnonzero(np.asarray(curve, float) >= threshold)
    return int(hit[0]) if len(hit) else len(curve)


def parse_controls(controls: str | Sequence[str]) -> list[str]:
    """Arm keys of the controls named in ``"twin,layered,plain"`` (or a sequence of names)."""
    names = [c.strip() for c in controls.split(",")] if isinstance(controls, str) else list(controls)
    arms = []
    for name in filter(None, names):
        if name not in _ARM:
            raise TrainError(f"controls: unknown control {name!r} (expected some of {', '.join(CONTROLS)})")
        if _ARM[name] not in arms:
            arms.append(_ARM[name])
    return arms


@dataclass
class CompareResult:
    """Learning curves and figures of every arm.

    Attributes
    ----------
    curves : dict of str -> ndarray (n_seeds, epochs + 1)
        Test accuracy per epoch (epoch 0 = before training), key ``assembled`` first, then
        the controls (``frozen``, ``random``, ``layered``, ``plain``, ``unconstrained``).
    seeds : list of int
    extras : dict
        Sizes of the networks (``sizes[arm]``: neurons, synapses, trainable).
    networks : dict of str -> list of Circuit or None
        The trained network of every arm and seed (same keys and order as ``curves``);
        None where an unconstrained network has synapses that changed sign.
    rates : dict of str -> ndarray (n_seeds, epochs + 1)
        Mean firing rate (Hz) of the non-readout neurons on the epoch's last training batch.
    threshold : float or None
        Accuracy threshold of the epochs-to-threshold figure (None: 90 % of the best arm's
        mean final accuracy).
    """

    curves: dict[str, np.ndarray]
    seeds: list[int]
    extras: dict = field(default_factory=dict)
    networks: dict[str, list[Circuit]] = field(default_factory=dict)
    rates: dict[str, np.ndarray] = field(default_factory=dict)
    threshold: float | None = None

    def final(self, key: str) -> np.ndarray:
        """Final test accuracy per seed."""
        return self.curves[key][:, -1]

    def epochs_to_90(self, key: str) -> np.ndarray:
        """Epochs to reach 90 % of the final accuracy, per seed."""
        return np.array([epochs_to_fraction(c, 0.9) for c in self.curves[key]])

    @property
    def bar(self) -> float:
        """The accuracy threshold in use (explicit, or 90 % of the best mean final accuracy)."""
        if self.threshold is not None:
            return float(self.threshold)
        return 0.9 * max(float(np.mean(self.final(k))) for k in self.curves)

    def epochs_to_threshold(self, key: str) -> np.ndarray:
        """Epochs to reach :attr:`bar`, per seed (``epochs + 1`` where never reached)."""
        return np.array([epochs_to_threshold(c, self.bar) for c in self.curves[key]])

    def final_rate(self, key: str) -> np.ndarray:
        """Mean non-readout firing rate (Hz) after the last epoch, per seed (NaN if not recorded)."""
        r = self.rates.get(key)
        return r[:, -1] if r is not None and r.size else np.full(len(self.seeds), np.nan)

    def summary(self) -> list[dict]:
        """One row per arm: mean and CI half-width of every figure, p-values against ``assembled``."""
        rows = []
        base = "assembled" if "assembled" in self.curves else next(iter(self.curves))
        for key in self.curves:
            acc, acc_ci = mean_ci(self.final(key))
            ep, ep_ci = mean_ci(self.epochs_to_90(key))
            et, et_ci = mean_ci(self.epochs_to_threshold(key))
            rate, rate_ci = mean_ci(self.final_rate(key))
            n_epochs = self.curves[key].shape[1] - 1
            row = dict(network=key, final_acc=acc, final_acc_ci=acc_ci, epochs_to_90=ep, epochs_to_90_ci=ep_ci,
                       epochs_to_threshold=et, epochs_to_threshold_ci=et_ci, threshold=self.bar,
                       reached=int((self.epochs_to_threshold(key) <= n_epochs).sum()),
                       rate_hz=rate, rate_hz_ci=rate_ci, n_seeds=len(self.seeds),
                       **{k: v for k, v in self.extras.get("sizes", {}).get(key, {}).items()})
            if key != base:
                row["p_final_acc"] = permutation_test(self.final(key), self.final(base))
                row["p_epochs_to_threshold"] = permutation_test(self.epochs_to_threshold(key),
                                                                self.epochs_to_threshold(base))
            rows.append(row)
        return rows

    def report(self) -> str:
        """The summary as one table (text lines)."""
        head = (f"{'network':<13} {'final test accuracy':>21} {'p':>7}  {f'epochs to {self.bar:.3f}':>18} "
                f"{'p':>7}  {'reached':>7}  {'epochs to 90% of final':>22}  {'rate (Hz)':>14}  {'trainable':>9}")
        lines = [head]
        for r in self.summary():
            p_acc, p_ep = _p(r.get("p_final_acc")), _p(r.get("p_epochs_to_threshold"))
            trainable = r.get("trainable")
            lines.append(f"{r['network']:<13} {r['final_acc']:>11.4f} ± {_ci(r['final_acc_ci'], 4):<7} {p_acc:>7}  "
                         f"{r['epochs_to_threshold']:>9.1f} ± {_ci(r['epochs_to_threshold_ci'], 1):<6} {p_ep:>7}  "
                         f"{r['reached']:>3}/{r['n_seeds']:<3}  "
                         f"{r['epochs_to_90']:>13.1f} ± {_ci(r['epochs_to_90_ci'], 1):<6}  "
                         f"{r['rate_hz']:>6.1f} ± {_ci(r['rate_hz_ci'], 1):<5}  "
                         f"{trainable if trainable is not None else '':>9}")
        lines.append(f"(mean ± 95 % CI half-width over {len(self.seeds)} seeds; p: two-sided permutation test "
                     f"against 'assembled', * p < {ALPHA:g}; runs that never reach the threshold count as epochs + 1)")
        return "\n".join(lines)


def _ci(half_width: float, digits: int) -> str:
    return f"{half_width:.{digits}f}" if np.isfinite(half_width) else "n/a"


def _p(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return f"{p:.3f}" + ("*" if p < ALPHA else " ")


def _bind(progress: Callable[..., None], key: str, k: int, n: int) -> Callable[[int, int, int, dict], None]:
    return lambda epoch, batch, n_batches, info: progress(key, k, n, epoch, batch, n_batches, info)


def _hidden_rate(outputs: Sequence[int]) -> Callable[[EpochReport], dict]:
    """Epoch callback: mean firing rate of the non-readout neurons (Hz)."""
    def record(report: EpochReport) -> dict:
        rates = report.outputs.rates_hz()
        hidden = np.ones(len(rates), bool)
        hidden[list(outputs)] = False
        return {"hidden_rate_hz": float(rates[hidden].mean()) if hidden.any() else float("nan")}
    return record


def input_rate(data: SpikeDataset, n_samples: int = 256) -> float:
    """Mean spike probability per input channel and step over the first samples of a data set."""
    idx = np.arange(min(len(data), n_samples))
    return float(np.asarray(data.batch(idx), float).mean()) if len(idx) else 0.0


NetworkFactory = Callable[[int], tuple]  # seed -> (circuit, mask, trainable[, motif synapses[, delays]])


def _arms(circuit: Circuit, mk: np.ndarray | None, tr: np.ndarray | None, arms: list[str], seed: int,
          rate: float, prior: np.ndarray | None = None) -> dict[str, tuple[Circuit, np.ndarray | None,
                                                                            np.ndarray | None]]:
    """The assembled network and the controls ``arms`` built from it for one seed (the
    assembled and frozen arms share the assembly's circuit and mask, so also its delays)."""
    mask = circuit.weights > 0 if mk is None else np.asarray(mk, bool)
    trainable = mask if tr is None else np.asarray(tr, bool) & mask
    out = {"assembled": (circuit, mask, trainable)}
    for arm in arms:
        if arm == "random":
            out[arm] = random_like(circuit, mask, trainable, seed=seed)
        elif arm == "layered":
            out[arm] = layered_like(circuit, mask, trainable, seed=seed)
        elif arm in ("plain", "unconstrained"):  # the same network: only the training differs
            out[arm] = plain_like(circuit, int(trainable.sum()), seed=seed, input_rate=max(rate, 1e-3))
        elif arm == "frozen":
            out[arm] = frozen_prior(circuit, mask, trainable, prior)
    return out


def compare(network: Circuit | NetworkFactory, train_data: SpikeDataset, test_data: SpikeDataset,
            config: TrainConfig | None = None, *, seeds: int | list[int] = 5, mask: np.ndarray | None = None,
            trainable: np.ndarray | None = None, prior: np.ndarray | None = None,
            delays: np.ndarray | None = None, controls: str | Sequence[str] = ("twin",),
            threshold: float | None = None, progress: Callable[..., None] | None = None) -> CompareResult:
    """Train the assembled network and its controls with the same budget, over seeds.

    Parameters
    ----------
    network : Circuit or callable
        The assembled network, or ``network(seed) -> (circuit, mask, trainable[, prior[,
        delays]])`` that assembles a fresh instance per seed (e.g. from ``a = assemble(spec,
        seed=base + seed)``: ``a.circuit, a.mask, a.trainable, a.motif_synapses, a.delays``).
    train_data, test_data : SpikeDataset
    config : TrainConfig
        Shared settings; its ``seed`` is replaced by each run's seed.
    seeds : int or list of int
        Number of seeds (0, 1, ...) or the seeds themselves.
    mask, trainable : ndarray of bool, optional
        Structure and trainable set of a fixed ``network`` (the controls get the same counts).
    prior : ndarray of bool, optional
        The synapses the ``frozen`` arm freezes, for a fixed ``network`` (an assembly's
        ``motif_synapses``; default: those inside the motif copies).
    delays : ndarray of int, optional
        Delays (steps) of the mask's entries for a fixed ``network`` (an assembly's
        ``delays``): synapses that grow in the assembled and frozen arms take theirs from
        here (default 0); the controls, whose structure differs, grow with delay 0.
    controls : str or sequence of str
        Some of ``twin`` (= ``random``), ``layered``, ``plain``, ``frozen``,
        ``unconstrained`` (= ``nodale``; see the module docstring), as names or one
        comma-separated string. Default: the twin.
    threshold : float, optional
        Accuracy of the epochs-to-threshold figure (default 90 % of the best arm's mean).
    progress : callable, optional
        ``progress(arm, seed_index, n_seeds, epoch, batch, n_batches, info)``.

    Returns
    -------
    CompareResult
    """
    cfg = config or TrainConfig()
    arms = parse_controls(controls)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise TrainError(f"seeds: expected at least one seed, got {seeds!r}")
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise TrainError(f"threshold: expected an accuracy in (0, 1], got {threshold!r}")
    train_data = as_dataset(train_data, name="train")
    test_data = as_dataset(test_data, name="test")
    rate = input_rate(train_data)
    keys = ["assembled", *arms]
    curves: dict[str, list] = {k: [] for k in keys}
    rates: dict[str, list] = {k: [] for k in keys}
    trained: dict[str, list] = {k: [] for k in keys}
    sizes: dict[str, dict] = {}
    for k, seed in enumerate(seed_list):
        run_cfg = replace(cfg, seed=seed)
        circuit, mk, tr, *extra = network(seed) if callable(network) else (network, mask, trainable, prior, delays)
        # Growth entries of an assembly train with the delay it gave them (default 0).
        grow_delays = extra[1] if len(extra) > 1 else None
        for key, (c, m_, t_) in _arms(circuit, mk, tr, arms, seed, rate, *extra[:1]).items():
            sizes[key] = dict(neurons=c.n_neurons, exc=c.n_exc, inh=c.n_inh, synapses=int((c.weights > 0).sum()),
                              trainable=int(t_.sum()))
            arm_cfg = replace(run_cfg, dale=False) if key in NO_DALE_ARMS else run_cfg
            res = train(c, train_data, test_data, arm_cfg, mask=m_, trainable=t_,
                        delays=grow_delays if key in SAME_STRUCTURE_ARMS else None,
                        progress=None if progress is None else _bind(progress, key, k, len(seed_list)),
                        callback=_hidden_rate(c.outputs))
            curves[key].append(res.curve("test_acc"))
            rates[key].append(res.curve("hidden_rate_hz"))
            trained[key].append(res.circuit)
    return CompareResult(curves={k: np.array(v) for k, v in curves.items()}, seeds=seed_list,
                         extras={"sizes": sizes, "input_rate": rate}, networks=trained,
                         rates={k: np.array(v) for k, v in rates.items()}, threshold=threshold)
