"""Build one circuit from an assembly spec: resolve modules, place copies, apply patterns."""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..circuit import MAX_DELAY_STEPS, Circuit
from ..errors import EvoCircuitsError
from ..model import (
    DEFAULT_DT_MS,
    EXCITATORY,
    INHIBITORY,
    NEURON_PARAMS,
    PARAM_INDEX,
    SYNAPSE_MODELS,
)
from .structure import Assembly

__all__ = ["PATTERNS", "AssemblyError", "assemble", "load_spec"]

#: Connection patterns understood by :func:`assemble`.
PATTERNS = ("one-to-one", "all-to-all", "copy-to-copy", "recurrent", "lateral")
#: Port names of a module endpoint.
PORTS = ("all", "in", "out", "E", "I")
#: Reserved endpoint name of the network's input channels.
INPUTS = "inputs"
#: Weight distributions of a connection's ``weight`` table.
DISTRIBUTIONS = ("constant", "uniform", "normal", "lognormal")

_TOP_KEYS = ("name", "description", "dt_ms", "synapse_model", "seed", "inputs", "modules", "connections", "readout")
_MODULE_KEYS = ("motif", "file", "neurons", "type", "copies", "weight_scale", "trainable", "params", "description")
_CONN_KEYS = ("from", "to", "pattern", "p", "fan_in", "weight", "delay_ms", "p_release", "autapses", "neighbours",
              "grow", "trainable", "name")
_ENDPOINT_KEYS = ("module", "port", "index", "copies")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_ENDPOINT_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_\-]*)\s*(?:\.\s*([A-Za-z_]+))?\s*(?:\[([^\]]*)\])?\s*$")


class AssemblyError(EvoCircuitsError, ValueError):
    """An assembly spec is invalid; the message starts with the offending key."""


# ---------------------------------------------------------------------------- spec helpers
def load_spec(path: str | os.PathLike) -> dict:
    """Read a TOML assembly spec (not yet validated; :func:`assemble` validates)."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssemblyError(f"{path}: no such assembly spec") from None
    except IsADirectoryError:
        raise AssemblyError(f"{path}: is a directory, expected an assembly spec (TOML)") from None
    except UnicodeDecodeError:
        raise AssemblyError(f"{path}: not a text file (expected TOML)") from None
    except tomllib.TOMLDecodeError as exc:
        raise AssemblyError(f"{path}: not valid TOML ({exc})") from None


def _unknown(obj: dict, allowed: Sequence[str], where: str) -> None:
    for k in obj:
        if k not in allowed:
            prefix = f"{where}.{k}" if where else str(k)
            hint = (" — in TOML, top-level keys must come before the first [table]"
                    if where and k in _TOP_KEYS and k not in allowed else "")
            raise AssemblyError(f"{prefix}: unknown key (expected one of: {', '.join(allowed)}){hint}")


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _int(v: Any, where: str, lo: int | None = None, default: Any = None) -> int:
    if v is None:
        if default is None:
            raise AssemblyError(f"{where}: missing (expected an integer)")
        return default
    if not _is_int(v) or (lo is not None and v < lo):
        raise AssemblyError(f"{where}: expected an integer{f' >= {lo}' if lo is not None else ''}, got {v!r}")
    return int(v)


def _num(v: Any, where: str, *, positive: bool = False, nonneg: bool = False) -> float:
    if not _is_num(v) or not math.isfinite(float(v)):
        raise AssemblyError(f"{where}: expected a number, got {v!r}")
    v = float(v)
    if positive and not v > 0:
        raise AssemblyError(f"{where}: expected a number > 0, got {v:g}")
    if nonneg and not v >= 0:
        raise AssemblyError(f"{where}: expected a number >= 0, got {v:g}")
    return v


def _bool(v: Any, where: str, default: bool) -> bool:
    if v is None:
        return default
    if not isinstance(v, bool):
        raise AssemblyError(f"{where}: expected true or false, got {v!r}")
    return v


def _table(v: Any, where: str) -> dict:
    if not isinstance(v, dict):
        raise AssemblyError(f"{where}: expected a table, got {type(v).__name__}")
    return v


def _steps(delay_ms: float, dt: float, where: str) -> int:
    x = delay_ms / dt
    r = round(x)
    if abs(x - r) > 1e-6 * max(1.0, abs(x)):
        raise AssemblyError(f"{where}: {delay_ms:g} ms is not a whole number of steps of dt_ms = {dt:g}")
    if not 0 <= r <= MAX_DELAY_STEPS:
        raise AssemblyError(f"{where}: {delay_ms:g} ms is outside [0, {MAX_DELAY_STEPS * dt:g}] ms")
    return r


def _index_list(raw: Any, size: int, where: str, what: str) -> list[int]:
    """Resolve an index selector (int, list of int, "a:b[:c]", "i,j,k" or "" for all)."""
    if raw is None or (isinstance(raw, str) and raw.strip() in ("", ":")):
        return list(range(size))
    if _is_int(raw):
        items: list[int] = [int(raw)]
    elif isinstance(raw, list):
        if not all(_is_int(x) for x in raw):
            raise AssemblyError(f"{where}: expected integer {what} indices, got {raw!r}")
        items = [int(x) for x in raw]
    elif isinstance(raw, str):
        text = raw.strip()
        if ":" in text:
            parts = text.split(":")
            if len(parts) > 3:
                raise AssemblyError(f"{where}: bad slice {raw!r} (expected start:stop[:step])")
            try:
                vals = [int(p) if p.strip() else None for p in parts]
            except ValueError:
                raise AssemblyError(f"{where}: bad slice {raw!r} (expected start:stop[:step])") from None
            if len(vals) == 3 and vals[2] == 0:
                raise AssemblyError(f"{where}: slice step must not be 0")
            return list(range(size))[slice(*vals)]
        try:
            items = [int(p) for p in text.split(",")]
        except ValueError:
            raise AssemblyError(f"{where}: bad index {raw!r} (expected i, i,j,k or start:stop)") from None
    else:
        raise AssemblyError(f"{where}: expected an index, a list of indices or a slice string, got {raw!r}")
    out = []
    for i in items:
        if not -size <= i < size:
            raise AssemblyError(f"{where}: {what} index {i} out of range (there are {size})")
        out.append(i % size)
    if len(set(out)) != len(out):
        raise AssemblyError(f"{where}: {what} index listed twice in {raw!r}")
    return out


# ---------------------------------------------------------------------------- modules
@dataclass
class _Syn:
    """One synapse of an input port's fan-out (local post index within the copy)."""

    post: int
    weight: float | None
    delay: int | None
    p_release: float
    std_u: float
    std_tau_rec: float


