"""Subgraph census with an E/I-coloured, degree-preserving null model.

The network-motif method of Milo et al. (2002, Science 298:824) as implemented in
FANMOD (Wernicke & Rasche 2006, Bioinformatics 22:1152), extended to E/I circuits:

1. Nodes are coloured ``in`` (input channel), ``E`` or ``I``; an edge's sign follows its
   source (Dale's law), so colours and directions fix the whole coloured subgraph.
   Autapses are left out of the census.
2. Every weakly connected induced subgraph of 3 and 4 nodes is enumerated with ESU
   (Wernicke 2006) and classified by an exact canonical code: the minimum over node
   permutations of (colours, adjacency bits), precomputed once as a lookup table.
3. Each circuit is randomised ``n_random`` times by target swaps ``a->b, c->d`` =>
   ``a->d, c->b`` (every node keeps its in/out degree and colour, edges keep their
   sign, no self-loops or duplicates, inputs never become targets).
4. Over a *set* of circuits the real counts are summed, and random copy ``r`` of the
   set is the union of every circuit's r-th randomisation.

Per class the result reports the real count, the ensemble mean and standard deviation,
``z = (count - mean) / std``, ``p`` = fraction of random sets with ``count >= real``,
and whether the usual motif criteria hold (z > 2, p < 0.01, count/mean > 1.1,
count >= 4).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from ..circuit import Circuit
from . import _census_kernels as K

#: Node colour codes of the census graph.
COLOUR_NAMES = ("in", "E", "I")
#: Subgraph sizes the lookup tables support (4 nodes: 81 * 4096 raw codes).
SUPPORTED_SIZES = (2, 3, 4)

#: The motif criteria of :attr:`CensusResult.rows` ``"motif"``.
Z_MIN, P_MAX, RATIO_MIN, COUNT_MIN = 2.0, 0.01, 1.1, 4


# ---------------------------------------------------------------------------- classes
@dataclass(frozen=True)
class _Classes:
    """Lookup table ``raw code -> class id`` (-1: disconnected or impossible) for size k."""

    k: int
    table: np.ndarray        # int64, 3**k * 2**(k(k-1))
    codes: np.ndarray        # canonical raw code of each class id

    @property
    def n_pairs(self) -> int:
        return self.k * (self.k - 1)


def _pairs(k: int) -> list[tuple[int, int]]:
    """Ordered node pairs in growth order: ``(0,1), (1,0), (0,2), (2,0), (1,2), (2,1), ...``.

    Bit order of the adjacency part of a code (first pair most significant); pairs that
    involve node m come after all pairs among nodes < m, so the ESU kernel extends a
    code by appending bits.
    """
    return [pq for m in range(1, k) for i in range(m) for pq in ((i, m), (m, i))]


@lru_cache(maxsize=None)
def _classes(k: int) -> _Classes:
    """Exact canonical classes of coloured k-node digraphs.

    A permutation acts on the colour digits and on the adjacency bits separately, so
    both are tabulated per permutation (3**k and 2**(k(k-1)) entries) and combined by
    broadcasting; the canonical code is the minimum over the k! permutations.
    """
    if k not in SUPPORTED_SIZES:
        raise ValueError(f"sizes: subgraph size must be one of {SUPPORTED_SIZES}, got {k}")
    pairs = _pairs(k)
    npairs = len(pairs)
    pair_index = {pq: p for p, pq in enumerate(pairs)}
    colour_codes = np.arange(3 ** k, dtype=np.int64)
    bits = np.arange(2 ** npairs, dtype=np.int64)
    col = np.stack([(colour_codes // 3 ** (k - 1 - i)) % 3 for i in range(k)], axis=1)   # (3**k, k)
    a = np.stack([(bits >> (npairs - 1 - p)) & 1 for p in range(npairs)], axis=1)        # (2**np, np)
    best = np.full((colour_codes.size, bits.size), np.iinfo(np.int64).max)
    for perm in itertools.permutations(range(k)):
        cc = np.zeros_like(colour_codes)
        for i in range(k):
            cc = cc * 3 + col[:, perm[i]]
        nb = np.zeros_like(bits)
        for i, j in pairs:
            nb = nb * 2 + a[:, pair_index[(perm[i], perm[j])]]
        np.minimum(best, (cc[:, None] << npairs) | nb[None, :], out=best)
    # valid: weakly connected, and no edge into an input channel (cannot occur)
    adj = np.zeros((bits.size, k, k), bool)
    for p, (i, j) in enumerate(pairs):
        adj[:, i, j] = a[:, p].astype(bool)
    und = adj | adj.transpose(0, 2, 1)
    reach = np.zeros((bits.size, k), bool)
    reach[:, 0] = True
    for _ in range(k - 1):
        reach |= (reach[:, :, None] & und).any(axis=1)
    has_in = adj.any(axis=1)                                                              # (2**np, k)
    input_target = ((col == 0)[:, None, :] & has_in[None, :, :]).any(axis=2)              # (3**k, 2**np)
    valid = (reach.all(axis=1)[None, :] & ~input_target).ravel()
    best = best.ravel()
    class_codes, inverse = np.unique(best[valid], return_inverse=True)
    table = np.full(best.size, -1, np.int64)
    table[valid] = inverse
    return _Classes(k, table, class_codes)


def _decode(k: int, code: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Colours and edge list of a raw code."""
    npairs = k * (k - 1)
    colour_code, bits = code >> npairs, code & ((1 << npairs) - 1)
    colours = [(colour_code // 3 ** (k - 1 - i)) % 3 for i in range(k)]
    pairs = _pairs(k)
    edges = [pq for p, pq in enumerate(pairs) if (bits >> (npairs - 1 - p)) & 1]
    return colours, edges


def class_key(k: int, code: int) -> str:
    """Stable text key of a canonical code: ``"<k>:<colours>:<adjacency bits, hex>"``.

    Example: ``"3:in,E,I:13"`` (colours in canonical order ``in`` < ``E`` < ``I``).
    """
    colours, _ = _decode(k, code)
    npairs = k * (k - 1)
    bits = code & ((1 << npairs) - 1)
    return f"{k}:{','.join(COLOUR_NAMES[c] for c in colours)}:{bits:0{(npairs + 3) // 4}x}"


def _parse_key(key: str) -> tuple[int, int]:
    try:
        k_txt, colours_txt, bits_txt = key.split(":")
        k = int(k_txt)
        colours = [COLOUR_NAMES.index(c) for c in colours_txt.split(",")]
        bits = int(bits_txt, 16)
    except ValueError:
        raise ValueError(f"key: expected '<k>:<colours>:<hex bits>' such as '3:in,E,I:13', got {key!r}") from None
    if len(colours) != k or k not in SUPPORTED_SIZES:
        raise ValueError(f"key: {key!r} does not describe a subgraph of size {SUPPORTED_SIZES}")
    colour_code = 0
    for c in colours:
        colour_code = colour_code * 3 + c
    return k, (colour_code << (k * (k - 1))) | bits


def describe_class(key: str) -> str:
    """Human-readable edges of a class, e.g. ``"in→E, in→I, I⊣E"``.

    Repeated colours are numbered (``E1``, ``E2``); ``→`` is an excitatory synapse
    (from an input or an E neuron), ``⊣`` an inhibitory one. Same-coloured nodes are
    numbered so that the sorted edge list is smallest, which reads naturally
    (``"in→E1, E1→E2"`` rather than ``"in→E2, E2→E1"``).
    """
    k, code = _parse_key(key)
    colours, edges = _decode(k, code)
    groups = [[i for i in range(k) if colours[i] == c] for c in range(3)]
    best: list[tuple[int, int]] | None = None
    for perms in itertools.product(*(itertools.permutations(g) for g in groups)):
        new = {old: pos for g, p in zip(groups, perms) for old, pos in zip(g, p)}
        relabelled = sorted((new[i], new[j]) for i, j in edges)
        if best is None or relabelled < best:
            best = relabelled
    names = []
    for i, c in enumerate(colours):
        base = COLOUR_NAMES[c]
        if colours.count(c) > 1:
            base += str(colours[:i + 1].count(c))
        names.append(base)
    return ", ".join(f"{names[i]}{'⊣' if colours[i] == 2 else '→'}{names[j]}" for i, j in best or [])


# ---------------------------------------------------------------------------- graphs
def census_graph(circuit: Circuit) -> tuple[np.ndarray, np.ndarray]:
    """Dense adjacency (uint8, inputs first, autapses removed) and node colours of a circuit."""
    n_in, n = circuit.n_inputs, circuit.n_neurons
    adj = np.zeros((n_in + n, n_in + n), np.uint8)
    adj[:, n_in:] = circuit.weights > 0
    idx = np.arange(n_in, n_in + n)
    adj[idx, idx] = 0
    colours = np.concatenate([np.zeros(n_in, np.int64), np.where(circuit.types > 0, 1, 2)])
    return adj, colours


def _tables(sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[_Classes]]:
    classes = [_classes(int(k)) for k in sizes]
    tables = np.concatenate([c.table for c in classes])
    table_offsets = np.cumsum([0] + [c.table.size for c in classes]).astype(np.int64)
    class_offsets = np.cumsum([0] + [c.codes.size for c in classes]).astype(np.int64)
    return np.array(sizes, np.int64), tables, table_offsets, class_offsets, classes


def _check_sizes(sizes: Iterable[int]) -> tuple[int, ...]:
    out = tuple(sorted({int(k) for k in sizes}))
    if not out or any(k not in SUPPORTED_SIZES for k in out):
        raise ValueError(f"sizes: expected subgraph sizes among {SUPPORTED_SIZES}, got {tuple(sizes)}")
    return out


def subgraph_counts(circuit: Circuit, sizes: Sequence[int] = (3, 4)) -> dict[str, int]:
    """Counts of connected induced subgraph classes in one circuit (no null model).

    Returns
    -------
    dict
        Class key (see :func:`class_key`) -> count, only classes that occur.
    """
    sizes = _check_sizes(sizes)
    ks, tables, toff, coff, classes = _tables(sizes)
    adj, colours = census_graph(circuit)
    counts = np.zeros((1, int(coff[-1])), np.int64)
    K.census_one(adj, colours, ks, tables, toff, coff, np.zeros(0, np.int64), 0.0, False, counts)
    return {class_key(c.k, int(c.codes[i - off])): int(counts[0, i])
            for c, off in zip(classes, coff[:-1]) for i in range(off, off + c.codes.size) if counts[0, i]}


def randomise_circuit(circuit: Circuit, seed: int = 0, *, swaps_per_edge: float = 10.0,
                      colour_pairs: bool = False) -> Circuit:
    """A degree- and colour-preserving random rewiring of a circuit (the census null model).

    Each synapse keeps its source (hence its sign) and its weight, delay, release
    probability and depression; targets are swapped between synapses. Autapses stay.

    Parameters
    ----------
    circuit : Circuit
    seed : int
    swaps_per_edge : float
        Successful swaps to make per synapse (autapses excluded).
    colour_pairs : bool
        Only swap between synapses whose sources and whose targets have equal colours
        (keeps each node's degree per partner colour).

    Returns
    -------
    Circuit
    """
    adj, colours = census_graph(circuit)
    src, dst = (x.astype(np.int64) for x in np.nonzero(adj))
    dst0 = dst.copy()
    n_swaps = int(swaps_per_edge * src.size)
    K.swap_targets(src, dst, adj, colours, n_swaps, 10 * n_swaps + 100, colour_pairs, int(seed) % 2 ** 31)
    n_in = circuit.n_inputs
    fields = {}
    for name in ("weights", "delays", "p_release", "std_u", "std_tau_rec"):
        old = getattr(circuit, name)
        new = old.copy()
        new[src, dst0 - n_in] = 0 if name != "p_release" else 1.0
        new[src, dst - n_in] = old[src, dst0 - n_in]
        fields[name] = new
    return circuit.replace(**fields)


# ---------------------------------------------------------------------------- census
@dataclass
class CensusResult:
    """Result of :func:`census`.

    Attributes
    ----------
    rows : list of dict
        One per subgraph class seen in the real or a random set, sorted by size, then
        motifs first, then z descending. Keys: ``size``, ``key`` (stable class id, see
        :func:`class_key`), ``description``, ``count`` (real, summed over circuits),
        ``mean``, ``std`` (random ensemble, population std), ``z`` (``±inf`` when
        std = 0 and count != mean, 0 when equal), ``p``, ``ratio`` (count / mean,
        ``inf`` when mean = 0 < count), ``motif`` (bool).
    random_counts : ndarray, shape (n_random, len(rows))
        Count of each row's class in each random set.
    n_circuits, n_random, sizes, seed, swaps_per_edge, colour_pairs
        The parameters of the census.
    """

    rows: list[dict]
    random_counts: np.ndarray
    n_circuits: int
    n_random: int
    sizes: tuple[int, ...]
    seed: int
    swaps_per_edge: float
    colour_pairs: bool = False
    _index: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {r["key"]: r for r in self.rows}

    def __getitem__(self, key: str) -> dict:
        """The row of a class key."""
        return self._index[key]

    def motifs(self) -> list[dict]:
        """Rows that meet the motif criteria."""
        return [r for r in self.rows if r["motif"]]

    def find(self, description: str) -> dict | None:
        """The row whose description equals ``description`` (e.g. ``"in→E, in→I, I⊣E"``)."""
        return next((r for r in self.rows if r["description"] == description), None)

    def to_table(self, *, only_motifs: bool = False, max_rows: int | None = None, keys: bool = False) -> str:
        """Aligned text table, one class per line (``*`` marks motifs)."""
        rows = self.motifs() if only_motifs else self.rows
        if max_rows is not None:
            rows = rows[:max_rows]
        head = f"{'k':>1} {'count':>7} {'mean':>9} {'std':>8} {'z':>7} {'p':>5} {'ratio':>6}  m  "
        head += ("key" + " " * 14 if keys else "") + "edges"
        lines = [f"census of {self.n_circuits} circuit(s), {self.n_random} random sets, sizes {self.sizes}",
                 head]
        for r in rows:
            line = (f"{r['size']:>1} {r['count']:>7d} {r['mean']:>9.2f} {r['std']:>8.2f} {r['z']:>7.2f} "
                    f"{r['p']:>5.2f} {r['ratio']:>6.2f}  {'*' if r['motif'] else ' '}  ")
            line += (f"{r['key']:<17}" if keys else "") + r["description"]
            lines.append(line)
        return "\n".join(lines)


def census(circuits: Circuit | Iterable[Circuit], sizes: Sequence[int] = (3, 4), n_random: int = 100,
           seed: int = 0, *, swaps_per_edge: float = 10.0, colour_pairs: bool = False) -> CensusResult:
    """Subgraph census of one circuit or a set of circuits against randomised copies.

    Parameters
    ----------
    circuits : Circuit or iterable of Circuit
        Counts are summed over the set; every circuit is randomised separately.
    sizes : sequence of int
        Subgraph sizes, among 2, 3 and 4.
    n_random : int
        Random sets in the null ensemble (``p`` has a resolution of ``1 / n_random``:
        ``p < 0.01`` needs ``n_random >= 100``).
    seed : int
        Seed of the whole census; results are deterministic given it.
    swaps_per_edge : float
        Successful target swaps per synapse for each randomisation.
    colour_pairs : bool
        Stricter null model: see :func:`randomise_circuit`.

    Returns
    -------
    CensusResult
    """
    circuits = [circuits] if isinstance(circuits, Circuit) else list(circuits)
    sizes = _check_sizes(sizes)
    if not isinstance(n_random, (int, np.integer)) or n_random < 0:
        raise ValueError(f"n_random: expected an integer >= 0, got {n_random!r}")
    ks, tables, toff, coff, classes = _tables(sizes)
    counts = np.zeros((n_random + 1, int(coff[-1])), np.int64)
    seeds = np.random.default_rng(seed).integers(0, 2 ** 31 - 1, size=(len(circuits), n_random), dtype=np.int64)
    for c, s in zip(circuits, seeds):
        adj, colours = census_graph(c)
        K.census_one(adj, colours, ks, tables, toff, coff, s, float(swaps_per_edge), bool(colour_pairs), counts)
    real, rand = counts[0], counts[1:]
    seen = np.flatnonzero((real > 0) | rand.any(axis=0))
    mean = rand[:, seen].mean(axis=0) if n_random else np.full(seen.size, np.nan)
    std = rand[:, seen].std(axis=0) if n_random else np.full(seen.size, np.nan)
    p = (rand[:, seen] >= real[seen]).mean(axis=0) if n_random else np.full(seen.size, np.nan)
    rows = []
    for col, i in enumerate(seen):
        s = int(np.searchsorted(coff, i, side="right") - 1)
        key = class_key(classes[s].k, int(classes[s].codes[i - coff[s]]))
        x, m, sd = int(real[i]), float(mean[col]), float(std[col])
        if sd > 0:
            z = (x - m) / sd
        else:
            z = 0.0 if x == m or np.isnan(m) else float(np.sign(x - m)) * np.inf
        ratio = x / m if m > 0 else (np.inf if x > 0 and m == 0 else np.nan)
        motif = bool(z > Z_MIN and p[col] < P_MAX and ratio > RATIO_MIN and x >= COUNT_MIN)
        rows.append({"size": classes[s].k, "key": key, "description": describe_class(key), "count": x,
                     "mean": m, "std": sd, "z": float(z), "p": float(p[col]), "ratio": float(ratio),
                     "motif": motif, "_col": col})
    rows.sort(key=lambda r: (r["size"], not r["motif"], -r["z"] if not np.isnan(r["z"]) else np.inf, r["key"]))
    order = [r.pop("_col") for r in rows]
    return CensusResult(rows=rows, random_counts=rand[:, seen][:, order], n_circuits=len(circuits),
                        n_random=int(n_random), sizes=sizes, seed=int(seed),
                        swaps_per_edge=float(swaps_per_edge), colour_pairs=bool(colour_pairs))
