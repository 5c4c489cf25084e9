"""The structure of an assembled network: masks, module membership, and its NPZ file.

:class:`Assembly` is what :func:`~evo_circuits.assemble.assemble` returns: the circuit plus
which synapses exist or may grow (``mask``), which are trainable, and which module, copy
and motif neuron every neuron is. The mask is stored as a table of entries
(:class:`MaskEntries`, memory proportional to synapses); the dense masks of small networks
are built from it on demand. :func:`load_structure` reads the NPZ written by
:meth:`Assembly.save_structure`; :func:`module_membership` reads the membership back from a
circuit's metadata.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..circuit import DENSE_MAX_ENTRIES, Circuit
from ..errors import CircuitError, FormatError
from ..io.atomic import save_npz
from ..io.files import load_npz

__all__ = ["STRUCTURE_VERSION", "SUMMARY_FORMAT", "Assembly", "MaskEntries", "load_structure", "module_membership"]

#: Format tag of :meth:`Assembly.to_dict` and of the structure NPZ.
SUMMARY_FORMAT = "evo-circuits/assembly"
STRUCTURE_VERSION = 1
#: Structure NPZ of networks too large for dense masks: the mask as entries.
SPARSE_STRUCTURE_VERSION = 2


class MaskEntries(NamedTuple):
    """The mask of an assembly as a table: one entry per synapse that exists or may grow.

    Sorted by (source row, post), rows as in :class:`~evo_circuits.circuit.Synapses`.
    """

    pre: np.ndarray        #: int64 source row
    post: np.ndarray       #: int64 postsynaptic neuron
    trainable: np.ndarray  #: bool: a trainer may change it
    delay: np.ndarray      #: int64 steps (a growth entry's would-be delay)
    p_release: np.ndarray  #: float64 (a growth entry's would-be release probability)
    motif: np.ndarray      #: bool: one of the motifs' own synapses (see ``Assembly.motif_synapses``)


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
    entries : MaskEntries
        Every synapse that exists or may grow (``grow = true`` connections), with whether
        it is trainable and its delay and release probability: those of the circuit for
        existing synapses, the connection's (or input port's) for growth entries.
    module : ndarray of int, shape (n_neurons,)
        Module index of every neuron (into ``module_names``).
    copy : ndarray of int, shape (n_neurons,)
        Copy index of every neuron within its module.
    local : ndarray of int, shape (n_neurons,)
        Index of every neuron within its copy (the motif's own neuron index).
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
    """

    circuit: Circuit
    entries: MaskEntries
    module: np.ndarray
    copy: np.ndarray
    local: np.ndarray
    module_names: list[str]
    input_names: list[str]
    readout: list[int]
    modules: list[dict] = field(default_factory=list)
    connections: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seed: int = 0
    delays_rounded: int = 0

    # Dense views of the entries (networks of at most DENSE_MAX_ENTRIES matrix entries),
    # shape of ``circuit.weights``: rows = sources, columns = neurons.
    @property
    def mask(self) -> np.ndarray:
        """Synapses that exist or may grow (bool)."""
        return self._dense("mask", False, np.ones(len(self.entries.pre), bool))

    @property
    def trainable(self) -> np.ndarray:
        """Entries a trainer may change; a subset of ``mask`` (bool)."""
        return self._dense("trainable", False, self.entries.trainable)

    @property
    def delays(self) -> np.ndarray:
        """Delay (steps) of every mask entry, 0 elsewhere. The circuit leaves growth
        entries at the defaults 0 and 1 (absent synapses are not stored in circuit JSON)."""
        return self._dense("delays", 0, self.entries.delay)

    @property
    def p_release(self) -> np.ndarray:
        """Release probability of every mask entry, 1 elsewhere."""
        return self._dense("p_release", 1.0, self.entries.p_release)

    @property
    def motif_synapses(self) -> np.ndarray:
        """The motifs' own synapses (bool, shape of ``mask``): those inside each copy, and
        those a connection to a motif's input ports made with the port's own weight and
        delay (``weight = "port"``) — the motif as it came, which the frozen-prior control
        of ``compare`` freezes."""
        return self._dense("motif_synapses", False, self.entries.motif)

    @property
    def exists(self) -> np.ndarray:
        """Synapses present now: ``circuit.weights > 0``."""
        return self.circuit.weights > 0

    @property
    def growable(self) -> np.ndarray:
        """Allowed-growth entries: in the mask but absent now."""
        return self.mask & ~self.exists

    @property
    def entry_exists(self) -> np.ndarray:
        """Per entry: whether it is a synapse of the circuit now (else a growth entry)."""
        s = self.circuit.synapses
        n = max(self.circuit.n_neurons, 1)
        have = s.pre.astype(np.int64) * n + s.post
        return np.isin(self.entries.pre * n + self.entries.post, have, assume_unique=True)

    def _dense(self, what: str, fill, values: np.ndarray) -> np.ndarray:
        rows, cols = self.circuit.dense_shape
        if rows * cols > DENSE_MAX_ENTRIES:
            raise CircuitError(f"{what}: the network is too large for dense masks ({rows:,} x {cols:,}); "
                               "use Assembly.entries")
        out = np.full((rows, cols), fill, np.asarray(values).dtype if what != "delays" else np.int64)
        out[self.entries.pre, self.entries.post] = values
        return out

    def neurons(self, module: str | int, copy: int | None = None) -> np.ndarray:
        """Indices of the neurons of one module (optionally one copy of it)."""
        m = self.module_names.index(module) if isinstance(module, str) else int(module)
        sel = self.module == m
        if copy is not None:
            sel &= self.copy == copy
        return np.flatnonzero(sel)

    def structure_arrays(self) -> dict[str, np.ndarray]:
        """The arrays written by :meth:`save_structure` (no object arrays).

        Version 1 (dense masks) for networks with dense views, else version 2 (the
        entries: ``entry_pre``, ``entry_post``, ``entry_trainable``, ``entry_exists``,
        ``entry_delay``, ``entry_p_release`` and the matrix ``shape``).
        """
        common = {
            "format": np.array(SUMMARY_FORMAT),
            "module": self.module.astype(np.int64), "copy": self.copy.astype(np.int64),
            "local": self.local.astype(np.int64), "readout": np.asarray(self.readout, np.int64),
            "module_names": np.array(self.module_names, dtype=str),
            "input_names": np.array(self.input_names, dtype=str),
        }
        rows, cols = self.circuit.dense_shape
        if rows * cols > DENSE_MAX_ENTRIES:
            e = self.entries
            return {**common, "version": np.array(SPARSE_STRUCTURE_VERSION), "shape": np.array([rows, cols], np.int64),
                    "entry_pre": e.pre.astype(np.int64), "entry_post": e.post.astype(np.int64),
                    "entry_trainable": e.trainable.astype(bool), "entry_exists": self.entry_exists,
                    "entry_delay": e.delay.astype(np.int64), "entry_p_release": e.p_release.astype(np.float64)}
        return {
            **common, "version": np.array(STRUCTURE_VERSION),
            "mask": self.mask, "trainable": self.trainable, "exists": self.exists,
            "delays": self.delays.astype(np.int64), "p_release": self.p_release.astype(np.float64),
        }

    def save_structure(self, path: str | os.PathLike) -> Path:
        """Write mask, trainable, module/copy/local membership and names as NPZ, atomically."""
        save_npz(path, **self.structure_arrays())
        return Path(path)

    def to_dict(self) -> dict:
        """A JSON-ready summary: sizes, modules, connections, mask counts, warnings."""
        c = self.circuit
        exists = self.entry_exists
        trainable = self.entries.trainable
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
            "n_input_synapses": int(np.count_nonzero(c.synapses.pre < c.n_inputs)),
            "readout": [int(i) for i in self.readout],
            "modules": self.modules,
            "connections": self.connections,
            "mask": {"shape": list(c.dense_shape), "existing": int(exists.sum()),
                     "growable": int((~exists).sum()), "trainable": int(trainable.sum()),
                     "frozen": int((exists & ~trainable).sum())},
            "delays_rounded": self.delays_rounded,
            "warnings": list(self.warnings),
        }


