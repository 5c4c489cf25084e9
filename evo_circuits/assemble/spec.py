"""Assembly specs as small validated dataclasses (one per concept, as NIR's ``nir/ir``).

An :class:`AssemblySpec` places :class:`Module` s — copies of a motif (a named motif, a
library id or name, a circuit file, or a :class:`~evo_circuits.circuit.Circuit` object)
or plain populations — and wires them with :class:`Connection` s between
:class:`Endpoint` s, weights drawn from a distribution (:class:`Constant`,
:class:`Uniform`, :class:`Normal`, :class:`LogNormal`). Every class validates itself in
``__post_init__``; errors are :class:`AssemblyError` s whose message starts with the key
as the TOML format names it (``connections[1].p: expected a probability ...``). Objects
built directly in Python name their class instead (``Connection.p: ...``).

The TOML format (``docs/assemble.md``) maps onto these classes one to one:
:meth:`AssemblySpec.from_dict` / :meth:`AssemblySpec.from_toml` read it,
:meth:`AssemblySpec.to_dict` writes it. What a spec *means* for the network (ports,
patterns, merging, seeding) is in the docstring of :mod:`evo_circuits.assemble`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar, Union

import numpy as np

from ..circuit import Circuit
from ..io.caps import cap
from ..io.files import read_toml
from ..model import DEFAULT_DT_MS, NEURON_PARAMS, PARAM_INDEX, SYNAPSE_MODELS
from .validate import (
    TOP_KEYS,
    AssemblyError,
    check_bool,
    check_int,
    check_num,
    check_selector,
    check_table,
    check_unknown,
    is_int,
    is_num,
    join,
    whole_steps,
)

__all__ = [
    "DISTRIBUTIONS",
    "INPUTS",
    "PATTERNS",
    "PORTS",
    "AssemblySpec",
    "Connection",
    "Constant",
    "Endpoint",
    "LogNormal",
    "Module",
    "Normal",
    "Uniform",
    "WeightDistribution",
    "load_spec",
]

#: Connection patterns (see :mod:`evo_circuits.assemble.patterns`).
PATTERNS = ("one-to-one", "all-to-all", "copy-to-copy", "recurrent", "lateral")
#: Port names of a module endpoint.
PORTS = ("all", "in", "out", "E", "I")
#: Reserved endpoint name of the network's input channels.
INPUTS = "inputs"
#: Weight distributions of a connection's ``weight`` table.
DISTRIBUTIONS = ("constant", "uniform", "normal", "lognormal")

MODULE_KEYS = ("motif", "file", "neurons", "type", "copies", "top", "weight_scale", "psp_mv", "delays", "trainable",
               "params", "description")
#: Largest ``top`` of a module (the top-k evolved motifs of a task).
MAX_TOP = 100
#: How a motif's delays meet the network's dt: rounded half up (with a warning), or refused unless exact.
DELAY_MODES = ("round", "exact")
CONNECTION_KEYS = ("from", "to", "pattern", "p", "fan_in", "weight", "delay_ms", "p_release", "autapses",
                   "neighbours", "grow", "trainable", "name")
ENDPOINT_KEYS = ("module", "port", "index", "copies")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_ENDPOINT_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_\-]*)\s*(?:\.\s*([A-Za-z_]+))?\s*(?:\[([^\]]*)\])?\s*$")

# Where the object being constructed sits in a spec, so that its __post_init__ names the
# key as the user wrote it ("connections[1]"); unset, errors name the class instead.
_WHERE: ContextVar[str | None] = ContextVar("evo_circuits_assembly_where", default=None)


@contextmanager
def _located(where: str) -> Iterator[None]:
    token = _WHERE.set(where)
    try:
        yield
    finally:
        _WHERE.reset(token)


def _where(obj: object) -> str:
    where = _WHERE.get()
    if where is not None:
        return where
    return obj.__name__ if isinstance(obj, type) else type(obj).__name__


def _set(obj: object, name: str, value: Any) -> None:
    """Store a normalised field value on a frozen dataclass (only from ``__post_init__``)."""
    object.__setattr__(obj, name, value)


def load_spec(path: str | os.PathLike) -> dict:
    """Read a TOML assembly spec as a dict (not yet validated; see :meth:`AssemblySpec.from_toml`)."""
    return read_toml(path, "assembly spec", error=AssemblyError)


# ---------------------------------------------------------------------------- weights
class _Distribution:
    """Base of the weight distributions: ``sample`` draws magnitudes > 0 (mV)."""

    dist: ClassVar[str]

    def _check(self) -> str:
        where = _where(self)
        for f in fields(self):  # type: ignore[arg-type]
            _set(self, f.name, check_num(getattr(self, f.name), join(where, f.name)))
        return where

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> Any:
        """The TOML form: ``{dist = ..., <parameters>}``."""
        return {"dist": self.dist, **{f.name: getattr(self, f.name) for f in fields(self)}}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Constant(_Distribution):
    """Every synapse gets ``value`` (mV, > 0). A plain number as ``weight`` means this."""

    value: float
    dist: ClassVar[str] = "constant"

    def __post_init__(self) -> None:
        where = _where(self)
        _set(self, "value", check_num(self.value, join(where, "value"), positive=True))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

    def to_dict(self) -> float:
        return self.value


@dataclass(frozen=True)
class Uniform(_Distribution):
    """Weights uniform in [low, high), 0 <= low < high (an exact 0 draw becomes ``high * 1e-6``)."""

    low: float
    high: float
    dist: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        where = self._check()
        if not 0 <= self.low < self.high:
            raise AssemblyError(f"{where}: uniform weights need 0 <= low < high, got low {self.low:g}, "
                                f"high {self.high:g}")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        w = rng.uniform(self.low, self.high, n)
        return np.where(w > 0, w, self.high * 1e-6)  # an exact 0 would be "no synapse"


@dataclass(frozen=True)
class Normal(_Distribution):
    """Weights normal(mean, std) truncated at 0 by redrawing; mean > 0, std >= 0."""

    mean: float
    std: float
    dist: ClassVar[str] = "normal"

    def __post_init__(self) -> None:
        where = self._check()
        if not (self.mean > 0 and self.std >= 0):
            raise AssemblyError(f"{where}: normal weights need mean > 0 and std >= 0 (truncated at 0), "
                                f"got mean {self.mean:g}, std {self.std:g}")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        w = rng.normal(self.mean, self.std, n)
        for _ in range(1000):
            bad = w <= 0
            if not bad.any():
                break
            w[bad] = rng.normal(self.mean, self.std, int(bad.sum()))
        return np.where(w > 0, w, self.mean)


@dataclass(frozen=True)
class LogNormal(_Distribution):
    """Weights ``median * exp(sigma * N(0, 1))``; median > 0, sigma >= 0."""

    median: float
    sigma: float
    dist: ClassVar[str] = "lognormal"

    def __post_init__(self) -> None:
        where = self._check()
        if not (self.median > 0 and self.sigma >= 0):
            raise AssemblyError(f"{where}: lognormal weights need median > 0 and sigma >= 0, "
                                f"got median {self.median:g}, sigma {self.sigma:g}")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.median * np.exp(self.sigma * rng.standard_normal(n))


WeightDistribution = Union[Constant, Uniform, Normal, LogNormal]
_DIST_CLASSES: dict[str, type] = {c.dist: c for c in (Constant, Uniform, Normal, LogNormal)}


def _weight(raw: Any, where: str) -> WeightDistribution | None:
    """A connection's ``weight``: ``None`` for the motif port's own weight (``"port"``)."""
    if raw is None or (isinstance(raw, str) and raw == "port"):
        return None
    if isinstance(raw, _Distribution):
        return raw  # type: ignore[return-value]
    if is_num(raw):
        with _located(where):
            return Constant(check_num(raw, where, positive=True))
    if isinstance(raw, str):
        raise AssemblyError(f"{where}: expected a number > 0, 'port' or a distribution table, got {raw!r}")
    tbl = check_table(raw, where)
    dist = tbl.get("dist")
    if dist not in DISTRIBUTIONS:
        raise AssemblyError(f"{where}.dist: unknown distribution {dist!r} (expected one of "
                            f"{', '.join(DISTRIBUTIONS)})")
    cls = _DIST_CLASSES[dist]
    keys = tuple(f.name for f in fields(cls))
    check_unknown(tbl, ("dist",) + keys, where)
    for k in keys:
        if k not in tbl:
            raise AssemblyError(f"{where}.{k}: missing (a {dist} weight needs {', '.join(keys)})")
    with _located(where):
        return cls(**{k: tbl[k] for k in keys})


# ---------------------------------------------------------------------------- endpoints
@dataclass(frozen=True)
class Endpoint:
    """A set of neurons, or of a motif's input ports, named in a connection or the readout.

    Written ``MODULE``, ``MODULE.PORT`` or ``MODULE.PORT[INDEX]`` (e.g. ``"wta.out[0]"``,
    ``"inputs[0:32]"``), or as a table with ``copies`` to restrict the copies.

    Parameters
    ----------
    module : str
        A module name, or ``"inputs"`` (the network's input channels; sources only).
    port : str, optional
        ``all`` (default), ``in`` (a motif's input ports; targets only), ``out`` (its
        output ports), ``E`` or ``I`` (its excitatory / inhibitory neurons). A population's
        ``in`` and ``out`` are all its neurons.
    index : int, list of int or str, optional
        Selects within the port's per-copy list (applies to every copy): ``i``, ``[i, j]``,
        ``"i,j,k"`` or a slice ``"start:stop[:step]"``.
    copies : int, list of int or str, optional
        Selects copies, written like ``index``.

    The selected units are ordered copy by copy, then by port index.
    """

    module: str
    port: str | None = None
    index: int | Sequence[int] | str | None = None
    copies: int | Sequence[int] | str | None = None

    def __post_init__(self) -> None:
        where = _where(self)
        if not isinstance(self.module, str):
            raise AssemblyError(f"{join(where, 'module')}: expected a module name (or {INPUTS!r})")
        port = self.port
        if port is not None and not isinstance(port, str):
            raise AssemblyError(f"{join(where, 'port')}: expected one of {', '.join(PORTS)}, got {port!r}")
        if self.module == INPUTS:
            if port not in (None, "all"):
                raise AssemblyError(f"{where}: the network inputs have no port {port!r}")
            if self.copies is not None:
                raise AssemblyError(f"{join(where, 'copies')}: the network inputs have no copies")
        elif port is not None and port not in PORTS:
            raise AssemblyError(f"{where}: unknown port {port!r} of module {self.module!r} "
                                f"(expected one of {', '.join(PORTS)})")
        check_selector(self.index, where)
        check_selector(self.copies, join(where, "copies"))

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """``MODULE[.PORT][[INDEX]]`` as an endpoint."""
        where = _where(cls)
        m = _ENDPOINT_RE.match(text)
        if not m:
            raise AssemblyError(f"{where}: bad endpoint {text!r} (expected MODULE, MODULE.PORT or "
                                f"MODULE.PORT[INDEX], e.g. 'wta.out[0]' or 'inputs[0:32]')")
        ep = cls(m.group(1), m.group(2), m.group(3))
        _set(ep, "_text", text.strip())  # summaries label the endpoint as written
        return ep

    @classmethod
    def coerce(cls, raw: Any, where: str) -> Endpoint:
        """An endpoint from an :class:`Endpoint`, its string form or its table form."""
        if isinstance(raw, Endpoint):
            return raw
        with _located(where):
            if isinstance(raw, str):
                return cls.parse(raw)
            if isinstance(raw, dict):
                check_unknown(raw, ENDPOINT_KEYS, where)
                if not isinstance(raw.get("module"), str):
                    raise AssemblyError(f"{where}.module: expected a module name (or {INPUTS!r})")
                return cls(raw["module"], raw.get("port"), raw.get("index"), raw.get("copies"))
        raise AssemblyError(f"{where}: expected an endpoint string or table, got {raw!r}")

    @property
    def text(self) -> str:
        """The endpoint as written (string form), or composed from its fields."""
        given = self.__dict__.get("_text")
        if given is not None:
            return given
        return (self.module + (f".{self.port}" if self.port else "")
                + (f"[{self.index}]" if self.index is not None else "")
                + (f"@copies[{self.copies}]" if self.copies is not None else ""))

    def to_dict(self) -> str | dict:
        """The TOML form: a string, or a table when copies are selected."""
        if self.copies is None and (self.index is None or isinstance(self.index, str)):
            return self.text
        out: dict[str, Any] = {"module": self.module}
        for key in ("port", "index", "copies"):
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out


def _check_source(ep: Endpoint, where: str) -> None:
    if ep.module != INPUTS and ep.port == "in":
        raise AssemblyError(f"{where}: 'in' ports are targets only (a source is a neuron: all, out, E or I)")


# ---------------------------------------------------------------------------- modules
@dataclass(frozen=True, kw_only=True)
class Module:
    """A module: ``copies`` copies of one motif, or of a population of LIF neurons.

    Give exactly one of ``motif``, ``file`` and ``neurons``.

    Parameters
    ----------
    motif : str, int or Circuit, optional
        A named motif (``"winner-take-all"``), a motif library entry by id or name (looked
        up in the ``library`` given to :func:`~evo_circuits.assemble.assemble`, names
        there first), or a circuit object used as the motif.
    file : str or PathLike, optional
        A motif as circuit JSON (relative paths: against the spec's folder).
    neurons : int or dict, optional
        A population: a count (all of ``type``), or ``{"E": 80, "I": 20}`` (E first).
    type : {"E", "I"}, optional
        Type of a population given by a count (default ``"E"``).
    copies : int
        Number of copies (>= 1).
    top : int, optional
        With ``motif = "task:NAME"``: the module stands for the ``top`` best motifs
        evolved on task NAME, each its own module ``NAME_1`` … ``NAME_k`` (``motif =
        "task:NAME#i"``, every other setting alike); :class:`AssemblySpec` expands it and
        the connections and readout that name the module (see :meth:`ranked`).
    weight_scale : float
        Multiplies the motif's internal and input-port weights (> 0).
    psp_mv : float, optional
        Instead of ``weight_scale``: scale the motif's weights so that the median peak
        PSP of its excitatory synapses, on its neurons in the network (after ``params``),
        is this many mV (the operating-point rule of ``docs/assemble.md``).
    delays : {"round", "exact"}, optional
        Motif delays that are not whole steps of the network's ``dt_ms``: rounded half up
        (unset: with a one-line warning; ``"round"``: silently, the spec asked for it), or
        refused (``"exact"``).
    trainable : bool
        Whether the module's internal synapses are trainable (False: frozen).
    params : dict, optional
        Neuron parameter overrides for every neuron of the module, e.g. ``{"tau_m": 10.0}``.
    description : str, optional
    """

    motif: str | int | Circuit | None = None
    file: str | os.PathLike | None = None
    neurons: int | Mapping[str, int] | None = None
    type: str | None = None
    copies: int = 1
    top: int | None = None
    weight_scale: float = 1.0
    psp_mv: float | None = None
    delays: str | None = None
    trainable: bool = True
    params: Mapping[str, float] = field(default_factory=dict)
    description: str | None = None

    def __post_init__(self) -> None:
        where = _where(self)
        kinds = [k for k in ("motif", "file", "neurons") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise AssemblyError(f"{where}: give exactly one of motif, file or neurons"
                                + (f" (got {', '.join(kinds)})" if kinds else ""))
        if self.type is not None and self.neurons is None:
            raise AssemblyError(f"{where}.type: only a population (neurons = N) takes a type")
        _set(self, "copies", check_int(self.copies, f"{where}.copies", lo=1, default=1, hi=cap("neurons")))
        _set(self, "weight_scale", check_num(self.weight_scale, f"{where}.weight_scale", positive=True))
        _set(self, "trainable", check_bool(self.trainable, f"{where}.trainable", True))
        if self.psp_mv is not None:
            _set(self, "psp_mv", check_num(self.psp_mv, f"{where}.psp_mv", positive=True))
            if self.weight_scale != 1.0:
                raise AssemblyError(f"{where}.psp_mv: give weight_scale or psp_mv, not both")
            if self.neurons is not None:
                raise AssemblyError(f"{where}.psp_mv: only a motif or file module has weights to scale")
        if self.delays is not None and self.delays not in DELAY_MODES:
            raise AssemblyError(f"{where}.delays: expected one of {', '.join(DELAY_MODES)}, got {self.delays!r}")
        if self.motif is not None:
            m = self.motif
            if isinstance(m, Circuit):
                if m.n_neurons == 0:
                    raise AssemblyError(f"{where}.motif: the motif has no neurons")
            elif is_int(m):
                _set(self, "motif", int(m))
            elif isinstance(m, str) and m.strip():
                _set(self, "motif", m.strip())
            else:
                raise AssemblyError(f"{where}.motif: expected a motif name, a library id or a Circuit, got {m!r}")
        if self.top is not None:
            _set(self, "top", check_int(self.top, f"{where}.top", lo=1, hi=MAX_TOP))
            m = self.motif
            if not (isinstance(m, str) and m.startswith("task:") and "#" not in m):
                raise AssemblyError(f"{where}.top: only with motif = \"task:NAME\" (the top-k motifs evolved on task "
                                    f"NAME), got {'motif = ' + repr(m) if m is not None else 'a ' + self.kind + ' module'}")
        if self.file is not None and not isinstance(self.file, (str, os.PathLike)):
            raise AssemblyError(f"{where}.file: expected a path, got {self.file!r}")
        if self.neurons is not None:
            self.population_types()  # validates neurons and type
        params = check_table(self.params if self.params is not None else {}, f"{where}.params")
        for k, v in params.items():
            if k not in PARAM_INDEX:
                raise AssemblyError(f"{where}.params.{k}: unknown neuron parameter (expected one of: "
                                    f"{', '.join(NEURON_PARAMS)})")
        _set(self, "params", {k: check_num(v, f"{where}.params.{k}") for k, v in params.items()})
        if self.description is not None and not isinstance(self.description, str):
            raise AssemblyError(f"{where}.description: expected a string")

    def ranked(self, name: str) -> dict[str, Module]:
        """The modules a ``top = k`` module stands for: ``{NAME_i: motif "task:T#i"}``, i = 1 … k."""
        if self.top is None:
            return {name: self}
        return {f"{name}_{i}": replace(self, motif=f"{self.motif}#{i}", top=None) for i in range(1, self.top + 1)}

    @property
    def kind(self) -> str:
        """``"motif"``, ``"file"`` or ``"neurons"``: which of the three gives the module."""
        return next(k for k in ("motif", "file", "neurons") if getattr(self, k) is not None)

    def population_types(self) -> np.ndarray:
        """Neuron types (+1 E, -1 I) of one copy of a population."""
        where = _where(self)
        raw = self.neurons
        if is_int(raw):
            n = check_int(raw, f"{where}.neurons", lo=1, hi=cap("neurons"))
            t = "E" if self.type is None else self.type
            if t not in ("E", "I"):
                raise AssemblyError(f"{where}.type: expected 'E' or 'I', got {t!r}")
            return np.full(n, 1 if t == "E" else -1, np.int8)
        if isinstance(raw, Mapping):
            if self.type is not None:
                raise AssemblyError(f"{where}.type: not with neurons = {{E = .., I = ..}} (the table gives the types)")
            check_unknown(dict(raw), ("E", "I"), f"{where}.neurons")
            n_e = check_int(raw.get("E", 0), f"{where}.neurons.E", lo=0, hi=cap("neurons"))
            n_i = check_int(raw.get("I", 0), f"{where}.neurons.I", lo=0, hi=cap("neurons"))
            if n_e + n_i < 1:
                raise AssemblyError(f"{where}.neurons: a population needs at least one neuron")
            return np.array([1] * n_e + [-1] * n_i, np.int8)
        raise AssemblyError(f"{where}.neurons: expected a count or a table {{E = n, I = m}}, got {raw!r}")

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> Module:
        """A module from its TOML table ``[modules.NAME]`` (``where`` = ``"modules.NAME"``)."""
        table = check_table(raw, where)
        check_unknown(table, MODULE_KEYS, where)
        with _located(where):
            return cls(**table)

    def to_dict(self) -> dict:
        """The TOML table (defaults left out; a Circuit motif is written ``"circuit:NAME"``)."""
        out: dict[str, Any] = {}
        if isinstance(self.motif, Circuit):
            out["motif"] = f"circuit:{self.motif.name}" if self.motif.name else "circuit"
        elif self.motif is not None:
            out["motif"] = self.motif
        if self.file is not None:
            out["file"] = os.fspath(self.file)
        if self.neurons is not None:
            out["neurons"] = self.neurons if is_int(self.neurons) else dict(self.neurons)
        defaults = {"type": None, "copies": 1, "top": None, "weight_scale": 1.0, "psp_mv": None, "delays": None,
                    "trainable": True, "description": None}
        out.update({k: getattr(self, k) for k, d in defaults.items() if getattr(self, k) != d})
        if self.params:
            out["params"] = dict(self.params)
        return out


# ---------------------------------------------------------------------------- connections
@dataclass(frozen=True)
class Connection:
    """Synapses from one endpoint to another by a pattern (TOML: a ``[[connections]]`` table).

    Parameters
    ----------
    source, target : Endpoint, str or dict
        TOML ``from`` and ``to``. The target may be a motif's input ports (``M.in``): a
        synapse to port ``i`` stands for every synapse the motif's input channel ``i`` makes.
    pattern : str
        ``one-to-one``, ``all-to-all``, ``copy-to-copy``, ``recurrent`` or ``lateral``
        (:mod:`evo_circuits.assemble.patterns`).
    p : float, optional
        Each candidate (source, target) pair is connected with probability ``p`` in [0, 1]
        (default 1).
    fan_in : int, optional
        Instead of ``p``: every target unit gets exactly this many random sources.
    weight : float, "port", a distribution or its table, optional
        A number > 0 (:class:`Constant`), :class:`Uniform`, :class:`Normal`,
        :class:`LogNormal`, or ``"port"``/None: the motif input port's own weight times
        its ``weight_scale`` (only for ``M.in`` targets).
    delay_ms : float, optional
        Delay, a whole number of steps of the network's ``dt_ms`` (default: the port's, else 0).
    p_release : float, optional
        Release probability in (0, 1] (default: the port's, else 1).
    autapses : bool
        Allow a neuron to synapse onto itself.
    neighbours : int, optional
        ``lateral`` only: connect copies at most this far apart on a ring.
    grow : bool
        Mark the candidates that sampling did not pick as allowed growth.
    trainable : bool
        False freezes the synapses this connection makes.
    name : str, optional
        Label in summaries (default ``"FROM -> TO"``).
    """

    source: Endpoint
    target: Endpoint
    pattern: str
    p: float | None = None
    fan_in: int | None = None
    weight: WeightDistribution | None = None
    delay_ms: float | None = None
    p_release: float | None = None
    autapses: bool = False
    neighbours: int | None = None
    grow: bool = False
    trainable: bool = True
    name: str | None = None

    def __post_init__(self) -> None:
        where = _where(self)
        if self.pattern not in PATTERNS:
            raise AssemblyError(f"{where}.pattern: unknown pattern {self.pattern!r} (expected one of "
                                f"{', '.join(PATTERNS)})")
        src = Endpoint.coerce(self.source, f"{where}.from")
        tgt = Endpoint.coerce(self.target, f"{where}.to")
        _set(self, "source", src)
        _set(self, "target", tgt)
        _check_source(src, f"{where}.from")
        if tgt.module == INPUTS:
            raise AssemblyError(f"{where}.to: the network inputs cannot be a target")
        if self.pattern == "recurrent" and (src.module == INPUTS or src.module != tgt.module):
            raise AssemblyError(f"{where}.pattern: 'recurrent' connects a module to itself (copy c to copy c); "
                                "use 'copy-to-copy' between different modules")
        if self.p is not None and self.fan_in is not None:
            raise AssemblyError(f"{where}.fan_in: give p or fan_in, not both")
        if self.p is not None:
            p = check_num(self.p, f"{where}.p")
            if not 0 <= p <= 1:
                raise AssemblyError(f"{where}.p: expected a probability in [0, 1], got {p:g}")
            _set(self, "p", p)
        if self.fan_in is not None:
            if self.pattern == "one-to-one":
                raise AssemblyError(f"{where}.fan_in: not with one-to-one (each target has one source)")
            _set(self, "fan_in", check_int(self.fan_in, f"{where}.fan_in", lo=0))
        if self.neighbours is not None:
            if self.pattern != "lateral":
                raise AssemblyError(f"{where}.neighbours: only for the lateral pattern")
            _set(self, "neighbours", check_int(self.neighbours, f"{where}.neighbours", lo=1))
        _set(self, "weight", _weight(self.weight, f"{where}.weight"))
        if self.delay_ms is not None:
            _set(self, "delay_ms", check_num(self.delay_ms, f"{where}.delay_ms", nonneg=True))
        if self.p_release is not None:
            p_rel = check_num(self.p_release, f"{where}.p_release")
            if not 0 < p_rel <= 1:
                raise AssemblyError(f"{where}.p_release: expected a probability in (0, 1], got {p_rel:g}")
            _set(self, "p_release", p_rel)
        _set(self, "autapses", check_bool(self.autapses, f"{where}.autapses", False))
        _set(self, "grow", check_bool(self.grow, f"{where}.grow", False))
        _set(self, "trainable", check_bool(self.trainable, f"{where}.trainable", True))
        if self.name is not None and not isinstance(self.name, str):
            raise AssemblyError(f"{where}.name: expected a string, got {self.name!r}")

    @property
    def label(self) -> str:
        """``name``, or ``"FROM -> TO"``."""
        return self.name if self.name is not None else f"{self.source.text} -> {self.target.text}"

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> Connection:
        """A connection from its TOML table (``where`` = ``"connections[i]"``)."""
        table = check_table(raw, where)
        check_unknown(table, CONNECTION_KEYS, where)
        for k in ("from", "to", "pattern"):
            if k not in table:
                raise AssemblyError(f"{where}.{k}: missing")
        kw = {k: v for k, v in table.items() if k not in ("from", "to")}
        with _located(where):
            return cls(table["from"], table["to"], **kw)

    def to_dict(self) -> dict:
        """The TOML table (defaults left out)."""
        out: dict[str, Any] = {"from": self.source.to_dict(), "to": self.target.to_dict(), "pattern": self.pattern}
        if self.weight is not None:
            out["weight"] = self.weight.to_dict()
        defaults = {"p": None, "fan_in": None, "delay_ms": None, "p_release": None, "autapses": False,
                    "neighbours": None, "grow": False, "trainable": True, "name": None}
        out.update({k: getattr(self, k) for k, d in defaults.items() if getattr(self, k) != d})
        return out


# ---------------------------------------------------------------------------- the spec
def _ranked_modules(modules: Mapping[str, Module]) -> dict[str, list[str]]:
    """``{NAME: [NAME_1, ..., NAME_k]}`` of the ``top = k`` modules; a rank's name must be free."""
    ranks = {}
    for name, mod in modules.items():
        if mod.top is None:
            continue
        ranks[name] = list(mod.ranked(name))
        for i, rank_name in enumerate(ranks[name], 1):
            if rank_name in modules:
                raise AssemblyError(f"modules.{name}.top: rank {i} becomes module {rank_name!r}, which the spec "
                                    "already has (rename one)")
    return ranks


def _renamed(ep: Endpoint, module: str) -> Endpoint:
    """The endpoint on another module (keeping port, index, copies and the written form)."""
    if ep.module == module:
        return ep
    out = replace(ep, module=module)
    text = ep.__dict__.get("_text")
    if text is not None:
        _set(out, "_text", module + text[len(ep.module):])
    return out


def _ranked_connection(conn: Connection, ranks: Mapping[str, list[str]]) -> list[Connection]:
    """A connection naming ``top = k`` modules, once per ranked module (per pair; rank by rank to itself)."""
    src, tgt = conn.source.module, conn.target.module
    if src not in ranks and tgt not in ranks:
        return [conn]
    if src == tgt:
        pairs = [(m, m) for m in ranks[src]]
    else:
        pairs = [(s, t) for s in ranks.get(src, [src]) for t in ranks.get(tgt, [tgt])]
    return [replace(conn, source=_renamed(conn.source, s), target=_renamed(conn.target, t)) for s, t in pairs]


def _ranked_readout(readout: Any, ranks: Mapping[str, list[str]]) -> Any:
    """Readout entries naming ``top = k`` modules, once per ranked module."""
    if not isinstance(readout, (str, dict, Endpoint, list, tuple)):
        return readout  # _normalise_readout names the problem
    items = [readout] if isinstance(readout, (str, dict, Endpoint)) else list(readout)
    out = []
    for k, item in enumerate(items):
        ep = Endpoint.coerce(item, "readout" if len(items) == 1 else f"readout[{k}]")
        out.extend([_renamed(ep, m) for m in ranks[ep.module]] if ep.module in ranks else [ep])
    return out[0] if len(out) == 1 and len(items) == 1 else out


def _check_module_name(name: Any) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name == INPUTS:
        raise AssemblyError(f"modules.{name}: bad module name {name!r} (letters, digits, _ and -, not starting "
                            f"with a digit; {INPUTS!r} is reserved)")


@dataclass(frozen=True, kw_only=True)
class AssemblySpec:
    """A network made of modules and the connections between them.

    Parameters
    ----------
    modules : dict of str to Module (or Circuit)
        In neuron order: neurons are numbered module by module, copy by copy, and within a
        copy in the motif's own order. A Circuit value is shorthand for ``Module(motif=c)``.
        A module with ``top = k`` becomes its k ranked modules ``NAME_1`` … ``NAME_k`` in
        its place (:meth:`Module.ranked`); a connection naming it is repeated for each
        (in rank order; between two such modules for every pair, from one to itself rank
        by rank), and so is a readout entry — as if the spec had been written out.
    connections : sequence of Connection
        Applied in order; connection ``k`` draws from ``SeedSequence([seed, k])``.
    inputs : int or sequence of str
        Number of input channels, or their names.
    readout : Endpoint, str, dict or a list of them, optional
        Output neurons, in port order (default: the module ``readout`` if there is one).
    name : str, optional
        Circuit name (default ``"assembly"``).
    description : str, optional
        Copied to the circuit's metadata.
    dt_ms : float
        Time step of the network; motif delays are converted to it.
    synapse_model : {"current", "conductance"}
        Every motif must use the same model.
    seed : int
        Seed of connection sampling and weights (``assemble(seed=)`` overrides it).
    base_dir : Path, optional
        Folder against which relative ``file`` paths are resolved (default: the current
        directory; :meth:`from_toml` sets the spec's folder).
    """

    modules: Mapping[str, Module]
    connections: Sequence[Connection] = ()
    inputs: int | Sequence[str] = 0
    readout: Endpoint | Sequence[Endpoint] | None = None
    name: str | None = None
    description: str | None = None
    dt_ms: float = DEFAULT_DT_MS
    synapse_model: str = "current"
    seed: int = 0
    base_dir: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        where = _where(self)
        if self.name is not None and not isinstance(self.name, str):
            raise AssemblyError(f"{join(where, 'name')}: expected a string, got {self.name!r}")
        if self.description is not None and not isinstance(self.description, str):
            raise AssemblyError(f"{join(where, 'description')}: expected a string")
        _set(self, "dt_ms", check_num(self.dt_ms, join(where, "dt_ms"), positive=True))
        if self.synapse_model not in SYNAPSE_MODELS:
            raise AssemblyError(f"{join(where, 'synapse_model')}: expected one of {', '.join(SYNAPSE_MODELS)}, "
                                f"got {self.synapse_model!r}")
        _set(self, "seed", check_int(self.seed, join(where, "seed"), lo=0))
        raw_inputs = self.inputs
        if is_int(raw_inputs):
            _set(self, "inputs", check_int(raw_inputs, join(where, "inputs"), lo=0, hi=cap("inputs")))
        elif isinstance(raw_inputs, (list, tuple)) and all(isinstance(s, str) and s for s in raw_inputs):
            if len(set(raw_inputs)) != len(raw_inputs):
                raise AssemblyError(f"{join(where, 'inputs')}: an input name is listed twice")
            _set(self, "inputs", list(raw_inputs))
        else:
            raise AssemblyError(f"{join(where, 'inputs')}: expected a channel count or a list of channel names, "
                                f"got {raw_inputs!r}")
        if not isinstance(self.modules, Mapping) or not self.modules:
            raise AssemblyError("modules: missing (add at least one [modules.NAME] table)")
        modules = {}
        for name, mod in self.modules.items():
            _check_module_name(name)
            if isinstance(mod, Circuit):
                with _located(f"modules.{name}"):
                    mod = Module(motif=mod)
            if not isinstance(mod, Module):
                raise AssemblyError(f"modules.{name}: expected a Module or a Circuit, got {type(mod).__name__}")
            modules[name] = mod
        if not isinstance(self.connections, (list, tuple)) or not all(
                isinstance(c, Connection) for c in self.connections):
            raise AssemblyError(f"{join(where, 'connections')}: expected a list of Connection")
        ranks = _ranked_modules(modules)
        _set(self, "modules", {nm: m for name, mod in modules.items() for nm, m in mod.ranked(name).items()})
        _set(self, "connections", [c for conn in self.connections for c in _ranked_connection(conn, ranks)])
        if ranks and self.readout is not None:
            _set(self, "readout", _ranked_readout(self.readout, ranks))
        for ci, conn in enumerate(self.connections):
            cw = f"connections[{ci}]"
            self._check_endpoint(conn.source, f"{cw}.from")
            self._check_endpoint(conn.target, f"{cw}.to")
            if conn.delay_ms is not None:
                whole_steps(conn.delay_ms, self.dt_ms, f"{cw}.delay_ms")
        self._normalise_readout()

    def _check_endpoint(self, ep: Endpoint, where: str) -> None:
        if ep.module == INPUTS:
            if self.n_inputs == 0:
                raise AssemblyError(f"{where}: the network has no inputs (set inputs = N)")
        elif ep.module not in self.modules:
            raise AssemblyError(f"{where}: unknown module {ep.module!r} (modules: "
                                f"{', '.join(self.modules) or 'none'}; or {INPUTS!r})")

    def _normalise_readout(self) -> None:
        raw = self.readout
        if raw is None:
            return
        single = isinstance(raw, (str, dict, Endpoint))
        items = [raw] if single else raw
        if not isinstance(items, (list, tuple)) or not items:
            raise AssemblyError(f"readout: expected an endpoint or a list of endpoints, got {raw!r}")
        eps = []
        for k, item in enumerate(items):
            where = "readout" if single else f"readout[{k}]"
            ep = Endpoint.coerce(item, where)
            self._check_endpoint(ep, where)
            if ep.module == INPUTS:
                raise AssemblyError(f"{where}: input channels cannot be read out (choose neurons)")
            _check_source(ep, where)
            eps.append(ep)
        _set(self, "readout", eps[0] if single else eps)

    @property
    def n_inputs(self) -> int:
        """Number of input channels."""
        return self.inputs if isinstance(self.inputs, int) else len(self.inputs)

    @property
    def input_names(self) -> list[str]:
        """One name per input channel (``in0``, ``in1``, ... unless named)."""
        return [f"in{i}" for i in range(self.inputs)] if isinstance(self.inputs, int) else list(self.inputs)

    def readout_endpoints(self) -> list[tuple[str, Endpoint]]:
        """``(key, endpoint)`` of every readout entry; the module ``readout`` by default."""
        if self.readout is None:
            return [("readout", Endpoint("readout"))] if "readout" in self.modules else []
        if isinstance(self.readout, Endpoint):
            return [("readout", self.readout)]
        return [(f"readout[{k}]", ep) for k, ep in enumerate(self.readout)]

    @classmethod
    def from_dict(cls, raw: Any, *, base_dir: str | os.PathLike | None = None) -> AssemblySpec:
        """A spec from its dict form (as parsed from TOML; see ``docs/assemble.md``).

        The dict is not modified; it is kept as the record of the spec written into the
        assembled circuit's metadata.
        """
        spec = check_table(raw, "spec")
        check_unknown(spec, TOP_KEYS, "")
        raw_modules = check_table(spec.get("modules", {}), "modules")
        modules = {}
        for name, mraw in raw_modules.items():
            _check_module_name(name)
            modules[name] = Module.from_dict(mraw, f"modules.{name}")
        raw_conns = spec.get("connections", [])
        if not isinstance(raw_conns, list):
            raise AssemblyError("connections: expected an array of tables ([[connections]])")
        conns = [Connection.from_dict(c, f"connections[{ci}]") for ci, c in enumerate(raw_conns)]
        top = {k: v for k, v in spec.items() if k not in ("modules", "connections")}
        with _located(""):
            out = cls(modules=modules, connections=conns, base_dir=None if base_dir is None else Path(base_dir),
                      **top)
        _set(out, "_source", spec)
        return out

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> AssemblySpec:
        """Read and validate a TOML spec; relative ``file`` paths are taken from its folder."""
        return cls.from_dict(load_spec(path), base_dir=Path(path).parent)

    def to_dict(self) -> dict:
        """The dict (TOML) form: :meth:`from_dict` of it gives an equal spec (Circuit motifs aside)."""
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        if self.description is not None:
            out["description"] = self.description
        out.update(dt_ms=self.dt_ms, synapse_model=self.synapse_model, seed=self.seed, inputs=self.inputs)
        if isinstance(self.readout, Endpoint):
            out["readout"] = self.readout.to_dict()
        elif self.readout is not None:
            out["readout"] = [ep.to_dict() for ep in self.readout]
        out["modules"] = {name: m.to_dict() for name, m in self.modules.items()}
        out["connections"] = [c.to_dict() for c in self.connections]
        return out

    def record(self) -> dict:
        """The spec as written (the dict it was read from), else :meth:`to_dict`."""
        return self.__dict__.get("_source") or self.to_dict()
