"""Subgraph census: ESU counts, canonical classes, the colour-preserving randomiser, significance."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evo_circuits import Circuit, random_circuit
from evo_circuits.motifs import census, describe_class, randomise_circuit, subgraph_counts
from evo_circuits.motifs.census import _pairs, census_graph, class_key

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def circuits(draw) -> Circuit:
    return random_circuit(draw(st.integers(1, 7)), draw(st.integers(0, 3)), draw(st.integers(0, 3)),
                          p_conn=draw(st.sampled_from([0.2, 0.4, 0.8])), p_input=0.6,
                          max_delay_steps=draw(st.sampled_from([0, 20])), self_loops=draw(st.booleans()),
                          seed=draw(st.integers(0, 2 ** 32 - 1)))


def _degrees(c: Circuit) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    adj, colours = census_graph(c)
    by_colour_out = np.stack([adj[:, colours == k].sum(axis=1) for k in range(3)])
    by_colour_in = np.stack([adj[colours == k].sum(axis=0) for k in range(3)])
    return adj.sum(axis=1), adj.sum(axis=0), by_colour_out, by_colour_in


@SETTINGS
@given(circuits(), st.integers(0, 2 ** 31 - 1), st.booleans())
def test_randomiser_keeps_degrees_colours_and_synapses(c: Circuit, seed: int, colour_pairs: bool) -> None:
    r = randomise_circuit(c, seed, colour_pairs=colour_pairs)
    assert np.array_equal(r.types, c.types) and r.n_inputs == c.n_inputs
    out0, in0, cout0, cin0 = _degrees(c)
    out1, in1, cout1, cin1 = _degrees(r)
    assert np.array_equal(out0, out1) and np.array_equal(in0, in1)
    if colour_pairs:
        assert np.array_equal(cout0, cout1) and np.array_equal(cin0, cin1)
    # autapses untouched and none created; each source keeps its synapse weights
    n_in = c.n_inputs
    diag = np.arange(c.n_neurons)
    assert np.array_equal(r.weights[n_in + diag, diag], c.weights[n_in + diag, diag])
    for row in range(c.weights.shape[0]):
        assert sorted(r.weights[row][r.weights[row] > 0]) == sorted(c.weights[row][c.weights[row] > 0])
    assert r.n_synapses == c.n_synapses


def test_randomiser_actually_rewires_and_is_seeded() -> None:
    c = random_circuit(10, 3, 2, p_conn=0.25, seed=1)
    a, b = randomise_circuit(c, 7), randomise_circuit(c, 7)
    assert a == b
    assert not np.array_equal(a.weights > 0, c.weights > 0)
    assert not np.array_equal(randomise_circuit(c, 8).weights, a.weights)


def _brute_force(c: Circuit, sizes=(3, 4)) -> dict[str, int]:
    """Independent census: every k-set, weak connectivity by networkx, min over permutations."""
    adj, col = census_graph(c)
    out: dict[str, int] = {}
    for k in sizes:
        for nodes in itertools.combinations(range(adj.shape[0]), k):
            g = nx.DiGraph()
            g.add_nodes_from(nodes)
            g.add_edges_from((u, v) for u in nodes for v in nodes if adj[u, v])
            if not nx.is_weakly_connected(g):
                continue
            best = min(
                (int("".join(str(int(col[u])) for u in perm), 3) << (k * (k - 1)))
                | int("".join(str(int(adj[perm[i], perm[j]])) for i, j in _pairs(k)), 2)
                for perm in itertools.permutations(nodes))
            key = class_key(k, best)
            out[key] = out.get(key, 0) + 1
    return out


@settings(max_examples=15, deadline=None)
@given(circuits())
def test_esu_counts_match_brute_force(c: Circuit) -> None:
    assert subgraph_counts(c) == _brute_force(c)


def test_hand_counted_tiny_graph() -> None:
    # in0 -> E0, in0 -> I1, I1 -| E0 (feedforward inhibition), E0 -> E2
    w = np.zeros((1 + 3, 3))
    w[0, 0] = w[0, 1] = w[1 + 1, 0] = w[1 + 0, 2] = 1.0
    c = Circuit(types=[1, -1, 1], n_inputs=1, weights=w, outputs=[2])
    counts = {describe_class(k): v for k, v in subgraph_counts(c, sizes=(2, 3, 4)).items()}
    assert counts == {
        "in→E": 1, "in→I": 1, "E1→E2": 1, "I⊣E": 1,       # the four edges
        "in→E, in→I, I⊣E": 1,                           # {in0, E0, I1}
        "in→E1, E1→E2": 1,                              # {in0, E0, E2}
        "E1→E2, I⊣E1": 1,                               # {E0, E2, I1}; {in0, I1, E2} is disconnected
        "in→E1, in→I, E1→E2, I⊣E1": 1,                  # all four nodes
    }


def test_class_keys_are_canonical_and_described() -> None:
    # the same triangle entered in two node orders gets one key
    w1 = np.zeros((1 + 2, 2))
    w1[0, 0] = w1[0, 1] = w1[1 + 1, 0] = 1.0            # in -> E0, in -> I1, I1 -| E0
    a = Circuit(types=[1, -1], n_inputs=1, weights=w1)
    w2 = np.zeros((1 + 2, 2))
    w2[0, 0] = w2[0, 1] = w2[1 + 0, 1] = 1.0            # in -> I0, in -> E1, I0 -| E1
    b = Circuit(types=[-1, 1], n_inputs=1, weights=w2)
    ka, kb = subgraph_counts(a, (3,)), subgraph_counts(b, (3,))
    assert ka == kb and len(ka) == 1
    (key,) = ka
    assert key.startswith("3:in,E,I:")
    assert describe_class(key) == "in→E, in→I, I⊣E"
    with pytest.raises(ValueError, match="key"):
        describe_class("3:E,E:00")


def _planted_ffi(seed: int) -> Circuit:
    """4 channels, each driving an E and an I with I -| E, plus sparse random E/I wiring."""
    rng = np.random.default_rng(seed)
    n_copies, n_extra_e = 4, 6
    types = [1] * n_copies + [-1] * n_copies + [1] * n_extra_e
    n = len(types)
    w = np.zeros((n_copies + n, n))
    for k in range(n_copies):
        e, i = k, n_copies + k
        w[k, e] = w[k, i] = 50.0
        w[n_copies + i, e] = 50.0
    rec = rng.random((n, n)) < 0.12
    np.fill_diagonal(rec, False)
    w[n_copies:] = np.where(rec & (w[n_copies:] == 0), 20.0, w[n_copies:])
    return Circuit(types=types, n_inputs=n_copies, weights=w, outputs=[0])


def test_planted_feedforward_inhibition_is_significant() -> None:
    circuits_ = [_planted_ffi(s) for s in range(10)]
    res = census(circuits_, sizes=(3,), n_random=100, seed=1)
    row = res.find("in→E, in→I, I⊣E")
    assert row is not None and row["count"] >= 30      # 40 planted, a few not induced
    assert row["motif"], res.to_table(max_rows=10)
    assert row["z"] > 2 and row["p"] < 0.01 and row["ratio"] > 1.1
    assert res.random_counts.shape == (100, len(res.rows))
    # a pure random set of comparable circuits does not flag it
    null = [randomise_circuit(c, 100 + k) for k, c in enumerate(circuits_)]
    row0 = census(null, sizes=(3,), n_random=100, seed=1).find("in→E, in→I, I⊣E")
    assert row0 is None or not row0["motif"]


def test_census_is_deterministic_and_sums_over_circuits() -> None:
    cs = [random_circuit(6, 2, 2, p_conn=0.3, seed=s) for s in range(4)]
    a = census(cs, n_random=20, seed=3)
    b = census(cs, n_random=20, seed=3)
    assert a.rows == b.rows and np.array_equal(a.random_counts, b.random_counts)
    total: dict[str, int] = {}
    for c in cs:
        for k, v in subgraph_counts(c).items():
            total[k] = total.get(k, 0) + v
    assert {r["key"]: r["count"] for r in a.rows if r["count"]} == total
    assert a[a.rows[0]["key"]] is a.rows[0]
    text = a.to_table(max_rows=5, keys=True)
    assert text.count("\n") == 6 and "census of 4 circuit(s)" in text


def test_census_single_circuit_and_validation() -> None:
    c = random_circuit(5, 2, 1, p_conn=0.4, seed=0)
    res = census(c, sizes=(3,), n_random=5)
    assert res.n_circuits == 1 and all(r["size"] == 3 for r in res.rows)
    with pytest.raises(ValueError, match="sizes"):
        census(c, sizes=(5,))
    with pytest.raises(ValueError, match="n_random"):
        census(c, n_random=-1)
