"""Discovery campaigns: evolve tasks from several seeds, harvest the cores, report which recur."""

from .campaign import Core, TaskReport, discover

__all__ = ["Core", "TaskReport", "discover"]
