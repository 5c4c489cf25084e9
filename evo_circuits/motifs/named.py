"""Named canonical motifs shipped with the package (``evo_circuits/motifs/named/*.json``).

Each file is circuit JSON (see ``docs/formats.md``) of 2–8 neurons with weights and
delays that make it work in this model (a weight-w spike gives a ~0.157·w mV EPSP with the
default constants; the threshold is 15 mV above rest), and ``metadata`` holding
``description`` (one or two sentences), ``reference`` (literature) and ``labels`` (graph
node id such as ``"in0"``/``"n2"`` -> display name, for drawings).

All named motifs are pairwise distinct by :func:`~evo_circuits.motifs.canonical.canonical_label`
(unbinned), so :func:`match_named` returns at most one name.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import networkx as nx

from ..circuit import Circuit
from ..io import from_dict
from .canonical import canonical_label, motif_graph, same_graph

_PACKAGE = "evo_circuits.motifs"
_FOLDER = "named"


@lru_cache(maxsize=1)
def _load_all() -> dict[str, Circuit]:
    folder = resources.files(_PACKAGE).joinpath(_FOLDER)
    out: dict[str, Circuit] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            out[entry.name[:-len(".json")]] = from_dict(json.loads(entry.read_text(encoding="utf-8")))
    return out


def named_motifs() -> dict[str, Circuit]:
    """All named motifs, by name (the file stem, e.g. ``"feedforward-inhibition"``).

    Returns
    -------
    dict of str -> Circuit
        Fresh copies, sorted by name; callers may modify them.
    """
    return {name: c.copy() for name, c in _load_all().items()}


def named_motif(name: str) -> Circuit:
    """One named motif by name.

    Raises
    ------
    KeyError
        If there is no such motif; the message lists the known names.
    """
    motifs = _load_all()
    if name not in motifs:
        raise KeyError(f"no named motif {name!r}; known: {', '.join(motifs)}")
    return motifs[name].copy()


@lru_cache(maxsize=1)
def _label_index() -> dict[str, list[tuple[str, nx.DiGraph]]]:
    index: dict[str, list[tuple[str, nx.DiGraph]]] = {}
    for name, c in _load_all().items():
        index.setdefault(canonical_label(c), []).append((name, motif_graph(c)))
    return index


def match_named(circuit: Circuit) -> str | None:
    """Name of the named motif that ``circuit`` is isomorphic to, if any.

    Identity is structural (types, roles, signs; weights and delays ignored): the
    canonical label narrows the candidates and :func:`~evo_circuits.motifs.canonical.same_motif` confirms.

    Returns
    -------
    str or None
    """
    candidates = _label_index().get(canonical_label(circuit), [])
    if not candidates:
        return None
    g = motif_graph(circuit)
    return next((name for name, ng in candidates if same_graph(g, ng)), None)