def load_structure(path: str | os.PathLike, circuit: Circuit | None = None) -> dict:
    """Read a structure NPZ written by :meth:`Assembly.save_structure`.

    Parameters
    ----------
    path : str or PathLike
    circuit : Circuit, optional
        If given, check that the arrays fit it (shapes, and that every synapse of the
        circuit is inside the mask).

    Returns
    -------
    dict
        ``mask``, ``trainable``, ``exists``, ``delays``, ``p_release``, ``module``, ``copy``,
        ``local``, ``readout``, ``module_names``, ``input_names``. The five matrices are
        dense arrays; for a network too large for dense matrices (more than
        :data:`evo_circuits.circuit.DENSE_MAX_ENTRIES` entries, a version-2 file) they are
        index arrays instead, in the forms :func:`evo_circuits.train.train` accepts:
        ``(pre, post)`` for the three masks, ``(pre, post, value)`` for ``delays`` and
        ``p_release``; ``shape`` then holds the matrix shape.
    """
    data = load_npz(path, "structure NPZ")
    fmt, version = data.get("format"), data.get("version")
    if fmt is None or fmt.shape != () or fmt.dtype.kind != "U" or str(fmt) != SUMMARY_FORMAT:
        raise FormatError(f"{path}: format: expected {SUMMARY_FORMAT!r} (is it a structure NPZ?)")
    if (version is None or version.shape != () or version.dtype.kind not in "iu"
            or int(version) not in (STRUCTURE_VERSION, SPARSE_STRUCTURE_VERSION)):
        raise FormatError(f"{path}: version: expected the integer {STRUCTURE_VERSION} or {SPARSE_STRUCTURE_VERSION}")
    if int(version) == SPARSE_STRUCTURE_VERSION:
        data.update(_from_entries(data, path))
    for k in ("mask", "trainable", "exists", "delays", "p_release", "module", "copy", "local", "readout",
              "module_names", "input_names"):
        if k not in data:
            raise FormatError(f"{path}: {k}: missing")
    indexed = isinstance(data["mask"], tuple)
    if not indexed:
        for k in ("mask", "trainable", "exists"):
            if data[k].dtype != bool or data[k].ndim != 2:
                raise FormatError(f"{path}: {k}: expected a 2-d bool array, got {data[k].dtype} {data[k].shape}")
    if circuit is not None:
        _check_fits(data, circuit, path, indexed)
    return data


