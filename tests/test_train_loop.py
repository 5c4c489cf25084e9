"""Training loop, optimiser, networks, comparison and the CLI commands."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from evo_circuits import Circuit, load, save
from evo_circuits.train import (Adam, SpikeTrainDataset, TrainConfig, TrainError, balance_inhibition,
                                clip_grad_norm, compare, cross_entropy, epochs_to_fraction, feedforward_circuit,
                                mean_ci, random_like, train)


def toy_data(n: int = 96, seed: int = 0, t: int = 32):
    """Two classes: channel group A or B fires at a higher rate."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    rate = np.where((np.arange(8)[None, :] // 4) == y[:, None], 0.5, 0.1)
    x = (rng.random((n, t, 8)) < rate[:, None, :]).astype(np.uint8)
    return SpikeTrainDataset(x, y, 2, name="toy")


def test_adam_matches_reference_formula():
    p = np.array([1.0, -2.0])
    opt = Adam([p], lr=0.1)
    g = np.array([0.5, -1.0])
    opt.step([g])
    # first step of Adam moves every parameter by lr * sign(g)
    np.testing.assert_allclose(p, [0.9, -1.9], rtol=1e-6)


def test_adam_matches_torch_formula_over_steps_with_mask():
    rng = np.random.default_rng(3)
    p = rng.normal(size=(4, 5))
    mask = rng.random((4, 5)) < 0.7
    ref, m, v = p.copy(), np.zeros_like(p), np.zeros_like(p)
    opt = Adam([p], lr=0.01, betas=(0.8, 0.99), eps=1e-6, masks=[mask])
    for t in range(1, 6):
        g = rng.normal(size=p.shape)
        opt.step([g])
        m = 0.8 * m + 0.2 * g            # torch.optim.Adam, written out
        v = 0.99 * v + 0.01 * g * g
        step = 0.01 / (1 - 0.8 ** t) * m / (np.sqrt(v / (1 - 0.99 ** t)) + 1e-6)
        ref = np.where(mask, ref - step, ref)
        np.testing.assert_allclose(p, ref, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="contiguous"):
        Adam([p[:, ::2]])


def test_clip_grad_norm():
    g = [np.array([3.0, 0.0]), np.array([4.0])]
    assert clip_grad_norm(g, 1.0) == pytest.approx(5.0)
    assert np.sqrt(sum((x ** 2).sum() for x in g)) == pytest.approx(1.0)


def test_cross_entropy_gradient():
    z = np.array([[1.0, 2.0, 0.5], [0.0, 0.0, 3.0]])
    y = np.array([1, 0])
    loss, g = cross_entropy(z, y)
    eps = 1e-6
    for i in range(2):
        for k in range(3):
            zp, zm = z.copy(), z.copy()
            zp[i, k] += eps
            zm[i, k] -= eps
            assert (cross_entropy(zp, y)[0] - cross_entropy(zm, y)[0]) / (2 * eps) == pytest.approx(g[i, k], abs=1e-8)


def test_training_learns_and_is_seeded():
    c, mask = feedforward_circuit(8, 16, 2, seed=1)
    data = toy_data()
    cfg = TrainConfig(epochs=6, batch_size=16, lr=0.02, seed=3)
    a = train(c, data, data, cfg, mask=mask)
    assert a.test_accuracy >= 0.9
    assert len(a.history) == 7 and a.samples_per_s > 0
    b = train(c, data, data, cfg, mask=mask)
    np.testing.assert_array_equal(a.circuit.weights, b.circuit.weights)
    assert (a.circuit.weights >= 0).all()


def test_config_and_fit_validation():
    with pytest.raises(TrainError, match="epochs"):
        TrainConfig(epochs=-1)
    with pytest.raises(TrainError, match="dtype"):
        TrainConfig(dtype="float16")
    with pytest.raises(ValueError, match="readout"):
        TrainConfig(readout="rate")
    c, mask = feedforward_circuit(8, 6, 3, seed=0)
    with pytest.raises(TrainError, match="2 classes, but circuit"):
        train(c, toy_data(8), None, TrainConfig(epochs=1), mask=mask)
    c4, m4 = feedforward_circuit(4, 6, 2, seed=0)
    with pytest.raises(TrainError, match="8 input channels"):
        train(c4, toy_data(8), None, TrainConfig(epochs=1), mask=m4)
    # a data set made at another time step is refused, step-based data (dt None) is not
    d = toy_data(8)
    d1 = SpikeTrainDataset(d.spikes, d.labels, d.n_classes, name="toy", dt_ms=0.1)
    c8, m8 = feedforward_circuit(8, 6, 2, seed=0)
    with pytest.raises(TrainError, match=r"made for dt_ms 0.1, but circuit .* uses dt_ms 1"):
        train(c8, d1, None, TrainConfig(epochs=1), mask=m8)


