"""Build one circuit from an assembly spec: resolve modules, place copies, apply patterns."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..circuit import Circuit, Synapses
from ..errors import EvoCircuitsError
from ..io.caps import cap
from ..model import EXCITATORY, INHIBITORY, NEURON_PARAMS
from ..motifs.library import MotifLibrary
from .patterns import Selection, candidates, select
from .resolve import ResolvedModule, Syn, resolve_module
from .spec import AssemblySpec, Connection
from .structure import Assembly, MaskEntries
from .validate import AssemblyError, is_int, whole_steps

__all__ = ["assemble"]

#: Columns of the builder's entry table and their defaults (those of an absent synapse).
_ENTRY_COLUMNS = {"row": np.int64, "post": np.int64, "weight": np.float64, "delay": np.int64,
                  "p_release": np.float64, "std_u": np.float64, "std_tau": np.float64, "trainable": np.bool_,
                  "origin": np.int64, "motif_own": np.bool_}
# origin: -2 none, -1 module internal, k connection k; motif_own: the motifs' own synapses
# (internal, and port fan-outs at the port's weight)
_ENTRY_DEFAULTS = {"row": 0, "post": 0, "weight": 0.0, "delay": 0, "p_release": 1.0, "std_u": 0.0, "std_tau": 0.0,
                   "trainable": False, "origin": -2, "motif_own": False}


class _Builder:
    """The network while modules are placed and connections applied.

    Synapses and growth entries are one growing table (``row``, ``post`` and their
    values, one entry each, looked up by ``row * n + post``): memory grows with the
    entries, not with ``(n_inputs + n) x n``. An entry with weight 0 is a growth entry.
    """

    def __init__(self, n_inputs: int, modules: list[ResolvedModule], dt: float) -> None:
        self.n_in = n_inputs
        self.modules = modules
        n = sum(m.copies * m.size for m in modules)
        if n > cap("neurons"):
            raise AssemblyError(f"modules: the network has {n:,} neurons, more than the cap of {cap('neurons'):,} "
                                "(EVO_CIRCUITS_MAX_NEURONS raises it)")
        self.n = n
        self.cols = {k: np.zeros(0, dt_) for k, dt_ in _ENTRY_COLUMNS.items()}
        self.m = 0
        self.index: dict[int, int] = {}
        self.types = np.zeros(n, np.int8)
        self.params = np.zeros((n, len(NEURON_PARAMS)))
        self.module = np.zeros(n, np.int64)
        self.copy = np.zeros(n, np.int64)
        self.local = np.zeros(n, np.int64)
        self.dt = dt

    def find(self, row: int, post: int) -> int | None:
        """The entry of (row, post), if any."""
        return self.index.get(row * self.n + post)

    def add(self, **values: np.ndarray) -> None:
        """Append entries (``row`` and ``post`` required; other columns default)."""
        k = len(values["row"])
        if self.m + k > len(self.cols["row"]):
            size = max(2 * len(self.cols["row"]), self.m + k, 64)
            for name, arr in self.cols.items():
                grown = np.full(size, _ENTRY_DEFAULTS[name], arr.dtype)
                grown[:self.m] = arr[:self.m]
                self.cols[name] = grown
        for name, arr in self.cols.items():
            arr[self.m:self.m + k] = values.get(name, _ENTRY_DEFAULTS[name])
        keys = np.asarray(values["row"], np.int64) * self.n + np.asarray(values["post"], np.int64)
        self.index.update(zip(keys.tolist(), range(self.m, self.m + k)))
        self.m += k

    def table(self) -> dict[str, np.ndarray]:
        """The entries sorted by (row, post)."""
        cols = {k: v[:self.m] for k, v in self.cols.items()}
        order = np.lexsort((cols["post"], cols["row"]))
        return {k: v[order] for k, v in cols.items()}

    def place_modules(self) -> None:
        for mi, mod in enumerate(self.modules):
            p, m = mod.proto, mod.size
            s = p.synapses
            internal = s.pre >= p.n_inputs
            pre, post = s.pre[internal].astype(np.int64) - p.n_inputs, s.post[internal].astype(np.int64)
            delays = mod.delays[pre, post] if mod.delays is not None else np.zeros(len(pre), np.int64)
            bases = mod.offset + m * np.arange(mod.copies, dtype=np.int64)
            sl = slice(mod.offset, mod.offset + mod.copies * m)
            self.types[sl] = np.tile(p.types, mod.copies)
            self.params[sl] = np.tile(p.params, (mod.copies, 1))
            self.module[sl] = mi
            self.copy[sl] = np.repeat(np.arange(mod.copies), m)
            self.local[sl] = np.tile(np.arange(m), mod.copies)
            if not len(pre):
                continue
            tile = lambda a: np.tile(a, mod.copies)  # noqa: E731  (copy-major, as placed copy by copy)
            self.add(row=(self.n_in + bases[:, None] + pre[None, :]).ravel(), post=(bases[:, None] + post[None, :]).ravel(),
                     weight=tile(s.weight[internal] * mod.weight_scale), delay=tile(delays),
                     p_release=tile(s.p_release[internal]), std_u=tile(s.std_u[internal]),
                     std_tau=tile(s.std_tau_rec[internal]), trainable=mod.trainable, origin=-1,
                     motif_own=mod.kind == "motif")

    def describe_row(self, row: int) -> str:
        if row < self.n_in:
            return f"inputs[{row}]"
        return self.describe_neuron(row - self.n_in)

    def describe_neuron(self, i: int) -> str:
        mod = self.modules[int(self.module[i])]
        return f"{mod.name}#{int(self.copy[i])}.n{int(self.local[i])}"

    def fanout(self, sel: Selection, unit: int) -> list[Syn]:
        """Synapses (absolute post index) that one target unit stands for."""
        mod = sel.module
        assert mod is not None
        if sel.port == "in" and mod.kind == "motif":
            n_ports = len(mod.in_ports)
            c, i = divmod(unit, n_ports)
            base = mod.offset + c * mod.size
            return [Syn(base + s.post, s.weight, s.delay, s.p_release, s.std_u, s.std_tau_rec)
                    for s in mod.in_ports[i]]
        return [Syn(unit, None, None, 1.0, 0.0, 0.0)]


def _connect(b: _Builder, ci: int, conn: Connection, modules: dict[str, ResolvedModule], seed: int) -> dict:
    """Apply connection ``ci``: sample its candidates, write synapses and growth entries."""
    where = f"connections[{ci}]"
    src = select(conn.source, f"{where}.from", modules, b.n_in)
    tgt = select(conn.target, f"{where}.to", modules, b.n_in)
    p = 1.0 if conn.p is None else conn.p
    fan_in = conn.fan_in
    delay = None if conn.delay_ms is None else whole_steps(conn.delay_ms, b.dt, f"{where}.delay_ms")
    p_rel = conn.p_release
    trainable = conn.trainable
    port_weights = conn.weight is None

    # Candidate units, with their fan-out; autapses removed before sampling.
    cand = []
    for a, k, unit in candidates(conn.pattern, src, tgt, where, conn.neighbours):
        row = a if src.module is None else b.n_in + a
        syns = b.fanout(tgt, unit)
        if not conn.autapses and row >= b.n_in:
            syns = [s for s in syns if s.post != row - b.n_in]
        if syns:
            cand.append((row, unit, syns))
    if port_weights:
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
    col = b.cols  # the table grows (and is reallocated) only through b.add
    for j, (row, unit, syns) in enumerate(cand):
        if not chosen[j]:
            if conn.grow:
                for s in syns:
                    if b.find(row, s.post) is None:
                        grown += 1
                        d = delay if delay is not None else (s.delay if s.delay is not None else 0)
                        b.add(row=[row], post=[s.post], delay=d, trainable=True,
                              p_release=p_rel if p_rel is not None else s.p_release)
            continue
        ws = np.array([s.weight for s in syns], float) if port_weights else conn.weight.sample(rng, len(syns))
        for s, w in zip(syns, ws):
            d = delay if delay is not None else (s.delay if s.delay is not None else 0)
            post = s.post
            e = b.find(row, post)
            col = b.cols
            if e is not None and col["weight"][e] > 0:
                if col["delay"][e] != d:
                    other = "a module's internal synapse" if col["origin"][e] == -1 else \
                        f"connections[{int(col['origin'][e])}]"
                    raise AssemblyError(
                        f"{where}: synapse {b.describe_row(row)} -> {b.describe_neuron(post)} already exists "
                        f"(from {other}) with delay {col['delay'][e] * b.dt:g} ms, this one has {d * b.dt:g} ms; "
                        "merged synapses need equal delays")
                col["weight"][e] += w
                col["trainable"][e] |= trainable
                merged += 1
                continue
            values = dict(weight=w, delay=d, p_release=p_rel if p_rel is not None else s.p_release, std_u=s.std_u,
                          std_tau=s.std_tau_rec, trainable=trainable, origin=ci, motif_own=port_weights)
            if e is None:
                b.add(row=[row], post=[post], **values)
            else:  # a growth entry becomes a synapse
                for name, value in values.items():
                    col[name][e] = value
            created += 1
    n_cand = len(cand)
    return {
        "index": ci, "name": conn.label, "from": src.text, "to": tgt.text, "pattern": conn.pattern,
        "p": p if fan_in is None else None, "fan_in": fan_in,
        "weight": "port" if port_weights else conn.weight.to_dict(),
        "candidates": n_cand, "chosen": int(chosen.sum()),
        "fraction": (float(chosen.sum()) / n_cand) if n_cand else None,
        "synapses": created, "merged": merged, "growable": grown, "trainable": trainable,
        "sign": _sign_label(b, src),
    }


def _sign_label(b: _Builder, sel: Selection) -> str:
    if sel.module is None:
        return "E"
    types = {int(b.types[u]) for g in sel.groups for u in g}
    return "E" if types == {EXCITATORY} else ("I" if types == {INHIBITORY} else "E/I")


def as_spec(spec: AssemblySpec | dict | str | os.PathLike) -> AssemblySpec:
    """An :class:`AssemblySpec` from itself, its dict form or the path of a TOML file."""
    if isinstance(spec, AssemblySpec):
        return spec
    if isinstance(spec, dict):
        return AssemblySpec.from_dict(spec)
    if isinstance(spec, (str, os.PathLike)):
        return AssemblySpec.from_toml(spec)
    raise AssemblyError(f"spec: expected an AssemblySpec, a dict or the path of a TOML file, "
                        f"got {type(spec).__name__}")


@contextmanager
def open_library(library: MotifLibrary | str | os.PathLike | None) -> Iterator[MotifLibrary | None]:
    """The motif library to look motifs up in: as given, or opened from a path (and closed after)."""
    if library is None or isinstance(library, MotifLibrary):
        yield library
        return
    if not isinstance(library, (str, os.PathLike)):
        raise AssemblyError(f"library: expected a MotifLibrary or the path of one, got {type(library).__name__}")
    if not Path(library).is_file():
        raise AssemblyError(f"library: {library}: no such motif library")
    lib = MotifLibrary(library)
    try:
        yield lib
    finally:
        lib.close()


def assemble(spec: AssemblySpec | dict | str | os.PathLike, *,
             library: MotifLibrary | str | os.PathLike | None = None, seed: int | None = None) -> Assembly:
    """Build one circuit from an assembly spec.

    Parameters
    ----------
    spec : AssemblySpec, dict, str or PathLike
        The spec (:class:`~evo_circuits.assemble.spec.AssemblySpec`), its dict form (as
        parsed from TOML) or the path of a TOML file; see ``docs/assemble.md``. Relative
        ``file`` paths are resolved against the spec's folder (the current directory for
        a dict, ``spec.base_dir`` for an AssemblySpec).
    library : MotifLibrary, str or PathLike, optional
        The motif library in which ``motif = <id or name>`` is looked up first (a path is
        opened for the call and closed after). Without one, library ids are refused and
        names must be named motifs: no default database is read.
    seed : int, optional
        Seed of the connection sampling and weights; default the spec's ``seed`` (0).

    Returns
    -------
    Assembly

    Raises
    ------
    AssemblyError
        If the spec is invalid; the message starts with the offending key, e.g.
        ``connections[2].p: expected a probability in [0, 1], got 1.5``.
    """
    spec = as_spec(spec)
    if seed is None:
        seed = spec.seed
    elif not is_int(seed) or seed < 0:
        raise AssemblyError(f"seed: expected an integer >= 0, got {seed!r}")
    seed = int(seed)
    n_in, dt = spec.n_inputs, spec.dt_ms

    modules: dict[str, ResolvedModule] = {}
    offset = 0
    with open_library(library) as lib:
        for mname, module in spec.modules.items():
            mod = resolve_module(mname, module, spec, lib)
            mod.offset = offset
            offset += mod.copies * mod.size
            modules[mname] = mod
    mods = list(modules.values())

    b = _Builder(n_in, mods, dt)
    b.place_modules()
    summaries = [_connect(b, ci, conn, modules, seed) for ci, conn in enumerate(spec.connections)]
    readout = _readout(spec, modules)
    warnings = _warnings(spec, modules, b, readout)

    name = spec.name if spec.name is not None else "assembly"
    module_names = list(modules)
    meta = {"assembly": {
        "spec_name": name, "modules": module_names, "module": b.module.tolist(), "copy": b.copy.tolist(),
        "local": b.local.tolist(), "input_names": spec.input_names, "seed": seed,
        "sources": {m.name: m.source for m in mods}, "spec": _jsonable(spec.record()),
    }}
    if spec.description is not None:
        meta["description"] = spec.description
    t = b.table()
    exists = t["weight"] > 0  # growth entries are not synapses of the circuit
    try:
        circuit = Circuit.adopt(b.types, n_in, Synapses(t["row"][exists], t["post"][exists], t["weight"][exists],
                                                        t["delay"][exists], t["p_release"][exists],
                                                        t["std_u"][exists], t["std_tau"][exists]),
                                params=b.params, outputs=readout, dt_ms=dt, synapse_model=spec.synapse_model,
                                name=name, metadata=meta)
    except EvoCircuitsError as exc:  # pragma: no cover - the builder keeps every field valid
        raise AssemblyError(f"assembled circuit is invalid: {exc}") from None

    internal_post = t["post"][t["origin"] == -1]
    module_info = []
    for mi, mod in enumerate(mods):
        idx = np.flatnonzero(b.module == mi)
        module_info.append({
            "name": mod.name, "kind": mod.kind, "source": mod.source, "copies": mod.copies,
            "neurons_per_copy": mod.size, "n_neurons": len(idx),
            "n_exc": int((b.types[idx] == EXCITATORY).sum()), "n_inh": int((b.types[idx] == INHIBITORY).sum()),
            "first": int(idx[0]), "stop": int(idx[-1]) + 1,
            "internal_synapses": int((b.module[internal_post] == mi).sum()),
            "in_ports": len(mod.in_ports) if mod.kind == "motif" else mod.size,
            "out_ports": [int(o) for o in mod.proto.outputs] if mod.kind == "motif" else "all",
            "weight_scale": mod.weight_scale,
            "trainable": mod.trainable,
        })
    entries = MaskEntries(t["row"], t["post"], t["trainable"], t["delay"], t["p_release"], t["motif_own"])
    return Assembly(circuit=circuit, entries=entries, module=b.module, copy=b.copy,
                    local=b.local, module_names=module_names, input_names=spec.input_names, readout=list(readout),
                    modules=module_info, connections=summaries, warnings=warnings, seed=seed,
                    delays_rounded=sum(m.rounded * m.copies for m in mods))


def _readout(spec: AssemblySpec, modules: dict[str, ResolvedModule]) -> list[int]:
    out: list[int] = []
    for where, ep in spec.readout_endpoints():
        for g in select(ep, where, modules, spec.n_inputs).groups:
            for u in g:
                if u in out:
                    raise AssemblyError(f"{where}: neuron {u} is read out twice")
                out.append(u)
    return out


def _warnings(spec: AssemblySpec, modules: dict[str, ResolvedModule], b: _Builder, readout: list[int]) -> list[str]:
    """Legal but probably unintended: silent motif input ports, neurons without input, no readout."""
    targeted: set[tuple[str, int]] = set()
    for ci, conn in enumerate(spec.connections):
        sel = select(conn.target, f"connections[{ci}].to", modules, spec.n_inputs)
        if sel.module is not None and sel.port == "in" and sel.module.kind == "motif":
            n_ports = len(sel.module.in_ports)
            targeted.update((sel.module.name, u % n_ports) for g in sel.groups for u in g)
    warnings = [mod.delay_note for mod in modules.values() if mod.delay_note]
    for mod in modules.values():
        if mod.kind == "motif" and mod.in_ports:
            missing = [i for i in range(len(mod.in_ports)) if (mod.name, i) not in targeted]
            if missing:
                warnings.append(f"modules.{mod.name}: input port(s) {missing} are not the target of any connection")
    cols = {k: v[:b.m] for k, v in b.cols.items()}
    no_in = np.flatnonzero(np.bincount(cols["post"][cols["weight"] > 0], minlength=b.n) == 0)
    if len(no_in):
        warnings.append(f"{len(no_in)} neuron(s) receive no synapse (e.g. {b.describe_neuron(int(no_in[0]))})")
    if not readout:
        warnings.append("readout: no output neurons (add readout = \"MODULE\" or a module named 'readout')")
    return warnings


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
