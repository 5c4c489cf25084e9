"""Motif identity: coloured graph, WL label, exact isomorphism, typed containment."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from evo_circuits import Circuit, random_circuit
from evo_circuits.motifs import (
    canonical_label,
    contains,
    find_embeddings,
    motif_graph,
    named_motif,
    same_motif,
)

#: canonical_label of the shipped feedforward-inhibition motif under networkx 3.5/3.6.
PINNED_FFI_LABEL = "wl1:3:3:c16aa62ed0871a7c24e0bc159422c093"

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def circuits(draw, min_synapses: int = 0) -> Circuit:
    n_exc = draw(st.integers(1, 6))
    n_inh = draw(st.integers(0, 3))
    n_in = draw(st.integers(0, 3))
    c = random_circuit(n_exc, n_inh, n_in, p_conn=draw(st.sampled_from([0.2, 0.4, 0.7])), p_input=0.6,
                       w_exc=(5.0, 150.0), w_inh=(5.0, 150.0), w_input=(5.0, 150.0),
                       max_delay_steps=draw(st.sampled_from([0, 30])), self_loops=draw(st.booleans()),
                       seed=draw(st.integers(0, 2 ** 32 - 1)))
    n = c.n_neurons
    outs = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=min(n, 3)))
    c = c.replace(outputs=outs)
    assume(c.n_synapses >= min_synapses)
    return c


def permuted(c: Circuit, perm: np.ndarray, in_perm: np.ndarray, out_order: np.ndarray) -> Circuit:
    """Same circuit with neuron j := old neuron perm[j], channel k := old channel in_perm[k]."""
    n_in = c.n_inputs
    rows = np.concatenate([in_perm, n_in + perm])
    inv = np.argsort(perm)
    fields = {k: getattr(c, k)[rows][:, perm] for k in ("weights", "delays", "p_release", "std_u", "std_tau_rec")}
    outs = inv[c.outputs][out_order]
    return c.replace(types=c.types[perm], params=c.params[perm], outputs=outs, **fields)


@st.composite
def relabelled(draw, min_synapses: int = 0) -> tuple[Circuit, Circuit]:
    c = draw(circuits(min_synapses))
    perm = np.array(draw(st.permutations(range(c.n_neurons))), dtype=np.int64)
    in_perm = np.array(draw(st.permutations(range(c.n_inputs))), dtype=np.int64)
    out_order = np.array(draw(st.permutations(range(len(c.outputs)))), dtype=np.int64)
    return c, permuted(c, perm, in_perm, out_order)


@SETTINGS
@given(relabelled())
def test_relabelled_copies_have_equal_labels(pair: tuple[Circuit, Circuit]) -> None:
    a, b = pair
    assert canonical_label(a) == canonical_label(b)
    assert same_motif(a, b)
    bins = {"weight_bins": [20.0, 80.0], "delay_bins": [10, 20]}
    assert canonical_label(a, **bins) == canonical_label(b, **bins)
    assert same_motif(a, b, **bins)


@SETTINGS
@given(circuits(), st.data())
def test_flipped_neuron_type_changes_label(c: Circuit, data) -> None:
    i = data.draw(st.integers(0, c.n_neurons - 1))
    types = c.types.copy()
    types[i] = -types[i]
    d = c.replace(types=types)
    assert canonical_label(c) != canonical_label(d)
    assert not same_motif(c, d)


@SETTINGS
@given(circuits(min_synapses=1), st.data())
def test_removed_synapse_changes_label(c: Circuit, data) -> None:
    rows, cols = np.nonzero(c.weights)
    k = data.draw(st.integers(0, rows.size - 1))
    w = c.weights.copy()
    w[rows[k], cols[k]] = 0.0
    d = c.replace(weights=w)
    assert canonical_label(c) != canonical_label(d)
    assert not same_motif(c, d)


@SETTINGS
@given(circuits(min_synapses=1), st.data())
def test_weight_and_delay_bins(c: Circuit, data) -> None:
    edges = [5.0, 50.0, 100.0]
    present = c.weights > 0
    # every weight to the middle of its bin, then jitter inside the bin: same label
    mids = np.array([2.5, 25.0, 75.0, 125.0])
    bin_of = np.searchsorted(edges, c.weights, side="right")
    a = c.replace(weights=np.where(present, mids[bin_of], 0.0))
    jitter = data.draw(st.floats(-2.0, 2.0))
    b = c.replace(weights=np.where(present, mids[bin_of] + jitter, 0.0))
    assert canonical_label(a, weight_bins=edges) == canonical_label(b, weight_bins=edges)
    assert same_motif(a, b, weight_bins=edges)
    # one synapse into another bin: different binned label, same unbinned label
    rows, cols = np.nonzero(present)
    k = data.draw(st.integers(0, rows.size - 1))
    w = a.weights.copy()
    w[rows[k], cols[k]] = mids[(bin_of[rows[k], cols[k]] + 1) % 4]
    moved = a.replace(weights=w)
    assert canonical_label(a, weight_bins=edges) != canonical_label(moved, weight_bins=edges)
    assert not same_motif(a, moved, weight_bins=edges)
    assert canonical_label(a) == canonical_label(moved)
    # delays: same bin vs next bin
    d = a.delays.copy()
    d[rows[k], cols[k]] = 0
    d0 = a.replace(delays=d)
    d[rows[k], cols[k]] = 4
    d4 = a.replace(delays=d)
    d[rows[k], cols[k]] = 25
    d25 = a.replace(delays=d)
    assert canonical_label(d0, delay_bins=[10]) == canonical_label(d4, delay_bins=[10])
    assert canonical_label(d0, delay_bins=[10]) != canonical_label(d25, delay_bins=[10])


def test_motif_graph_colours() -> None:
    g = motif_graph(named_motif("feedforward-inhibition"))
    assert dict(g.nodes(data="color")) == {"in0": "in", "n0": "out:E", "n1": "I"}
    assert {(u, v): c for u, v, c in g.edges(data="color")} == {("in0", "n0"): "+", ("in0", "n1"): "+",
                                                               ("n1", "n0"): "-"}
    gb = motif_graph(named_motif("feedforward-inhibition"), weight_bins=[90.0], delay_bins=[5, 10])
    assert gb.edges["in0", "n0"]["color"] == "+|w0|d0"
    assert gb.edges["n1", "n0"]["color"] == "-|w1|d2"


def test_label_is_pinned() -> None:
    """A change here means networkx (or the scheme) changed: bump LABEL_SCHEME."""
    label = canonical_label(named_motif("feedforward-inhibition"))
    assert label == PINNED_FFI_LABEL


def test_input_channels_and_ports_are_interchangeable() -> None:
    c = named_motif("jeffress-delay-line")
    d = permuted(c, np.array([2, 0, 1]), np.array([1, 0]), np.array([2, 1, 0]))
    assert canonical_label(c) == canonical_label(d) and same_motif(c, d)
    # an output turned hidden is a different motif
    e = c.replace(outputs=[0, 1])
    assert canonical_label(c) != canonical_label(e) and not same_motif(c, e)


def test_bad_bins_are_rejected() -> None:
    c = named_motif("ping")
    with pytest.raises(ValueError, match="weight_bins"):
        canonical_label(c, weight_bins=[5.0, 1.0])
    with pytest.raises(ValueError, match="delay_bins"):
        motif_graph(c, delay_bins=[])


# ---------------------------------------------------------------------------- containment
def _ffi_inside_larger() -> Circuit:
    """3 inputs; E0 hidden, E1 output, I2; in1 -> E1, in1 -> I2, I2 -| E1 plus extras."""
    w = np.zeros((3 + 3, 3))
    w[1, 1] = w[1, 2] = 50.0          # in1 -> E1 (an output), in1 -> I2
    w[3 + 2, 1] = 50.0                # I2 -| E1
    w[0, 0] = w[3 + 0, 1] = w[3 + 1, 0] = 30.0   # in0 -> E0, E0 <-> E1
    return Circuit(types=[1, 1, -1], n_inputs=3, weights=w, outputs=[1])


def test_contains_ffi_with_roles_ignored() -> None:
    host = _ffi_inside_larger()
    ffi = named_motif("feedforward-inhibition")
    assert contains(host, ffi)
    emb = find_embeddings(host, ffi)
    assert emb == [{"in0": "in1", "n0": "n1", "n1": "n2"}]
    # feedback inhibition (E -> I -| E) is absent; the I has no excitatory input from E
    assert not contains(host, named_motif("feedback-inhibition"))


def test_pattern_as_plain_digraph_and_inputs_as_e() -> None:
    host = _ffi_inside_larger()
    # E0 drives E1 but not I2: disynaptic E -> {E, I}, I -| E needs an E source
    p = nx.DiGraph()
    p.add_nodes_from([("src", {"type": "E"}), ("e", {"type": "E"}), ("i", {"type": "I"})])
    p.add_edges_from([("src", "e"), ("src", "i"), ("i", "e")])
    assert not contains(host, p)
    ffi = named_motif("feedforward-inhibition")
    # an "in" pattern node may stand for an E neuron when asked
    w = host.weights.copy()
    w[3 + 0, 2] = 40.0                # E0 -> I2 and E0 -> E1 already: E0 now drives an FFI
    host2 = host.replace(weights=w)
    assert contains(host2, p)
    assert len(find_embeddings(host2, ffi)) == 1
    assert len(find_embeddings(host2, ffi, inputs_as_e=True)) == 2


def test_find_embeddings_unique_and_limit() -> None:
    # two E cells mutually connected: the pattern E <-> E has 2 automorphic embeddings
    c = Circuit(types=[1, 1], n_inputs=0, weights=np.array([[0, 1.0], [1.0, 0]]))
    p = nx.DiGraph([("a", "b"), ("b", "a")])
    nx.set_node_attributes(p, "E", "type")
    assert len(find_embeddings(c, p, unique=False)) == 2
    assert len(find_embeddings(c, p)) == 1
    big = random_circuit(12, 0, 0, p_conn=0.5, seed=3)
    assert len(find_embeddings(big, p, limit=5)) == 5


def test_pattern_validation() -> None:
    p = nx.DiGraph([("a", "b")])
    p.nodes["a"]["type"] = "E"
    with pytest.raises(ValueError, match="type"):
        contains(named_motif("ping"), p)
    with pytest.raises(TypeError):
        contains(named_motif("ping"), "ffi")
