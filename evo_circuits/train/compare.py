"""Does the motif prior help? An assembled network against random twins, over seeds.

For every seed, the assembled network (:func:`evo_circuits.assemble.assemble`) and one
random Dale-constrained twin (:func:`~.builders.random_like`: same neurons, E/I ratio,
synapse count per source class, weights and number of trainable synapses) are trained
with the same optimiser, data and budget. Reported per network, as mean ± 95 %
confidence half-width over seeds (Student t):

* final test accuracy (after the last epoch);
* epochs to reach 90 % of the final accuracy (first epoch whose test accuracy is at least
  0.9 x final; 0 if the untrained network already is).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from ..circuit import Circuit
from ..stats import mean_ci
from .builders import random_like
from .adaptors import as_dataset
from .data import SpikeDataset
from .network import TrainError
from .trainer import TrainConfig, train

def epochs_to_fraction(curve: np.ndarray, fraction: float = 0.9) -> int:
    """First epoch (index into a curve starting at epoch 0) reaching ``fraction`` x the final value."""
    curve = np.asarray(curve, float)
    hit = np.flatnonzero(curve >= fraction * curve[-1])
    return int(hit[0]) if len(hit) else len(curve) - 1


@dataclass
class CompareResult:
    """Learning curves and figures of both networks.

    Attributes
    ----------
    curves : dict of str -> ndarray (n_seeds, epochs + 1)
        Test accuracy per epoch (epoch 0 = before training), keys ``assembled`` and ``random``.
    seeds : list of int
    extras : dict
    networks : dict of str -> list of Circuit
        The trained network of every arm and seed (same keys and order as ``curves``).
    """

    curves: dict[str, np.ndarray]
    seeds: list[int]
    extras: dict = field(default_factory=dict)
    networks: dict[str, list[Circuit]] = field(default_factory=dict)

    def final(self, key: str) -> np.ndarray:
        """Final test accuracy per seed."""
        return self.curves[key][:, -1]

    def epochs_to_90(self, key: str) -> np.ndarray:
        """Epochs to reach 90 % of the final accuracy, per seed."""
        return np.array([epochs_to_fraction(c, 0.9) for c in self.curves[key]])

    def summary(self) -> list[dict]:
        """One row per network: mean and CI half-width of both figures."""
        rows = []
        for key in self.curves:
            acc, acc_ci = mean_ci(self.final(key))
            ep, ep_ci = mean_ci(self.epochs_to_90(key))
            rows.append(dict(network=key, final_acc=acc, final_acc_ci=acc_ci, epochs_to_90=ep,
                             epochs_to_90_ci=ep_ci, n_seeds=len(self.seeds)))
        return rows

    def report(self) -> str:
        """The summary as text lines."""
        lines = [f"{'network':<10} {'final test accuracy':>24} {'epochs to 90% of final':>26}"]
        for r in self.summary():
            lines.append(f"{r['network']:<10} {r['final_acc']:>14.4f} ± {_ci(r['final_acc_ci'], 4):<7} "
                         f"{r['epochs_to_90']:>16.2f} ± {_ci(r['epochs_to_90_ci'], 2):<6}")
        lines.append(f"(mean ± 95 % CI half-width over {len(self.seeds)} seeds)")
        return "\n".join(lines)


def _ci(half_width: float, digits: int) -> str:
    return f"{half_width:.{digits}f}" if np.isfinite(half_width) else "n/a"


def _bind(progress: Callable[..., None], key: str, k: int, n: int) -> Callable[[int, int, int, dict], None]:
    return lambda epoch, batch, n_batches, info: progress(key, k, n, epoch, batch, n_batches, info)


NetworkFactory = Callable[[int], tuple[Circuit, "np.ndarray | None", "np.ndarray | None"]]


def compare(network: Circuit | NetworkFactory, train_data: SpikeDataset, test_data: SpikeDataset,
            config: TrainConfig | None = None, *, seeds: int | list[int] = 5, mask: np.ndarray | None = None,
            trainable: np.ndarray | None = None, progress: Callable[..., None] | None = None) -> CompareResult:
    """Train the assembled network and random twins with the same budget, over seeds.

    Parameters
    ----------
    network : Circuit or callable
        The assembled network, or ``network(seed) -> (circuit, mask, trainable)`` that
        assembles a fresh instance per seed (e.g. ``assemble(spec, seed=base + seed)``).
    train_data, test_data : SpikeDataset
    config : TrainConfig
        Shared settings; its ``seed`` is replaced by each run's seed.
    seeds : int or list of int
        Number of seeds (0, 1, ...) or the seeds themselves.
    mask, trainable : ndarray of bool, optional
        Structure and trainable set of a fixed ``network`` (the twins get the same counts).
    progress : callable, optional
        ``progress(network_label, seed_index, n_seeds, epoch, batch, n_batches, info)``.

    Returns
    -------
    CompareResult
    """
    cfg = config or TrainConfig()
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise TrainError(f"seeds: expected at least one seed, got {seeds!r}")
    train_data = as_dataset(train_data, name="train")
    test_data = as_dataset(test_data, name="test")
    curves: dict[str, list] = {"assembled": [], "random": []}
    trained: dict[str, list] = {"assembled": [], "random": []}
    sizes = {}
    for k, seed in enumerate(seed_list):
        run_cfg = replace(cfg, seed=seed)
        circuit, mk, tr = network(seed) if callable(network) else (network, mask, trainable)
        twin, t_mask, t_train = random_like(circuit, mk, tr, seed=seed)
        sizes = dict(neurons=circuit.n_neurons, exc=circuit.n_exc, inh=circuit.n_inh,
                     synapses=int((circuit.weights > 0).sum()), twin_synapses=int((twin.weights > 0).sum()))
        for key, (c, m_, t_) in (("assembled", (circuit, mk, tr)), ("random", (twin, t_mask, t_train))):
            res = train(c, train_data, test_data, run_cfg, mask=m_, trainable=t_,
                        progress=None if progress is None else _bind(progress, key, k, len(seed_list)))
            curves[key].append(res.curve("test_acc"))
            trained[key].append(res.circuit)
    return CompareResult(curves={k: np.array(v) for k, v in curves.items()}, seeds=seed_list, extras=sizes,
                         networks=trained)
