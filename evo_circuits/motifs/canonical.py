"""Circuit identity: coloured graphs, Weisfeiler–Lehman labels, isomorphism and containment.

Two circuits are the *same motif* when their coloured graphs are isomorphic:

- nodes: input channels are coloured ``"in"`` (channels are interchangeable), output
  neurons ``"out:E"``/``"out:I"`` (ports are interchangeable too), hidden neurons
  ``"E"``/``"I"``;
- edges: the synapse sign (``"+"`` from inputs and E neurons, ``"-"`` from I neurons),
  optionally followed by the bin index of the weight magnitude (``"|w<k>"``) and of the
  delay in steps (``"|d<k>"``).

Neuron parameters, exact weights/delays, release probabilities and depression do not
enter identity. :func:`canonical_label` is a fast hash (equal for isomorphic circuits,
different otherwise with high probability); :func:`same_motif` is the exact check used on
hash collisions. :func:`contains` / :func:`find_embeddings` answer "does this circuit
contain feedforward inhibition?" by typed subgraph monomorphism.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import networkx as nx
import numpy as np
from networkx.algorithms import isomorphism as iso

from ..circuit import Circuit
from ..circuit import input_node, neuron_node
from ..model import TYPE_NAMES

#: Prefix of :func:`canonical_label` strings; bump it whenever the scheme changes, so
#: labels stored in a library are never compared across schemes.
LABEL_SCHEME = "wl1"

#: Upper bound on Weisfeiler–Lehman rounds (refinement is stable after <= n rounds).
_MAX_WL_ITERATIONS = 16

Bins = Sequence[float] | np.ndarray | None
GraphLike = Circuit | nx.DiGraph


def _check_bins(bins: Bins, name: str) -> np.ndarray | None:
    if bins is None:
        return None
    arr = np.asarray(bins, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name}: expected a non-empty, strictly increasing sequence of finite bin edges, "
                         f"got {bins!r}")
    return arr


def edge_color(sign: int, weight: float, delay: int, weight_bins: np.ndarray | None,
               delay_bins: np.ndarray | None) -> str:
    """Colour of one synapse: ``"+"``/``"-"`` plus optional ``"|w<k>"`` and ``"|d<k>"``.

    Bin ``k`` of a value ``x`` with edges ``e`` is the number of edges ``<= x``
    (``np.digitize``): with edges ``[1, 5]``, ``x < 1`` is bin 0, ``1 <= x < 5`` bin 1,
    ``x >= 5`` bin 2.
    """
    color = "+" if sign > 0 else "-"
    if weight_bins is not None:
        color += f"|w{int(np.searchsorted(weight_bins, weight, side='right'))}"
    if delay_bins is not None:
        color += f"|d{int(np.searchsorted(delay_bins, delay, side='right'))}"
    return color


def motif_graph(circuit: Circuit, *, weight_bins: Bins = None, delay_bins: Bins = None) -> nx.DiGraph:
    """The coloured graph that defines a circuit's motif identity.

    Parameters
    ----------
    circuit : Circuit
    weight_bins : sequence of float, optional
        Sorted bin edges (mV) for weight magnitudes; default: weights ignored.
    delay_bins : sequence of float, optional
        Sorted bin edges (steps of ``dt``) for delays; default: delays ignored.

    Returns
    -------
    networkx.DiGraph
        Node ids as in :meth:`evo_circuits.Circuit.to_networkx` (``"in<c>"``, ``"n<i>"``).
        Node attributes: ``color`` (``in``, ``out:E``, ``out:I``, ``E``, ``I``), ``type``
        (``in``, ``E``, ``I``), ``role`` (``in``, ``out``, ``hidden``). Edge attributes:
        ``color`` (identity), ``sign`` (+1/-1), ``weight`` (signed magnitude, mV) and
        ``delay`` (steps) — the last two for display only.
    """
    wb = _check_bins(weight_bins, "weight_bins")
    db = _check_bins(delay_bins, "delay_bins")
    g = nx.DiGraph()
    for c in range(circuit.n_inputs):
        g.add_node(input_node(c), color="in", type="in", role="in")
    outputs = {int(o) for o in circuit.outputs}
    for i, t in enumerate(circuit.types):
        tname = TYPE_NAMES[int(t)]
        if i in outputs:
            g.add_node(neuron_node(i), color=f"out:{tname}", type=tname, role="out")
        else:
            g.add_node(neuron_node(i), color=tname, type=tname, role="hidden")
    signs = circuit.source_signs
    n_in = circuit.n_inputs
    for pre, post in zip(*np.nonzero(circuit.weights)):
        pre, post = int(pre), int(post)
        src = input_node(pre) if pre < n_in else neuron_node(pre - n_in)
        w = float(circuit.weights[pre, post])
        d = int(circuit.delays[pre, post])
        s = int(signs[pre])
        g.add_edge(src, neuron_node(post), color=edge_color(s, w, d, wb, db), sign=s, weight=s * w, delay=d)
    return g


def _hash_view(g: nx.DiGraph) -> nx.DiGraph:
    """Copy of a motif graph with attributes that make networkx's directed WL exact.

    networkx (3.5+) concatenates a node's sorted successor items and then its sorted
    predecessor items with no separator, and with ``edge_attr`` set both carry the same
    prefix, so "one successor X" and "one predecessor X" give the same string. Adding
    in/out degrees to the node colour and bracketing edge colours makes the string
    parseable again, i.e. the refinement faithful.
    """
    h = nx.DiGraph()
    for u, d in g.nodes(data=True):
        h.add_node(u, wl=f"{d['color']}/{g.in_degree(u)}/{g.out_degree(u)}")
    for u, v, d in g.edges(data=True):
        h.add_edge(u, v, wl=f"({d['color']})")
    return h


def graph_label(g: nx.DiGraph) -> str:
    """:func:`canonical_label` of an already built :func:`motif_graph`."""
    h = _hash_view(g)
    iterations = max(1, min(h.number_of_nodes(), _MAX_WL_ITERATIONS))
    with warnings.catch_warnings():
        # networkx warns on every directed call that hashes changed in 3.5; the version
        # is pinned in pyproject.toml, so the warning is noise here.
        warnings.simplefilter("ignore", UserWarning)
        digest = nx.weisfeiler_lehman_graph_hash(h, node_attr="wl", edge_attr="wl", iterations=iterations,
                                                 digest_size=16)
    return f"{LABEL_SCHEME}:{g.number_of_nodes()}:{g.number_of_edges()}:{digest}"


def canonical_label(circuit: Circuit, *, weight_bins: Bins = None, delay_bins: Bins = None) -> str:
    """Fast identity hash of a circuit's coloured graph.

    Equal for isomorphic circuits (neurons relabelled, input channels or output ports
    permuted); different otherwise with high probability — Weisfeiler–Lehman cannot
    separate some regular graphs, so confirm equal labels with :func:`same_motif`.

    Parameters
    ----------
    circuit : Circuit
    weight_bins, delay_bins : sequence of float, optional
        As in :func:`motif_graph`.

    Returns
    -------
    str
        ``"wl1:<nodes>:<edges>:<32 hex digits>"``. Depends on the networkx version
        (pinned ``>=3.5,<3.7``: directed WL hashes changed in 3.5).
    """
    return graph_label(motif_graph(circuit, weight_bins=weight_bins, delay_bins=delay_bins))


_COLOR_MATCH = iso.categorical_node_match("color", None)
_EDGE_COLOR_MATCH = iso.categorical_edge_match("color", None)


def same_motif(a: Circuit, b: Circuit, *, weight_bins: Bins = None, delay_bins: Bins = None) -> bool:
    """Exact test: are the coloured graphs of ``a`` and ``b`` isomorphic?

    Parameters
    ----------
    a, b : Circuit
    weight_bins, delay_bins : sequence of float, optional
        As in :func:`motif_graph`.

    Returns
    -------
    bool
    """
    ga = motif_graph(a, weight_bins=weight_bins, delay_bins=delay_bins)
    gb = motif_graph(b, weight_bins=weight_bins, delay_bins=delay_bins)
    return same_graph(ga, gb)


def same_graph(ga: nx.DiGraph, gb: nx.DiGraph) -> bool:
    """:func:`same_motif` on two already built :func:`motif_graph` graphs."""
    if (ga.number_of_nodes(), ga.number_of_edges()) != (gb.number_of_nodes(), gb.number_of_edges()):
        return False
    return nx.is_isomorphic(ga, gb, node_match=_COLOR_MATCH, edge_match=_EDGE_COLOR_MATCH)


# ---------------------------------------------------------------------------- containment
def _typed_graph(x: GraphLike) -> nx.DiGraph:
    """Normalise a circuit or a hand-made DiGraph to node ``type`` + edge ``sign``.

    A DiGraph may describe node types with ``type`` (``E``/``I``/``in``) or the
    :meth:`~evo_circuits.Circuit.to_networkx` convention (``kind="input"``); edge signs come
    from ``sign``, else the sign of ``weight``, else the source's type (Dale's law).
    """
    if isinstance(x, Circuit):
        return motif_graph(x)
    if not isinstance(x, nx.DiGraph):
        raise TypeError(f"expected a Circuit or a networkx DiGraph, got {type(x).__name__}")
    g = nx.DiGraph()
    for u, d in x.nodes(data=True):
        t = "in" if d.get("kind") == "input" else d.get("type")
        if t not in ("E", "I", "in"):
            raise ValueError(f"pattern node {u!r}: 'type' must be 'E', 'I' or 'in', got {t!r}")
        g.add_node(u, type=t)
    for u, v, d in x.edges(data=True):
        if g.nodes[v]["type"] == "in":
            raise ValueError(f"pattern edge {u!r}->{v!r}: an input cannot be postsynaptic")
        if "sign" in d:
            s = 1 if d["sign"] > 0 else -1
        elif "weight" in d:
            s = 1 if d["weight"] > 0 else -1
        else:
            s = -1 if g.nodes[u]["type"] == "I" else 1
        g.add_edge(u, v, sign=s)
    return g


def _matcher(circuit: GraphLike, pattern: GraphLike, inputs_as_e: bool) -> iso.DiGraphMatcher:
    host, pat = _typed_graph(circuit), _typed_graph(pattern)

    def node_match(h: dict[str, Any], p: dict[str, Any]) -> bool:
        # Inputs are excitatory sources, so an "in" pattern node may optionally stand
        # for any E neuron driving the pattern.
        return h["type"] == p["type"] or (inputs_as_e and p["type"] == "in" and h["type"] == "E")

    return iso.DiGraphMatcher(host, pat, node_match=node_match, edge_match=iso.categorical_edge_match("sign", 0))


def find_embeddings(circuit: GraphLike, pattern: GraphLike, limit: int | None = 100, *,
                    inputs_as_e: bool = False, unique: bool = True) -> list[dict]:
    """Occurrences of a typed pattern in a circuit (subgraph monomorphisms).

    Node types (``in``/``E``/``I``) and edge signs must match; roles need not (a hidden
    E of the pattern may map onto an output E). The circuit may have extra synapses
    among the matched neurons (monomorphism, not induced subgraph).

    Parameters
    ----------
    circuit : Circuit or networkx.DiGraph
    pattern : Circuit or networkx.DiGraph
        A circuit (e.g. a named motif) or a small DiGraph with node attribute ``type``.
    limit : int or None
        Stop after this many embeddings (None: all).
    inputs_as_e : bool
        Let a pattern input node match an excitatory neuron as well as an input channel.
    unique : bool
        Drop embeddings that only differ by a symmetry of the pattern (same host nodes
        and synapses).

    Returns
    -------
    list of dict
        Each maps pattern node -> circuit node id (``"in<c>"`` / ``"n<i>"``).
    """
    matcher = _matcher(circuit, pattern, inputs_as_e)
    out: list[dict] = []
    seen: set = set()
    for host_to_pat in matcher.subgraph_monomorphisms_iter():
        emb = {p: h for h, p in host_to_pat.items()}
        if unique:
            key = (frozenset(emb.values()),
                   frozenset((emb[u], emb[v]) for u, v in matcher.G2.edges()))
            if key in seen:
                continue
            seen.add(key)
        out.append(emb)
        if limit is not None and len(out) >= limit:
            break
    return out


def contains(circuit: GraphLike, pattern: GraphLike, *, inputs_as_e: bool = False) -> bool:
    """Does ``circuit`` contain ``pattern`` (typed subgraph monomorphism)?

    See :func:`find_embeddings` for the matching rules.
    """
    return _matcher(circuit, pattern, inputs_as_e).subgraph_is_monomorphic()
