"""evo-circuits: discover canonical E/I spiking circuit motifs by neuroevolution.

The public API: :class:`Circuit` (the genome), :func:`simulate` (numba, batched over a
population), :class:`InputSpikes`, and circuit JSON / GraphML I/O.
"""

from .circuit import Circuit
from .errors import CircuitError, EvoCircuitsError, FormatError
from .io import load_circuit, save_circuit
from .random_circuit import random_circuit, random_task_circuit
from .simulate import InputSpikes, SimResult, simulate

__version__ = "0.1.0"

__all__ = [
    "Circuit", "CircuitError", "EvoCircuitsError", "FormatError", "InputSpikes", "SimResult",
    "load_circuit", "random_circuit", "random_task_circuit", "save_circuit", "simulate", "__version__",
]
