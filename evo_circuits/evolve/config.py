"""Run configs: TOML files in ``runs/`` that say what to evolve and how.

Example (``runs/coincidence.toml``)::

    [run]
    name = "coincidence"
    fitness = "../fitness/coincidence.toml"   # relative to this file
    algorithm = "mu_plus_lambda"              # or "nsga2", "map_elites"
    seed = 0
    generations = 40
    population = 64
    checkpoint_every = 5
    stop_score = 0.0        # stop once the champion scores this (on validation if on); 0 = never

    [evaluation]
    backend = "local"       # local (numba threads), serial (1 thread), processes, dask
    workers = 2
    dask = ""               # scheduler address, e.g. "tcp://127.0.0.1:8786"
    resample_every = 0      # draw fresh training trials every K generations (0 = the same trials throughout)
    validation_trials = 0   # > 0: score the best new individuals on that many held-out trials
    validation_top = 8      # how many of the best not-yet-validated individuals, per generation

    [init]                  # random initial circuits
    n_exc = [2, 5]
    n_inh = [1, 2]
    tau_m = [1.0, 30.0]     # optional: time constants drawn log-uniform (ms); default: type defaults
    tau_e = [0.2, 10.0]

    [limits]                # see evo_circuits.evolve.operators.Limits
    max_neurons = 12
    max_synapses = 60
    excitatory_outputs = false   # outputs are (and stay) excitatory projection neurons

    [variation]
    cxpb = 0.2              # probability that an offspring comes from crossover
    tournament = 3
    elite = 4               # best individuals that always survive
    offspring = 64          # lambda of (mu + lambda)
    restart_after = 30      # random restart after 30 generations without progress (0 = off)
    restart_below = 0.9     # ... only while the best score is below this (a solved population stays)

    [mutation]              # probability of each operator per offspring
    perturb_weight = 0.7
    add_synapse = 0.2
    ...

    [map_elites]
    bins_exc = [1, 2, 4, 8, 16]   # bin edges of the descriptors
    bins_inh = [0, 1, 2, 4, 8]
    bins_density = [0.0, 0.15, 0.3, 0.5, 1.01]

    [motifs]                # at the end of a finished run: prune the champion, store its core
    add_to_library = true
    library = ""            # default: $EVO_CIRCUITS_LIBRARY or motifs/library.db
    prune_epsilon = 0.02
    min_score = 0.9

Every key is validated; errors name the key and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EvoCircuitsError
from ..io.caps import cap
from ..io.files import read_toml
from ..model import MAX_ABS_MV, TAU_RANGE_MS
from .operators import MUTATIONS, Limits

ALGORITHMS = ("mu_plus_lambda", "nsga2", "map_elites")
BACKENDS = ("local", "serial", "processes", "dask")


class ConfigError(EvoCircuitsError, ValueError):
    """A run config is invalid; the message names the key."""


#: Ranges of run sizes: large enough for any real run, small enough that a config cannot
#: ask for a billion individuals (memory) or a million worker processes.
MAX_INT = 2**63 - 1
MAX_POPULATION = 100_000
MAX_GENERATIONS = 10_000_000
MAX_WORKERS = 1024
#: A run name is one folder name: no separators, no control characters, no leading dot.
RUN_NAME = re.compile(r"^[^/\\\x00-\x1f\x7f-\x9f.][^/\\\x00-\x1f\x7f-\x9f]{0,99}$")

DEFAULT_MUTATION = {
    "perturb_weight": 0.7, "add_synapse": 0.25, "remove_synapse": 0.15, "perturb_delay": 0.25,
    "add_neuron": 0.1, "remove_neuron": 0.08, "flip_type": 0.05, "perturb_param": 0.2,
}


@dataclass
class RunConfig:
    """A validated run config (see module docstring for the keys).

    Built from TOML by :func:`load_config`, or in Python with the attribute names below
    (``RunConfig(name="x", fitness="", generations=10)``, the spec then given to
    ``evolve(..., fitness=spec)``); invalid values raise :class:`ConfigError` either way.
    """

    name: str
    fitness: str
    algorithm: str = "mu_plus_lambda"
    seed: int = 0
    generations: int = 40
    population: int = 64
    checkpoint_every: int = 5
    stop_score: float = 0.0     # 0: run all generations
    backend: str = "local"
    workers: int = 2
    dask: str = ""
    resample_every: int = 0     # fresh training trials every K generations (0: never)
    validation_trials: int = 0  # held-out trials scoring the best individuals (0: no validation)
    validation_top: int = 8
    init_exc: tuple[int, int] = (2, 5)
    init_inh: tuple[int, int] = (1, 2)
    init_params: dict = field(default_factory=dict)  # name -> (low, high), drawn log-uniform
    limits: Limits = field(default_factory=Limits)
    cxpb: float = 0.2
    tournament: int = 3
    elite: int = 4
    restart_after: int = 0      # (μ+λ): random restart after this many stalled generations
    restart_below: float = 0.9  # ... only while the best score is below this
    offspring: int = 0          # 0: same as population
    mutation: dict = field(default_factory=lambda: dict(DEFAULT_MUTATION))
    bins_exc: tuple = (1, 2, 3, 5, 8, 13)
    bins_inh: tuple = (0, 1, 2, 3, 5, 9)
    bins_density: tuple = (0.0, 0.1, 0.2, 0.35, 0.5, 1.01)
    add_to_library: bool = True
    library: str = ""
    prune_epsilon: float = 0.02
    library_min_score: float = 0.9
    source: str = ""

    def __post_init__(self) -> None:
        # One canonical form (tuples of floats/ints), so the hash survives a JSON round trip.
        for k in ("bins_exc", "bins_inh", "bins_density"):
            setattr(self, k, tuple(float(x) for x in getattr(self, k)))
        self.init_exc = tuple(int(x) for x in self.init_exc)
        self.init_inh = tuple(int(x) for x in self.init_inh)
        self.init_params = {k: (float(lo), float(hi)) for k, (lo, hi) in sorted(self.init_params.items())}
        self.mutation = {k: float(v) for k, v in sorted(self.mutation.items())}
        _check_values(self)  # a config built in Python is checked like one read from TOML

    @property
    def n_offspring(self) -> int:
        """Offspring per generation."""
        return self.offspring or self.population

    def fitness_path(self) -> Path:
        """Fitness spec path, resolved relative to the config file."""
        p = Path(self.fitness)
        if not p.is_absolute() and self.source:
            p = Path(self.source).parent / p
        return p

    def to_dict(self) -> dict:
        """All settings, JSON/TOML-ready (the resolved config written into a run)."""
        d = asdict(self)
        d["limits"] = asdict(self.limits)
        d["fitness"] = str(self.fitness_path().resolve())
        return d

    def hash(self) -> str:
        """Short hash of the settings that affect results (not backend or paths).

        Settings added after a config format was in use count only when they differ from
        their defaults, so runs started before they existed still resume.
        """
        d = self.to_dict()
        for k, default in _LATER_DEFAULTS.items():
            if d.get(k) == default:
                d.pop(k)
        if not d["limits"].get("excitatory_outputs"):
            d["limits"].pop("excitatory_outputs", None)
        for k in ("source", "backend", "workers", "dask", "generations", "checkpoint_every", "fitness",
                  "add_to_library", "library", "prune_epsilon", "library_min_score", "stop_score"):
            d.pop(k, None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


#: Settings added later, left out of :meth:`RunConfig.hash` at these values.
_LATER_DEFAULTS = {"resample_every": 0, "validation_trials": 0, "validation_top": 8, "restart_below": 0.9}

_SECTIONS = {
    "run": {"name": str, "fitness": str, "algorithm": str, "seed": int, "generations": int, "population": int,
            "checkpoint_every": int, "stop_score": float},
    "evaluation": {"backend": str, "workers": int, "dask": str, "resample_every": int, "validation_trials": int,
                   "validation_top": int},
    "init": {"n_exc": list, "n_inh": list, "tau_m": list, "tau_e": list, "tau_i": list},
    "limits": {"max_neurons": int, "min_neurons": int, "max_synapses": int, "max_delay_steps": int,
               "w_exc": list, "w_inh": list, "w_input": list, "w_max": float, "weight_sigma": float,
               "delay_sigma": float, "p_inhibitory": float, "self_loops": bool,
               "excitatory_outputs": bool},
    "variation": {"cxpb": float, "tournament": int, "elite": int, "offspring": int, "restart_after": int,
                  "restart_below": float},
    "mutation": {k: float for k in MUTATIONS},
    "map_elites": {"bins_exc": list, "bins_inh": list, "bins_density": list},
    "motifs": {"add_to_library": bool, "library": str, "prune_epsilon": float, "min_score": float},
}


def load_config(path: str | os.PathLike) -> RunConfig:
    """Read and validate a run config TOML file."""
    path = Path(path)
    data = read_toml(path, "run config", error=ConfigError)
    return config_from_dict(data, source=str(path))


def config_from_dict(data: dict, source: str = "") -> RunConfig:
    """Validate a run-config dict (as parsed from TOML)."""
    for section in data:
        if section not in _SECTIONS:
            raise ConfigError(f"[{section}]: unknown section (allowed: {', '.join(_SECTIONS)})")
        if not isinstance(data[section], dict):
            raise ConfigError(f"{section}: expected a table")
    v = {s: _check_section(s, data.get(s, {})) for s in _SECTIONS}
    run = v["run"]
    for req in ("fitness",):
        if req not in run:
            raise ConfigError(f"run.{req}: missing (path of a fitness spec TOML)")
    kw: dict[str, Any] = {k: run[k] for k in ("fitness", "algorithm", "seed", "generations", "population",
                                               "checkpoint_every", "stop_score") if k in run}
    kw["name"] = run.get("name", Path(source).stem if source else "run")
    kw.update(v["evaluation"])
    if "n_exc" in v["init"]:
        kw["init_exc"] = _int_range(v["init"]["n_exc"], "init.n_exc")
    if "n_inh" in v["init"]:
        kw["init_inh"] = _int_range(v["init"]["n_inh"], "init.n_inh", low=0)
    kw["init_params"] = {k: _float_range(v["init"][k], f"init.{k}", TAU_RANGE_MS[1]) for k in ("tau_m", "tau_e", "tau_i")
                         if k in v["init"]}
    for k, (lo, _) in kw["init_params"].items():
        if lo < TAU_RANGE_MS[0]:
            raise ConfigError(f"init.{k}: time constants must be >= {TAU_RANGE_MS[0]:g} ms, got {lo:g}")
    lim = dict(v["limits"])
    for k in ("w_exc", "w_inh", "w_input"):
        if k in lim:
            lim[k] = _float_range(lim[k], f"limits.{k}")
    try:
        kw["limits"] = Limits(**lim)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    kw.update(v["variation"])
    if v["mutation"]:
        kw["mutation"] = {**{k: 0.0 for k in MUTATIONS}, **v["mutation"]}
    for k, val in v["map_elites"].items():
        kw[k] = tuple(_float_list(val, f"map_elites.{k}"))
    mot = dict(v["motifs"])
    if "min_score" in mot:
        mot["library_min_score"] = mot.pop("min_score")
    kw.update(mot)
    return RunConfig(source=source, **kw)


def _check_section(name: str, tbl: dict) -> dict:
    allowed = _SECTIONS[name]
    out = {}
    for key, value in tbl.items():
        if key not in allowed:
            raise ConfigError(f"{name}.{key}: unknown key (allowed: {', '.join(allowed)})")
        kind = allowed[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            raise ConfigError(f"{name}.{key}: expected {kind.__name__}, got {_short(value)}")
        if kind is float and not math.isfinite(value):
            raise ConfigError(f"{name}.{key}: expected a finite number, got {value!r}")
        if kind is int and not -MAX_INT <= value <= MAX_INT:
            raise ConfigError(f"{name}.{key}: {value} is out of range")
        out[key] = value
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def _check_values(cfg: RunConfig) -> None:
    if not RUN_NAME.match(cfg.name):
        raise ConfigError(f"run.name: {_short(cfg.name)} is not a plain folder name (it names the run's folder "
                          "under runs/: no '/', '\\', control characters or leading '.', at most 100 characters)")
    most_neurons = cap("neurons")
    checks = [
        (0 <= cfg.seed <= MAX_INT, "run.seed", f"an integer in [0, {MAX_INT}]", cfg.seed),
        (cfg.population <= MAX_POPULATION, "run.population", f"<= {MAX_POPULATION:,}", cfg.population),
        (cfg.offspring <= MAX_POPULATION, "variation.offspring", f"<= {MAX_POPULATION:,}", cfg.offspring),
        (cfg.generations <= MAX_GENERATIONS, "run.generations", f"<= {MAX_GENERATIONS:,}", cfg.generations),
        (cfg.workers <= MAX_WORKERS, "evaluation.workers", f"<= {MAX_WORKERS}", cfg.workers),
        (cfg.init_exc[1] + cfg.init_inh[1] <= most_neurons, "init.n_exc/n_inh",
         f"at most {most_neurons} neurons together", (cfg.init_exc[1], cfg.init_inh[1])),
        (cfg.limits.max_neurons <= most_neurons, "limits.max_neurons", f"<= {most_neurons}", cfg.limits.max_neurons),
        (cfg.algorithm in ALGORITHMS, "run.algorithm", f"one of {', '.join(ALGORITHMS)}", cfg.algorithm),
        (cfg.backend in BACKENDS, "evaluation.backend", f"one of {', '.join(BACKENDS)}", cfg.backend),
        (cfg.generations >= 0, "run.generations", ">= 0", cfg.generations),
        (cfg.population >= 2, "run.population", ">= 2", cfg.population),
        (cfg.checkpoint_every >= 1, "run.checkpoint_every", ">= 1", cfg.checkpoint_every),
        (cfg.workers >= 1, "evaluation.workers", ">= 1", cfg.workers),
        (0 <= cfg.cxpb <= 1, "variation.cxpb", "in [0, 1]", cfg.cxpb),
        (cfg.tournament >= 1, "variation.tournament", ">= 1", cfg.tournament),
        (cfg.offspring >= 0, "variation.offspring", ">= 0", cfg.offspring),
        (0 <= cfg.elite <= cfg.population, "variation.elite", "in [0, population]", cfg.elite),
        (cfg.restart_after >= 0, "variation.restart_after", ">= 0 (0 = never restart)", cfg.restart_after),
        (cfg.resample_every >= 0, "evaluation.resample_every", ">= 0 (0 = never)", cfg.resample_every),
        (cfg.validation_trials >= 0, "evaluation.validation_trials", ">= 0 (0 = no validation)",
         cfg.validation_trials),
        (cfg.validation_top >= 1, "evaluation.validation_top", ">= 1", cfg.validation_top),
        (0 <= cfg.stop_score <= 1, "run.stop_score", "in [0, 1] (0 = never stop early)", cfg.stop_score),
        (cfg.backend != "dask" or cfg.dask, "evaluation.dask", "a scheduler address with backend 'dask'", cfg.dask),
    ]
    for ok, key, expected, got in checks:
        if not ok:
            raise ConfigError(f"{key}: expected {expected}, got {got!r}")
    for k, p in cfg.mutation.items():
        if not 0 <= p <= 1:
            raise ConfigError(f"mutation.{k}: expected a probability in [0, 1], got {p}")
    if sum(cfg.mutation.values()) <= 0:
        raise ConfigError("mutation: at least one operator needs a probability > 0")
    for k in ("bins_exc", "bins_inh", "bins_density"):
        b = getattr(cfg, k)
        if len(b) < 2 or any(x >= y for x, y in zip(b, b[1:])):
            raise ConfigError(f"map_elites.{k}: expected >= 2 increasing bin edges, got {list(b)}")


def _int_range(v: list, key: str, low: int = 1) -> tuple[int, int]:
    if len(v) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in v) or not low <= v[0] <= v[1]:
        raise ConfigError(f"{key}: expected [min, max] whole numbers with {low} <= min <= max, got {v!r}")
    return int(v[0]), int(v[1])


def _float_list(v: list, key: str) -> list[float]:
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        raise ConfigError(f"{key}: expected a list of numbers, got {_short(v)}")
    try:
        vals = [float(x) for x in v]
    except OverflowError:
        vals = [math.inf]
    if not all(math.isfinite(x) for x in vals):
        raise ConfigError(f"{key}: expected finite numbers, got {_short(v)}")
    return vals


def _float_range(v: list, key: str, hi: float = MAX_ABS_MV) -> tuple[float, float]:
    vals = _float_list(v, key)
    if len(vals) != 2 or not 0 < vals[0] <= vals[1] <= hi:
        raise ConfigError(f"{key}: expected [low, high] with 0 < low <= high <= {hi:g}, got {v!r}")
    return vals[0], vals[1]
