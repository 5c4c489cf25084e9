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
from ..io import load
from ..model import EXCITATORY, INHIBITORY, PARAM_INDEX
from ..motifs.library import MotifLibrary, MotifNotFound
from ..motifs.named import named_motifs
from .spec import AssemblySpec, Module
from .validate import AssemblyError

__all__ = ["ResolvedModule", "Syn", "resolve_module"]


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


def _motif(module: Module, where: str, library: MotifLibrary | None, base_dir: Path) -> tuple[Circuit, str]:
    """The motif circuit of a motif or file module, and a label of where it came from."""
    if module.file is not None:
        fpath = module.file
        full = Path(fpath) if Path(fpath).is_absolute() else base_dir / fpath
        if not full.is_file():
            raise AssemblyError(f"{where}.file: no such file {full}")
        try:
            return load(full), f"file:{fpath}"
        except EvoCircuitsError as exc:
            raise AssemblyError(f"{where}.file: {exc}") from None
    motif = module.motif
    if isinstance(motif, Circuit):
        return motif, f"circuit:{motif.name}" if motif.name else "circuit"
    assert isinstance(motif, (int, str))
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
        proto = Circuit(types=types, n_inputs=0, weights=np.zeros((len(types), len(types))), dt_ms=dt,
                        synapse_model=spec.synapse_model, outputs=list(range(len(types))), name=name)
        mod = ResolvedModule(name, "population", "population", proto, module.copies, module.weight_scale,
                             module.trainable)
        mod.in_ports = [[Syn(j, None, None, 1.0, 0.0, 0.0)] for j in range(len(types))]
        mod.delays = np.zeros((len(types), len(types)), np.int64)
    else:
        kind = module.kind
        proto, source = _motif(module, where, library, spec.base_dir or Path("."))
        if proto.n_neurons == 0:
            raise AssemblyError(f"{where}.{kind}: the motif has no neurons")
        if proto.synapse_model != spec.synapse_model:
            raise AssemblyError(f"{where}.{kind}: the motif uses the {proto.synapse_model} synapse model, "
                                f"the network {spec.synapse_model} (synapse_model)")
        scale = module.weight_scale
        mod = ResolvedModule(name, "motif", source, proto, module.copies, scale, module.trainable)
        factor = proto.dt_ms / dt
        exact = proto.delays * factor
        conv = np.floor(exact + 0.5 + 1e-9).astype(np.int64)  # half up: 0.5 ms at 1 ms -> 1 step
        present = proto.weights > 0
        mod.rounded = int(np.count_nonzero(present & (np.abs(exact - conv) > 1e-6)))
        if (conv[present] > MAX_DELAY_STEPS).any():
            raise AssemblyError(f"{where}.{kind}: a motif delay exceeds {MAX_DELAY_STEPS} steps of dt_ms = {dt:g}")
        n_in = proto.n_inputs
        mod.delays = conv[n_in:]
        for ch in range(n_in):
            posts = np.flatnonzero(proto.weights[ch] > 0)
            mod.in_ports.append([Syn(int(j), float(proto.weights[ch, j]) * scale, int(conv[ch, j]),
                                     float(proto.p_release[ch, j]), float(proto.std_u[ch, j]),
                                     float(proto.std_tau_rec[ch, j])) for j in posts])
    if module.params:
        params = mod.proto.params.copy()
        for k, v in module.params.items():
            params[:, PARAM_INDEX[k]] = v
        try:
            mod.proto = mod.proto.replace(params=params)
        except EvoCircuitsError as exc:
            raise AssemblyError(f"{where}.params: {exc}") from None
    return mod
