"""Surrogate-gradient training of E/I circuits (BPTT in numba), data sets, and comparisons.

The training forward pass follows the simulator's schedule exactly (``docs/model.md``),
so the trained network is an ordinary :class:`~evo_circuits.Circuit` that
:func:`evo_circuits.simulate` runs with the same spikes. Dale's law holds throughout:
weights are magnitudes >= 0 whose sign is the presynaptic type.

Main entry points
-----------------
- :func:`train`, :class:`TrainConfig`, :class:`TrainResult` — the training loop.
- :func:`load_digits`, :func:`task_dataset`, :class:`Encoder` — data; :func:`as_dataset` and
  :mod:`.adaptors` — your own data (arrays, NPZ, events, torch, tonic).
- :class:`TrainableNetwork`, :class:`BPTT`, :class:`Readout` — the layers below
  (masks, loss and gradients of one batch).
- :func:`feedforward_circuit`, :func:`random_like`, :func:`balance_inhibition` — networks.
- :func:`layered_like`, :func:`plain_like`, :func:`frozen_prior` — control networks.
- :func:`compare` — an assembled network against its controls over seeds.
- :func:`itd_dataset`, :func:`pattern_dataset` — temporal benchmarks (timing carries the label).
"""

from .adaptors import (as_dataset, from_arrays, from_events, from_tonic, from_torch, load_dataset, save_dataset,
                       split)
from .bptt import BPTT, Gradients
from .builders import balance_inhibition, feedforward_circuit, random_like
from .compare import CompareResult, compare, epochs_to_fraction, epochs_to_threshold, mean_ci
from .controls import frozen_prior, layered_like, plain_like
from .data import (TASK_CLASSES, EncodedDataset, Encoder, SpikeDataset, SpikeTrainDataset, load_digits,
                   task_dataset)
from .network import TrainableNetwork, TrainError
from .optim import Adam, clip_grad_norm
from .readout import Readout, cross_entropy
from .surrogate import DEFAULT_SLOPE
from .temporal import itd_dataset, pattern_dataset, temporal_benchmark
from .trainer import BatchOutputs, EpochReport, TrainConfig, TrainResult, evaluate, train

__all__ = [
    "BatchOutputs", "EpochReport", "as_dataset", "from_arrays", "from_events", "from_tonic", "from_torch",
    "load_dataset", "save_dataset", "split",
    "Adam", "BPTT", "CompareResult", "DEFAULT_SLOPE", "EncodedDataset", "Encoder", "Gradients", "Readout",
    "SpikeDataset", "SpikeTrainDataset", "TASK_CLASSES", "TrainConfig", "TrainError", "TrainResult",
    "TrainableNetwork", "balance_inhibition", "clip_grad_norm", "compare", "cross_entropy", "epochs_to_fraction",
    "epochs_to_threshold", "evaluate", "feedforward_circuit", "frozen_prior", "itd_dataset", "layered_like",
    "load_digits", "mean_ci", "pattern_dataset", "plain_like", "random_like", "task_dataset", "temporal_benchmark",
    "train",
]