@dataclass
class _Module:
    name: str
    kind: str  # "motif" | "population"
    source: str
    proto: Circuit  # one copy; populations: no synapses, no inputs
    copies: int
    weight_scale: float
    trainable: bool
    offset: int = 0
    in_ports: list[list[_Syn]] = field(default_factory=list)
    delays: np.ndarray | None = None  # internal delays converted to network steps
    rounded: int = 0  # motif delays (per copy) rounded to the network's dt

    @property
    def size(self) -> int:
        return self.proto.n_neurons

    def port_members(self, port: str) -> list[int]:
        """Local neuron indices (or in-port indices for ``in``) of a port, per copy."""
        p = self.proto
        if port == "all" or (self.kind == "population" and port in ("in", "out")):
            return list(range(p.n_neurons))
        if port == "in":
            return list(range(len(self.in_ports)))
        if port == "out":
            return [int(o) for o in p.outputs]
        code = EXCITATORY if port == "E" else INHIBITORY
        return [int(i) for i in np.flatnonzero(p.types == code)]


def _resolve_motif(raw: Any, where: str, library: Any) -> tuple[Circuit, str]:
    from ..motifs.named import named_motifs

    if _is_int(raw):
        if library is None:
            raise AssemblyError(f"{where}: library id {raw} needs a motif library (pass library= or --library)")
        from ..motifs.library import MotifNotFound

        try:
            return library.get(int(raw)), f"library:{int(raw)}"
        except MotifNotFound:
            raise AssemblyError(f"{where}: no motif with id {raw} in the library {library.path}") from None
    if not isinstance(raw, str) or not raw.strip():
        raise AssemblyError(f"{where}: expected a motif name or a library id, got {raw!r}")
    name = raw.strip()
    if library is not None:
        from ..motifs.library import MotifNotFound

        try:
            return library.get(name), f"library:{name}"
        except MotifNotFound:
            pass
    named = named_motifs()
    if name in named:
        return named[name], f"named:{name}"
    where_lib = f" nor in the library {library.path}" if library is not None else ""
    raise AssemblyError(f"{where}: unknown motif {name!r} (not a named motif{where_lib}); "
                        f"named motifs: {', '.join(named)}")


