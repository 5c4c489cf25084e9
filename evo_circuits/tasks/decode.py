"""Decoders shared by task families: winners with fair ties, balanced accuracy."""

from __future__ import annotations

import numpy as np


def winner_credit(counts: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Credit of a "most spikes wins" decision, with ties shared fairly.

    Parameters
    ----------
    counts : ndarray, shape (n_individuals, n_trials, n_ports)
        Spike counts (or any activity measure) of the competing ports.
    target : ndarray of int, shape (n_trials,)
        The port that should win in each trial.

    Returns
    -------
    ndarray, shape (n_individuals, n_trials)
        ``1/m`` if the target is among the ``m`` ports tied for the maximum, else 0. A
        circuit that ignores its inputs (e.g. silent) earns exactly ``1/n_ports``: chance.
    """
    best = counts.max(axis=2, keepdims=True)
    tied = counts == best
    n_tied = tied.sum(axis=2)
    hit = np.take_along_axis(tied, np.broadcast_to(target[None, :, None], counts.shape[:2] + (1,)), axis=2)[..., 0]
    return hit / n_tied


def balanced_accuracy(fired: np.ndarray, should_fire: np.ndarray) -> np.ndarray:
    """Mean of the hit rate on positive trials and the correct-rejection rate on negative ones.

    Parameters
    ----------
    fired : ndarray of bool, shape (n_individuals, n_trials)
    should_fire : ndarray of bool, shape (n_trials,)

    Returns
    -------
    ndarray, shape (n_individuals,)
        0.5 for any circuit whose output ignores the input (always or never fires).
    """
    pos, neg = should_fire, ~should_fire
    parts = []
    if pos.any():
        parts.append(fired[:, pos].mean(axis=1))
    if neg.any():
        parts.append((~fired[:, neg]).mean(axis=1))
    return np.mean(parts, axis=0)