def _check_fits(data: dict, circuit: Circuit, path, indexed: bool) -> None:
    """Shapes fit ``circuit`` and every synapse of it is inside the mask."""
    shape = circuit.dense_shape
    shapes = [("shape", tuple(int(x) for x in data["shape"]))] if indexed else \
        [(k, data[k].shape) for k in ("mask", "trainable", "exists", "delays", "p_release")]
    for k, got in shapes:
        if got != shape:
            raise FormatError(f"{path}: {k}: shape {got} does not fit the circuit ({shape})")
    if len(data["module"]) != circuit.n_neurons:
        raise FormatError(f"{path}: module: {len(data['module'])} entries for {circuit.n_neurons} neurons")
    s = circuit.synapses
    if indexed:  # entry indices as linear positions: membership without a dense matrix
        pre, post = data["mask"]
        inside = np.isin(s.pre.astype(np.int64) * shape[1] + s.post, pre * shape[1] + post)
    else:
        inside = data["mask"][s.pre, s.post]
    if not inside.all():
        raise FormatError(f"{path}: mask: the circuit has synapses outside the mask")


def _from_entries(data: dict[str, np.ndarray], path) -> dict:
    """The matrices of a version-2 structure NPZ (what the trainer reads): dense when the
    network has dense views, else index arrays (see :func:`load_structure`)."""
    keys = ("entry_pre", "entry_post", "entry_trainable", "entry_exists", "entry_delay", "entry_p_release")
    for k in ("shape", *keys):
        if k not in data:
            raise FormatError(f"{path}: {k}: missing")
    shape = data["shape"]
    if shape.shape != (2,) or shape.dtype.kind not in "iu" or (shape < 0).any():
        raise FormatError(f"{path}: shape: expected two integers >= 0")
    rows, cols = (int(x) for x in shape)
    e = [data[k] for k in keys]
    if any(a.ndim != 1 or a.shape != e[0].shape for a in e) or any(a.dtype.kind not in "iu" for a in e[:2]):
        raise FormatError(f"{path}: entry_*: expected 1-d arrays of equal length (integer indices)")
    if e[2].dtype != bool or e[3].dtype != bool or e[4].dtype.kind not in "iu" or e[5].dtype.kind != "f":
        raise FormatError(f"{path}: entry_trainable/entry_exists/entry_delay/entry_p_release: expected bool, bool, "
                          "integer and float arrays")
    if len(e[0]) and (e[0].min() < 0 or e[0].max() >= rows or e[1].min() < 0 or e[1].max() >= cols):
        raise FormatError(f"{path}: entry_pre/entry_post: an index is out of range of shape {rows} x {cols}")
    pre, post = e[0].astype(np.int64), e[1].astype(np.int64)
    trainable, exists = e[2].astype(bool), e[3].astype(bool)
    if rows * cols > DENSE_MAX_ENTRIES:
        return {"mask": (pre, post), "trainable": (pre[trainable], post[trainable]),
                "exists": (pre[exists], post[exists]), "delays": (pre, post, e[4].astype(np.int64)),
                "p_release": (pre, post, e[5].astype(np.float64))}
    out = {"mask": np.zeros((rows, cols), bool), "trainable": np.zeros((rows, cols), bool),
           "exists": np.zeros((rows, cols), bool), "delays": np.zeros((rows, cols), np.int64),
           "p_release": np.ones((rows, cols))}
    out["mask"][pre, post] = True
    for k, values in zip(("trainable", "exists", "delays", "p_release"), (trainable, exists, *e[4:])):
        out[k][pre, post] = values
    return out


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