def _build_module(name: str, raw: Any, net: dict, library: Any, base_dir: Path) -> _Module:
    where = f"modules.{name}"
    if not _NAME_RE.match(name) or name == INPUTS:
        raise AssemblyError(f"{where}: bad module name {name!r} (letters, digits, _ and -, not starting "
                            f"with a digit; {INPUTS!r} is reserved)")
    spec = _table(raw, where)
    _unknown(spec, _MODULE_KEYS, where)
    kinds = [k for k in ("motif", "file", "neurons") if k in spec]
    if len(kinds) != 1:
        raise AssemblyError(f"{where}: give exactly one of motif, file or neurons"
                            + (f" (got {', '.join(kinds)})" if kinds else ""))
    kind = kinds[0]
    if "type" in spec and kind != "neurons":
        raise AssemblyError(f"{where}.type: only a population (neurons = N) takes a type")
    copies = _int(spec.get("copies"), f"{where}.copies", lo=1, default=1)
    scale = 1.0 if "weight_scale" not in spec else _num(spec["weight_scale"], f"{where}.weight_scale", positive=True)
    trainable = _bool(spec.get("trainable"), f"{where}.trainable", True)
    dt = net["dt_ms"]

    if kind == "neurons":
        types = _population_types(spec, where)
        proto = Circuit(types=types, n_inputs=0, weights=np.zeros((len(types), len(types))), dt_ms=dt,
                        synapse_model=net["synapse_model"], outputs=list(range(len(types))), name=name)
        mod = _Module(name, "population", "population", proto, copies, scale, trainable)
        mod.in_ports = [[_Syn(j, None, None, 1.0, 0.0, 0.0)] for j in range(len(types))]
        mod.delays = np.zeros((len(types), len(types)), np.int64)
    else:
        if kind == "motif":
            proto, source = _resolve_motif(spec["motif"], f"{where}.motif", library)
        else:
            fpath = spec["file"]
            if not isinstance(fpath, str):
                raise AssemblyError(f"{where}.file: expected a path, got {fpath!r}")
            full = Path(fpath) if Path(fpath).is_absolute() else base_dir / fpath
            from ..io import load

            if not full.is_file():
                raise AssemblyError(f"{where}.file: no such file {full}")
            try:
                proto = load(full)
            except EvoCircuitsError as exc:
                raise AssemblyError(f"{where}.file: {exc}") from None
            source = f"file:{fpath}"
        if proto.n_neurons == 0:
            raise AssemblyError(f"{where}.{kind}: the motif has no neurons")
        if proto.synapse_model != net["synapse_model"]:
            raise AssemblyError(f"{where}.{kind}: the motif uses the {proto.synapse_model} synapse model, "
                                f"the network {net['synapse_model']} (synapse_model)")
        mod = _Module(name, "motif", source, proto, copies, scale, trainable)
        factor = proto.dt_ms / dt
        exact = proto.delays * factor
        conv = np.floor(exact + 0.5 + 1e-9).astype(np.int64)
        present = proto.weights > 0
        mod.rounded = int(np.count_nonzero(present & (np.abs(exact - conv) > 1e-6)))
        if (conv[present] > MAX_DELAY_STEPS).any():
            raise AssemblyError(f"{where}.{kind}: a motif delay exceeds {MAX_DELAY_STEPS} steps of dt_ms = {dt:g}")
        n_in = proto.n_inputs
        mod.delays = conv[n_in:]
        for ch in range(n_in):
            posts = np.flatnonzero(proto.weights[ch] > 0)
            mod.in_ports.append([_Syn(int(j), float(proto.weights[ch, j]) * scale, int(conv[ch, j]),
                                      float(proto.p_release[ch, j]), float(proto.std_u[ch, j]),
                                      float(proto.std_tau_rec[ch, j])) for j in posts])
    params = proto.params.copy()
    if "params" in spec:
        over = _table(spec["params"], f"{where}.params")
        for k, v in over.items():
            if k not in PARAM_INDEX:
                raise AssemblyError(f"{where}.params.{k}: unknown neuron parameter (expected one of: "
                                    f"{', '.join(NEURON_PARAMS)})")
            params[:, PARAM_INDEX[k]] = _num(v, f"{where}.params.{k}")
    if "params" in spec:
        try:
            mod.proto = proto.replace(params=params)
        except EvoCircuitsError as exc:
            raise AssemblyError(f"{where}.params: {exc}") from None
    return mod


def _population_types(spec: dict, where: str) -> np.ndarray:
    raw = spec["neurons"]
    if _is_int(raw):
        n = _int(raw, f"{where}.neurons", lo=1)
        t = spec.get("type", "E")
        if t not in ("E", "I"):
            raise AssemblyError(f"{where}.type: expected 'E' or 'I', got {t!r}")
        return np.full(n, EXCITATORY if t == "E" else INHIBITORY, np.int8)
    if isinstance(raw, dict):
        if "type" in spec:
            raise AssemblyError(f"{where}.type: not with neurons = {{E = .., I = ..}} (the table gives the types)")
        _unknown(raw, ("E", "I"), f"{where}.neurons")
        n_e = _int(raw.get("E", 0), f"{where}.neurons.E", lo=0)
        n_i = _int(raw.get("I", 0), f"{where}.neurons.I", lo=0)
        if n_e + n_i < 1:
            raise AssemblyError(f"{where}.neurons: a population needs at least one neuron")
        return np.array([EXCITATORY] * n_e + [INHIBITORY] * n_i, np.int8)
    raise AssemblyError(f"{where}.neurons: expected a count or a table {{E = n, I = m}}, got {raw!r}")


# ---------------------------------------------------------------------------- endpoints
@dataclass
class _Endpoint:
    text: str
    module: _Module | None  # None: the network inputs
    port: str
    groups: list[list[int]]  # per selected copy: members (source rows, neuron indices or in-port ids)
    copies: list[int]


def _parse_endpoint(raw: Any, where: str) -> tuple[str, str | None, Any, Any]:
    if isinstance(raw, str):
        m = _ENDPOINT_RE.match(raw)
        if not m:
            raise AssemblyError(f"{where}: bad endpoint {raw!r} (expected MODULE, MODULE.PORT or "
                                f"MODULE.PORT[INDEX], e.g. 'wta.out[0]' or 'inputs[0:32]')")
        return m.group(1), m.group(2), m.group(3), None
    if isinstance(raw, dict):
        _unknown(raw, _ENDPOINT_KEYS, where)
        if not isinstance(raw.get("module"), str):
            raise AssemblyError(f"{where}.module: expected a module name (or 'inputs')")
        port = raw.get("port")
        if port is not None and not isinstance(port, str):
            raise AssemblyError(f"{where}.port: expected one of {', '.join(PORTS)}, got {port!r}")
        return raw["module"], port, raw.get("index"), raw.get("copies")
    raise AssemblyError(f"{where}: expected an endpoint string or table, got {raw!r}")


