"""The evo-circuits command: simulate round trip, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evo_circuits import InputSpikes, load, simulate
from evo_circuits.cli import main

EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "feedforward_inhibition.json"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evo_circuits.cli", *args], capture_output=True, text=True)


@pytest.fixture()
def inputs_npz(tmp_path) -> Path:
    path = tmp_path / "in.npz"
    assert main(["inputs", "--channels", "1", "--rate", "300", "--trials", "3", "--duration-ms", "100",
                 "-o", str(path)]) == 0
    return path


def test_simulate_writes_the_documented_npz(tmp_path, inputs_npz, capsys):
    out = tmp_path / "out.npz"
    assert main(["simulate", str(EXAMPLE), "--inputs", str(inputs_npz), "--out", str(out),
                 "--plot", str(tmp_path / "r.png")]) == 0
    z = np.load(out, allow_pickle=False)
    assert sorted(z.files) == ["dt_ms", "n_steps", "n_trials", "neuron", "step", "trial"]
    assert all(z[k].dtype.kind == "i" for k in z.files if k != "dt_ms")
    res = simulate(load(EXAMPLE), InputSpikes.load(inputs_npz), record_spikes=True)
    assert float(z["dt_ms"]) == res.dt_ms and int(z["n_steps"]) == res.n_steps
    for k in ("trial", "neuron", "step"):
        np.testing.assert_array_equal(z[k], res.spikes[k])
    assert (tmp_path / "r.png").stat().st_size > 1000
    assert "spikes" in capsys.readouterr().out


def _bad_circuit(tmp_path, mutate) -> Path:
    d = json.loads(EXAMPLE.read_text())
    mutate(d)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    return p


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d["synapses"][0].update(weight=-2.0), "synapses[0].weight"),
    (lambda d: d["neurons"][0].update(type="Q"), "neurons[0].type"),
    (lambda d: d["synapses"][1].update(p_release=3), "p_release"),
    (lambda d: d.update(outputs=[9]), "outputs[0]"),
])
def test_invalid_circuit_is_one_line_exit_2(tmp_path, inputs_npz, mutate, needle):
    bad = _bad_circuit(tmp_path, mutate)
    out = tmp_path / "out.npz"
    r = run_cli("simulate", str(bad), "--inputs", str(inputs_npz), "--out", str(out))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr
    assert not out.exists()


def test_bad_inputs_file_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "in.npz"
    np.savez(bad, spike_trial=np.array([0]), spike_channel=np.array([0]), n_trials=1, n_steps=10)
    r = run_cli("simulate", str(EXAMPLE), "--inputs", str(bad), "--out", str(tmp_path / "o.npz"))
    assert r.returncode == 2 and "spike_step" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    (tmp_path / "junk.npz").write_text("not a zip")
    r = run_cli("simulate", str(EXAMPLE), "--inputs", str(tmp_path / "junk.npz"), "--out", str(tmp_path / "o.npz"))
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_existing_output_survives_a_failed_run(tmp_path, inputs_npz):
    out = tmp_path / "out.npz"
    out.write_bytes(b"precious")
    bad = _bad_circuit(tmp_path, lambda d: d["synapses"][0].update(delay_ms=0.03))
    assert run_cli("simulate", str(bad), "--inputs", str(inputs_npz), "--out", str(out)).returncode == 2
    assert out.read_bytes() == b"precious"


def test_convert_json_graphml_round_trip(tmp_path):
    g = tmp_path / "c.graphml"
    back = tmp_path / "c.json"
    assert main(["convert", str(EXAMPLE), str(g)]) == 0
    assert main(["convert", str(g), str(back)]) == 0
    assert load(back) == load(EXAMPLE).replace(metadata={})
    assert main(["validate", str(back)]) == 0
