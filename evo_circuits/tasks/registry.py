"""Task registry: families by name, plus user plugins loaded from a Python file by path."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Callable

from .base import Task, TaskError

_REGISTRY: dict[str, type[Task]] = {}
_BUILTIN_MODULES = ("coincidence", "itd", "timing_pattern", "xor", "gating", "wta", "memory", "oscillator")


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make a :class:`Task` subclass available by its ``name``."""
    if not (isinstance(cls, type) and issubclass(cls, Task)) or not cls.name:
        raise TaskError(f"register_task: {cls!r} must be a Task subclass with a name")
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise TaskError(f"task '{cls.name}' is already registered by {existing.__module__}")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(f"{__package__}.{mod}")
        except ModuleNotFoundError as exc:  # a family not written yet
            if exc.name != f"{__package__}.{mod}":
                raise


def available_tasks() -> dict[str, type[Task]]:
    """All registered task families, built-ins first loaded."""
    _load_builtins()
    return dict(sorted(_REGISTRY.items()))


def get_task(name: str) -> type[Task]:
    """The task family called ``name``; a clear error lists the known ones."""
    tasks = available_tasks()
    if name not in tasks:
        raise TaskError(f"task.family: unknown task {name!r} (known: {', '.join(tasks)})")
    return tasks[name]


class UntrustedPlugin(TaskError):
    """A fitness spec names plugin code the command was not told to trust.

    Plugins run only from a spec the user names on the command line (or passes in
    Python); a spec reached from a run folder, a motif library or a shared config needs
    ``--trust-plugins`` (``trust_plugins=True``).
    """


def load_plugin(path: str | Path) -> list[str]:
    """Import a user's task plugin file; return the names of the tasks it registered.

    The file defines :class:`~evo_circuits.tasks.base.Task` subclasses decorated with
    :func:`register_task`. It is Python code and is executed: load only files you trust.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise TaskError(f"task.plugin: no such file {path}")
    before = set(_REGISTRY)
    name = "evo_circuits_plugin_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # a plugin calling sys.exit() must not end the command silently
        sys.modules.pop(name, None)
        raise TaskError(f"task.plugin: {path.name} failed to load: {type(exc).__name__}: {exc}") from exc
    return sorted(set(_REGISTRY) - before) or [k for k, v in _REGISTRY.items() if v.__module__ == name]


def task_factory(name: str) -> Callable[..., Task]:
    """Constructor of a task family (``task_factory("xor")(trials=16)``)."""
    return get_task(name)