def _endpoint(raw: Any, where: str, modules: dict[str, _Module], n_inputs: int, *, target: bool) -> _Endpoint:
    name, port, index, copies = _parse_endpoint(raw, where)
    if isinstance(raw, str):
        text = raw.strip()
    else:
        text = name + (f".{port}" if port else "") + (f"[{index}]" if index is not None else "") \
            + (f"@copies[{copies}]" if copies is not None else "")
    if name == INPUTS:
        if target:
            raise AssemblyError(f"{where}: the network inputs cannot be a target")
        if port not in (None, "all"):
            raise AssemblyError(f"{where}: the network inputs have no port {port!r}")
        if copies is not None:
            raise AssemblyError(f"{where}.copies: the network inputs have no copies")
        if n_inputs == 0:
            raise AssemblyError(f"{where}: the network has no inputs (set inputs = N)")
        rows = _index_list(index, n_inputs, where, "input")
        return _Endpoint(text, None, "all", [rows], [0])
    if name not in modules:
        raise AssemblyError(f"{where}: unknown module {name!r} (modules: {', '.join(modules) or 'none'}; "
                            f"or {INPUTS!r})")
    mod = modules[name]
    port = port or "all"
    if port not in PORTS:
        raise AssemblyError(f"{where}: unknown port {port!r} of module {name!r} (expected one of {', '.join(PORTS)})")
    if port == "in" and not target:
        raise AssemblyError(f"{where}: 'in' ports are targets only (a source is a neuron: all, out, E or I)")
    members = mod.port_members(port)
    if not members:
        kind = "input ports" if port == "in" else ("output ports" if port == "out" else f"{port} neurons")
        raise AssemblyError(f"{where}: module {name!r} has no {kind}")
    what = {"in": "input port", "out": "output port"}.get(port, f"{port!r} neuron" if port != "all" else "neuron")
    sel = [members[i] for i in _index_list(index, len(members), where, what)]
    copy_ids = _index_list(copies, mod.copies, f"{where}.copies" if isinstance(raw, dict) else where, "copy")
    groups = []
    for c in copy_ids:
        base = mod.offset + c * mod.size
        if port == "in" and mod.kind == "motif":
            groups.append([c * len(mod.in_ports) + i for i in sel])  # in-port ids
        else:
            groups.append([base + i for i in sel])
    return _Endpoint(text, mod, port, groups, copy_ids)


# ---------------------------------------------------------------------------- weights
class _WeightSpec:
    def __init__(self, raw: Any, where: str) -> None:
        self.where = where
        self.port = raw is None or raw == "port"
        self.kind, self.args = "constant", (0.0,)
        if self.port:
            return
        if _is_num(raw):
            self.args = (_num(raw, where, positive=True),)
            return
        if isinstance(raw, str):
            raise AssemblyError(f"{where}: expected a number > 0, 'port' or a distribution table, got {raw!r}")
        tbl = _table(raw, where)
        dist = tbl.get("dist")
        if dist not in DISTRIBUTIONS:
            raise AssemblyError(f"{where}.dist: unknown distribution {dist!r} (expected one of "
                                f"{', '.join(DISTRIBUTIONS)})")
        keys = {"constant": ("value",), "uniform": ("low", "high"), "normal": ("mean", "std"),
                "lognormal": ("median", "sigma")}[dist]
        _unknown(tbl, ("dist",) + keys, where)
        vals = []
        for k in keys:
            if k not in tbl:
                raise AssemblyError(f"{where}.{k}: missing (a {dist} weight needs {', '.join(keys)})")
            vals.append(_num(tbl[k], f"{where}.{k}"))
        if dist == "constant" and not vals[0] > 0:
            raise AssemblyError(f"{where}.value: expected a number > 0, got {vals[0]:g}")
        if dist == "uniform" and not (0 <= vals[0] < vals[1]):
            raise AssemblyError(f"{where}: uniform weights need 0 <= low < high, got low {vals[0]:g}, high {vals[1]:g}")
        if dist == "normal" and not (vals[0] > 0 and vals[1] >= 0):
            raise AssemblyError(f"{where}: normal weights need mean > 0 and std >= 0 (truncated at 0), "
                                f"got mean {vals[0]:g}, std {vals[1]:g}")
        if dist == "lognormal" and not (vals[0] > 0 and vals[1] >= 0):
            raise AssemblyError(f"{where}: lognormal weights need median > 0 and sigma >= 0, "
                                f"got median {vals[0]:g}, sigma {vals[1]:g}")
        self.kind, self.args = dist, tuple(vals)

    def describe(self) -> Any:
        if self.port:
            return "port"
        if self.kind == "constant":
            return self.args[0]
        keys = {"uniform": ("low", "high"), "normal": ("mean", "std"), "lognormal": ("median", "sigma")}[self.kind]
        return {"dist": self.kind, **dict(zip(keys, self.args))}

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        a = self.args
        if self.kind == "constant":
            return np.full(n, a[0])
        if self.kind == "uniform":
            w = rng.uniform(a[0], a[1], n)
            return np.where(w > 0, w, a[1] * 1e-6)  # an exact 0 would be "no synapse"
        if self.kind == "lognormal":
            return a[0] * np.exp(a[1] * rng.standard_normal(n))
        w = rng.normal(a[0], a[1], n)  # normal, truncated at 0 by redrawing
        for _ in range(1000):
            bad = w <= 0
            if not bad.any():
                break
            w[bad] = rng.normal(a[0], a[1], int(bad.sum()))
        return np.where(w > 0, w, a[0])


