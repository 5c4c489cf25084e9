"""Motif library: add/find/occurrences, export/import round trips, hostile files, schema checks, CLI."""

from __future__ import annotations

import argparse
import io
import json
import pickle
import re
import sqlite3
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from evo_circuits import Circuit, FormatError, load, random_circuit, save
from evo_circuits.motifs.canonical import canonical_label, contains, same_motif
from evo_circuits.io import IMPORT_CAPS, MAX_FILE_BYTES, from_nir, to_arrays, to_dict, to_nir
from evo_circuits.motifs.entry import MotifEntry
from evo_circuits.motifs.library import SCHEMA_VERSION, MotifLibrary, MotifNotFound, default_library_path
from evo_circuits.motifs.named import named_motifs

ROOT = Path(__file__).resolve().parents[1]


def relabel(c: Circuit, perm) -> Circuit:
    """The same circuit with neuron i renamed to position perm^-1[i] (an isomorphic copy)."""
    perm = np.asarray(perm)
    rows = np.r_[np.arange(c.n_inputs), c.n_inputs + perm]
    where = {int(old): new for new, old in enumerate(perm)}
    return c.replace(types=c.types[perm], weights=c.weights[rows][:, perm], delays=c.delays[rows][:, perm],
                     p_release=c.p_release[rows][:, perm], std_u=c.std_u[rows][:, perm],
                     std_tau_rec=c.std_tau_rec[rows][:, perm], params=c.params[perm],
                     outputs=[where[int(o)] for o in c.outputs])


def motif(seed: int = 1, n_exc: int = 3, n_inh: int = 2, n_inputs: int = 2, delays: int = 4) -> Circuit:
    c = random_circuit(n_exc, n_inh, n_inputs, p_conn=0.45, max_delay_steps=delays, seed=seed)
    tau = c.params.copy()
    tau[:, 0] *= np.linspace(0.8, 1.3, c.n_neurons)  # distinct tau_m, so exactness is tested
    return c.replace(params=tau, name=f"m{seed}", metadata={"seed": seed})


@pytest.fixture
def lib(tmp_path):
    with MotifLibrary(tmp_path / "lib.db") as library:
        library.seed_named()  # the first write creates the file (the tests compare its dumps)
        yield library


def dump(path: Path) -> list[str]:
    con = sqlite3.connect(str(path))
    try:
        return list(con.iterdump())
    finally:
        con.close()


# ----------------------------------------------------------------------------- library basics
def test_new_library_is_seeded_with_named_motifs(lib):
    named = named_motifs()
    assert len(lib) == len(named)
    rows = lib.list(sort="name")
    assert sorted(r.name for r in rows) == sorted(named)
    assert all(r.occurrences == 0 for r in rows)
    name = sorted(named)[0]
    assert same_motif(lib.get(name), named[name])
    assert lib.entry(name).provenance[0]["source"] == "named"


def test_default_path(monkeypatch, tmp_path):
    monkeypatch.delenv("EVO_CIRCUITS_LIBRARY", raising=False)
    assert default_library_path() == Path("motifs") / "library.db"
    monkeypatch.setenv("EVO_CIRCUITS_LIBRARY", str(tmp_path / "x.db"))
    assert default_library_path() == tmp_path / "x.db"
    with MotifLibrary() as lib:
        assert lib.path == tmp_path / "x.db" and len(lib) == len(named_motifs())


def test_reading_a_missing_library_creates_nothing(tmp_path, monkeypatch):
    named = named_motifs()
    path = tmp_path / "new" / "lib.db"
    with MotifLibrary(path) as lib:
        assert not lib.exists
        assert len(lib) == len(named) and {e.name for e in lib.list()} == set(named)
        name = sorted(named)[0]
        assert same_motif(lib.get(name), named[name]) and lib.entry(name).provenance[0]["source"] == "named"
        with pytest.raises(FormatError):
            lib.add(motif(3), score=0.5)  # refused before anything is written
        assert not path.parent.exists()
        mid, new = lib.add(motif(3), task="coincidence", score=0.5)  # the first write creates the file
        assert new and lib.exists and path.is_file()
        assert lib.entry(mid).tasks == {"coincidence": 0.5}
    with MotifLibrary(path) as lib:
        assert len(lib) == len(named) + 1 and lib.entry(mid).occurrences == 1
        assert lib.entry(name).occurrences == 0  # seeded once, on creation
    # The default library (motifs/library.db in the working directory) is not created by a read either.
    monkeypatch.delenv("EVO_CIRCUITS_LIBRARY", raising=False)
    monkeypatch.chdir(tmp_path)
    with MotifLibrary() as lib:
        assert len(lib) == len(named) and lib.list(task="coincidence") == []
    assert not (tmp_path / "motifs").exists()
    out = run_cli("motifs", "list", "--library", str(tmp_path / "none.db"))
    assert f"{len(named)} motif(s)" in out and "does not exist yet" in out
    assert not (tmp_path / "none.db").exists()


