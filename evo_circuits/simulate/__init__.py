"""Population-batched, event-driven numba simulator (see :mod:`.kernel` for the schedule)."""

from .api import SimResult, simulate
from .inputs import InputSpikes

__all__ = ["InputSpikes", "SimResult", "simulate"]