# ---------------------------------------------------------------------------- assemble
class _Builder:
    def __init__(self, n_inputs: int, modules: list[_Module], dt: float, model: str) -> None:
        self.n_in = n_inputs
        self.modules = modules
        n = sum(m.copies * m.size for m in modules)
        self.n = n
        shape = (n_inputs + n, n)
        self.weights = np.zeros(shape)
        self.delays = np.zeros(shape, np.int64)
        self.p_release = np.ones(shape)
        self.std_u = np.zeros(shape)
        self.std_tau = np.zeros(shape)
        self.mask = np.zeros(shape, bool)
        self.trainable = np.zeros(shape, bool)
        self.origin = np.full(shape, -2, np.int64)  # -2 none, -1 module internal, k connection k
        self.types = np.zeros(n, np.int8)
        self.params = np.zeros((n, len(NEURON_PARAMS)))
        self.module = np.zeros(n, np.int64)
        self.copy = np.zeros(n, np.int64)
        self.local = np.zeros(n, np.int64)
        self.dt = dt
        self.model = model

    def place_modules(self) -> None:
        for mi, mod in enumerate(self.modules):
            p, m = mod.proto, mod.size
            internal = p.weights[p.n_inputs:]
            pre, post = np.nonzero(internal > 0)
            for c in range(mod.copies):
                base = mod.offset + c * m
                sl = slice(base, base + m)
                self.types[sl] = p.types
                self.params[sl] = p.params
                self.module[sl], self.copy[sl], self.local[sl] = mi, c, np.arange(m)
                rows, cols = self.n_in + base + pre, base + post
                self.weights[rows, cols] = internal[pre, post] * mod.weight_scale
                self.delays[rows, cols] = mod.delays[pre, post]
                self.p_release[rows, cols] = p.p_release[p.n_inputs + pre, post]
                self.std_u[rows, cols] = p.std_u[p.n_inputs + pre, post]
                self.std_tau[rows, cols] = p.std_tau_rec[p.n_inputs + pre, post]
                self.mask[rows, cols] = True
                self.trainable[rows, cols] = mod.trainable
                self.origin[rows, cols] = -1

    def describe_row(self, row: int) -> str:
        if row < self.n_in:
            return f"inputs[{row}]"
        return self.describe_neuron(row - self.n_in)

    def describe_neuron(self, i: int) -> str:
        mod = self.modules[int(self.module[i])]
        return f"{mod.name}#{int(self.copy[i])}.n{int(self.local[i])}"

    def fanout(self, ep: _Endpoint, unit: int) -> list[_Syn]:
        """Synapses (absolute post index) that one target unit stands for."""
        mod = ep.module
        assert mod is not None
        if ep.port == "in" and mod.kind == "motif":
            n_ports = len(mod.in_ports)
            c, i = divmod(unit, n_ports)
            base = mod.offset + c * mod.size
            return [_Syn(base + s.post, s.weight, s.delay, s.p_release, s.std_u, s.std_tau_rec)
                    for s in mod.in_ports[i]]
        return [_Syn(unit, None, None, 1.0, 0.0, 0.0)]


def _candidates(pattern: str, src: _Endpoint, tgt: _Endpoint, where: str,
                neighbours: int | None) -> list[tuple[int, int, int]]:
    """(source row or neuron, target copy position, target unit) triples, in a fixed order."""
    out: list[tuple[int, int, int]] = []
    if pattern == "one-to-one":
        s = [u for g in src.groups for u in g]
        t = [(k, u) for k, g in enumerate(tgt.groups) for u in g]
        if len(s) != len(t):
            raise AssemblyError(f"{where}.pattern: one-to-one needs equal sizes, but from = {src.text!r} has "
                                f"{len(s)} and to = {tgt.text!r} has {len(t)}")
        return [(a, k, b) for a, (k, b) in zip(s, t)]
    if pattern == "all-to-all":
        s = [u for g in src.groups for u in g]
        for k, g in enumerate(tgt.groups):
            for b in g:
                out.extend((a, k, b) for a in s)
        return out
    if len(src.groups) != len(tgt.groups):
        raise AssemblyError(f"{where}.pattern: {pattern} pairs copies, but from = {src.text!r} has "
                            f"{len(src.groups)} cop{'y' if len(src.groups) == 1 else 'ies'} and to = {tgt.text!r} "
                            f"has {len(tgt.groups)}")
    k = len(src.groups)
    if pattern in ("copy-to-copy", "recurrent"):
        for c in range(k):
            for b in tgt.groups[c]:
                out.extend((a, c, b) for a in src.groups[c])
        return out
    # lateral: copy a -> copy b != a, optionally only ring neighbours
    if k < 2:
        raise AssemblyError(f"{where}.pattern: lateral connects different copies, but {src.text!r} has one copy")
    for cb in range(k):
        for ca in range(k):
            if ca == cb:
                continue
            if neighbours is not None and min(abs(ca - cb), k - abs(ca - cb)) > neighbours:
                continue
            for b in tgt.groups[cb]:
                out.extend((a, cb, b) for a in src.groups[ca])
    return out


