"""Evolution engine: DEAP operators on circuits, (μ+λ)/NSGA-II/MAP-Elites, checkpointed runs.

``evolve(config)`` starts a run, ``resume(run_dir)`` continues one; see :mod:`.run`.
"""

from .config import RunConfig, load_config
from .operators import MUTATIONS, Limits, crossover, mutate
from .run import evolve, resume
from .toolbox import make_toolbox

__all__ = ["Limits", "MUTATIONS", "RunConfig", "crossover", "evolve", "load_config", "make_toolbox", "mutate",
           "resume"]
