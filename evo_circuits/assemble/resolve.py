"""Resolve a :class:`~evo_circuits.assemble.spec.Module` into one prototype copy with ports.

The motif comes from a :class:`~evo_circuits.circuit.Circuit` object, a circuit file, the
motif library given to :func:`~evo_circuits.assemble.assemble` (by id or name), or the
named motifs; its delays are converted to the network's ``dt_ms`` and its input channels
become input ports (the synapses each channel makes, weights times ``weight_scale``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..circuit import MAX_DELAY_STEPS, Circuit
from ..errors import EvoCircuitsError
from ..io import IMPORT_CAPS, load
from ..model import EXCITATORY, INHIBITORY, PARAM_INDEX
from ..motifs.entry import MotifEntry
from ..motifs.library import MotifLibrary, MotifNotFound
from ..motifs.named import named_motifs
from .spec import AssemblySpec, Module
from .validate import AssemblyError

__all__ = ["ResolvedModule", "Syn", "psp_peak_per_mv", "resolve_module", "top_motifs"]


@dataclass
class Syn:
    """One synapse of an input port's fan-out (local post index within the copy)."""

    post: int
    weight: float | None
    delay: int | None
    p_release: float
    std_u: float
    std_tau_rec: float


@dataclass
class ResolvedModule:
    """One module ready to be placed: its prototype copy, ports and converted delays."""

    name: str
    kind: str  # "motif" | "population"
    source: str
    proto: Circuit  # one copy; populations: no synapses, no inputs
    copies: int
    weight_scale: float
    trainable: bool
    offset: int = 0
    in_ports: list[list[Syn]] = field(default_factory=list)
    delays: np.ndarray | None = None  # motifs: internal delays converted to network steps (dense, motif-sized)
    rounded: int = 0  # motif delays (per copy) rounded to the network's dt
    delay_note: str | None = None  # one line saying which delays were rounded

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


def _library_motif(key: int | str, where: str, library: MotifLibrary | None) -> tuple[Circuit, str] | None:
    """The library's motif ``key`` (id or name); None if a name is not there."""
    if library is None:
        if isinstance(key, int):
            raise AssemblyError(f"{where}: library id {key} needs a motif library (pass library= or --library)")
        return None
    try:
        return library.get(key), f"library:{key}"
    except MotifNotFound:
        if isinstance(key, int):
            raise AssemblyError(f"{where}: no motif with id {key} in the library {library.path}") from None
        return None


def top_motifs(library: MotifLibrary, task: str, k: int | None = None) -> list[MotifEntry]:
    """The library's motifs found on ``task``, best first: highest score, then most occurrences, then id."""
    entries = sorted(library.list(task=task), key=lambda e: (-(e.best_score if e.best_score is not None else -1e300),
                                                            -e.occurrences, e.id))
    return entries if k is None else entries[:k]


def _evolved_motif(key: str, where: str, library: MotifLibrary | None) -> tuple[Circuit, str]:
    """``task:NAME`` (the best motif evolved on task NAME) or ``task:NAME#k`` (the k-th best)."""
    task, _, rank_text = key[5:].partition("#")
    if not rank_text.strip():
        rank_text = "1"
    if not task or not rank_text.isdigit() or int(rank_text) < 1:
        raise AssemblyError(f"{where}: expected 'task:NAME' or 'task:NAME#k' (k >= 1), got {key!r}")
    if library is None:
        raise AssemblyError(f"{where}: {key!r} needs a motif library (pass library= or --library)")
    rank = int(rank_text)
    found = top_motifs(library, task)
    if len(found) < rank:
        raise AssemblyError(f"{where}: {key!r}: the library {library.path} holds {len(found)} motif(s) "
                            f"found on task {task!r}")
    entry = found[rank - 1]
    return library.get(entry.id), f"library:{entry.id} ({key}, score {entry.best_score})"


