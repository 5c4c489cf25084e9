"""Seeds of a run's trial sets: training (optionally resampled), validation, test.

A task draws its trials from the evaluation seed (:meth:`evo_circuits.tasks.Task.evaluate`),
so three disjoint purposes get three independent seeds derived from the run's seed:

* training — the run's seed itself, or, with ``resample_every = K``, a new seed every K
  generations (fresh trials, so the population cannot overfit a fixed trial set);
* validation — held-out trials on which the champion is chosen;
* test — trials neither evolution nor the champion choice ever saw (benchmarks report
  success on these).
"""

from __future__ import annotations

import numpy as np

_TRAIN, _VALIDATION, _TEST = 0x7A1, 0x5A11D, 0x7E57


def _derived(seed: int, purpose: int, k: int = 0) -> int:
    return int(np.random.SeedSequence([int(seed), purpose, int(k)]).generate_state(1, np.uint32)[0])


def training_seed(seed: int, generation: int, resample_every: int) -> int:
    """Seed of the training trials used while the run is at ``generation``.

    ``seed`` itself until the first resampling, so runs without resampling (and the
    first ``resample_every`` generations of runs with it) see the same trials as before.
    """
    if resample_every <= 0 or generation < resample_every:
        return int(seed)
    return _derived(seed, _TRAIN, generation // resample_every)


def validation_seed(seed: int) -> int:
    """Seed of the run's validation trials (fixed for the whole run)."""
    return _derived(seed, _VALIDATION)


def test_seed(seed: int) -> int:
    """Seed of trials that neither selection nor the champion choice used."""
    return _derived(seed, _TEST)
