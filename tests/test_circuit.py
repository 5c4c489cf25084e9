"""Circuit model: validation, circuit JSON, networkx view and GraphML."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest

from evo_circuits import Circuit, CircuitError, FormatError, random_circuit
from evo_circuits.circuit import Synapses
from evo_circuits.io import from_dict, graphml, load, save, to_dict

EXAMPLE = {
    "format": "evo-circuits/circuit", "version": 1, "name": "feedforward-inhibition", "dt_ms": 0.1,
    "synapse_model": "current", "n_inputs": 1,
    "neurons": [{"type": "E"}, {"type": "I", "tau_m": 10.0}, {"type": "E", "v_th": -52.0, "i_bias": 0.0}],
    "outputs": [2],
    "input_synapses": [{"channel": 0, "post": 0, "weight": 2.0, "delay_ms": 0.0},
                       {"channel": 0, "post": 1, "weight": 2.0, "delay_ms": 1.0}],
    "synapses": [{"pre": 0, "post": 2, "weight": 1.5, "delay_ms": 0.5, "p_release": 1.0},
                 {"pre": 1, "post": 2, "weight": 3.0, "delay_ms": 0.0}],
    "metadata": {},
}


@pytest.fixture(scope="module")
def rich() -> Circuit:
    c = random_circuit(6, 3, 2, p_conn=0.4, max_delay_steps=12, seed=5, outputs=[1, 4])
    p = np.where(c.weights > 0, np.round(np.random.default_rng(0).uniform(0.2, 1.0, c.weights.shape), 3), 1.0)
    u = np.zeros_like(c.weights)
    u[c.n_inputs + 1, 2] = 0.5 if c.weights[c.n_inputs + 1, 2] else 0.0
    params = c.params.copy()
    params[3, 0] = 12.5
    return c.replace(p_release=p, std_u=u, std_tau_rec=np.where(u > 0, 150.0, 0.0), params=params, name="rich",
                     metadata={"seed": 5, "note": "test"})


def test_design_example_loads_with_defaults():
    c = from_dict(EXAMPLE)
    assert (c.n_exc, c.n_inh, c.n_inputs) == (2, 1, 1)
    assert c.param("tau_m").tolist() == [20.0, 10.0, 20.0]
    assert c.param("v_th").tolist() == [-50.0, -50.0, -52.0]
    assert c.delays[1, 2] == 5 and c.delays[0, 1] == 10
    assert c.signed_weights[2, 2] == -3.0 and c.signed_weights[1, 2] == 1.5


def test_json_round_trip(tmp_path, rich):
    path = tmp_path / "c.json"
    save(rich, path)
    back = load(path)
    assert back == rich
    text = path.read_text()
    assert '"format": "evo-circuits/circuit"' in text and "pickle" not in text


def test_json_writes_only_non_default_neuron_fields(rich):
    d = to_dict(rich)
    assert d["neurons"][3] == {"type": "E", "tau_m": 12.5}
    assert d["neurons"][0] == {"type": "E"}


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d.update(format="other"), "format"),
    (lambda d: d.update(version=2), "version"),
    (lambda d: d.update(wieght=1), "wieght"),
    (lambda d: d["neurons"][1].update(type="X"), "neurons[1].type"),
    (lambda d: d["neurons"][1].update(tau_m="10"), "neurons[1].tau_m"),
    (lambda d: d["neurons"][1].update(tau_m=-1.0), "neurons[1].tau_m"),
    (lambda d: d["synapses"][0].update(weight=-1.0), "synapses[0].weight"),
    (lambda d: d["synapses"][0].update(delay_ms=0.05), "synapses[0].delay_ms"),
    (lambda d: d["synapses"][0].update(delay_ms=500.0), "delays"),
    (lambda d: d["synapses"][0].update(p_release=1.5), "p_release"),
    (lambda d: d["synapses"][0].update(p_release=0.0), "p_release"),
    (lambda d: d["synapses"][0].update(post=7), "synapses[0].post"),
    (lambda d: d["input_synapses"][0].update(channel=3), "input_synapses[0].channel"),
    (lambda d: d.update(outputs=[5]), "outputs[0]"),
    (lambda d: d.update(outputs=[1.5]), "outputs[0]"),
    (lambda d: d.update(synapse_model="cond"), "synapse_model"),
    (lambda d: d["synapses"][0].update(std={"U": 2.0, "tau_rec": 10.0}), "synapses[0].std.U"),
    (lambda d: d["synapses"].append({"pre": 0, "post": 2, "weight": 1.0}), "duplicate"),
])
def test_json_errors_name_the_field(mutate, field):
    d = json.loads(json.dumps(EXAMPLE))
    mutate(d)
    with pytest.raises((FormatError, CircuitError)) as exc:
        from_dict(d)
    assert field in str(exc.value)
    assert "\n" not in str(exc.value)


def test_json_rejects_nan(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(EXAMPLE).replace('"weight": 1.5', '"weight": NaN'))
    with pytest.raises(FormatError, match="NaN"):
        load(path)


@pytest.mark.parametrize("kwargs,field", [
    (dict(weights=[[-1.0]]), "weights[0, 0]"),
    (dict(weights=[[np.nan]]), "weights[0, 0]"),
    (dict(weights=[[np.inf]]), "weights[0, 0]"),
    (dict(weights=[[1.0]], delays=[[-2]]), "delays[0, 0]"),
    (dict(weights=[[1.0]], delays=[[100000]]), "delays[0, 0]"),
    (dict(weights=[[1.0]], p_release=[[0.0]]), "p_release[0, 0]"),
    (dict(weights=[[1.0]], p_release=[[1.2]]), "p_release[0, 0]"),
    (dict(types=[2]), "types[0]"),
    (dict(outputs=[3]), "outputs[0]"),
    (dict(weights=[[1.0, 2.0]]), "weights: expected shape"),
])
def test_array_validation_names_the_field(kwargs, field):
    base = dict(types=[1], n_inputs=0, weights=[[0.0]], outputs=[0])
    base.update(kwargs)
    with pytest.raises(CircuitError) as exc:
        Circuit(**base)
    assert field in str(exc.value)


def test_networkx_view_and_inverse(rich):
    g = rich.to_networkx()
    assert g.nodes["in0"]["kind"] == "input" and g.nodes["n1"]["role"] == "out"
    inh = [i for i in range(rich.n_neurons) if rich.types[i] < 0]
    for u, v, d in g.edges(data=True):
        if u.startswith("n") and int(u[1:]) in inh:
            assert d["weight"] < 0
        else:
            assert d["weight"] > 0
    assert g.number_of_edges() == rich.n_synapses
    back = Circuit.from_networkx(g)
    assert back == rich.replace(metadata={})


def test_graphml_round_trip(tmp_path, rich):
    path = tmp_path / "c.graphml"
    save(rich, path)
    assert isinstance(nx.read_graphml(path), nx.DiGraph)
    assert load(path) == rich.replace(metadata={})
    assert graphml.load(path) == rich.replace(metadata={})


def test_from_networkx_rejects_dale_violation(rich):
    g = rich.to_networkx()
    u, v = next((u, v) for u, v in g.edges if u.startswith("in"))
    g.edges[u, v]["weight"] = -1.0
    with pytest.raises(FormatError, match="Dale"):
        Circuit.from_networkx(g)


def test_replace_validates_and_copies(rich):
    c2 = rich.replace(name="x")
    with pytest.raises(ValueError, match="read-only"):  # a dense view cannot be written (it would not stick)
        c2.weights[0, 0] = 99.0
    w = c2.weights.copy()
    w[0, 0] = 99.0
    assert rich.weights[0, 0] != 99.0 and c2.weights[0, 0] != 99.0
    with pytest.raises(CircuitError, match="weights"):
        rich.replace(weights=-rich.weights - 1)


def test_synapse_list_matches_the_matrices(rich):
    s = rich.synapses
    assert len(s.pre) == rich.n_synapses
    order = np.lexsort((s.post, s.pre))
    assert np.array_equal(order, np.arange(len(s.pre)))  # sorted by (source row, post)
    assert np.all(s.weight > 0) and np.array_equal(rich.weights[s.pre, s.post], s.weight)
    for name, dense in (("delay", rich.delays), ("p_release", rich.p_release), ("std_u", rich.std_u),
                        ("std_tau_rec", rich.std_tau_rec)):
        assert np.array_equal(getattr(s, name), dense[s.pre, s.post]), name


# ----------------------------------------------------------------------------- sparse storage (issue 15)
def test_a_circuit_from_its_synapse_table_equals_the_dense_one(rich):
    s = rich.synapses
    order = np.random.default_rng(0).permutation(len(s.pre))  # any order; zero weights are absent
    shuffled = Synapses(*(np.concatenate([a[order], a[:1]]) for a in s))
    shuffled.weight[-1] = 0.0
    c = Circuit(rich.types, rich.n_inputs, synapses=shuffled, params=rich.params, outputs=rich.outputs,
                name=rich.name, metadata=rich.metadata)
    assert c == rich and np.array_equal(c.weights, rich.weights) and np.array_equal(c.std_tau_rec, rich.std_tau_rec)
    assert rich.replace(synapses=shuffled) == rich


@pytest.mark.parametrize("edit, message", [
    (lambda s: s._replace(pre=np.concatenate([s.pre[:1], s.pre])), "expected 41 entries"),
    (lambda s: Synapses(*(np.concatenate([a, a[:1]]) for a in s)), "duplicate synapse"),
    (lambda s: s._replace(post=s.post + 100), r"synapses.post\[0\]: index 1\d\d out of range"),
    (lambda s: s._replace(p_release=np.full(len(s.pre), 1.5)), r"p_release\[0, \d\]: release probability"),
    (lambda s: s._replace(delay=s.delay.astype(float) + 0.5), "whole numbers"),
])
def test_a_bad_synapse_table_is_refused_naming_the_field(rich, edit, message):
    with pytest.raises(CircuitError, match=message):
        rich.replace(synapses=edit(rich.synapses))


def test_dense_views_are_read_only_and_refused_for_large_circuits():
    from evo_circuits.circuit import DENSE_MAX_ENTRIES

    n = int(np.sqrt(DENSE_MAX_ENTRIES)) + 1
    syn = Synapses(np.array([0, 5]), np.array([3, n - 1]), np.array([1.0, 2.0]), np.array([2, 0]),
                   np.ones(2), np.zeros(2), np.zeros(2))
    big = Circuit(np.ones(n, np.int8), 1, synapses=syn)
    assert big.n_synapses == 2 and big.synapses.post.tolist() == [3, n - 1]
    with pytest.raises(CircuitError, match="too large for dense matrices.*Circuit.synapses"):
        big.weights
    assert big.without_neurons([3]).synapses.post.tolist() == [n - 2]
    assert big.with_neurons([-1]).n_synapses == 2
    with pytest.raises(ValueError, match="read-only"):
        big.synapses.weight[0] = 5.0
    small = random_circuit(4, 1, 1, seed=0)
    with pytest.raises(ValueError, match="read-only"):
        small.delays[0, 0] = 3


def test_neurons_removed_and_added_keep_every_other_synapse(rich):
    drop = [0, 4]
    keep = [i for i in range(rich.n_neurons) if i not in drop]
    rows = list(range(rich.n_inputs)) + [rich.n_inputs + i for i in keep]
    small = rich.without_neurons(drop)
    for name in ("weights", "delays", "p_release", "std_u", "std_tau_rec"):
        assert np.array_equal(getattr(small, name), getattr(rich, name)[np.ix_(rows, keep)]), name
    grown = rich.with_neurons([1, -1])
    assert np.array_equal(grown.weights[:rich.n_inputs + rich.n_neurons, :rich.n_neurons], rich.weights)
    assert grown.weights[:, rich.n_neurons:].sum() == 0 and (grown.weights[-2:] == 0).all()
    assert (grown.p_release[-2:] == 1).all()


def test_a_circuit_survives_pickling_read_only(rich):
    import pickle

    back = pickle.loads(pickle.dumps(rich))
    assert back == rich
    with pytest.raises(ValueError, match="read-only"):
        back.synapses.weight[0] = 1.0


@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_npz_round_trip(tmp_path, rich, layout):
    from evo_circuits.io import npz

    path = tmp_path / "c.npz"
    npz.save(rich, path, layout)
    with np.load(path, allow_pickle=False) as z:
        assert str(z["format"]) == {"dense": "evo-circuits/arrays", "sparse": "evo-circuits/arrays-sparse"}[layout]
    assert load(path) == rich.replace(name="", metadata={})  # NPZ carries neither


def test_npz_with_a_sign_against_dale_is_refused(tmp_path, rich):
    from evo_circuits.io import npz
    from evo_circuits.io.atomic import save_npz

    arrays = npz.to_arrays(rich, "sparse")
    arrays["syn_weight"] = -arrays["syn_weight"]
    save_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FormatError, match=r"bad.npz: syn_weight\[0\]: sign breaks Dale's law"):
        load(tmp_path / "bad.npz")


def test_json_of_many_neurons_reads_without_dense_matrices():
    n = 100_000  # dense matrices would be 8e10 bytes each
    d = {"format": "evo-circuits/circuit", "version": 1, "n_inputs": 2, "neurons": [{"type": "E"}] * n,
         "input_synapses": [{"channel": 1, "post": n - 1, "weight": 1.0}],
         "synapses": [{"pre": n - 1, "post": 0, "weight": 2.0, "delay_ms": 0.3}]}
    c = from_dict(d)
    assert c.n_neurons == n and c.synapses.pre.tolist() == [1, n + 1] and c.synapses.delay.tolist() == [0, 3]
    assert to_dict(c)["synapses"] == [{"pre": n - 1, "post": 0, "weight": 2.0, "delay_ms": 0.3}]


def test_large_random_circuits_are_drawn_sparse():
    c = random_circuit(5000, 1000, 3, p_conn=0.001, p_input=0.01, max_delay_steps=4, seed=2)
    s = c.synapses
    n = c.n_neurons
    rec = s.pre >= 3
    assert abs(rec.sum() - 0.001 * n * (n - 1)) < 5 * np.sqrt(0.001 * n * n)
    assert abs((~rec).sum() - 0.01 * 3 * n) < 5 * np.sqrt(0.01 * 3 * n)
    assert not np.any(s.pre[rec] - 3 == s.post[rec]) and s.delay.max() == 4
    inh = rec & (c.types[np.maximum(s.pre - 3, 0)] < 0)
    assert s.weight[inh].min() >= 1.0 and s.weight[rec & ~inh].max() <= 1.5


def test_nir_export_of_a_circuit_too_large_for_dense_matrices_is_one_line(tmp_path):
    from evo_circuits.circuit import DENSE_MAX_ENTRIES

    n = int(np.sqrt(DENSE_MAX_ENTRIES)) + 1
    big = Circuit(np.ones(n, np.int8), 0, synapses=Synapses(*(np.array([x]) for x in (0, 1, 1.0, 0, 1.0, 0.0, 0.0))))
    with pytest.raises(FormatError, match="too large for NIR's dense weight matrices"):
        save(big, tmp_path / "big.nir")
    assert not (tmp_path / "big.nir").exists()
