"""evo-circuits: discover canonical E/I spiking circuit motifs by neuroevolution.

The public API: :class:`Circuit` (the genome), :func:`simulate` (numba, batched over a
population), :class:`InputSpikes`, and :func:`load` / :func:`save` of circuit files (JSON,
GraphML, NIR, NPZ; see :mod:`evo_circuits.io`).
"""

from .circuit import Circuit
from .errors import CircuitError, EvoCircuitsError, FormatError
from .io import load, save
from .random_circuit import random_circuit, random_task_circuit
from .simulate import InputSpikes, SimResult, simulate

from .version import __version__

__all__ = [
    "Circuit", "CircuitError", "EvoCircuitsError", "FormatError", "InputSpikes", "SimResult",
    "load", "random_circuit", "random_task_circuit", "save", "simulate", "__version__",
]
