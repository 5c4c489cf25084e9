"""Fitness specs: a task family, its parameters, objectives and modifiers, in TOML.

Example (``fitness/coincidence.toml``)::

    name = "coincidence"
    description = "fire only when both inputs spike within 2 ms"

    [task]
    family = "coincidence"     # or: plugin = "my_task.py" (relative to this file) + family
    window_ms = 2.0
    trials = 32

    [objectives]               # used by evolution (NSGA-II); "score" is always maximised
    minimize = ["spikes", "size"]

    [robustness]               # optional
    p_release = 0.8
    jitter_ms = 0.3

    [stability]                # optional
    ceiling_hz = 150.0
    drive_hz = 500.0

Every key is validated; an error is one line naming the key and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..io.files import read_json, read_toml
from .base import Task, TaskError
from .modifiers import Robustness, Stability
from .registry import UntrustedPlugin, get_task, load_plugin

OBJECTIVES = ("spikes", "size", "synapses")
_TOP = {"name", "description", "task", "objectives", "robustness", "stability"}


@dataclass
class FitnessSpec:
    """A validated fitness spec.

    Attributes
    ----------
    name, description : str
    task : Task
        The configured task family instance.
    minimize : list of str
        Secondary objectives (from ``spikes``, ``size``, ``synapses``).
    robustness, stability : optional modifiers
    source : str
        Path the spec was read from ("" if built in Python).
    plugin : str
        Absolute path of the task plugin file, if the task comes from one.
    """

    name: str
    description: str
    task: Task
    minimize: list[str] = field(default_factory=list)
    robustness: Robustness | None = None
    stability: Stability | None = None
    source: str = ""
    plugin: str = ""

    def evaluate(self, circuits, seed: int = 0, **kwargs):
        """:meth:`Task.evaluate` with this spec's modifiers."""
        return self.task.evaluate(circuits, seed, robustness=self.robustness, stability=self.stability, **kwargs)

    def to_dict(self) -> dict:
        """Resolved spec (every parameter explicit), TOML/JSON-ready."""
        out: dict[str, Any] = {"name": self.name, "description": self.description,
                               "task": {"family": self.task.name, **self.task.settings(),
                                        **({"plugin": self.plugin} if self.plugin else {})},
                               "objectives": {"minimize": list(self.minimize)}}
        if self.robustness:
            out["robustness"] = {f.name: getattr(self.robustness, f.name) for f in fields(Robustness)}
        if self.stability:
            out["stability"] = {f.name: getattr(self.stability, f.name) for f in fields(Stability)}
        return out


    def hash(self) -> str:
        """Short hash of what the spec scores (task settings, objectives, modifiers; not the
        name or description), so library entries of two variants of a task stay apart."""
        d = self.to_dict()
        d.pop("name")
        d.pop("description")
        d["task"].pop("plugin", None)  # where the plugin file lives does not change the scores
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def load_fitness(path: str | os.PathLike, *, trust_plugins: bool = True) -> FitnessSpec:
    """Read and validate a fitness spec: a TOML file, or (``.json``) the resolved spec a run
    writes (``fitness.resolved.json``, read by :func:`load_resolved_fitness`).

    Parameters
    ----------
    path : str or PathLike
    trust_plugins : bool
        Whether a ``task.plugin`` may run; pass False for a spec the user did not name
        (reached from a run folder, a library or a shared config).

    Raises
    ------
    TaskError
        One line naming the key; :class:`UntrustedPlugin` for an untrusted plugin.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        return load_resolved_fitness(path, trust_plugins=trust_plugins)
    data = read_toml(path, "fitness spec", error=TaskError)
    try:
        return fitness_from_dict(data, base_dir=path.parent, source=str(path), trust_plugins=trust_plugins)
    except TaskError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise type(exc)(f"{path}: {exc}") from None


def load_resolved_fitness(path: str | os.PathLike, *, trust_plugins: bool = False) -> FitnessSpec:
    """Read a resolved fitness spec (JSON of :meth:`FitnessSpec.to_dict`, as a run folder holds).

    A run folder may come from someone else, so its plugin runs only with
    ``trust_plugins`` (``--trust-plugins``).

    Raises
    ------
    FormatError, TaskError
        One line starting with the path.
    """
    data = read_json(path, "resolved fitness spec")
    try:
        return fitness_from_dict(data, base_dir=Path(path).parent, source=str(path), trust_plugins=trust_plugins)
    except TaskError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def fitness_from_dict(data: dict, base_dir: str | os.PathLike = ".", source: str = "", *,
                      trust_plugins: bool = True) -> FitnessSpec:
    """Validate a fitness-spec dict (as parsed from TOML); ``trust_plugins`` as in :func:`load_fitness`."""
    if not isinstance(data, dict):
        raise TaskError(f"fitness spec: expected a table/object, got {type(data).__name__}")
    _unknown(data, _TOP, "")
    task_tbl = dict(_table(data, "task", required=True))
    plugin_path = ""
    if "plugin" in task_tbl:
        plugin = task_tbl.pop("plugin")
        if not isinstance(plugin, str):
            raise TaskError(f"task.plugin: expected a file path string, got {plugin!r}")
        plugin_path = str((Path(base_dir) / plugin).resolve())
        if not trust_plugins:
            raise UntrustedPlugin(f"task.plugin: {plugin_path} is Python code from a spec this command was not "
                                  "given; rerun with --trust-plugins if you trust it")
        names = load_plugin(plugin_path)
        task_tbl.setdefault("family", names[0] if len(names) == 1 else None)
    family = task_tbl.pop("family", None)
    if not isinstance(family, str):
        raise TaskError("task.family: missing (a task name; `evo-circuits tasks` lists them)")
    task = _make_task(family, task_tbl)
    obj = _table(data, "objectives")
    _unknown(obj, {"minimize"}, "objectives")
    minimize = obj.get("minimize", ["spikes", "size"])
    if not isinstance(minimize, list) or any(m not in OBJECTIVES for m in minimize):
        raise TaskError(f"objectives.minimize: expected a list from {', '.join(OBJECTIVES)}, got {minimize!r}")
    rob = _modifier(data, "robustness", Robustness, {"p_release": (1e-6, 1.0), "jitter_ms": (0.0, 100.0)})
    stab = _modifier(data, "stability", Stability, {"ceiling_hz": (1.0, 10_000.0), "drive_hz": (0.0, 10_000.0),
                                                    "duration_ms": (1.0, 10_000.0), "trials": (1, 1000),
                                                    "weight": (0.0, 100.0)})
    name = data.get("name", family)
    desc = data.get("description", task.description)
    for key, val in (("name", name), ("description", desc)):
        if not isinstance(val, str):
            raise TaskError(f"{key}: expected a string, got {val!r}")
    return FitnessSpec(name=name, description=desc, task=task, minimize=list(minimize),
                       robustness=rob, stability=stab, source=source, plugin=plugin_path)


def _make_task(family: str, settings: dict) -> Task:
    """The task family's instance; a wrong parameter is one line naming it."""
    cls = get_task(family)
    try:
        return cls(**settings)
    except TaskError:
        raise
    except TypeError as exc:  # an unknown or missing keyword
        raise TaskError(f"task: {family}: {exc}") from None
    except (ValueError, OverflowError) as exc:
        raise TaskError(f"task: {family}: {exc}") from None