def test_list_and_entry_return_entries(lib):
    mid, _ = lib.add(motif(4), task="coincidence", score=0.8, provenance={"run_id": "r", "seed": 1})
    rows = lib.list(task="coincidence")
    assert [type(r) for r in rows] == [MotifEntry] and rows[0].id == mid and not rows[0].has_details
    assert rows[0].circuit is None and rows[0].provenance is None and rows[0].best_score == 0.8
    e = lib.entry(mid)
    assert isinstance(e, MotifEntry) and e.has_details and e.circuit == lib.get(mid)
    assert e.runs == 1 and e.seeds == 1 and e.circuit_name == "m4"
    summary = rows[0].to_dict()
    full = e.to_dict()
    assert {k: full[k] for k in summary} == summary  # one type: the listing is the entry without details
    assert set(full) - set(summary) == {"census", "scores", "provenance", "runs", "seeds", "circuit_name", "circuit"}
    assert json.loads(json.dumps(full, allow_nan=False))["circuit"] == to_dict(e.circuit)


def test_add_find_by_id_name_and_query(lib):
    base = len(lib)
    c = motif(1)
    mid, new = lib.add(c, task="coincidence", score=0.9, provenance={"run_id": "r1", "generation": 12, "seed": 3,
                                                                       "config_hash": "abc"})
    assert new and len(lib) == base + 1
    assert lib.get(mid) == c and lib.get(str(mid)) == c  # exact round trip through the strict reader
    small = random_circuit(2, 1, 1, p_conn=0.6, seed=7)
    sid, _ = lib.add(small, task="gating", score=0.4)
    e = lib.entry(mid)
    assert e.tasks == {"coincidence": 0.9} and e.best_score == 0.9
    assert (e.n_exc, e.n_inh, e.n_inputs, e.n_outputs) == (3, 2, 2, 1)
    assert e.n_synapses == c.n_synapses and e.occurrences == 1
    assert e.provenance[0]["run_id"] == "r1" and e.provenance[0]["package_version"]
    assert [r.id for r in lib.list(task="coincidence")] == [mid]
    assert [r.id for r in lib.list(min_score=0.5)] == [mid]
    assert {r.id for r in lib.list(min_score=0.3)} == {mid, sid}
    assert lib.list(task="gating", min_score=0.5) == []
    assert all(r.n_neurons <= 3 for r in lib.list(max_neurons=3))
    assert lib.list(sort="score")[0].id == mid
    with pytest.raises(MotifNotFound):
        lib.get(10_000)
    with pytest.raises(MotifNotFound):
        lib.get("no-such-motif")
    lib.remove(sid)
    assert sid not in lib and len(lib) == base + 1


def test_contains_query_named_and_circuit(lib):
    name, pattern = sorted(named_motifs().items())[0]
    # A bigger circuit: the named motif plus one E neuron driven by every neuron.
    n = pattern.n_neurons
    w = np.zeros((pattern.n_inputs + n + 1, n + 1))
    w[:-1, :-1] = pattern.weights
    w[pattern.n_inputs:pattern.n_inputs + n, n] = 1.0
    bigger = Circuit(types=np.r_[pattern.types, 1], n_inputs=pattern.n_inputs, weights=w,
                     outputs=list(pattern.outputs))
    assert contains(bigger, pattern)
    mid, new = lib.add(bigger)
    assert new
    hits = {r.id for r in lib.list(contains=name)}
    assert mid in hits and lib.resolve(name) in hits
    assert mid in {r.id for r in lib.list(contains=pattern)}
    with pytest.raises(FormatError):
        lib.list(contains="not-a-named-motif")


