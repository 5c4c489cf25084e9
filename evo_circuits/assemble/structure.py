"""The structure of an assembled network: masks, module membership, and its NPZ file.

:class:`Assembly` is what :func:`~evo_circuits.assemble.assemble` returns: the circuit plus
which synapses exist or may grow (``mask``), which are trainable, and which module, copy
and motif neuron every neuron is. :func:`load_structure` reads the NPZ written by
:meth:`Assembly.save_structure`; :func:`module_membership` reads the membership back from a
circuit's metadata.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..circuit import Circuit
from ..errors import FormatError
from ..io.atomic import save_npz
from ..io.files import load_npz

__all__ = ["STRUCTURE_VERSION", "SUMMARY_FORMAT", "Assembly", "load_structure", "module_membership"]

#: Format tag of :meth:`Assembly.to_dict` and of the structure NPZ.
SUMMARY_FORMAT = "evo-circuits/assembly"
STRUCTURE_VERSION = 1


@dataclass(eq=False)
class Assembly:
    """An assembled network and its structure.

    Attributes
    ----------
    circuit : Circuit
        The network. ``circuit.metadata["assembly"]`` holds the module membership
        (``modules``, ``module``, ``copy``, ``local``), ``input_names`` and the spec, so
        tools reading only the circuit JSON can group neurons by module
        (:func:`module_membership`).
    mask : ndarray of bool, shape of ``circuit.weights``
        Synapses that exist (``weights > 0``) or may grow (``grow = true`` connections).
    trainable : ndarray of bool, same shape
        Entries a trainer may change; a subset of ``mask``.
    module : ndarray of int, shape (n_neurons,)
        Module index of every neuron (into ``module_names``).
    copy : ndarray of int, shape (n_neurons,)
        Copy index of every neuron within its module.
    local : ndarray of int, shape (n_neurons,)
        Index of every neuron within its copy (the motif's own neuron index).
    delays, p_release : ndarray, shape of ``circuit.weights``
        Delay (steps) and release probability of every mask entry: those of the circuit
        for existing synapses, the connection's (or input port's) for growth entries —
        which the circuit itself leaves at the defaults 0 and 1 (absent synapses are not
        stored in circuit JSON).
    module_names : list of str
        In spec order.
    input_names : list of str
        One per input channel.
    readout : list of int
        Output neurons, equal to ``circuit.outputs``.
    modules, connections : list of dict
        Per-module and per-connection summaries (see :meth:`to_dict`).
    warnings : list of str
        Things that are legal but probably unintended (unconnected motif input ports,
        neurons without any incoming synapse, no readout).
    seed : int
    delays_rounded : int
        Motif delays that were rounded to whole steps of the network's ``dt_ms``.
    motif_synapses : ndarray of bool or None
        The motifs' own synapses (shape of ``mask``): those inside each copy, and those a
        connection to a motif's input ports made with the port's own weight and delay
        (``weight = "port"``) — the motif as it came, which the frozen-prior control of
        ``compare`` freezes.
    """

    circuit: Circuit
    mask: np.ndarray
    trainable: np.ndarray
    module: np.ndarray
    copy: np.ndarray
    local: np.ndarray
    delays: np.ndarray
    p_release: np.ndarray
    module_names: list[str]
    input_names: list[str]
    readout: list[int]
    modules: list[dict] = field(default_factory=list)
    connections: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seed: int = 0
    delays_rounded: int = 0
    motif_synapses: np.ndarray | None = None

    @property
    def exists(self) -> np.ndarray:
        """Synapses present now: ``circuit.weights > 0``."""
        return self.circuit.weights > 0

    @property
    def growable(self) -> np.ndarray:
        """Allowed-growth entries: in the mask but absent now."""
        return self.mask & ~self.exists

    def neurons(self, module: str | int, copy: int | None = None) -> np.ndarray:
        """Indices of the neurons of one module (optionally one copy of it)."""
        m = self.module_names.index(module) if isinstance(module, str) else int(module)
        sel = self.module == m
        if copy is not None:
            sel &= self.copy == copy
        return np.flatnonzero(sel)

    def structure_arrays(self) -> dict[str, np.ndarray]:
        """The arrays written by :meth:`save_structure` (no object arrays)."""
        return {
            "format": np.array(SUMMARY_FORMAT), "version": np.array(STRUCTURE_VERSION),
            "mask": self.mask, "trainable": self.trainable, "exists": self.exists,
            "module": self.module.astype(np.int64), "copy": self.copy.astype(np.int64),
            "local": self.local.astype(np.int64), "readout": np.asarray(self.readout, np.int64),
            "delays": self.delays.astype(np.int64), "p_release": self.p_release.astype(np.float64),
            "module_names": np.array(self.module_names, dtype=str),
            "input_names": np.array(self.input_names, dtype=str),
        }

    def save_structure(self, path: str | os.PathLike) -> Path:
        """Write mask, trainable, module/copy/local membership and names as NPZ, atomically."""
        save_npz(path, **self.structure_arrays())
        return Path(path)

    def to_dict(self) -> dict:
        """A JSON-ready summary: sizes, modules, connections, mask counts, warnings."""
        c = self.circuit
        exists = self.exists
        return {
            "format": SUMMARY_FORMAT,
            "version": STRUCTURE_VERSION,
            "name": c.name,
            "dt_ms": c.dt_ms,
            "synapse_model": c.synapse_model,
            "seed": self.seed,
            "n_inputs": c.n_inputs,
            "n_neurons": c.n_neurons,
            "n_exc": c.n_exc,
            "n_inh": c.n_inh,
            "n_synapses": c.n_synapses,
            "n_input_synapses": int(np.count_nonzero(exists[:c.n_inputs])),
            "readout": [int(i) for i in self.readout],
            "modules": self.modules,
            "connections": self.connections,
            "mask": {"shape": list(self.mask.shape), "existing": int(exists.sum()),
                     "growable": int(self.growable.sum()), "trainable": int(self.trainable.sum()),
                     "frozen": int((exists & ~self.trainable).sum())},
            "delays_rounded": self.delays_rounded,
            "warnings": list(self.warnings),
        }


def load_structure(path: str | os.PathLike, circuit: Circuit | None = None) -> dict[str, np.ndarray]:
    """Read a structure NPZ written by :meth:`Assembly.save_structure`.

    Parameters
    ----------
    path : str or PathLike
    circuit : Circuit, optional
        If given, check that the arrays fit it (shapes, and that every synapse of the
        circuit is inside the mask).

    Returns
    -------
    dict of ndarray
        ``mask``, ``trainable``, ``exists``, ``delays``, ``p_release``, ``module``, ``copy``,
        ``local``, ``readout``, ``module_names``, ``input_names``.
    """
    data = load_npz(path, "structure NPZ")
    fmt, version = data.get("format"), data.get("version")
    if fmt is None or fmt.shape != () or fmt.dtype.kind != "U" or str(fmt) != SUMMARY_FORMAT:
        raise FormatError(f"{path}: format: expected {SUMMARY_FORMAT!r} (is it a structure NPZ?)")
    if version is None or version.shape != () or version.dtype.kind not in "iu" or int(version) != STRUCTURE_VERSION:
        raise FormatError(f"{path}: version: expected the integer {STRUCTURE_VERSION}")
    for k in ("mask", "trainable", "exists", "delays", "p_release", "module", "copy", "local", "readout",
              "module_names", "input_names"):
        if k not in data:
            raise FormatError(f"{path}: {k}: missing")
    for k in ("mask", "trainable", "exists"):
        if data[k].dtype != bool or data[k].ndim != 2:
            raise FormatError(f"{path}: {k}: expected a 2-d bool array, got {data[k].dtype} {data[k].shape}")
    if circuit is not None:
        shape = circuit.weights.shape
        for k in ("mask", "trainable", "exists", "delays", "p_release"):
            if data[k].shape != shape:
                raise FormatError(f"{path}: {k}: shape {data[k].shape} does not fit the circuit ({shape})")
        if len(data["module"]) != circuit.n_neurons:
            raise FormatError(f"{path}: module: {len(data['module'])} entries for {circuit.n_neurons} neurons")
        if ((circuit.weights > 0) & ~data["mask"]).any():
            raise FormatError(f"{path}: mask: the circuit has synapses outside the mask")
    return data


def module_membership(circuit: Circuit) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Module index, copy index and module names of every neuron, from circuit metadata.

    Works on any circuit: one that was not assembled is one module named after it.

    Returns
    -------
    module : ndarray of int, shape (n_neurons,)
    copy : ndarray of int, shape (n_neurons,)
    names : list of str
    """
    n = circuit.n_neurons
    meta = circuit.metadata.get("assembly") if isinstance(circuit.metadata, dict) else None
    if isinstance(meta, dict):
        try:
            names = [str(s) for s in meta["modules"]]
            module = np.asarray(meta["module"], np.int64)
            copy = np.asarray(meta.get("copy", [0] * n), np.int64)
            if module.shape == (n,) and copy.shape == (n,) and (n == 0 or (0 <= module.min() and module.max() < len(names))):
                return module, copy, names
        except (KeyError, TypeError, ValueError):
            pass
    return np.zeros(n, np.int64), np.zeros(n, np.int64), [circuit.name or "network"]