def _connect(b: _Builder, ci: int, raw: Any, modules: dict[str, _Module], seed: int) -> dict:
    where = f"connections[{ci}]"
    spec = _table(raw, where)
    _unknown(spec, _CONN_KEYS, where)
    for k in ("from", "to", "pattern"):
        if k not in spec:
            raise AssemblyError(f"{where}.{k}: missing")
    pattern = spec["pattern"]
    if pattern not in PATTERNS:
        raise AssemblyError(f"{where}.pattern: unknown pattern {pattern!r} (expected one of {', '.join(PATTERNS)})")
    src = _endpoint(spec["from"], f"{where}.from", modules, b.n_in, target=False)
    tgt = _endpoint(spec["to"], f"{where}.to", modules, b.n_in, target=True)
    if pattern == "recurrent" and (src.module is None or src.module is not tgt.module):
        raise AssemblyError(f"{where}.pattern: 'recurrent' connects a module to itself (copy c to copy c); "
                            "use 'copy-to-copy' between different modules")
    if "p" in spec and "fan_in" in spec:
        raise AssemblyError(f"{where}.fan_in: give p or fan_in, not both")
    p = 1.0
    if "p" in spec:
        p = _num(spec["p"], f"{where}.p")
        if not 0 <= p <= 1:
            raise AssemblyError(f"{where}.p: expected a probability in [0, 1], got {p:g}")
    fan_in = None
    if "fan_in" in spec:
        if pattern == "one-to-one":
            raise AssemblyError(f"{where}.fan_in: not with one-to-one (each target has one source)")
        fan_in = _int(spec["fan_in"], f"{where}.fan_in", lo=0)
    neighbours = None
    if "neighbours" in spec:
        if pattern != "lateral":
            raise AssemblyError(f"{where}.neighbours: only for the lateral pattern")
        neighbours = _int(spec["neighbours"], f"{where}.neighbours", lo=1)
    wspec = _WeightSpec(spec.get("weight"), f"{where}.weight")
    delay = None if "delay_ms" not in spec else _steps(
        _num(spec["delay_ms"], f"{where}.delay_ms", nonneg=True), b.dt, f"{where}.delay_ms")
    p_rel = None
    if "p_release" in spec:
        p_rel = _num(spec["p_release"], f"{where}.p_release")
        if not 0 < p_rel <= 1:
            raise AssemblyError(f"{where}.p_release: expected a probability in (0, 1], got {p_rel:g}")
    autapses = _bool(spec.get("autapses"), f"{where}.autapses", False)
    grow = _bool(spec.get("grow"), f"{where}.grow", False)
    trainable = _bool(spec.get("trainable"), f"{where}.trainable", True)
    label = spec.get("name", f"{src.text} -> {tgt.text}")
    if not isinstance(label, str):
        raise AssemblyError(f"{where}.name: expected a string, got {label!r}")

    # Candidate units, with their fan-out; autapses removed before sampling.
    cand = []
    for a, k, unit in _candidates(pattern, src, tgt, where, neighbours):
        row = a if src.module is None else b.n_in + a
        syns = b.fanout(tgt, unit)
        if not autapses and row >= b.n_in:
            syns = [s for s in syns if s.post != row - b.n_in]
        if syns:
            cand.append((row, unit, syns))
    if wspec.port:
        for row, unit, syns in cand:
            if any(s.weight is None for s in syns):
                raise AssemblyError(f"{where}.weight: missing (the target {tgt.text!r} is not a motif input "
                                    "port, so there is no port weight to use)")
    rng = np.random.default_rng(np.random.SeedSequence([seed, ci]))
    if fan_in is not None:
        by_unit: dict[int, list[int]] = {}
        for j, (_, unit, _) in enumerate(cand):
            by_unit.setdefault(unit, []).append(j)
        chosen = np.zeros(len(cand), bool)
        for unit, js in by_unit.items():
            if fan_in > len(js):
                raise AssemblyError(f"{where}.fan_in: {fan_in} exceeds the {len(js)} candidate source(s) of "
                                    f"target {b.describe_neuron(b.fanout(tgt, unit)[0].post)}")
            chosen[rng.choice(js, size=fan_in, replace=False)] = True
    else:
        chosen = rng.random(len(cand)) < p if p < 1 else np.ones(len(cand), bool)

    created = merged = grown = 0
    for j, (row, unit, syns) in enumerate(cand):
        if not chosen[j]:
            if grow:
                for s in syns:
                    if not b.mask[row, s.post]:
                        grown += 1
                        b.mask[row, s.post] = True
                        b.trainable[row, s.post] = True
                        if delay is not None:
                            b.delays[row, s.post] = delay
                        elif s.delay is not None:
                            b.delays[row, s.post] = s.delay
                        b.p_release[row, s.post] = p_rel if p_rel is not None else s.p_release
            continue
        ws = np.array([s.weight for s in syns], float) if wspec.port else wspec.sample(rng, len(syns))
        for s, w in zip(syns, ws):
            d = delay if delay is not None else (s.delay if s.delay is not None else 0)
            post = s.post
            if b.weights[row, post] > 0:
                if b.delays[row, post] != d:
                    other = "a module's internal synapse" if b.origin[row, post] == -1 else \
                        f"connections[{int(b.origin[row, post])}]"
                    raise AssemblyError(
                        f"{where}: synapse {b.describe_row(row)} -> {b.describe_neuron(post)} already exists "
                        f"(from {other}) with delay {b.delays[row, post] * b.dt:g} ms, this one has {d * b.dt:g} ms; "
                        "merged synapses need equal delays")
                b.weights[row, post] += w
                b.trainable[row, post] |= trainable
                merged += 1
                continue
            b.weights[row, post] = w
            b.delays[row, post] = d
            b.p_release[row, post] = p_rel if p_rel is not None else s.p_release
            b.std_u[row, post] = s.std_u
            b.std_tau[row, post] = s.std_tau_rec
            b.mask[row, post] = True
            b.trainable[row, post] = trainable
            b.origin[row, post] = ci
            created += 1
    n_cand = len(cand)
    return {
        "index": ci, "name": label, "from": src.text, "to": tgt.text, "pattern": pattern,
        "p": p if fan_in is None else None, "fan_in": fan_in, "weight": wspec.describe(),
        "candidates": n_cand, "chosen": int(chosen.sum()),
        "fraction": (float(chosen.sum()) / n_cand) if n_cand else None,
        "synapses": created, "merged": merged, "growable": grown, "trainable": trainable,
        "sign": _sign_label(b, src),
    }


