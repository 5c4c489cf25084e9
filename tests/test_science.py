"""Does the motif prior help? Controls, temporal benchmarks, motifs fitted to the target (issue 14)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from evo_circuits.assemble import AssemblyError, assemble, module_membership, psp_peak_per_mv, top_motifs
from evo_circuits.io import from_dict
from evo_circuits.model import PARAM_INDEX
from evo_circuits.motifs import MotifLibrary, named_motif
from evo_circuits.stats import permutation_test
from evo_circuits.train import (SpikeTrainDataset, TrainConfig, compare, epochs_to_threshold, frozen_prior,
                                itd_dataset, layered_like, pattern_dataset, plain_like, temporal_benchmark)
from evo_circuits.train.compare import parse_controls
from evo_circuits.train.controls import motif_internal
from evo_circuits.train.network import TrainError

SCIENCE = Path(__file__).parent.parent / "docs" / "examples" / "science"


def small_spec(**module) -> dict:
    """8 inputs -> 4 direction-selectivity motifs (delays) + 6E/2I population -> 2 readout neurons."""
    return {
        "name": "small", "dt_ms": 0.1, "seed": 3, "inputs": 8, "readout": "readout",
        "modules": {"ds": {"motif": "direction-selectivity", "copies": 4, **module},
                    "pop": {"neurons": {"E": 6, "I": 2}}, "readout": {"neurons": 2}},
        "connections": [
            {"from": "inputs", "to": "ds.in", "pattern": "one-to-one", "weight": "port"},
            {"from": "inputs", "to": "pop", "pattern": "all-to-all", "p": 0.5, "weight": 5.0, "grow": True},
            {"from": "pop.I", "to": "pop.E", "pattern": "all-to-all", "weight": 3.0},
            {"from": "ds.out", "to": "readout", "pattern": "all-to-all", "weight": 2.0},
            {"from": "pop.E", "to": "readout", "pattern": "all-to-all", "p": 0.5, "weight": 2.0},
        ],
    }


def blocks(circuit, mask, values=None):
    """{(source group, target module, source sign): sorted values of the mask entries}."""
    module, _, _ = module_membership(circuit)
    n_in = circuit.n_inputs
    group = np.concatenate([np.full(n_in, -1), module])
    signs = circuit.source_signs
    values = circuit.weights if values is None else values
    out = {}
    for r, c in zip(*np.nonzero(mask)):
        out.setdefault((int(group[r]), int(module[c]), int(signs[r]) if r >= n_in else 0), []).append(values[r, c])
    return {k: sorted(v) for k, v in out.items()}


# ---------------------------------------------------------------------------- controls
def test_layered_control_keeps_blocks_and_loses_the_motif():
    asm = assemble(small_spec())
    c = asm.circuit
    lay, mask, tr = layered_like(c, asm.mask, asm.trainable, seed=1)
    assert mask.sum() == asm.mask.sum() and tr.sum() == asm.trainable.sum() and (tr <= mask).all()
    assert blocks(lay, mask) == blocks(c, asm.mask)                             # weights per block
    assert blocks(lay, mask, lay.delays) == blocks(c, asm.mask, c.delays)       # delays travel with them
    assert (np.diag(mask[c.n_inputs:]) == 0).all()                              # no self-loops
    assert not np.array_equal(mask, asm.mask)                                   # rewired
    np.testing.assert_array_equal(lay.types, c.types)
    assert (lay.signed_weights * lay.source_signs[:, None] >= 0).all()          # Dale's law


def test_plain_control_has_the_neurons_and_trainable_count():
    asm = assemble(small_spec())
    c = asm.circuit
    n_train = int(asm.trainable.sum())
    plain, mask, tr = plain_like(c, n_train, seed=0, input_rate=0.05)
    assert plain.n_neurons == c.n_neurons and plain.n_exc == c.n_exc and plain.n_inh == c.n_inh
    assert tr.sum() == n_train and (plain.weights[~mask] == 0).all()
    out = np.asarray(plain.outputs)
    np.testing.assert_array_equal(plain.params[out], c.params[np.asarray(c.outputs)])
    n_h = plain.n_neurons - len(out)
    assert not mask[c.n_inputs:c.n_inputs + n_h, :n_h].any()                  # few synapses: feed-forward only
    assert not mask[c.n_inputs + out].any()                                      # readout projects nowhere
    assert (plain.weights >= 0).all() and (plain.delays == 0).all()
    # an assembly denser than feed-forward gets recurrent hidden synapses
    dense, dmask, _ = plain_like(c, 400, seed=0)
    assert dmask.sum() == min(400, dmask.size - c.n_neurons)


def test_frozen_prior_freezes_only_motif_internals():
    asm = assemble(small_spec())
    internal = motif_internal(asm.circuit)
    assert internal.sum() > 0
    ds = asm.neurons("ds")
    assert internal[asm.circuit.n_inputs + ds][:, ds].sum() == internal.sum()
    _, mask, tr = frozen_prior(asm.circuit, asm.mask, asm.trainable)
    np.testing.assert_array_equal(tr, asm.trainable & ~internal)
    np.testing.assert_array_equal(mask, asm.mask)


def test_frozen_prior_freezes_the_motifs_port_synapses_too():
    # A Jeffress line's motif is its delayed input synapses: no synapse inside a copy.
    asm = assemble(small_spec(motif="jeffress-delay-line"))
    c, own = asm.circuit, asm.motif_synapses
    ds = asm.neurons("ds")
    assert (motif_internal(c) & asm.mask).sum() == 0
    assert own.sum() == 4 * 6 and own[:c.n_inputs][:, ds].sum() == 4 * 6      # 6 port synapses per copy
    _, _, tr = frozen_prior(c, asm.mask, asm.trainable, own)
    np.testing.assert_array_equal(tr, asm.trainable & ~own)
    # a motif with internal synapses: they are among its own, with its port synapses
    asm = assemble(small_spec())
    inside = motif_internal(asm.circuit) & asm.mask
    assert inside.any() and (inside <= asm.motif_synapses).all()
    assert asm.motif_synapses.sum() > inside.sum()
    # compare takes them from a network factory's fourth element
    data = SpikeTrainDataset(np.zeros((4, 20, 8), np.uint8), np.arange(4) % 2, 2, dt_ms=0.1)
    res = compare(lambda seed: (asm.circuit, asm.mask, asm.trainable, asm.motif_synapses), data, data,
                  TrainConfig(epochs=0, readout="membrane"), seeds=1, controls="frozen")
    sizes = res.extras["sizes"]
    assert sizes["frozen"]["trainable"] == int((asm.trainable & ~asm.motif_synapses).sum())


def test_compare_with_every_control_and_significance():
    asm = assemble(small_spec())
    rng = np.random.default_rng(0)
    y = np.arange(32) % 2
    x = (rng.random((32, 20, 8)) < np.where((np.arange(8) // 4) == y[:, None], 0.4, 0.05)[:, None, :]).astype(np.uint8)
    data = SpikeTrainDataset(x, y, 2, dt_ms=0.1)
    res = compare(asm.circuit, data, data, TrainConfig(epochs=1, batch_size=16, lr=0.02, readout="membrane"),
                  seeds=2, mask=asm.mask, trainable=asm.trainable, controls="twin,layered,plain,frozen")
    assert list(res.curves) == ["assembled", "random", "layered", "plain", "frozen"]
    rows = {r["network"]: r for r in res.summary()}
    assert "p_final_acc" not in rows["assembled"] and 0 <= rows["plain"]["p_final_acc"] <= 1
    assert rows["plain"]["trainable"] == rows["assembled"]["trainable"]
    assert all(np.isfinite(r["rate_hz"]) and r["rate_hz"] >= 0 for r in rows.values())
    text = res.report()
    assert all(k in text for k in res.curves) and "permutation test" in text
    with pytest.raises(TrainError, match="unknown control 'motifless'"):
        parse_controls("twin,motifless")
    assert parse_controls("twin,random,plain") == ["random", "plain"]


def test_epochs_to_threshold_and_permutation_test():
    assert epochs_to_threshold([0.1, 0.5, 0.8], 0.5) == 1
    assert epochs_to_threshold([0.1, 0.2], 0.5) == 2  # never: epochs + 1
    assert permutation_test([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    assert permutation_test([1, 2, 3], [1, 2, 3]) == 1.0
    assert np.isnan(permutation_test([], [1.0]))


# ---------------------------------------------------------------------------- temporal benchmarks
def test_patterns_differ_only_in_timing():
    d = pattern_dataset(60, seed=1, n_classes=3, n_channels=12)
    assert d.spikes.shape == (60, 50, 12) and d.n_classes == 3
    assert (d.spikes.sum(axis=1) == 1).all()                  # every channel once, in every sample
    assert np.bincount(d.labels).tolist() == [20, 20, 20]
    np.testing.assert_array_equal(pattern_dataset(60, seed=1, n_classes=3, n_channels=12).spikes, d.spikes)
    other = pattern_dataset(60, seed=2, n_classes=3, n_channels=12)
    assert not np.array_equal(other.spikes, d.spikes)         # seeded: another seed, other jitter


def test_itd_classes_have_the_same_counts_in_distribution():
    d = itd_dataset(400, seed=0, n_positions=4, n_bands=2)
    assert d.spikes.shape == (400, 60, 4) and np.bincount(d.labels).tolist() == [100] * 4
    counts = d.spikes.sum(axis=1).astype(float)
    means = np.array([counts[d.labels == k].mean() for k in range(4)])
    assert np.ptp(means) < 0.5                                 # no rate code
    with pytest.raises(TrainError, match="not a whole number of steps"):
        itd_dataset(4, dt_ms=0.4)
    with pytest.raises(TrainError, match="ambiguous"):
        itd_dataset(4, n_positions=16)
    tr, te = temporal_benchmark("patterns", 20, 10, seed=0, dt_ms=0.5)
    assert tr.name == "patterns/train" and te.dt_ms == 0.5 and tr.n_steps == 100
    with pytest.raises(TrainError, match="unknown temporal benchmark"):
        temporal_benchmark("shd", 1, 1)


# ---------------------------------------------------------------------------- motifs that fit
def test_psp_mv_sets_the_operating_point():
    asm = assemble(small_spec(psp_mv=3.0))
    m = named_motif("direction-selectivity")
    ds = asm.modules[0]
    exc_rows = np.concatenate([np.ones(m.n_inputs, bool), m.types > 0])
    tau_e, tau_m = m.params[:, PARAM_INDEX["tau_e"]], m.params[:, PARAM_INDEX["tau_m"]]
    psps = (m.weights * psp_peak_per_mv(tau_e, tau_m)[None, :])[(m.weights > 0) & exc_rows[:, None]]
    assert np.median(psps * ds["weight_scale"]) == pytest.approx(3.0)
    assert psp_peak_per_mv(np.array([5.0]), np.array([20.0]))[0] == pytest.approx(0.1575, abs=1e-3)
    assert psp_peak_per_mv(np.array([5.0]), np.array([5.0]))[0] == pytest.approx(np.exp(-1))
    with pytest.raises(AssemblyError, match=r"modules\.ds\.psp_mv: give weight_scale or psp_mv, not both"):
        assemble(small_spec(psp_mv=3.0, weight_scale=0.5))


def test_delays_that_cannot_be_represented_warn_or_are_refused():
    s = small_spec()
    s["dt_ms"] = 2.0  # the motif's 3-ms delay is 1.5 steps
    asm = assemble(s)
    note = [w for w in asm.warnings if w.startswith("modules.ds:")]
    assert len(note) == 1 and "not whole steps of dt_ms = 2 (3 -> 4 ms)" in note[0] and "rounded half up" in note[0]
    s["modules"]["ds"]["delays"] = "round"                    # asked for: rounded, no warning
    assert not [w for w in assemble(s).warnings if "whole steps" in w] and assemble(s).delays_rounded == 4
    s["modules"]["ds"]["delays"] = "exact"
    with pytest.raises(AssemblyError, match=r'^modules\.ds: .* delays = "exact" refuses them'):
        assemble(s)
    assert not [w for w in assemble(small_spec()).warnings if "whole steps" in w]  # at the motif's own dt


def test_evolved_motifs_by_task_rank(tmp_path):
    lib = MotifLibrary(tmp_path / "lib.db")
    best = from_dict(json.loads((SCIENCE / "evolved_timing_pattern.json").read_text()))
    lib.add(best, task="timing_pattern", score=1.0)
    second_id, _ = lib.add(named_motif("direction-selectivity"), task="timing_pattern", score=0.8)
    assert [e.best_score for e in top_motifs(lib, "timing_pattern")] == [1.0, 0.8]
    s = small_spec(motif="task:timing_pattern#2")
    asm = assemble(s, library=lib)
    assert asm.modules[0]["source"].startswith(f"library:{second_id} (task:timing_pattern#2")
    s = small_spec(motif="task:timing_pattern")
    s["connections"] = s["connections"][1:]
    assert assemble(s, library=lib).modules[0]["neurons_per_copy"] == best.n_neurons
    with pytest.raises(AssemblyError, match="holds 2 motif"):
        assemble(small_spec(motif="task:timing_pattern#3"), library=lib)
    with pytest.raises(AssemblyError, match="needs a motif library"):
        assemble(small_spec(motif="task:timing_pattern"))


@pytest.mark.parametrize("name", ["itd_jef", "itd_evo", "pat_jef", "pat_evo"])
def test_science_specs_assemble(name):
    asm = assemble(SCIENCE / f"{name}.toml")
    assert asm.circuit.n_inputs == (16 if name.startswith("itd") else 32)
    assert motif_internal(asm.circuit).sum() > 0


@pytest.mark.parametrize("name", ["itd_disc", "pat_disc"])
def test_discovery_specs_take_the_campaigns_core_by_rank(tmp_path, name):
    # The specs name the core by rank in the campaign's library; the same core ships as JSON.
    core = from_dict(json.loads((SCIENCE / "evolved_itd_bench.json").read_text()))
    lib = MotifLibrary(tmp_path / "lib.db")
    lib.add(named_motif("jeffress-delay-line"), task="itd", fitness="itd_bench", score=0.9)
    core_id, _ = lib.add(core, task="itd", fitness="itd_bench", score=0.85)
    asm = assemble(SCIENCE / f"{name}.toml", library=lib)
    assert asm.modules[0]["source"].startswith(f"library:{core_id} (task:itd_bench#2")
    assert asm.circuit.n_inputs == (16 if name.startswith("itd") else 32)
    assert asm.motif_synapses.sum() > 0 and any("not whole steps" in w for w in asm.warnings)


# ---------------------------------------------------------------------------- CLI
def test_cli_compare_with_controls_on_a_temporal_benchmark(tmp_path, capsys):
    from evo_circuits.errors import EvoCircuitsError
    from evo_circuits.train.commands import register

    p = argparse.ArgumentParser()
    register(p.add_subparsers(dest="command", required=True))
    out = tmp_path / "cmp"
    args = p.parse_args(["compare", str(SCIENCE / "pat_jef.toml"), "--data", "patterns", "--trials", "24",
                         "--seeds", "2", "--epochs", "1", "--controls", "twin,layered,plain", "--dtype", "float32",
                         "--out", str(out), "-q"])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "module motif: named:jeffress-delay-line, 16 copies" in text
    table = text[text.index("network"):]
    assert all(arm in table for arm in ("assembled", "random", "layered", "plain"))
    summary = json.loads((out / "compare.json").read_text())
    assert [r["network"] for r in summary["summary"]] == ["assembled", "random", "layered", "plain"]
    assert (out / "compare.png").is_file()
    args = p.parse_args(["compare", str(SCIENCE / "pat_jef.toml"), "--data", "patterns", "--controls", "motifless",
                         "--out", str(tmp_path / "none")])
    with pytest.raises(EvoCircuitsError, match="unknown control 'motifless'"):
        args.func(args)
    assert not (tmp_path / "none").exists()
