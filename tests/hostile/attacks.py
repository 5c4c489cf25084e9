"""The corpus: hostile files for every file-reading command, by file kind.

Each attack names what is wrong with the file and the command that reads it; most
expect a clean refusal (exit 2, one line), a few hostile-but-valid inputs expect to be
accepted with a correct result (``check``). ``quick=False`` marks the slower variants
that only ``benchmarks/fuzz.py --fuzz-long`` runs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from .runner import Attack, Outcome

# ---------------------------------------------------------------------------- helpers
EVIL_PLUGIN = ("from pathlib import Path\n"
               "Path(__file__).resolve().parent.joinpath('PWNED').write_text('plugin code ran')\n"
               "from evo_circuits.tasks.coincidence import Coincidence\n")


def write(rel: str, data: str | bytes) -> Callable[[Path], None]:
    """Setup: write ``data`` to ``rel``."""
    def setup(root: Path) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return setup


def edit_json(rel: str, fn: Callable[[object], object | None]) -> Callable[[Path], None]:
    """Setup: load the JSON file ``rel``, let ``fn`` change it (in place or by returning), save it."""
    def setup(root: Path) -> None:
        p = root / rel
        d = json.loads(p.read_text())
        new = fn(d)
        p.write_text(json.dumps(d if new is None else new))
    return setup


def edit_text(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        p = root / rel
        text = p.read_text()
        assert old in text, (rel, old)
        p.write_text(text.replace(old, new, 1))
    return setup


def chain(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for s in setups:
            s(root)
    return setup


def circuit(**changes) -> str:
    """The world's circuit JSON with top-level fields changed (``None`` deletes)."""
    from .world import EXAMPLE

    d = json.loads(EXAMPLE.read_text())
    for k, v in changes.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return json.dumps(d)


def circuit_edit(fn: Callable[[dict], None]) -> str:
    from .world import EXAMPLE

    d = json.loads(EXAMPLE.read_text())
    fn(d)
    return json.dumps(d)


def _set(path: tuple, value):
    def fn(d):
        obj = d
        for k in path[:-1]:
            obj = obj[k]
        obj[path[-1]] = value
    return fn


def npz_bytes(**arrays) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def spikes(**changes) -> bytes:
    base = dict(spike_trial=np.array([0, 1]), spike_channel=np.array([0, 0]), spike_step=np.array([5, 7]),
                n_trials=np.int64(2), n_steps=np.int64(100), dt_ms=np.float64(0.1))
    for k, v in changes.items():
        if v is None:
            base.pop(k)
        else:
            base[k] = v
    return npz_bytes(**base)


def npy_header_claiming(shape: tuple, name: str = "spike_step") -> bytes:
    """An NPZ whose one array header claims ``shape`` (int64) but holds no data."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        hdr = io.BytesIO()
        np.lib.format.write_array_header_1_0(hdr, {"descr": "<i8", "fortran_order": False, "shape": shape})
        zf.writestr(f"{name}.npy", hdr.getvalue())
    return buf.getvalue()


def zip_bomb(n_bytes: int = 3 * 2**30) -> Callable[[Path], None]:
    """An NPZ of one int64 array of zeros, ``n_bytes`` decompressed, a few MB on disk."""
    def setup(root: Path) -> None:
        import io

        p = root / "bomb.npz"
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            with zf.open("spike_step.npy", "w", force_zip64=True) as fh:
                hdr = io.BytesIO()
                np.lib.format.write_array_header_1_0(
                    hdr, {"descr": "<i8", "fortran_order": False, "shape": (n_bytes // 8,)})
                fh.write(hdr.getvalue())
                chunk = bytes(2**24)
                for _ in range(n_bytes // len(chunk)):
                    fh.write(chunk)
    return setup


def _object_npz() -> bytes:
    import io

    buf = io.BytesIO()
    arr = np.empty(1, dtype=object)
    arr[0] = {"x": 1}
    np.savez(buf, spike_trial=arr, spike_channel=arr, spike_step=arr, n_trials=np.int64(1), n_steps=np.int64(1))
    return buf.getvalue()


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


BINARY = bytes(range(256)) * 4
NOT_UTF8 = b'{"format": "evo-circuits/circuit", "name": "\xff\xfe\xfa"}'
ESC = "\x1b[2J\x1b]0;pwned\x07"


def _graphml(nodes: str, edges: str, graph_attrs: str = "") -> str:
    keys = """<key id="d0" for="graph" attr.name="n_inputs" attr.type="int"/>
<key id="d1" for="graph" attr.name="dt_ms" attr.type="double"/>
<key id="d2" for="graph" attr.name="synapse_model" attr.type="string"/>
<key id="d3" for="node" attr.name="kind" attr.type="string"/>
<key id="d4" for="node" attr.name="index" attr.type="int"/>
<key id="d5" for="node" attr.name="type" attr.type="string"/>
<key id="d6" for="edge" attr.name="weight" attr.type="double"/>
<key id="d7" for="edge" attr.name="delay_ms" attr.type="double"/>
<key id="d8" for="edge" attr.name="p_release" attr.type="double"/>"""
    return f"""<?xml version='1.0' encoding='utf-8'?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">{keys}
