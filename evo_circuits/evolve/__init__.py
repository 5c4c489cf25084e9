"""Evolution engine: DEAP operators on circuits, (μ+λ)/NSGA-II/MAP-Elites, checkpointed runs.

``evolve(config, fitness=spec)`` starts a run, ``resume(run_dir)`` continues one; both
return an :class:`EvolutionResult` (see :mod:`.run`).
"""

from .config import RunConfig, load_config
from .operators import MUTATIONS, Limits, crossover, mutate
from .result import EvolutionResult
from .run import evolve, read_run_config, resume
from .toolbox import make_toolbox

__all__ = ["EvolutionResult", "Limits", "MUTATIONS", "RunConfig", "crossover", "evolve", "load_config",
           "make_toolbox", "mutate", "read_run_config", "resume"]
