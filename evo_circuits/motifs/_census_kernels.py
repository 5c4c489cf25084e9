"""numba kernels of the subgraph census: ESU enumeration and degree-preserving edge swaps.

Graphs are dense 0/1 matrices ``adj[N, N]`` (row = source) over nodes coloured 0 (input
channel), 1 (E) and 2 (I); self-loops are excluded by the caller. A k-node subgraph with
nodes ``v[0..k-1]`` is encoded as ``colour_code * 2**(k*(k-1)) + adjacency_bits`` with
the colour of ``v[0]`` as the most significant base-3 digit, and the adjacency bits of
the ordered pairs in *growth order* — ``(0,1), (1,0), (0,2), (2,0), (1,2), (2,1), (0,3),
...`` (pairs with node m follow all pairs among nodes < m), first pair most significant —
so that a code grows by appending bits as ESU adds nodes. A lookup table maps the raw
code to a class id (see :mod:`evo_circuits.motifs.census`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..dynamics.rng import GOLDEN, mix64


@njit(cache=True)
def _neighbours(und: np.ndarray, nbr: np.ndarray, deg: np.ndarray) -> None:
    """Fill undirected neighbour lists ``nbr[v, :deg[v]]`` from the 0/1 matrix ``und``."""
    n = und.shape[0]
    for v in range(n):
        m = 0
        for u in range(n):
            if und[v, u]:
                nbr[v, m] = u
                m += 1
        deg[v] = m


@njit(cache=True)
def esu_count(adj: np.ndarray, colours: np.ndarray, k: int, table: np.ndarray, offset: int,
              counts: np.ndarray) -> None:
    """Add the class counts of all connected induced k-node subgraphs to ``counts``.

    ESU (Wernicke 2006): every weakly connected k-set is produced exactly once, grown from
    its smallest node ``v`` by adding only nodes ``> v`` from the exclusive neighbourhood.
    ``counts[offset + table[code]] += 1`` for each subgraph.
    """
    n = adj.shape[0]
    if n < k:
        return
    und = np.zeros((n, n), np.uint8)
    for a in range(n):
        for b in range(n):
            if a != b and (adj[a, b] or adj[b, a]):
                und[a, b] = 1
    nbr = np.empty((n, n), np.int64)
    deg = np.empty(n, np.int64)
    _neighbours(und, nbr, deg)
    sub = np.empty(k, np.int64)
    ext = np.empty((k, n), np.int64)
    extlen = np.zeros(k, np.int64)
    # codes of sub[0..d] kept per depth: colour digits and adjacency bits (growth order)
    ccode = np.zeros(k, np.int64)
    bcode = np.zeros(k, np.int64)
    npairs = k * (k - 1)
    for v in range(n):
        sub[0] = v
        ccode[0] = colours[v]
        bcode[0] = 0
        m = 0
        for p in range(deg[v]):
            u = nbr[v, p]
            if u > v:
                ext[0, m] = u
                m += 1
        extlen[0] = m
        depth = 0  # the current subgraph is sub[0..depth]
        while depth >= 0:
            if extlen[depth] == 0:
                depth -= 1
                continue
            extlen[depth] -= 1
            w = ext[depth, extlen[depth]]
            sub[depth + 1] = w
            cc = ccode[depth] * 3 + colours[w]
            bc = bcode[depth]
            for s in range(depth + 1):
                bc = (bc << 2) | (adj[sub[s], w] << 1) | adj[w, sub[s]]
            if depth + 2 == k:
                counts[offset + table[(cc << npairs) | bc]] += 1
                continue
            ccode[depth + 1] = cc
            bcode[depth + 1] = bc
            # new extension: what is left of this one plus w's exclusive neighbours > v
            m = extlen[depth]
            for q in range(m):
                ext[depth + 1, q] = ext[depth, q]
            for p in range(deg[w]):
                u = nbr[w, p]
                if u <= v:
                    continue
                exclusive = True
                for s in range(depth + 1):
                    if u == sub[s] or und[u, sub[s]]:
                        exclusive = False
                        break
                if exclusive:
                    ext[depth + 1, m] = u
                    m += 1
            extlen[depth + 1] = m
            depth += 1


_U13, _U7, _U17, _U32 = np.uint64(13), np.uint64(7), np.uint64(17), np.uint64(32)


@njit(cache=True)
def _seed_state(seed: int) -> np.uint64:
    """splitmix64 of the seed: a well-mixed, non-zero xorshift state."""
    z = mix64(np.uint64(seed) + GOLDEN)
    return z if z != np.uint64(0) else GOLDEN


@njit(cache=True)
def swap_targets(src: np.ndarray, dst: np.ndarray, adj: np.ndarray, colours: np.ndarray, n_swaps: int,
                 max_attempts: int, colour_pairs: bool, seed: int) -> int:
    """Randomise edges in place by target swaps; return the number of swaps made.

    A swap turns ``a->b, c->d`` into ``a->d, c->b``: every node keeps its in- and
    out-degree and its colour, and an edge keeps its source, hence its Dale sign.
    Swaps that would create a self-loop or a duplicate edge are rejected; targets stay
    targets, so input channels never receive edges. With ``colour_pairs`` a swap also
    needs ``colour[a] == colour[c]`` and ``colour[b] == colour[d]``, which keeps every
    node's degrees per partner colour (FANMOD's coloured null model).

    Edge pairs are drawn with an inline xorshift64 generator seeded by splitmix64 —
    several times faster than numba's ``np.random`` here, and its stream does not depend
    on the numba version.
    """
    n_edges = src.shape[0]
    if n_edges < 2:
        return 0
    x = _seed_state(seed)
    m = np.uint64(n_edges)
    done = 0
    attempts = 0
    while done < n_swaps and attempts < max_attempts:
        attempts += 1
        x ^= x << _U13
        x ^= x >> _U7
        x ^= x << _U17
        # two edge indices from the high and low 32 bits (multiply-shift range reduction)
        i = np.int64(((x >> _U32) * m) >> _U32)
        j = np.int64(((x & np.uint64(0xFFFFFFFF)) * m) >> _U32)
        a, b, c, d = src[i], dst[i], src[j], dst[j]
        if a == c or b == d or a == d or c == b or adj[a, d] or adj[c, b]:
            continue
        if colour_pairs and (colours[a] != colours[c] or colours[b] != colours[d]):
            continue
        adj[a, b] = 0
        adj[c, d] = 0
        adj[a, d] = 1
        adj[c, b] = 1
        dst[i] = d
        dst[j] = b
        done += 1
    return done


@njit(cache=True)
def census_one(adj: np.ndarray, colours: np.ndarray, ks: np.ndarray, tables: np.ndarray,
               table_offsets: np.ndarray, class_offsets: np.ndarray, seeds: np.ndarray,
               swaps_per_edge: float, colour_pairs: bool, counts: np.ndarray) -> None:
    """Census of one circuit and of ``len(seeds)`` randomised copies.

    ``counts[0]`` accumulates the real graph, ``counts[1 + r]`` the r-th random copy
    (each made from the real graph with seed ``seeds[r]``). The lookup table of size
    ``ks[s]`` is ``tables[table_offsets[s]:table_offsets[s + 1]]`` and its class ids are
    shifted by ``class_offsets[s]``.
    """
    for s in range(ks.shape[0]):
        esu_count(adj, colours, ks[s], tables[table_offsets[s]:table_offsets[s + 1]], class_offsets[s],
                  counts[0])
    n = adj.shape[0]
    n_edges = 0
    for a in range(n):
        for b in range(n):
            n_edges += adj[a, b]
    src0 = np.empty(n_edges, np.int64)
    dst0 = np.empty(n_edges, np.int64)
    e = 0
    for a in range(n):
        for b in range(n):
            if adj[a, b]:
                src0[e] = a
                dst0[e] = b
                e += 1
    n_swaps = int(swaps_per_edge * n_edges)
    for r in range(seeds.shape[0]):
        radj = adj.copy()
        dst = dst0.copy()
        swap_targets(src0, dst, radj, colours, n_swaps, 10 * n_swaps + 100, colour_pairs, seeds[r])
        for s in range(ks.shape[0]):
            esu_count(radj, colours, ks[s], tables[table_offsets[s]:table_offsets[s + 1]], class_offsets[s],
                      counts[1 + r])