<graph edgedefault="directed">{graph_attrs}{nodes}{edges}</graph></graphml>"""


def graphml_from_world(fn: Callable[[str], str]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        p = root / "c.graphml"
        p.write_text(fn(p.read_text()))
    return setup


def _dup_edge(text: str) -> str:
    # Repeat the first edge with another weight: a multigraph in disguise.
    start = text.index("<edge ")
    end = text.index("</edge>", start) + len("</edge>")
    edge = text[start:end]
    twin = edge.replace(">", ">", 1)
    import re

    twin = re.sub(r'(<data key="[^"]+">)([0-9.]+)(</data>)', lambda m: m.group(1) + "999.0" + m.group(3), twin, count=1)
    return text[:end] + twin + text[end:]


def _graphml_set_graph(attr_name: str, value: str) -> Callable[[str], str]:
    import re

    def fn(text: str) -> str:
        key = re.search(rf'<key id="([^"]+)" for="graph" attr.name="{attr_name}"', text).group(1)
        return re.sub(rf'(<data key="{key}">)[^<]*(</data>)', lambda m: m.group(1) + value + m.group(2), text, count=1)
    return fn


def _graphml_drop_edge_attr(attr_name: str) -> Callable[[str], str]:
    import re

    def fn(text: str) -> str:
        key = re.search(rf'<key id="([^"]+)" for="edge" attr.name="{attr_name}"', text).group(1)
        return re.sub(rf'<data key="{key}">[^<]*</data>', "", text)
    return fn


def _graphml_set_edge_attr(attr_name: str, value: str) -> Callable[[str], str]:
    import re

    def fn(text: str) -> str:
        key = re.search(rf'<key id="([^"]+)" for="edge" attr.name="{attr_name}"', text).group(1)
        return re.sub(rf'(<data key="{key}">)[^<]*(</data>)', lambda m: m.group(1) + value + m.group(2), text, count=1)
    return fn


# ---------------------------------------------------------------------------- checks
def check_delay(expected_steps: int) -> Callable[[Path, Outcome], str | None]:
    """After convert to out/c.json: the largest delay is ``expected_steps`` steps."""
    def check(root: Path, res: Outcome) -> str | None:
        from evo_circuits import load

        c = load(root / "out" / "c.json")
        got = int(c.delays.max())
        return None if got == expected_steps else f"delay became {got} steps, expected {expected_steps}"
    return check


# ---------------------------------------------------------------------------- corpus
def _circuit_attacks() -> list[Attack]:
    kind = "circuit JSON"
    cmds = {
        "validate": ("validate", "bad.json"),
        "convert": ("convert", "bad.json", "out/c.graphml"),
        "simulate": ("simulate", "bad.json", "--inputs", "in.npz", "--out", "out/s.npz"),
        "score": ("score", "bad.json", "--fitness", "fit.toml"),
        "motifs import": ("motifs", "import", "bad.json"),
        "train": ("train", "bad.json", "--data", "task:coincidence", "--epochs", "1", "--trials", "4",
                  "--out", "out/t", "-q"),
    }
    files: list[tuple[str, str | bytes, bool]] = [  # (name, content, quick for every command)
        ("empty file", b"", True),
        ("binary bytes", BINARY, True),
        ("not UTF-8", NOT_UTF8, True),
        ("100k-deep nesting", nested(100_000), True),
        ("100k-deep objects", '{"a":' * 100_000 + "1" + "}" * 100_000, False),
        ("truncated", circuit()[:120], False),
        ("top-level array", "[1, 2, 3]", False),
        ("n_inputs 1e9 (float)", circuit(n_inputs=1e9), False),
        ("n_inputs 10**9", circuit(n_inputs=10**9), True),
        ("n_inputs 10**30", circuit(n_inputs=10**30), False),
        ("n_inputs -1", circuit(n_inputs=-1), False),
        ("n_inputs true", circuit(n_inputs=True), False),
        ("200k neurons", circuit(neurons=[{"type": "E"}] * 200_000), False),
        ("NaN weight", circuit_edit(_set(("synapses", 0, "weight"), float("nan"))), False),
        ("Infinity tau", circuit_edit(_set(("neurons", 0, "tau_m"), float("inf"))), False),
        ("1e999 literal", circuit().replace('"weight": 120.0', '"weight": 1e999'), True),
        ("400-digit integer", circuit().replace('"weight": 120.0', '"weight": ' + "9" * 400), True),
        ("5000-digit integer", circuit().replace('"weight": 120.0', '"weight": ' + "9" * 5000), False),
        ("delay_ms 1e300", circuit_edit(_set(("synapses", 0, "delay_ms"), 1e300)), True),
        ("delay_ms 1e308 / dt 0.01", circuit_edit(lambda d: (d.update(dt_ms=0.01),
                                                             d["synapses"][0].update(delay_ms=1e308))), False),
        ("delay_ms 429496729.6 (32-bit wrap)", circuit_edit(_set(("synapses", 0, "delay_ms"), 429496729.6)), True),
        ("delay_ms negative", circuit_edit(_set(("synapses", 0, "delay_ms"), -0.1)), False),
        ("delay_ms off-grid", circuit_edit(_set(("synapses", 0, "delay_ms"), 0.05)), False),
        ("t_ref 1e308", circuit_edit(_set(("neurons", 0, "t_ref"), 1e308)), True),
        ("t_ref -1", circuit_edit(_set(("neurons", 0, "t_ref"), -1.0)), False),
        ("tau_m 0", circuit_edit(_set(("neurons", 0, "tau_m"), 0.0)), False),
        ("tau_m 1e-320", circuit_edit(_set(("neurons", 0, "tau_m"), 1e-320)), True),
        ("tau_e 1e308", circuit_edit(_set(("neurons", 0, "tau_e"), 1e308)), False),
        ("v_th 1e308", circuit_edit(_set(("neurons", 0, "v_th"), 1e308)), False),
        ("i_bias -1e308", circuit_edit(_set(("neurons", 0, "i_bias"), -1e308)), False),
        ("dt_ms 0", circuit(dt_ms=0), False),
        ("dt_ms 1e-300", circuit(dt_ms=1e-300), True),
        ("dt_ms 1e300", circuit(dt_ms=1e300), False),
        ("dt_ms string", circuit(dt_ms="0.1"), False),
        ("weight -1", circuit_edit(_set(("synapses", 0, "weight"), -1.0)), False),
        ("weight 1e308", circuit_edit(_set(("synapses", 0, "weight"), 1e308)), False),
        ("p_release 0", circuit_edit(_set(("synapses", 0, "p_release"), 0.0)), False),
        ("std U 2", circuit_edit(_set(("synapses", 0, "std"), {"U": 2.0, "tau_rec": 100.0})), False),
        ("std tau_rec 0", circuit_edit(_set(("synapses", 0, "std"), {"U": 0.5, "tau_rec": 0.0})), False),
        ("std tau_rec 1e308", circuit_edit(_set(("synapses", 0, "std"), {"U": 0.5, "tau_rec": 1e308})), False),
        ("duplicate synapse", circuit_edit(lambda d: d["synapses"].append(dict(d["synapses"][0]))), False),
        ("post out of range", circuit_edit(_set(("synapses", 0, "post"), 99)), False),
        ("pre 2**70", circuit_edit(_set(("synapses", 0, "pre"), 2**70)), False),
        ("outputs repeated", circuit(outputs=[2, 2]), False),
        ("unknown key", circuit(extra=1), False),
        ("unknown version", circuit(version=99), False),
        ("wrong format", circuit(format="nir"), False),
        ("neuron type Q", circuit_edit(_set(("neurons", 0, "type"), "Q")), False),
        ("pickle", b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00.", False),
        ("ZIP", npz_bytes(x=np.zeros(1)), False),
        ("metadata 100k-deep", circuit().replace('"metadata": {', '"metadata": {"x": ' + nested(100_000) + ', '), False),
    ]
    out = []
    for fname, content, quick in files:
        for cmd, argv in cmds.items():
            out.append(Attack(kind, f"{fname} ({cmd})", argv, write("bad.json", content),
                              quick=quick and cmd in ("validate", "convert", "simulate")))
    for fname, content in (("name with terminal escapes", circuit(name=ESC)),):
        out.append(Attack(kind, f"{fname} (validate)", ("validate", "bad.json"), write("bad.json", content),
                          expect="accept"))
        out.append(Attack(kind, f"{fname} (motifs import)", ("motifs", "import", "bad.json"),
                          write("bad.json", content), expect="accept", changes=("lib.db",)))
    out.append(Attack(kind, "directory instead of file", ("validate", "out"), None))
    out.append(Attack(kind, "missing file", ("validate", "nope.json"), None))
    out.append(Attack(kind, "FIFO", ("validate", "fifo.json"), lambda r: os.mkfifo(r / "fifo.json")))
    out.append(Attack(kind, "max delay 1000 steps (convert)", ("convert", "bad.json", "out/c.json"),
                      write("bad.json", circuit_edit(_set(("synapses", 0, "delay_ms"), 100.0))),
                      expect="accept", check=check_delay(1000)))
    return out


def _graphml_attacks() -> list[Attack]:
    kind = "GraphML"
    edits = [
        ("dt_ms 0", _graphml_set_graph("dt_ms", "0.0"), True),
        ("dt_ms -1", _graphml_set_graph("dt_ms", "-1.0"), False),
        ("dt_ms NaN", _graphml_set_graph("dt_ms", "NaN"), False),
        ("n_inputs 10**9", _graphml_set_graph("n_inputs", "1000000000"), True),
        ("no weight on an edge", _graphml_drop_edge_attr("weight"), True),

        ("weight NaN", _graphml_set_edge_attr("weight", "NaN"), False),
        ("weight inf", _graphml_set_edge_attr("weight", "INF"), False),
        ("delay_ms 1e300", _graphml_set_edge_attr("delay_ms", "1e300"), True),
        ("delay_ms 429496729.6", _graphml_set_edge_attr("delay_ms", "429496729.6"), True),
        ("duplicate edge", _dup_edge, True),
        ("truncated", lambda t: t[: len(t) // 2], False),
        ("DTD entity bomb", lambda t: '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                                      + "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10 if i else "&lol;" * 10}">'
                                                for i in range(9)) + ']><graphml>&l8;</graphml>', True),
        ("external entity", lambda t: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                                      '<graphml>&e;</graphml>', False),
        ("not XML", lambda t: "<" + "x" * 100, False),
        ("200k-deep XML", lambda t: "<a>" * 200_000 + "</a>" * 200_000, False),
    ]
    out = []
    for name, fn, quick in edits:
        for cmd, argv in (("validate", ("validate", "c.graphml")), ("convert", ("convert", "c.graphml", "out/c.json")),
                          ("motifs import", ("motifs", "import", "c.graphml"))):
            out.append(Attack(kind, f"{name} ({cmd})", argv, graphml_from_world(fn), quick=quick and cmd != "motifs import"))
    # delay_ms is optional (default 0, as in circuit JSON): a graph without it is valid.
    out.append(Attack(kind, "no delay on an edge (convert)", ("convert", "c.graphml", "out/c.json"),
                      graphml_from_world(_graphml_drop_edge_attr("delay_ms")), expect="accept", quick=False))
    return out


def _nir_attacks() -> list[Attack]:
    kind = "NIR/HDF5"

    def truncate(root: Path) -> None:
        p = root / "c.nir"
        p.write_bytes(p.read_bytes()[:600])

    def garbage_after_magic(root: Path) -> None:
        (root / "c.nir").write_bytes(b"\x89HDF\r\n\x1a\n" + BINARY)

    def huge_dataset(root: Path) -> None:
        import h5py

        with h5py.File(root / "c.nir", "r+") as f:
            def first_dataset(name, obj):
                return name if isinstance(obj, h5py.Dataset) and obj.size > 0 else None
            name = f.visititems(first_dataset)
            del f[name]
            f.create_dataset(name, shape=(10**6, 10**6), dtype="f8", chunks=(1, 1))

    out = []
    for name, setup, quick in (("truncated", truncate, True), ("garbage after HDF5 magic", garbage_after_magic, True),
                               ("dataset claiming 8 TB", huge_dataset, True)):
        for cmd, argv in (("validate", ("validate", "c.nir")), ("convert", ("convert", "c.nir", "out/c.json")),
                          ("motifs import", ("motifs", "import", "c.nir"))):
            out.append(Attack(kind, f"{name} ({cmd})", argv, setup, quick=quick and cmd == "validate"))
    return out


def _spike_attacks() -> list[Attack]:
    kind = "spike NPZ"
    argv = ("simulate", "c.json", "--inputs", "bad.npz", "--out", "out/s.npz")
    files = [
        ("empty file", b"", True),
        ("binary bytes", BINARY, True),
        ("truncated ZIP", spikes()[:200], True),
        ("header claims 8 TB", npy_header_claiming((10**12,)), True),
        ("object arrays (pickle)", _object_npz(), True),
        ("missing arrays", spikes(spike_step=None), False),
        ("float steps", spikes(spike_step=np.array([5.5, 7.0])), False),
        ("2-d steps", spikes(spike_step=np.zeros((2, 2), np.int64)), False),
        ("n_steps 10**12", spikes(n_steps=np.int64(10**12)), True),
        ("n_trials 10**12", spikes(n_trials=np.int64(10**12)), False),
        ("n_steps 2**62 (index overflow)", spikes(n_steps=np.int64(2**62)), False),
        ("n_steps -5", spikes(n_steps=np.int64(-5)), False),
        ("step out of range", spikes(spike_step=np.array([5, 700])), False),
        ("negative channel", spikes(spike_channel=np.array([0, -1])), False),
        ("channel 2**40", spikes(spike_channel=np.array([0, 2**40])), True),
        ("dt_ms 0", spikes(dt_ms=np.float64(0.0)), False),
        ("dt_ms NaN", spikes(dt_ms=np.float64("nan")), False),
        ("dt_ms for another circuit", spikes(dt_ms=np.float64(1.0)), False),
        ("uint64 steps 2**63", spikes(spike_step=np.array([5, 2**63], np.uint64)), False),
        ("duplicate spikes", spikes(spike_trial=np.array([0, 0]), spike_step=np.array([5, 5])), False),
    ]
    out = []
    for name, content, quick in files:
        out.append(Attack(kind, name, argv, write("bad.npz", content), quick=quick))
    out.append(Attack(kind, "more spikes than the recording cap", ("simulate", "c.json", "--inputs", "in.npz", "--out",
                                                                   "out/s.npz"), env=(("EVO_CIRCUITS_MAX_SPIKES", "3"),)))
    out.append(Attack(kind, "ZIP bomb (4 MB -> 3 GB)", argv,
                      chain(zip_bomb(), lambda r: (r / "bomb.npz").rename(r / "bad.npz")), quick=False))
    out.append(Attack(kind, "ZIP bomb, small (mask NPZ for train)",
                      ("train", "out/asm.json", "--mask", "bad.npz", "--data", "task:coincidence", "--epochs", "1"),
                      chain(zip_bomb(3 * 2**30), lambda r: (r / "bomb.npz").rename(r / "bad.npz"),
                            lambda r: (r / "out" / "asm.json").write_text((r / "c.json").read_text())), quick=False))
    return out


def _mask_attacks() -> list[Attack]:
    kind = "structure NPZ"
    base = ("train", "c.json", "--mask", "bad.npz", "--data", "task:coincidence", "--epochs", "1", "--trials", "4",
            "--out", "out/t", "-q")
    return [
        Attack(kind, "binary bytes", base, write("bad.npz", BINARY)),
        Attack(kind, "empty", base, write("bad.npz", b""), quick=False),
        Attack(kind, "header claims 8 TB", base, write("bad.npz", npy_header_claiming((10**12,), "mask"))),
        Attack(kind, "object arrays", base, write("bad.npz", _object_npz()), quick=False),
        Attack(kind, "another circuit's mask", base, lambda r: (r / "bad.npz").write_bytes((r / "mask.npz").read_bytes())),
        Attack(kind, "format scalar is an array", base, write("bad.npz", npz_bytes(format=np.zeros(3))), quick=False),
    ]


def _fitness_attacks() -> list[Attack]:
    kind = "fitness TOML"
    argv = ("score", "c.json", "--fitness", "bad.toml")
    from .world import FITNESS

    texts = [
        ("binary bytes", BINARY, True),
        ("not UTF-8", b'name = "\xff\xfe"\n', True),
        ("not TOML", "[task\nfamily = ", False),
        ("100k-deep arrays", "x = " + nested(100_000), True),
        ("100k-deep inline tables", "x = " + "{a = " * 100_000 + "1" + "}" * 100_000, False),
        ("unknown key", FITNESS + "bogus = 1\n", False),
        ("unknown task", FITNESS.replace('"coincidence"', '"nope"'), False),
        ("task param typo", FITNESS.replace("trials = 4", "trails = 4"), True),
        ("trials = 10**9", FITNESS.replace("trials = 4", "trials = 1000000000"), True),
        ("trials = -1", FITNESS.replace("trials = 4", "trials = -1"), False),
        ("duration_ms = 1e300", FITNESS.replace("duration_ms = 30.0", "duration_ms = 1e300"), True),
        ("duration_ms = inf", FITNESS.replace("duration_ms = 30.0", "duration_ms = inf"), True),
        ("duration_ms = nan", FITNESS.replace("duration_ms = 30.0", "duration_ms = nan"), False),
        ("window_ms string", FITNESS + "window_ms = \"2\"\n", False),
        ("robustness jitter nan", FITNESS + "[robustness]\njitter_ms = nan\n", False),
        ("name with terminal escapes", FITNESS.replace('name = "tiny"', 'name = "\\u001b[2Jx"'), False),
        ("plugin missing", FITNESS.replace('family = "coincidence"', 'plugin = "nope.py"'), False),
        ("plugin path is a directory", FITNESS.replace('family = "coincidence"', 'plugin = "out"'), False),
        ("plugin that raises", None, False),
        ("directory", None, False),
    ]
    out = []
    for name, content, quick in texts:
        if content is None:
            continue
        exp = "accept" if "terminal escapes" in name else "refuse"
        out.append(Attack(kind, name, argv, write("bad.toml", content), expect=exp, quick=quick))
    out.append(Attack(kind, "plugin that raises", argv, chain(
        write("boom.py", "raise RuntimeError('boom')\n"),
        write("bad.toml", FITNESS.replace('family = "coincidence"', 'plugin = "boom.py"'))), quick=False))
    out.append(Attack(kind, "plugin that exits", argv, chain(
        write("boom.py", "import sys\nsys.exit(0)\n"),
        write("bad.toml", FITNESS.replace('family = "coincidence"', 'plugin = "boom.py"'))), quick=False))
    out.append(Attack(kind, "directory", ("score", "c.json", "--fitness", "out"), None, quick=False))
    return out


def _run_config_attacks() -> list[Attack]:
    kind = "run TOML"
    argv = ("evolve", "bad.toml", "--out", "out/r", "--quiet")
    from .world import RUN

    texts = [
        ("binary bytes", BINARY, True),
        ("not UTF-8", b"[run]\nname = \"\xff\"\n", True),
        ("100k-deep arrays", "x = " + nested(100_000), True),
        ("seed = -1", RUN.replace("seed = 1", "seed = -1"), True),
        ("seed = 2**70", RUN.replace("seed = 1", "seed = 1180591620717411303424"), False),
        ("population = 10**9", RUN.replace("population = 4", "population = 1000000000"), True),
        ("generations = 10**15", RUN.replace("generations = 1", "generations = 1000000000000000"), False),
        ("workers = 10**6", RUN.replace('backend = "serial"', 'backend = "processes"\nworkers = 1000000'), False),
        ("tau_m = [inf, inf]", RUN + "[init]\ntau_m = [inf, inf]\n", True),
        ("tau_m = [nan, nan]", RUN + "[init]\ntau_m = [nan, nan]\n", False),
        ("tau_e = [1e-320, 1e-320]", RUN + "[init]\ntau_e = [1e-320, 1e-320]\n", False),
        ("n_exc = [1, 10**9]", RUN + "[init]\nn_exc = [1, 1000000000]\n", False),
        ("limits.max_neurons = 10**9", RUN.replace("max_neurons = 4", "max_neurons = 1000000000"), False),
        ("limits.w_max = nan", RUN.replace("max_neurons = 4", "max_neurons = 4\nw_max = nan"), True),
        ("limits.w_exc = [inf, inf]", RUN.replace("max_neurons = 4", "max_neurons = 4\nw_exc = [inf, inf]"), False),
        ("limits.max_delay_steps = 10**10", RUN.replace("max_neurons = 4", "max_neurons = 4\nmax_delay_steps = 10000000000"), True),
        ("cxpb = nan", RUN + "[variation]\ncxpb = nan\n", False),
        ("mutation nan", RUN + "[mutation]\nadd_synapse = nan\n", False),
        ("bins nan", RUN + "[map_elites]\nbins_density = [0.0, nan]\n", False),
        ("prune_epsilon = nan", RUN.replace("min_score = 0.0", "min_score = 0.0\nprune_epsilon = nan"), False),
        ("name ../../escape", RUN.replace('name = "tiny"', 'name = "../../escape"'), True),
        ("name with terminal escapes", RUN.replace('name = "tiny"', 'name = "\\u001b[2J"'), False),
        ("fitness missing", RUN.replace('fitness = "fit.toml"', 'fitness = "nope.toml"'), False),
        ("fitness is binary", RUN.replace('fitness = "fit.toml"', 'fitness = "c.nir"'), False),
    ]
    out = [Attack(kind, name, argv, write("bad.toml", content), quick=quick) for name, content, quick in texts]
    # Without --out the run folder comes from the name: it must stay under runs/.
    out.append(Attack(kind, "name ../../escape, no --out", ("evolve", "bad.toml", "--quiet"),
                      write("bad.toml", RUN.replace('name = "tiny"', 'name = "../../escape"'))))
    out.append(Attack(kind, "name /abs/path, no --out", ("evolve", "bad.toml", "--quiet"),
                      write("bad.toml", RUN.replace('name = "tiny"', 'name = "/tmp/evo-fuzz-escape"')), quick=False))
    return out


def _assembly_attacks() -> list[Attack]:
    kind = "assembly TOML"
    argv = ("assemble", "bad.toml", "-o", "out/a.json")
    from .world import ASSEMBLY

    texts = [
        ("binary bytes", BINARY, True),
        ("not UTF-8", b"name = \"\xff\"\n", False),
        ("100k-deep arrays", "x = " + nested(100_000), True),
        ("copies = 10**9", ASSEMBLY.replace("copies = 2", "copies = 1000000000"), True),
        ("neurons = 10**9", ASSEMBLY.replace("neurons = 2", "neurons = 1000000000"), True),
        ("inputs = 10**9", ASSEMBLY.replace("inputs = 2", "inputs = 1000000000"), False),
        ("dt_ms = 0", ASSEMBLY.replace("dt_ms = 0.1", "dt_ms = 0.0"), False),
        ("dt_ms = nan", ASSEMBLY.replace("dt_ms = 0.1", "dt_ms = nan"), False),
        ("weight = inf", ASSEMBLY.replace("weight = 50.0", "weight = inf"), True),
        ("weight = nan", ASSEMBLY.replace("weight = 50.0", "weight = nan"), False),
        ("module file missing", ASSEMBLY.replace('file = "c.json"', 'file = "nope.json"'), False),
        ("module file is hostile", ASSEMBLY.replace('file = "c.json"', 'file = "in.npz"'), False),
        ("module file 100k-deep", None, False),
        ("seed = -1", ASSEMBLY.replace("seed = 0", "seed = -1"), False),
    ]
    out = [Attack(kind, name, argv, write("bad.toml", content), quick=quick) for name, content, quick in texts if content]
    out.append(Attack(kind, "module file 100k-deep", argv, chain(
        write("deep.json", nested(100_000)), write("bad.toml", ASSEMBLY.replace('file = "c.json"', 'file = "deep.json"')))))
    return out


def _run_folder_attacks() -> list[Attack]:
    kind = "run folder"
    R = "runs/ok"
    # resume --generations 2 continues the finished run, so it reads the checkpoint.
    cmds = {"resume": ("resume", R, "--generations", "2", "--quiet"), "runs show": ("runs", "show", "ok"),
            "plot": ("plot", "ok"), "motifs add": ("motifs", "add", "ok")}
    # What each command may write when it accepts a run folder whose spoiled file it does not read.
    writes = {"resume": (R, "lib.db"), "plot": (f"{R}/plots",), "motifs add": ("lib.db",), "runs show": ()}
    C, S, L, H, F, K = "config", "status", "logbook", "champion", "fitness", "checkpoint"
    readers = {C: ("resume", "runs show"), "values": ("resume",), S: ("runs show", "plot"), L: ("runs show", "plot"),
               H: ("runs show", "plot", "motifs add"), F: ("plot", "motifs add"), K: ("resume",), "hof": ()}
    spoils = [
        (C, "config.resolved.json empty", write(f"{R}/config.resolved.json", b""), True),
        (C, "config.resolved.json binary", write(f"{R}/config.resolved.json", BINARY), True),
        (C, "config.resolved.json array", write(f"{R}/config.resolved.json", "[]"), False),
        (C, "config.resolved.json missing key", edit_json(f"{R}/config.resolved.json", lambda d: d.pop("population")), True),
        ("values", "config.resolved.json population 10**9", edit_json(f"{R}/config.resolved.json",
                                                               lambda d: d.update(population=10**9)), False),
        (C, "config.resolved.json deep", write(f"{R}/config.resolved.json", nested(100_000)), False),
        (S, "status.json binary", write(f"{R}/status.json", BINARY), True),
        (S, "status.json array", write(f"{R}/status.json", "[1]"), False),
        (S, "status.json best_score string", edit_json(f"{R}/status.json", lambda d: d.update(best_score="x")), False),
        (L, "logbook truncated", lambda r: (r / R / "logbook.csv").write_text(
            (r / R / "logbook.csv").read_text()[:60]), True),
        (L, "logbook binary", write(f"{R}/logbook.csv", BINARY), False),
        (L, "logbook NaN scores", lambda r: (r / R / "logbook.csv").write_text(
            (r / R / "logbook.csv").read_text().replace("0.5", "nan")), False),
        (H, "champion.json binary", write(f"{R}/champion.json", BINARY), True),
        (H, "champion.json n_inputs 10**9", edit_json(f"{R}/champion.json", lambda d: d.update(n_inputs=10**9)), False),
        (F, "fitness.resolved.json binary", write(f"{R}/fitness.resolved.json", BINARY), True),
        (F, "fitness.resolved.json unknown task", edit_json(f"{R}/fitness.resolved.json",
                                                            lambda d: d["task"].update(family="nope")), False),
        ("hof", "hall_of_fame file binary", write(f"{R}/hall_of_fame/rank_01.json", BINARY), False),
        (K, "checkpoint.json empty", write(f"{R}/checkpoint.json", b""), True),
        (K, "checkpoint.json binary", write(f"{R}/checkpoint.json", BINARY), True),
    ]
    out = []
    for file_kind, name, setup, quick in spoils:
        for cmd, argv in cmds.items():
            reads = cmd in readers[file_kind]
            out.append(Attack(kind, f"{name} ({cmd})", argv, setup, expect="refuse" if reads else "any",
                              changes=() if reads else writes[cmd], quick=quick and reads))
    out.append(Attack(kind, "run id ../../etc (runs show)", ("runs", "show", "../../etc"), None))
    out.append(Attack(kind, "run folder is a file (resume)", ("resume", "c.json", "--quiet"), None))
    out.append(Attack(kind, "runs list with a binary status.json", ("runs", "list"),
                      write(f"{R}/status.json", BINARY), expect="accept"))
    out.append(Attack(kind, "runs list with a name with terminal escapes", ("runs", "list"),
                      lambda r: (r / "runs" / "ok").rename(r / "runs" / ESC.replace("/", "_")), expect="accept"))
    # Plugins reached from a shared run folder must not run without --trust-plugins.
    def plugin_run(root: Path) -> None:
        from .world import FITNESS

        (root / "evil.py").write_text(EVIL_PLUGIN + "\n")
        (root / "evil.toml").write_text(FITNESS.replace('family = "coincidence"',
                                                        'plugin = "evil.py"\nfamily = "coincidence"'))
        cfg = root / R / "config.resolved.json"
        d = json.loads(cfg.read_text())
        d["fitness"] = str(root / "evil.toml")
        cfg.write_text(json.dumps(d))
        fit = root / R / "fitness.resolved.json"
        d = json.loads(fit.read_text())
        d["task"]["plugin"] = str(root / "evil.py")
        fit.write_text(json.dumps(d))

    for cmd in ("resume", "plot", "motifs add"):
        out.append(Attack(kind, f"plugin in a shared run folder ({cmd})", cmds[cmd], plugin_run))
    return out


def _checkpoint_attacks() -> list[Attack]:
    kind = "checkpoint"
    R = "runs/ok"
    argv = ("resume", R, "--generations", "2", "--quiet")

    tampers = [
        ("fitness edited", lambda d: d["population"][0].update(fitness=[1.0] + d["population"][0]["fitness"][1:]), True),
        ("weight edited", lambda d: d["population"][0]["circuit"]["input_synapses"][0].update(weight=77.0)
            if d["population"][0]["circuit"]["input_synapses"] else d["population"][0]["circuit"].update(name="x"), True),
        ("rng state edited", lambda d: d["rng"]["state"].update(state=d["rng"]["state"]["state"] + 1), True),
        ("rng bit_generator 'seed'", lambda d: d["rng"].update(bit_generator="seed"), True),
        ("rng bit_generator missing", lambda d: d.pop("rng"), False),
        ("generation edited", lambda d: d.update(generation=0), True),
        ("generation -5", lambda d: d.update(generation=-5), False),
        ("logbook edited", lambda d: d["logbook"][0].update(score_best=1.0), True),
        ("logbook emptied", lambda d: d.update(logbook=[]), False),
        ("next_uid rewound", lambda d: d.update(next_uid=0), False),
        ("population emptied", lambda d: d.update(population=[]), True),
        ("population entry a string", lambda d: d["population"].__setitem__(0, "x"), False),
        ("circuit n_inputs 10**9", lambda d: d["population"][0]["circuit"].update(n_inputs=10**9), False),
        ("config_hash edited", lambda d: d.update(config_hash="0" * 12), False),
        ("format edited", lambda d: d.update(format="x"), False),
        ("fitness NaN", lambda d: d["population"][0].update(fitness=["nan"]), False),
        ("evaluations edited", lambda d: d.update(evaluations=10**9), False),
    ]
    out = [Attack(kind, name, argv, edit_json(f"{R}/checkpoint.json", fn), quick=quick) for name, fn, quick in tampers]
    out.append(Attack(kind, "fitness spec edited after the run", argv, _edit_run_fitness))
    out.append(Attack(kind, "resume of a finished run (library counts)", ("resume", R, "--quiet"), None,
                      expect="accept", check=_check_no_double_count))
    out.append(Attack(kind, "motifs add of an already harvested run", ("motifs", "add", "ok", "--min-score", "0"),
                      None, expect="accept", check=_check_no_double_count, changes=("lib.db",)))
    return out


def _edit_run_fitness(root: Path) -> None:
    """Point the run at an edited copy of its fitness spec (more trials)."""
    from .world import FITNESS

    (root / "fit2.toml").write_text(FITNESS.replace("trials = 4", "trials = 6"))
    cfg = root / "runs/ok/config.resolved.json"
    d = json.loads(cfg.read_text())
    d["fitness"] = str(root / "fit2.toml")
    cfg.write_text(json.dumps(d))


def _check_no_double_count(root: Path, res: Outcome) -> str | None:
    from evo_circuits.motifs.library import MotifLibrary

    with MotifLibrary(root / "lib.db") as lib:
        rows = [(e.id, e.occurrences) for e in lib.list()]
        over = [(mid, occ) for mid, occ in rows if occ > 1 and any(
            p.get("run_id") == "ok" for p in lib.entry(mid).provenance)]
    return None if not over else f"motif {over[0][0]} counted {over[0][1]} times for one run"


def _library_attacks() -> list[Attack]:
    kind = "library"
    cmds = {"list": ("motifs", "list"), "show": ("motifs", "show", "1"),
            "export": ("motifs", "export", "1", "-o", "out/m.json"),
            "import": ("motifs", "import", "c.json"),
            "gallery": ("motifs", "gallery", "-o", "out/g", "--no-rasters"),
            "draw": ("motifs", "draw", "1", "-o", "out/m.png")}

    def corrupt_page(root: Path) -> None:
        p = root / "lib.db"
        data = bytearray(p.read_bytes())
        page = 4096
        for i in range(page + 16, min(len(data), 3 * page)):
            data[i] = 0xA5
        p.write_bytes(bytes(data))

    def truncate(root: Path) -> None:
        p = root / "lib.db"
        p.write_bytes(p.read_bytes()[:5000])

    def bad_circuit_row(root: Path) -> None:
        con = sqlite3.connect(root / "lib.db")
        con.execute("UPDATE motifs SET circuit = ? WHERE id = 1", (nested(100_000),))
        con.commit()
        con.close()

    def huge_circuit_row(root: Path) -> None:
        con = sqlite3.connect(root / "lib.db")
        con.execute("UPDATE motifs SET circuit = ? WHERE id = 1", (circuit(n_inputs=10**9),))
        con.commit()
        con.close()

    def escape_name(root: Path) -> None:
        con = sqlite3.connect(root / "lib.db")
        con.execute("UPDATE motifs SET name = ? WHERE id = 1", (ESC,))
        con.execute("UPDATE scores SET task = ?", (ESC,))
        con.commit()
        con.close()

    def plugin_task(root: Path) -> None:
        # A motif whose task name leads the gallery to a spec with a plugin.
        from .world import FITNESS

        (root / "evil.py").write_text(EVIL_PLUGIN)
        (root / "evil.toml").write_text(FITNESS.replace('family = "coincidence"',
                                                        'plugin = "evil.py"\nfamily = "coincidence"'))
        con = sqlite3.connect(root / "lib.db")
        con.execute("UPDATE scores SET task = ?", (str(root / "evil"),))
        con.commit()
        con.close()

    def newer_schema(root: Path) -> None:
        con = sqlite3.connect(root / "lib.db")
        con.execute("PRAGMA user_version = 99")
        con.commit()
        con.close()

    def read_only_file(root: Path) -> None:
        (root / "lib.db").chmod(stat.S_IRUSR)

    def read_only_dir(root: Path) -> None:
        os.chmod(root / "lib.db", stat.S_IRUSR)
        d = root / "ro"
        d.mkdir()
        (root / "lib.db").rename(d / "lib.db")
        os.symlink(d / "lib.db", root / "lib.db")
        d.chmod(stat.S_IRUSR | stat.S_IXUSR)

    spoils = [
        ("0-byte file", write("lib.db", b""), True, "refuse"),
        ("binary file", write("lib.db", BINARY), True, "refuse"),
        ("truncated", truncate, True, "refuse"),
        ("malformed page", corrupt_page, True, "refuse"),
        ("circuit row 100k-deep", bad_circuit_row, False, None),
        ("circuit row n_inputs 10**9", huge_circuit_row, False, None),
        ("newer schema", newer_schema, False, "refuse"),
        ("foreign SQLite database", lambda r: (r / "lib.db").unlink() or _foreign_db(r / "lib.db"), False, "refuse"),
    ]
    out = []
    for name, setup, quick, exp in spoils:
        for cmd, argv in cmds.items():
            # a bad row: listing reads every row, so it refuses too; an import may add beside it
            e = exp if exp is not None else ("any" if cmd == "import" else "refuse")
            out.append(Attack(kind, f"{name} ({cmd})", argv, setup, expect=e,
                              changes=("lib.db",) if cmd == "import" else (),
                              quick=quick and cmd in ("list", "import")))
    if os.geteuid() != 0:  # permissions do not bind root: these attacks mean nothing there
        for cmd in ("list", "show", "export"):
            out.append(Attack(kind, f"read-only file ({cmd})", cmds[cmd], read_only_file, expect="accept"))
            out.append(Attack(kind, f"read-only folder ({cmd})", cmds[cmd], read_only_dir, expect="accept",
                              quick=cmd == "list"))
        out.append(Attack(kind, "read-only file (import)", cmds["import"], read_only_file))
    out.append(Attack(kind, "names with terminal escapes (list)", cmds["list"], escape_name, expect="accept"))
    out.append(Attack(kind, "names with terminal escapes (show)", cmds["show"], escape_name, expect="accept"))
    out.append(Attack(kind, "task name is a path to a plugin spec (gallery)",
                      ("motifs", "gallery", "-o", "out/g"), plugin_task, expect="any"))
    out.append(Attack(kind, "library is a directory (list)", cmds["list"],
                      lambda r: ((r / "lib.db").unlink(), (r / "lib.db").mkdir())))
    return out


def _foreign_db(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()


def all_attacks() -> list[Attack]:
    """Every attack of the corpus."""
    return (_circuit_attacks() + _graphml_attacks() + _nir_attacks() + _spike_attacks() + _mask_attacks()
            + _fitness_attacks() + _run_config_attacks() + _assembly_attacks() + _run_folder_attacks()
            + _checkpoint_attacks() + _library_attacks())


def quick_attacks() -> list[Attack]:
    """The subset ``make test`` runs."""
    return [a for a in all_attacks() if a.quick]