def _table(data: dict, key: str, required: bool = False) -> dict:
    if key not in data:
        if required:
            raise TaskError(f"[{key}]: missing table")
        return {}
    if not isinstance(data[key], dict):
        raise TaskError(f"{key}: expected a table, got {type(data[key]).__name__}")
    return data[key]


def _unknown(tbl: dict, allowed: set, where: str) -> None:
    for key in tbl:
        if key not in allowed:
            prefix = f"{where}." if where else ""
            raise TaskError(f"{prefix}{key}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _modifier(data: dict, key: str, cls: type, ranges: dict) -> Any:
    if key not in data:
        return None
    tbl = _table(data, key)
    _unknown(tbl, set(ranges), key)
    values = {}
    for name, (lo, hi) in ranges.items():
        if name not in tbl:
            continue
        v = tbl[name]
        kind = type(lo)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and not isinstance(v, int)):
            raise TaskError(f"{key}.{name}: expected a {'whole ' if kind is int else ''}number, got {v!r}")
        if not lo <= v <= hi:
            raise TaskError(f"{key}.{name}: {v!r} out of range [{lo}, {hi}]")
        values[name] = kind(v)
    return cls(**values)


def describe_tasks() -> list[tuple[str, str, str]]:
    """(name, chance level with defaults, description) of every registered task."""
    from .registry import available_tasks

    rows = []
    for name, cls in available_tasks().items():
        t: Task = cls()
        rows.append((name, f"{t.chance_level():.3g}", cls.description))
    return rows