def psp_peak_per_mv(tau_e: np.ndarray, tau_m: np.ndarray) -> np.ndarray:
    """Peak depolarisation (mV) of a current-based synapse of weight 1 mV (``I_e`` jumps by 1).

    ``v(t) = tau_e / (tau_m - tau_e) (exp(-t/tau_m) - exp(-t/tau_e))``, peak at
    ``t* = tau_e tau_m ln(tau_m / tau_e) / (tau_m - tau_e)``; ``exp(-1)`` when the time
    constants are equal.
    """
    te, tm = np.asarray(tau_e, float), np.asarray(tau_m, float)
    same = np.isclose(te, tm)
    tm_ = np.where(same, tm * 1.000001, tm)
    t = te * tm_ * np.log(tm_ / te) / (tm_ - te)
    peak = te / (tm_ - te) * (np.exp(-t / tm_) - np.exp(-t / te))
    return np.where(same, np.exp(-1.0), peak)


def _psp_scale(proto: Circuit, psp_mv: float, where: str) -> float:
    """``weight_scale`` that gives the motif's excitatory synapses a median peak PSP of ``psp_mv``."""
    if proto.synapse_model != "current":
        raise AssemblyError(f"{where}.psp_mv: only for current-based motifs (this one is {proto.synapse_model})")
    exc_rows = np.concatenate([np.ones(proto.n_inputs, bool), proto.types > 0])
    w = np.where(exc_rows[:, None], proto.weights, 0.0)
    peak = psp_peak_per_mv(proto.params[:, PARAM_INDEX["tau_e"]], proto.params[:, PARAM_INDEX["tau_m"]])
    psps = (w * peak[None, :])[w > 0]
    if len(psps) == 0:
        raise AssemblyError(f"{where}.psp_mv: the motif has no excitatory synapse to scale")
    return float(psp_mv / np.median(psps))


def _convert_delays(proto: Circuit, dt: float, mode: str, where: str) -> tuple[np.ndarray, int, str | None]:
    """The motif's delays in steps of ``dt``, how many were rounded, and a one-line note if any.

    The rule: a delay keeps its length in ms where that is a whole number of steps;
    otherwise it is rounded half up (0.5 ms at 1 ms -> 1 step) — with a note unless
    ``mode`` is ``"round"`` — or, with ``mode = "exact"``, the motif is refused.
    """
    exact = proto.delays * (proto.dt_ms / dt)
    conv = np.floor(exact + 0.5 + 1e-9).astype(np.int64)
    present = proto.weights > 0
    off = present & (np.abs(exact - conv) > 1e-6)
    if (conv[present] > MAX_DELAY_STEPS).any():
        raise AssemblyError(f"{where}: a motif delay exceeds {MAX_DELAY_STEPS} steps of dt_ms = {dt:g}")
    if not off.any():
        return conv, 0, None
    pairs = sorted({(round(float(a) * proto.dt_ms, 6), int(b) * dt) for a, b in zip(proto.delays[off], conv[off])})
    shown = ", ".join(f"{a:g} -> {b:g}" for a, b in pairs[:4]) + (", ..." if len(pairs) > 4 else "")
    lost = len({a for a, _ in pairs}) - len({b for _, b in pairs})
    note = (f"{where}: {int(off.sum())} of {int(present.sum())} motif delays are not whole steps of dt_ms = {dt:g} "
            f"({shown} ms)" + (f", {lost} distinct delay(s) merged" if lost > 0 else ""))
    if mode == "exact":
        raise AssemblyError(f"{note}; delays = \"exact\" refuses them (use a smaller dt_ms or delays = \"round\")")
    # delays = "round" asked for the rounding: no warning then.
    return conv, int(off.sum()), None if mode == "round" else note + "; rounded half up"