def test_feedforward_circuit_and_balance():
    c, mask = feedforward_circuit(64, 128, 10, seed=0, balance=1.0)
    assert (c.n_exc, c.n_inh) == (102 + 10, 26)
    assert ((c.weights > 0) == mask).all()
    w = c.weights[64:64 + 128, 128:]
    tau_e, tau_i = c.param("tau_e")[128:], c.param("tau_i")[128:]
    np.testing.assert_allclose(w[102:].sum(0) * tau_i, w[:102].sum(0) * tau_e)  # I charge = E charge
    w2 = balance_inhibition(c.weights, c.source_signs, c.params, 64, ratio=0.5)
    np.testing.assert_allclose(w2[64 + 102:64 + 128, 128:].sum(0) * tau_i, 0.5 * w[:102].sum(0) * tau_e)


def test_random_like_preserves_counts_weights_and_dale():
    c, mask = feedforward_circuit(6, 10, 3, seed=2)
    trainable = mask.copy()
    trainable[:6] = False
    twin, tm, tt = random_like(c, mask, trainable, seed=5)
    signs = c.source_signs
    for rows in (np.arange(6), 6 + np.flatnonzero(c.types > 0), 6 + np.flatnonzero(c.types < 0)):
        assert tm[rows].sum() == mask[rows].sum()
        assert tt[rows].sum() == trainable[rows].sum()
        np.testing.assert_allclose(np.sort(twin.weights[rows][tm[rows]]), np.sort(c.weights[rows][mask[rows]]))
    assert not (twin.weights[6:][np.arange(13), np.arange(13)] > 0).any()  # no self-loops
    np.testing.assert_array_equal(twin.types, c.types)
    np.testing.assert_array_equal(twin.source_signs, signs)
    assert not np.array_equal(tm, mask)


def test_mean_ci_and_epochs_to_fraction():
    m, h = mean_ci([0.9, 0.92, 0.94])
    assert m == pytest.approx(0.92) and h == pytest.approx(4.303 * 0.02 / np.sqrt(3))
    m, h = mean_ci([0.5])
    assert m == 0.5 and np.isnan(h)  # undefined for one value
    assert epochs_to_fraction([0.1, 0.5, 0.85, 0.9, 0.95]) == 3  # first >= 0.9 * 0.95
    assert epochs_to_fraction([0.9, 0.9]) == 0


def test_compare_with_hand_made_assembly():
    c, mask = feedforward_circuit(8, 12, 2, seed=0)
    data = toy_data(64)
    calls = []
    res = compare(c, data, data, TrainConfig(epochs=2, batch_size=16, lr=0.02), seeds=2, mask=mask,
                  progress=lambda *a: calls.append(a))
    assert res.curves["assembled"].shape == (2, 3) and res.curves["random"].shape == (2, 3)
    rows = {r["network"]: r for r in res.summary()}
    assert set(rows) == {"assembled", "random"} and rows["random"]["n_seeds"] == 2
    assert "mean ± 95 % CI" in res.report()
    assert {a[0] for a in calls} == {"assembled", "random"}


