"""PyTorch layers: an evolved or assembled circuit as a trainable ``torch.nn.Module``.

Optional extra (``pip install evo-circuits[torch]``). :class:`EICircuit` runs any
current-based :class:`~evo_circuits.Circuit` — a named motif, a library motif, an evolved
champion, an assembled network — inside a user's own PyTorch model, with Dale's law, the
circuit's structure and delays kept, the simulator's exact step (in float64 the same
spikes and potentials as :func:`evo_circuits.simulate`) and the numba trainer's surrogate
gradient. :meth:`EICircuit.to_circuit` gives the trained circuit back. Guide:
``docs/torch.md``.

- :class:`EICircuit`, :class:`EIRecord` — the circuit layer and its optional records.
- :class:`SurrogateSpike`, :class:`SpikeCount` — small layers to put around it
  (analog values to spikes, spikes to counts).
- :func:`spike` — the thresholding with the fast-sigmoid surrogate gradient.
- :func:`project_` — restore the constraints of every :class:`EICircuit` in a model
  after an optimiser step.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("evo_circuits.torch needs PyTorch: pip install 'evo-circuits[torch]'") from exc

from .layers import SpikeCount, SurrogateSpike, spike
from .module import EICircuit, EIRecord, project_

__all__ = ["EICircuit", "EIRecord", "SpikeCount", "SurrogateSpike", "project_", "spike"]