def test_isomorphic_relabelled_copy_increments_occurrences(lib):
    c = motif(2)
    mid, new = lib.add(c, task="coincidence", score=0.5, provenance={"run_id": "a", "seed": 1})
    assert new
    base = len(lib)
    rng = np.random.default_rng(0)
    for k in range(3):
        copy = relabel(c, rng.permutation(c.n_neurons))
        assert canonical_label(copy) == canonical_label(c)
        mid2, new2 = lib.add(copy, task="coincidence", score=0.6 + 0.1 * k, provenance={"run_id": "b", "seed": k})
        assert (mid2, new2) == (mid, False)
    assert len(lib) == base
    e = lib.entry(mid)
    assert e.occurrences == 4 and len(e.provenance) == 4 and len(e.scores) == 4
    assert e.tasks["coincidence"] == pytest.approx(0.8) and e.runs == 2 and e.seeds == 4
    # A named motif found by a run is merged into its seeded entry.
    name, nm = sorted(named_motifs().items())[0]
    nid, nnew = lib.add(relabel(nm, np.arange(nm.n_neurons)[::-1]), provenance={"run_id": "c"})
    assert not nnew and lib.entry(nid).name == name and lib.entry(nid).occurrences == 1


def test_add_validates_inputs(lib):
    before = dump(lib.path)
    with pytest.raises(FormatError):
        lib.add(motif(3), score=0.5)  # a score needs its task
    with pytest.raises(FormatError):
        lib.add(motif(3), task="t", score=float("nan"))
    with pytest.raises(FormatError):
        lib.add(motif(3), provenance={"colour": "red"})
    with pytest.raises(FormatError):
        lib.add(motif(3), census={"z": float("inf")})
    with pytest.raises(FormatError):
        lib.add("not a circuit")  # type: ignore[arg-type]
    assert dump(lib.path) == before
    mid, _ = lib.add(motif(3), census={"count": 12, "z": 3.5})
    lib.set_census(mid, {"count": 13, "z": 4.0})
    assert lib.entry(mid).census == {"count": 13, "z": 4.0}


# ----------------------------------------------------------------------------- export / import
@pytest.mark.parametrize("fmt", ["json", "graphml", "nir"])
def test_export_import_round_trip_same_label(tmp_path, fmt):
    pytest.importorskip("nir") if fmt == "nir" else None
    c = motif(4)
    path = save(c, tmp_path / f"m.{fmt}", **({"flavour": "exact"} if fmt == "nir" else {}))
    back = load(path)
    assert canonical_label(back) == canonical_label(c)
    assert same_motif(back, c)
    assert np.array_equal(back.weights, c.weights) and np.array_equal(back.delays, c.delays)
    if fmt in ("json", "nir"):
        assert back == c  # the NIR file carries the circuit JSON: identical circuit


def test_nir_graph_alone_maps_back_exactly():
    """Without the embedded JSON, the NIR nodes alone give the circuit back (units ms <-> s)."""
    pytest.importorskip("nir")
    c = motif(5)
    g = to_nir(c, "exact")
    assert {"input", "neurons", "syn_e", "syn_i", "output"} <= set(g.nodes)
    assert g.metadata["time_unit"] == "s" and g.metadata["dt"] == pytest.approx(1e-4)
    lif = g.nodes["neurons"]
    assert np.allclose(lif.tau, c.param("tau_m") * 1e-3)
    assert np.allclose(lif.v_threshold, c.param("v_th") - c.param("v_rest"))
    assert np.allclose(g.nodes["syn_e"].r / g.nodes["syn_e"].tau, 1.0)  # a spike makes I jump by W
    del g.metadata["circuit_json"]
    back = from_nir(g)
    assert np.array_equal(back.types, c.types) and np.array_equal(back.delays, c.delays)
    assert np.allclose(back.weights, c.weights, rtol=1e-12)
    cols = [k for k in range(c.params.shape[1]) if k not in (8, 9)]  # e_e, e_i: conductance mode only
    has = {1: np.any(c.signed_weights > 0, axis=0), 2: np.any(c.signed_weights < 0, axis=0)}
    for k in cols:
        mask = has.get(k, np.ones(c.n_neurons, bool))  # tau_e/tau_i only where such synapses exist
        assert np.allclose(back.params[mask, k], c.params[mask, k], rtol=1e-12), k
    assert list(back.outputs) == list(c.outputs)
    assert canonical_label(back) == canonical_label(c)