# ----------------------------------------------------------------------------- CLI
def run_cli(argv):
    from evo_circuits.errors import EvoCircuitsError
    from evo_circuits.train.commands import register

    p = argparse.ArgumentParser()
    register(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(argv)
    try:
        return args.func(args)
    except EvoCircuitsError as exc:
        raise SystemExit(f"error: {exc}")


def test_cli_train_on_a_task(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 8
    types = np.array([1, 1, 1, 1, 1, -1, -1, 1], np.int8)
    w = np.where(rng.random((2 + n, n)) < 0.5, rng.uniform(20, 60, (2 + n, n)), 0.0)
    net = Circuit(types=types, n_inputs=2, weights=w, outputs=[7], name="xor-net")
    save(net, tmp_path / "net.json")
    out = tmp_path / "run"
    assert run_cli(["train", str(tmp_path / "net.json"), "--data", "task:xor", "--epochs", "2", "--trials", "32",
                    "--batch-size", "16", "--out", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "test accuracy:" in text.splitlines()[-1]
    for f in ("trained.json", "history.csv", "learning_curve.png"):
        assert (out / f).is_file()
    with pytest.raises(SystemExit, match="task:NAME"):
        run_cli(["train", str(tmp_path / "net.json"), "--data", "mnist", "--epochs", "1"])
    with pytest.raises(SystemExit, match="readout gain: expected a positive number"):  # one line, no traceback
        run_cli(["train", str(tmp_path / "net.json"), "--data", "task:xor", "--epochs", "1", "--gain", "-1"])
    with pytest.raises(SystemExit, match="not a classification task"):
        run_cli(["train", str(tmp_path / "net.json"), "--data", "task:oscillator", "--epochs", "1"])


def _xor_growth_assembly():
    """Two inputs -> 8 E neurons (connections that may grow, delay 3 steps) -> 1 readout."""
    from evo_circuits.assemble import assemble

    return assemble({"name": "g", "dt_ms": 0.1, "seed": 0, "inputs": 2, "readout": "out",
                     "modules": {"hid": {"neurons": 8, "type": "E"}, "out": {"neurons": 1}},
                     "connections": [
                         {"from": "inputs", "to": "hid", "pattern": "all-to-all", "p": 0.5, "weight": 30.0,
                          "delay_ms": 0.3, "grow": True},
                         {"from": "hid", "to": "out", "pattern": "all-to-all", "weight": 20.0}]})


def test_cli_train_with_a_structure_grows_synapses_with_their_delay(tmp_path):
    """train --mask: growth entries of the structure NPZ train, and grow with the delay the
    assembly gave them (not 0)."""
    asm = _xor_growth_assembly()
    save(asm.circuit, tmp_path / "net.json")
    asm.save_structure(tmp_path / "mask.npz")
    assert run_cli(["train", str(tmp_path / "net.json"), "--mask", str(tmp_path / "mask.npz"), "--data", "task:xor",
                    "--epochs", "3", "--trials", "32", "--batch-size", "8", "--lr", "0.1", "--out",
                    str(tmp_path / "run"), "-q"]) == 0
    trained = load(tmp_path / "run" / "trained.json")
    grown = (trained.weights > 0) & asm.growable
    assert grown.any() and (trained.delays[grown] == 3).all()


def test_cli_train_with_a_structure_too_large_for_dense_masks(tmp_path, monkeypatch):
    """train --mask with a version-2 structure (a network above the dense limit: here the
    limit is lowered so a small one counts) trains from index arrays, growth delays kept."""
    import importlib

    asm = _xor_growth_assembly()
    save(asm.circuit, tmp_path / "net.json")
    growable = asm.growable
    for module in ("evo_circuits.circuit", "evo_circuits.assemble.structure"):
        monkeypatch.setattr(importlib.import_module(module), "DENSE_MAX_ENTRIES", 10)
    asm.save_structure(tmp_path / "mask.npz")
    with np.load(tmp_path / "mask.npz") as z:
        assert int(z["version"]) == 2
    assert run_cli(["train", str(tmp_path / "net.json"), "--mask", str(tmp_path / "mask.npz"), "--data", "task:xor",
                    "--epochs", "3", "--trials", "32", "--batch-size", "8", "--lr", "0.1", "--out",
                    str(tmp_path / "run"), "-q"]) == 0
    monkeypatch.undo()
    trained = load(tmp_path / "run" / "trained.json")
    grown = (trained.weights > 0) & growable
    assert grown.any() and (trained.delays[grown] == 3).all()


def test_cli_compare_with_assembly(tmp_path, capsys):
    pytest.importorskip("sklearn")
    assemble = pytest.importorskip("evo_circuits.assemble")
    spec = tmp_path / "spec.toml"
    spec.write_text("""
name = "tiny"
dt_ms = 1.0
inputs = 64
readout = "readout"

[modules.ffi]
motif = "feedforward-inhibition"
copies = 4
weight_scale = 0.02

[modules.readout]
neurons = 10

[[connections]]
from = "inputs"
to = "ffi.in"
pattern = "all-to-all"
fan_in = 16
weight = {dist = "uniform", low = 0.5, high = 1.5}

[[connections]]
from = "ffi.out"
to = "readout"
pattern = "all-to-all"
weight = {dist = "uniform", low = 0.5, high = 1.5}
""")
    asm = assemble.assemble(spec)
    assert asm.circuit.n_inputs == 64
    out = tmp_path / "cmp"
    assert run_cli(["compare", str(spec), "--data", "digits", "--seeds", "2", "--epochs", "1", "--steps", "8",
                    "--out", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "assembled" in text and "random" in text and "95 % CI" in text
    with pytest.raises(SystemExit, match="--seeds: expected at least 1"):
        run_cli(["compare", str(spec), "--data", "digits", "--seeds", "0", "--out", str(tmp_path / "none")])
    assert not (tmp_path / "none").exists()
    assert (out / "compare.png").is_file() and (out / "compare.json").is_file()
