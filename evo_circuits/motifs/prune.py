"""Functional pruning: strip an evolved circuit down to the core that does the task.

Greedy, most useless first: every round scores all single removals (each synapse, each
hidden neuron) in one batched simulation per seed, applies the removal whose circuit
scores best, and stops when the best candidate would fall more than ``epsilon`` below
the original score. Scores are means over several *fresh* evaluation seeds (not the
seed evolution optimised on), so pruning is robust to evaluation noise and does not
keep parts that only helped on one set of trials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..circuit import Circuit
from ..model import TYPE_NAMES
from ..tasks import FitnessSpec

#: Seeds used to score pruning candidates (disjoint from typical run seeds).
DEFAULT_SEEDS = (10_001, 10_002, 10_003)


@dataclass
class PruneResult:
    """Outcome of :func:`prune`.

    Attributes
    ----------
    circuit : Circuit
        The functional core.
    removed : list of str
        What was removed, in order (e.g. ``"synapse n2->n0 (I, 40.1)"``, ``"neuron n3 (E)"``).
    score_before, score_after : float
        Mean score over the pruning seeds.
    """

    circuit: Circuit
    removed: list[str] = field(default_factory=list)
    score_before: float = 0.0
    score_after: float = 0.0


def _mean_scores(spec: FitnessSpec, circuits: Sequence[Circuit], seeds: Sequence[int]) -> np.ndarray:
    ids = np.arange(len(circuits))  # same stream per candidate slot for every seed
    return np.mean([spec.evaluate(list(circuits), seed=s, individual_ids=ids).score for s in seeds], axis=0)


def _candidates(c: Circuit) -> list[tuple[str, Circuit]]:
    out = []
    names = [f"in{r}" for r in range(c.n_inputs)] + [f"n{i}" for i in range(c.n_neurons)]
    signs = c.source_signs
    for r, k in np.argwhere(c.weights > 0):
        w = c.weights.copy()
        w[r, k] = 0.0
        label = f"synapse {names[r]}->n{k} ({'E' if signs[r] > 0 else 'I'}, {c.weights[r, k]:.3g})"
        out.append((label, c.replace(weights=w, delays=np.where(w > 0, c.delays, 0))))
    for i in np.setdiff1d(np.arange(c.n_neurons), c.outputs):
        out.append((f"neuron n{i} ({TYPE_NAMES[int(c.types[i])]})", c.without_neurons([int(i)])))
    return out


def prune(circuit: Circuit, spec: FitnessSpec, *, epsilon: float = 0.02,
          seeds: Sequence[int] = DEFAULT_SEEDS, max_rounds: int = 1000) -> PruneResult:
    """Remove synapses and hidden neurons while the score stays within ``epsilon``.

    Parameters
    ----------
    circuit : Circuit
    spec : FitnessSpec
        The task the circuit is scored on.
    epsilon : float
        Largest allowed drop of the mean score below the original.
    seeds : sequence of int
        Evaluation seeds averaged for every score.

    Returns
    -------
    PruneResult
    """
    base = float(_mean_scores(spec, [circuit], seeds)[0])
    result = PruneResult(circuit=circuit, score_before=base, score_after=base)
    current = circuit
    for _ in range(max_rounds):
        cands = _candidates(current)
        if not cands:
            break
        scores = _mean_scores(spec, [c for _, c in cands], seeds)
        # Best score first; among equals prefer removing a neuron (smaller core), then the
        # earliest candidate, so pruning is deterministic.
        order = sorted(range(len(cands)), key=lambda j: (-scores[j], not cands[j][0].startswith("neuron"), j))
        best = order[0]
        if scores[best] < base - epsilon:
            break
        label, current = cands[best]
        result.removed.append(label)
        result.score_after = float(scores[best])
    result.circuit = current
    return result