def _sign_label(b: _Builder, ep: _Endpoint) -> str:
    if ep.module is None:
        return "E"
    types = {int(b.types[u]) for g in ep.groups for u in g}
    return "E" if types == {EXCITATORY} else ("I" if types == {INHIBITORY} else "E/I")


def assemble(spec: dict | str | os.PathLike, *, library: Any = None, seed: int | None = None) -> Assembly:
    """Build one circuit from an assembly spec.

    Parameters
    ----------
    spec : dict, str or PathLike
        The spec as a dict (as parsed from TOML) or the path of a TOML file; see
        ``docs/assemble.md``. Relative ``file =`` paths are resolved against the spec's
        folder (the current directory for a dict).
    library : MotifLibrary, optional
        Where ``motif = <id or name>`` is looked up first; named motifs are always
        available by name.
    seed : int, optional
        Seed of the connection sampling and weights; default the spec's ``seed``, else 0.

    Returns
    -------
    Assembly

    Raises
    ------
    AssemblyError
        If the spec is invalid; the message starts with the offending key, e.g.
        ``connections[2].p: expected a probability in [0, 1], got 1.5``.
    """
    base_dir = Path(".")
    if not isinstance(spec, dict):
        base_dir = Path(spec).parent
        spec = load_spec(spec)
    _unknown(spec, _TOP_KEYS, "")
    name = spec.get("name", "assembly")
    if not isinstance(name, str):
        raise AssemblyError(f"name: expected a string, got {name!r}")
    if "description" in spec and not isinstance(spec["description"], str):
        raise AssemblyError("description: expected a string")
    dt = DEFAULT_DT_MS if "dt_ms" not in spec else _num(spec["dt_ms"], "dt_ms", positive=True)
    model = spec.get("synapse_model", "current")
    if model not in SYNAPSE_MODELS:
        raise AssemblyError(f"synapse_model: expected one of {', '.join(SYNAPSE_MODELS)}, got {model!r}")
    if seed is None:
        seed = _int(spec.get("seed", 0), "seed", lo=0)
    elif not _is_int(seed) or seed < 0:
        raise AssemblyError(f"seed: expected an integer >= 0, got {seed!r}")
    seed = int(seed)

    raw_inputs = spec.get("inputs", 0)
    if _is_int(raw_inputs):
        n_in = _int(raw_inputs, "inputs", lo=0)
        input_names = [f"in{i}" for i in range(n_in)]
    elif isinstance(raw_inputs, list) and all(isinstance(s, str) and s for s in raw_inputs):
        input_names = list(raw_inputs)
        if len(set(input_names)) != len(input_names):
            raise AssemblyError("inputs: an input name is listed twice")
        n_in = len(input_names)
    else:
        raise AssemblyError(f"inputs: expected a channel count or a list of channel names, got {raw_inputs!r}")

    raw_modules = _table(spec.get("modules", {}), "modules")
    if not raw_modules:
        raise AssemblyError("modules: missing (add at least one [modules.NAME] table)")
    net = {"dt_ms": dt, "synapse_model": model}
    modules: dict[str, _Module] = {}
    offset = 0
    for mname, mraw in raw_modules.items():
        mod = _build_module(mname, mraw, net, library, base_dir)
        mod.offset = offset
        offset += mod.copies * mod.size
        modules[mname] = mod
    mods = list(modules.values())

    b = _Builder(n_in, mods, dt, model)
    b.place_modules()
    raw_conns = spec.get("connections", [])
    if not isinstance(raw_conns, list):
        raise AssemblyError("connections: expected an array of tables ([[connections]])")
    summaries = [_connect(b, ci, craw, modules, seed) for ci, craw in enumerate(raw_conns)]

    readout = _readout(spec, modules, n_in)

    warnings = []
    targeted = _targeted_in_ports(raw_conns, modules, n_in)
    for mod in mods:
        if mod.kind == "motif" and mod.in_ports:
            missing = [i for i in range(len(mod.in_ports)) if (mod.name, i) not in targeted]
            if missing:
                warnings.append(f"modules.{mod.name}: input port(s) {missing} are not the target of any connection")
    no_in = np.flatnonzero(~(b.weights > 0).any(axis=0))
    if len(no_in):
        warnings.append(f"{len(no_in)} neuron(s) receive no synapse (e.g. {b.describe_neuron(int(no_in[0]))})")
    if not readout:
        warnings.append("readout: no output neurons (add readout = \"MODULE\" or a module named 'readout')")

    module_names = list(modules)
    meta = {"assembly": {
        "spec_name": name, "modules": module_names, "module": b.module.tolist(), "copy": b.copy.tolist(),
        "local": b.local.tolist(), "input_names": input_names, "seed": seed,
        "sources": {m.name: m.source for m in mods}, "spec": _jsonable(spec),
    }}
    if "description" in spec:
        meta["description"] = spec["description"]
    try:
        exists = b.weights > 0  # absent entries keep the defaults, so circuit JSON round-trips exactly
        circuit = Circuit(types=b.types, n_inputs=n_in, weights=b.weights, delays=np.where(exists, b.delays, 0),
                          p_release=np.where(exists, b.p_release, 1.0),
                          std_u=b.std_u, std_tau_rec=b.std_tau, params=b.params, outputs=readout, dt_ms=dt,
                          synapse_model=model, name=name, metadata=meta)
    except EvoCircuitsError as exc:  # pragma: no cover - the builder keeps every field valid
        raise AssemblyError(f"assembled circuit is invalid: {exc}") from None

    module_info = []
    for mi, mod in enumerate(mods):
        idx = np.flatnonzero(b.module == mi)
        module_info.append({
            "name": mod.name, "kind": mod.kind, "source": mod.source, "copies": mod.copies,
            "neurons_per_copy": mod.size, "n_neurons": len(idx),
            "n_exc": int((b.types[idx] == EXCITATORY).sum()), "n_inh": int((b.types[idx] == INHIBITORY).sum()),
            "first": int(idx[0]), "stop": int(idx[-1]) + 1,
            "internal_synapses": int((b.origin == -1)[:, idx][n_in + idx].sum()),
            "in_ports": len(mod.in_ports) if mod.kind == "motif" else mod.size,
            "out_ports": [int(o) for o in mod.proto.outputs] if mod.kind == "motif" else "all",
            "weight_scale": mod.weight_scale,
            "trainable": mod.trainable,
        })
    return Assembly(circuit=circuit, mask=b.mask, trainable=b.trainable & b.mask, module=b.module, copy=b.copy,
                    local=b.local, delays=np.where(b.mask, b.delays, 0), p_release=np.where(b.mask, b.p_release, 1.0), module_names=module_names, input_names=input_names, readout=list(readout),
                    modules=module_info, connections=summaries, warnings=warnings, seed=seed,
                    delays_rounded=sum(m.rounded * m.copies for m in mods))