def test_nir_edited_graph_wins_and_no_inputs():
    pytest.importorskip("nir")
    c = motif(7)
    pr = c.p_release.copy()
    pr[c.weights > 0] = 0.5
    c = c.replace(p_release=pr)
    g = to_nir(c, "exact")
    g.nodes["rec_e_d0"].weight = g.nodes["rec_e_d0"].weight * 2  # edited in another tool
    back = from_nir(g)
    e_rows = c.signed_weights > 0
    e_rows[:c.n_inputs] = False
    changed = e_rows & (c.delays == 0)
    assert np.allclose(back.weights[changed], 2 * c.weights[changed])
    assert np.array_equal(back.p_release, c.p_release) and back.name == c.name  # kept from the JSON
    no_inputs = random_circuit(2, 2, 0, p_conn=0.7, seed=4, max_delay_steps=2)
    assert from_nir(to_nir(no_inputs, "exact")) == no_inputs


def test_nir_conductance_refused(tmp_path):
    pytest.importorskip("nir")
    c = random_circuit(2, 1, 1, seed=1, synapse_model="conductance")
    with pytest.raises(FormatError, match="conductance"):
        save(c, tmp_path / "c.nir")
    assert not (tmp_path / "c.nir").exists()


def test_npz_arrays_without_pickle(tmp_path):
    c = motif(6)
    path = save(c, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as z:
        assert np.array_equal(z["weights"], c.signed_weights)
        assert np.array_equal(z["delays"], c.delays) and np.array_equal(z["types"], c.types)
        assert np.array_equal(z["outputs"], c.outputs) and int(z["n_inputs"]) == c.n_inputs
        assert str(z["format"]) == "evo-circuits/arrays"
    arrays = to_arrays(c)
    assert all(np.asarray(v).dtype != object for v in arrays.values())
    # NPZ reads back (issue 15: the sparse layout is how large circuits are saved); name and metadata are not carried
    assert load(path) == c.replace(name="", metadata={})


# ----------------------------------------------------------------------------- hostile inputs
def _json_text(**changes) -> str:
    d = to_dict(load(ROOT / "docs/examples/feedforward_inhibition.json"))
    d.update(changes)
    return json.dumps(d)


def _hostile_files(tmp: Path) -> dict[str, Path]:
    files: dict[str, bytes | str] = {
        "wrong-version.json": _json_text(version=2),
        "wrong-format.json": _json_text(format="something-else"),
        "missing-neurons.json": json.dumps({k: v for k, v in json.loads(_json_text()).items() if k != "neurons"}),
        "missing-weight.json": _json_text(synapses=[{"pre": 0, "post": 2}]),
        "nan.json": re.sub(r'"weight": [0-9.]+', '"weight": NaN', _json_text(), count=1),
        "huge-inputs.json": _json_text(n_inputs=10**7),
        "not-json.json": "this is not JSON {",
        "deep.json": '{"metadata": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "pickle.json": pickle.dumps({"format": "evo-circuits/circuit"}),
        "pickle.pkl": pickle.dumps([1, 2, 3], protocol=2),
        "binary.json": bytes(range(256)),
        "entity.graphml": ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
                           '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="directed">'
                           '<node id="n0"/></graph></graphml>'),
        "truncated.nir": b"\x89HDF\r\n\x1a\n" + b"\x00" * 64,
        "empty.json": "",
    }
    out = {}
    for name, content in files.items():
        p = tmp / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        out[name] = p
    # 10^7 neurons in JSON: beyond the file-size cap, refused before parsing.
    big = tmp / "ten-million-neurons.json"
    with open(big, "w") as fh:
        fh.write('{"format": "evo-circuits/circuit", "version": 1, "n_inputs": 1, "neurons": [')
        chunk = ", ".join(['{"type": "E"}'] * 10_000)
        for _ in range(MAX_FILE_BYTES // len(chunk) + 1):
            fh.write(chunk + ", ")
        fh.write('{"type": "E"}]}')
    out[big.name] = big
    # GraphML whose weight is NaN.
    c = load(ROOT / "docs/examples/feedforward_inhibition.json")
    gpath = tmp / "nan.graphml"
    save(c, gpath)
    text = gpath.read_text()
    key = re.search(r'<key id="(d\d+)" for="edge" attr.name="weight"', text).group(1)
    gpath.write_text(re.sub(rf'<data key="{key}">[^<]*</data>', f'<data key="{key}">NaN</data>', text, count=1))
    out[gpath.name] = gpath
    return out


def _hostile_nir(tmp: Path) -> dict[str, Path]:
    h5py = pytest.importorskip("h5py")
    pytest.importorskip("nir")
    c = load(ROOT / "docs/examples/feedforward_inhibition.json")
    out = {}
    good = tmp / "good.nir"
    save(c, good, flavour="exact")

    def variant(name: str, edit) -> None:
        p = tmp / name
        p.write_bytes(good.read_bytes())
        with h5py.File(p, "r+") as f:
            edit(f)
        out[name] = p

    def version(f):
        del f["node/metadata/format_version"]
        f["node/metadata/format_version"] = 99

    def nan_weight(f):
        del f["node/metadata/circuit_json"]
        w = f["node/nodes/rec_e_d5/weight"][()]
        w[w != 0] = np.nan
        del f["node/nodes/rec_e_d5/weight"]
        f["node/nodes/rec_e_d5/weight"] = w

    def huge(f):  # 10^7 neurons, stored compressed in a few kB
        del f["node/nodes/neurons/tau"]
        f.create_dataset("node/nodes/neurons/tau", shape=(10**7,), dtype="f8", compression="gzip", fillvalue=0.02)

    def external_link(f):
        f["node/nodes/evil"] = h5py.ExternalLink("/etc/passwd", "/")

    def bad_type(f):
        del f["node/nodes/syn_e/type"]
        f["node/nodes/syn_e/type"] = "__import__"

    def missing(f):
        del f["node/nodes/neurons/v_threshold"]

    for name, edit in [("version.nir", version), ("nan.nir", nan_weight), ("huge.nir", huge),
                       ("external.nir", external_link), ("badtype.nir", bad_type), ("missing.nir", missing)]:
        variant(name, edit)
    return out


def _refused_unchanged(lib: MotifLibrary, files: dict[str, Path]) -> None:
    before = dump(lib.path)
    for name, path in files.items():
        with pytest.raises(FormatError) as err:
            import_into(lib, path)
        msg = str(err.value)
        assert msg and "\n" not in msg, (name, msg)
        assert len(msg) < 600, (name, msg)
    assert dump(lib.path) == before


def test_hostile_files_refused_and_library_unchanged(lib, tmp_path):
    files = _hostile_files(tmp_path)
    _refused_unchanged(lib, files)
    # Specific messages that help the user.
    assert "version" in _msg(lib, files["wrong-version.json"])
    assert "pickle" in _msg(lib, files["pickle.pkl"]) and "pickle" in _msg(lib, files["pickle.json"])
    assert "cap" in _msg(lib, files["huge-inputs.json"]) and "cap" in _msg(lib, files["ten-million-neurons.json"])
    assert "finite" in _msg(lib, files["nan.json"])


def test_hostile_nir_files_refused_and_library_unchanged(lib, tmp_path):
    files = _hostile_nir(tmp_path)
    _refused_unchanged(lib, files)
    assert "version" in _msg(lib, files["version.nir"])
    assert "cap" in _msg(lib, files["huge.nir"])
    assert "link" in _msg(lib, files["external.nir"])


def _msg(lib: MotifLibrary, path: Path) -> str:
    with pytest.raises(FormatError) as err:
        import_into(lib, path)
    return str(err.value)


def import_into(lib: MotifLibrary, path: Path, **kw) -> tuple[int, bool]:
    """Importing a file into the library: load it, then add it."""
    return lib.add(load(path, **IMPORT_CAPS), provenance={"source": "import", "file": str(path)}, **kw)


def test_import_file_adds_and_counts(lib, tmp_path):
    c = motif(8)
    for fmt in ("json", "graphml") + (("nir",) if _has_nir() else ()):
        save(relabel(c, np.arange(c.n_neurons)[::-1]), tmp_path / f"c.{fmt}", **({"flavour": "exact"} if fmt == "nir" else {}))
    mid, new = import_into(lib, tmp_path / "c.json", task="coincidence", score=0.7)
    assert new
    for fmt in ("graphml",) + (("nir",) if _has_nir() else ()):
        assert import_into(lib, tmp_path / f"c.{fmt}") == (mid, False)
    e = lib.entry(mid)
    assert e.provenance[0]["source"] == "import" and e.provenance[0]["file"].endswith("c.json")


def _has_nir() -> bool:
    try:
        import nir  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------- schema
def test_schema_version_checks(tmp_path):
    path = tmp_path / "lib.db"
    with MotifLibrary(path) as lib:
        lib.seed_named()  # a write: creates the file
    con = sqlite3.connect(str(path))
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(FormatError, match="newer"):
        MotifLibrary(path)
    # A meta table that disagrees with user_version: unknown schema.
    con = sqlite3.connect(str(path))
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    con.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(FormatError, match="unknown library schema"):
        MotifLibrary(path)
    # Someone else's SQLite database, and a file that is not SQLite at all.
    other = tmp_path / "other.db"
    con = sqlite3.connect(str(other))
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(FormatError, match="not a motif library"):
        MotifLibrary(other)
    junk = tmp_path / "junk.db"
    junk.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(FormatError, match="not a motif library"):
        MotifLibrary(junk)
    assert junk.read_bytes() == pickle.dumps({"a": 1})


# ----------------------------------------------------------------------------- CLI
def run_cli(*argv: str) -> str:
    from evo_circuits.motifs.commands import register

    parser = argparse.ArgumentParser(prog="evo-circuits")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert args.func(args) == 0
    return buf.getvalue()


def test_cli_commands(tmp_path, monkeypatch):
    db = str(tmp_path / "cli.db")
    out = run_cli("motifs", "list", "--library", db)
    assert "feedforward-inhibition" in out and f"{len(named_motifs())} motif(s)" in out
    save(motif(9), tmp_path / "m.json")
    out = run_cli("motifs", "import", str(tmp_path / "m.json"), "--task", "coincidence", "--score", "0.75",
                  "--library", db)
    mid = int(out.split("motif ")[1].split()[0].rstrip(","))
    rows = json.loads(run_cli("motifs", "list", "--json", "--task", "coincidence", "--library", db))
    assert [r["id"] for r in rows] == [mid] and rows[0]["best_score"] == 0.75
    assert json.loads(run_cli("motifs", "list", "--json", "--min-score", "0.9", "--library", db)) == []
    rows = json.loads(run_cli("motifs", "list", "--json", "--contains", "feedforward-inhibition", "--library", db))
    assert any(r["name"] == "feedforward-inhibition" for r in rows)
    show = run_cli("motifs", "show", str(mid), "--library", db)
    assert "coincidence" in show and "import" in show
    monkeypatch.setenv("EVO_CIRCUITS_LIBRARY", db)  # the env var names the default library
    run_cli("motifs", "draw", "feedforward-inhibition", "-o", str(tmp_path / "ffi.svg"))
    assert (tmp_path / "ffi.svg").read_text().lstrip().startswith("<?xml")
    run_cli("motifs", "draw", str(mid), "-o", str(tmp_path / "m.png"))
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    for fmt in ("json", "graphml", "npz") + (("nir",) if _has_nir() else ()):
        run_cli("motifs", "export", str(mid), "--format", fmt, "-o", str(tmp_path / f"e.{fmt}"),
                *(["--nir-flavour", "exact"] if fmt == "nir" else []))
        if fmt != "npz":
            assert canonical_label(load(tmp_path / f"e.{fmt}")) == canonical_label(motif(9))
    with pytest.raises(MotifNotFound):
        run_cli("motifs", "show", "999")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(FormatError):
        run_cli("motifs", "import", str(tmp_path / "m.json"), str(bad))
    assert MotifLibrary(db).entry(mid).occurrences == 1  # nothing added: one file was bad
