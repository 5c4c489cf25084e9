"""Task suite: what circuits are scored on (timing, coincidence, gating, competition, memory, rhythm).

Each family lives in its own module and registers itself; a fitness spec (TOML, see
:mod:`.spec`) configures one. Users add a task with a spec variant or a Python plugin.
"""

from .base import Param, PortActivity, Task, TaskError, TaskResult, TrialBatch
from .modifiers import Robustness, Stability
from .registry import available_tasks, get_task, load_plugin, register_task
from .spec import FitnessSpec, describe_tasks, fitness_from_dict, load_fitness

__all__ = [
    "FitnessSpec", "Param", "PortActivity", "Robustness", "Stability", "Task", "TaskError", "TaskResult",
    "TrialBatch", "available_tasks", "describe_tasks", "fitness_from_dict", "get_task", "load_fitness",
    "load_plugin", "register_task",
]