def _readout(spec: dict, modules: dict[str, _Module], n_in: int) -> list[int]:
    raw = spec.get("readout")
    if raw is None:
        if "readout" in modules:
            raw = "readout"
        else:
            return []
    items = [raw] if isinstance(raw, (str, dict)) else raw
    if not isinstance(items, list) or not items:
        raise AssemblyError(f"readout: expected an endpoint or a list of endpoints, got {raw!r}")
    out: list[int] = []
    for k, item in enumerate(items):
        where = "readout" if items is not raw else f"readout[{k}]"
        ep = _endpoint(item, where, modules, n_in, target=False)
        if ep.module is None:
            raise AssemblyError(f"{where}: input channels cannot be read out (choose neurons)")
        for g in ep.groups:
            for u in g:
                if u in out:
                    raise AssemblyError(f"{where}: neuron {u} is read out twice")
                out.append(u)
    return out


def _targeted_in_ports(raw_conns: list, modules: dict[str, _Module], n_in: int) -> set[tuple[str, int]]:
    hit: set[tuple[str, int]] = set()
    for ci, raw in enumerate(raw_conns):
        ep = _endpoint(raw["to"], f"connections[{ci}].to", modules, n_in, target=True)
        if ep.module is not None and ep.port == "in" and ep.module.kind == "motif":
            n_ports = len(ep.module.in_ports)
            hit.update((ep.module.name, u % n_ports) for g in ep.groups for u in g)
    return hit


def _jsonable(value: Any) -> Any:
    """The spec with TOML-only values (dates, times) turned into strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
