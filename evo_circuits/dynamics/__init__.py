"""The neuron and synapse model, once: propagators, step functions and random streams.

Everything that advances a neuron lives here and nowhere else; the simulator kernel
(:mod:`evo_circuits.simulate.kernel`), the training kernels (:mod:`evo_circuits.train.kernels`)
and the PyTorch module (:mod:`evo_circuits.torch`) call these functions. In the style of
Norse's functional core: pure functions over explicit state and parameters, with the
time step folded into precomputed propagator coefficients (:func:`propagators`).

- :mod:`.propagators` — the exact-integration coefficients of one step (NumPy, once per
  circuit), as a :class:`Propagators` tuple.
- :mod:`.lif` — the per-neuron step: free update, refractory clamp, threshold, reset,
  synaptic decay, in current and conductance mode (numba ``inline="always"``; the plain
  Python versions, ``.py_func``, run on NumPy arrays or torch tensors).
- :mod:`.rng` — SplitMix64 streams seeded by ``(seed, individual, trial)``.
"""

from .lif import conductance_update, current_update, integrates, spikes
from .propagators import Propagators, propagators, psc_coefficient
from .rng import mix64, next_unit, stream_seed

__all__ = [
    "Propagators", "conductance_update", "current_update", "integrates", "mix64", "next_unit",
    "propagators", "psc_coefficient", "spikes", "stream_seed",
]
