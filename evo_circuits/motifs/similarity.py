"""Naming by similarity: how a circuit relates to the named motifs.

Exact naming (:func:`~evo_circuits.motifs.named.match_named`) says nothing about an
evolved core that is a named motif minus one synapse. This module places a circuit
relative to every named motif on its coloured graph (:func:`~evo_circuits.motifs.
canonical.motif_graph`: node colours ``in``/``out:E``/``out:I``/``E``/``I``, edge colours
the synapse sign):

* ``is`` — isomorphic (distance 0);
* ``contained in`` — the circuit is the named motif with parts missing (a colour-
  preserving subgraph monomorphism of the circuit into the motif);
* ``contains`` — the named motif is part of the circuit (the other way round);
* ``near`` — neither, but within a small graph edit distance.

The distance is the graph edit distance on the coloured graphs with unit costs:
inserting or deleting a neuron, input or synapse costs 1, changing a neuron's colour
(type or role) or a synapse's sign costs 1. For ``contained in`` / ``contains`` it is
exactly the number of missing (extra) neurons, inputs and synapses, because that many
insertions are needed (a lower bound) and suffice (the embedding). For ``near`` it is
computed by networkx's exact search, bounded by ``max_distance`` and only for motifs
whose colour counts allow that distance (a cheap lower bound), so it stays fast for
motif-sized graphs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import networkx as nx
from networkx.algorithms import isomorphism as iso

from ..circuit import Circuit
from .canonical import motif_graph, same_graph
from .named import named_motifs

#: Default largest edit distance reported as ``near``.
MAX_DISTANCE = 3
#: Order of relations of equal distance (an exact relation says more than ``near``).
_KIND_ORDER = {"is": 0, "contained in": 1, "contains": 2, "near": 3}

_NODE_MATCH = iso.categorical_node_match("color", None)
_EDGE_MATCH = iso.categorical_edge_match("color", None)


@dataclass(frozen=True, order=False)
class Relation:
    """How a circuit relates to one named motif.

    Attributes
    ----------
    name : str
        The named motif.
    kind : {"is", "contained in", "contains", "near"}
    distance : int
        Graph edit distance between the coloured graphs.
    neurons, inputs, synapses : int
        For ``contained in``: how many of the named motif's parts the circuit lacks; for
        ``contains``: how many the circuit has beyond it; 0 otherwise.
    """

    name: str
    kind: str
    distance: int
    neurons: int = 0
    inputs: int = 0
    synapses: int = 0

    def describe(self) -> str:
        """One phrase: ``is X``, ``contained in X (missing 1 synapse)``, ``contains X (+2
        synapses)``, ``near X (edit distance 3)``."""
        if self.kind == "is":
            return f"is {self.name}"
        if self.kind == "near":
            return f"near {self.name} (edit distance {self.distance})"
        parts = [_count(n, word) for n, word in ((self.neurons, "neuron"), (self.inputs, "input"),
                                                   (self.synapses, "synapse")) if n]
        if self.kind == "contained in":
            return f"contained in {self.name} (missing {', '.join(parts)})"
        return f"contains {self.name} (+{', +'.join(parts)})"

    def to_dict(self) -> dict:
        """JSON-ready dict, with the :meth:`describe` phrase as ``text``."""
        return {"name": self.name, "kind": self.kind, "distance": self.distance, "neurons": self.neurons,
                "inputs": self.inputs, "synapses": self.synapses, "text": self.describe()}


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


@lru_cache(maxsize=1)
def _named_graphs() -> tuple[tuple[str, nx.DiGraph], ...]:
    return tuple((name, motif_graph(c)) for name, c in named_motifs().items())


def _named_graph(name: str) -> nx.DiGraph:
    for n, g in _named_graphs():
        if n == name:
            return g
    known = ", ".join(n for n, _ in _named_graphs())
    raise KeyError(f"no named motif {name!r}; known: {known}")


def _sizes(g: nx.DiGraph) -> tuple[int, int, int]:
    inputs = sum(1 for _, c in g.nodes(data="color") if c == "in")
    return g.number_of_nodes() - inputs, inputs, g.number_of_edges()


def _embeds(small: nx.DiGraph, big: nx.DiGraph) -> bool:
    """Is ``small`` a colour-preserving subgraph (monomorphism) of ``big``?"""
    if small.number_of_nodes() > big.number_of_nodes() or small.number_of_edges() > big.number_of_edges():
        return False
    return iso.DiGraphMatcher(big, small, node_match=_NODE_MATCH, edge_match=_EDGE_MATCH).subgraph_is_monomorphic()


def _lower_bound(a: nx.DiGraph, b: nx.DiGraph) -> int:
    """Cheap lower bound on the edit distance from colour histograms.

    A substitution fixes at most two units of histogram difference, an insertion or
    deletion one; and node (edge) counts differ by at least the count difference.
    """
    def part(ca: Counter, cb: Counter, na: int, nb: int) -> int:
        l1 = sum(((ca - cb) + (cb - ca)).values())
        return max(-(-l1 // 2), abs(na - nb))

    nodes = part(Counter(c for _, c in a.nodes(data="color")), Counter(c for _, c in b.nodes(data="color")),
                 a.number_of_nodes(), b.number_of_nodes())
    edges = part(Counter(c for *_, c in a.edges(data="color")), Counter(c for *_, c in b.edges(data="color")),
                 a.number_of_edges(), b.number_of_edges())
    return nodes + edges


def edit_distance(a: Circuit | nx.DiGraph, b: Circuit | nx.DiGraph, upper_bound: int | None = None) -> int | None:
    """Graph edit distance between two circuits' coloured graphs (unit costs, see module).

    Parameters
    ----------
    a, b : Circuit or motif graph
    upper_bound : int, optional
        Only distances up to this are searched; ``None`` is returned beyond it (much
        faster when most pairs are far apart).

    Returns
    -------
    int or None
    """
    ga = a if isinstance(a, nx.DiGraph) else motif_graph(a)
    gb = b if isinstance(b, nx.DiGraph) else motif_graph(b)
    low = _lower_bound(ga, gb)
    if upper_bound is not None and low > upper_bound:
        return None
    if low == 0 and same_graph(ga, gb):
        return 0
    for small, big in ((ga, gb), (gb, ga)):  # one inside the other: the lower bound is exact
        if _embeds(small, big):
            return sum(x - y for x, y in zip(_sizes(big), _sizes(small)))
    d = nx.graph_edit_distance(ga, gb, node_match=_NODE_MATCH, edge_match=_EDGE_MATCH,
                               upper_bound=None if upper_bound is None else upper_bound + 0.5)
    return None if d is None else int(round(d))


def relation(circuit: Circuit | nx.DiGraph, name: str, max_distance: int = MAX_DISTANCE) -> Relation | None:
    """How ``circuit`` relates to the named motif ``name``, or None if unrelated.

    ``contained in`` and ``contains`` are reported whatever their distance; ``near`` only
    up to ``max_distance``.
    """
    g = circuit if isinstance(circuit, nx.DiGraph) else motif_graph(circuit)
    ng = _named_graph(name)
    if _lower_bound(g, ng) == 0 and same_graph(g, ng):
        return Relation(name, "is", 0)
    for small, big, kind in ((g, ng, "contained in"), (ng, g, "contains")):
        if _embeds(small, big):
            n, i, s = (x - y for x, y in zip(_sizes(big), _sizes(small)))
            return Relation(name, kind, n + i + s, neurons=n, inputs=i, synapses=s)
    d = edit_distance(g, ng, upper_bound=max_distance)
    return None if d is None else Relation(name, "near", d)


def relations(circuit: Circuit | nx.DiGraph, max_distance: int = MAX_DISTANCE) -> list[Relation]:
    """Every named motif the circuit relates to, nearest first.

    Sorted by distance, then by kind (``is``, ``contained in``, ``contains``, ``near``),
    then by name.
    """
    g = circuit if isinstance(circuit, nx.DiGraph) else motif_graph(circuit)
    out = [r for name, _ in _named_graphs() if (r := relation(g, name, max_distance)) is not None]
    return sorted(out, key=lambda r: (r.distance, _KIND_ORDER[r.kind], r.name))


def nearest_named(circuit: Circuit | nx.DiGraph, max_distance: int = MAX_DISTANCE) -> Relation | None:
    """The nearest related named motif (see :func:`relations`), or None."""
    found = relations(circuit, max_distance)
    return found[0] if found else None


def within(circuit: Circuit | nx.DiGraph, name: str) -> bool:
    """Is the circuit the named motif or a part of it (``is`` / ``contained in``)?"""
    r = relation(circuit, name, max_distance=0)
    return r is not None and r.kind in ("is", "contained in")


def near(circuit: Circuit | nx.DiGraph, name: str, distance: int) -> Relation | None:
    """The relation to ``name`` if the edit distance is at most ``distance``, else None."""
    r = relation(circuit, name, max_distance=distance)
    return r if r is not None and r.distance <= distance else None