def _motif(module: Module, where: str, library: MotifLibrary | None, base_dir: Path) -> tuple[Circuit, str]:
    """The motif circuit of a motif or file module, and a label of where it came from."""
    if module.file is not None:
        fpath = module.file
        full = Path(fpath) if Path(fpath).is_absolute() else base_dir / fpath
        if not full.is_file():
            raise AssemblyError(f"{where}.file: no such file {full}")
        try:
            return load(full, **IMPORT_CAPS), f"file:{fpath}"  # motifs are small circuits
        except EvoCircuitsError as exc:
            raise AssemblyError(f"{where}.file: {exc}") from None
    motif = module.motif
    if isinstance(motif, Circuit):
        return motif, f"circuit:{motif.name}" if motif.name else "circuit"
    assert isinstance(motif, (int, str))
    if isinstance(motif, str) and motif.startswith("task:"):
        return _evolved_motif(motif, f"{where}.motif", library)
    found = _library_motif(motif, f"{where}.motif", library)
    if found is not None:
        return found
    named = named_motifs()
    if motif in named:
        return named[motif], f"named:{motif}"
    where_lib = f" nor in the library {library.path}" if library is not None else ""
    raise AssemblyError(f"{where}.motif: unknown motif {motif!r} (not a named motif{where_lib}); "
                        f"named motifs: {', '.join(named)}")


def resolve_module(name: str, module: Module, spec: AssemblySpec, library: MotifLibrary | None) -> ResolvedModule:
    """One prototype copy of ``module`` in the network of ``spec``, with its ports.

    Raises
    ------
    AssemblyError
        Unknown motif, unreadable file, a synapse model or delay that does not fit the
        network, or parameter overrides the motif's neurons refuse (``modules.NAME...``).
    """
    where = f"modules.{name}"
    dt = spec.dt_ms
    if module.kind == "neurons":
        types = module.population_types()
        proto = Circuit(types=types, n_inputs=0, dt_ms=dt, synapse_model=spec.synapse_model,
                        outputs=list(range(len(types))), name=name)  # no synapses: no matrices either
        mod = ResolvedModule(name, "population", "population", proto, module.copies, module.weight_scale,
                             module.trainable)
        mod.in_ports = [[Syn(j, None, None, 1.0, 0.0, 0.0)] for j in range(len(types))]
    else:
        kind = module.kind
        proto, source = _motif(module, where, library, spec.base_dir or Path("."))
        if proto.n_neurons == 0:
            raise AssemblyError(f"{where}.{kind}: the motif has no neurons")
        if proto.synapse_model != spec.synapse_model:
            raise AssemblyError(f"{where}.{kind}: the motif uses the {proto.synapse_model} synapse model, "
                                f"the network {spec.synapse_model} (synapse_model)")
        proto = _with_params(proto, module, where)
        # The operating point is set on the neurons as they will be in the network (params).
        scale = module.weight_scale if module.psp_mv is None else _psp_scale(proto, module.psp_mv, where)
        mod = ResolvedModule(name, "motif", source, proto, module.copies, scale, module.trainable)
        conv, mod.rounded, mod.delay_note = _convert_delays(proto, dt, module.delays, where)
        n_in = proto.n_inputs
        mod.delays = conv[n_in:]
        for ch in range(n_in):
            posts = np.flatnonzero(proto.weights[ch] > 0)
            mod.in_ports.append([Syn(int(j), float(proto.weights[ch, j]) * scale, int(conv[ch, j]),
                                     float(proto.p_release[ch, j]), float(proto.std_u[ch, j]),
                                     float(proto.std_tau_rec[ch, j])) for j in posts])
    if module.kind == "neurons":
        mod.proto = _with_params(mod.proto, module, where)
    return mod


def _with_params(proto: Circuit, module: Module, where: str) -> Circuit:
    """The prototype with the module's neuron parameter overrides."""
    if not module.params:
        return proto
    params = proto.params.copy()
    for k, v in module.params.items():
        params[:, PARAM_INDEX[k]] = v
    try:
        return proto.replace(params=params)
    except EvoCircuitsError as exc:
        raise AssemblyError(f"{where}.params: {exc}") from None
