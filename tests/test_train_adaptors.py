"""Users' own data: arrays, NPZ files (dense and events), torch and tonic adaptors, CLI."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from evo_circuits.errors import FormatError
from evo_circuits.train import TrainConfig, feedforward_circuit, train
from evo_circuits.train.adaptors import (as_dataset, from_arrays, from_events, from_tonic, from_torch, load_dataset,
                                         save_dataset, split)


def rate_data(n: int = 96, seed: int = 0, t: int = 24, c: int = 8):
    """Two classes: channel group A or B fires at a higher rate."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    rate = np.where((np.arange(c)[None, :] // (c // 2)) == y[:, None], 0.5, 0.08)
    x = (rng.random((n, t, c)) < rate[:, None, :]).astype(np.uint8)
    return x, y


def test_train_accepts_an_array_pair_and_learns():
    x, y = rate_data()
    c, mask = feedforward_circuit(8, 16, 2, seed=1)
    res = train(c, (x, y), (x, y), TrainConfig(epochs=6, batch_size=16, lr=0.02, seed=3), mask=mask)
    assert res.test_accuracy >= 0.85
    # time-first arrays are the same data
    ds = from_arrays(x.transpose(1, 0, 2), y, time_first=True)
    np.testing.assert_array_equal(ds.spikes, x)


def test_array_validation_names_the_problem():
    x, y = rate_data(8)
    with pytest.raises(FormatError, match="3-d"):
        from_arrays(x[0], y)
    with pytest.raises(FormatError, match="0 or 1"):
        from_arrays(x * 2, y)
    with pytest.raises(FormatError, match="labels must be a 1-d array of 8"):
        from_arrays(x, y[:3])
    with pytest.raises(FormatError, match="integer class indices"):
        from_arrays(x, y - 1)
    with pytest.raises(FormatError, match="expected a SpikeDataset"):
        as_dataset(42)


def test_npz_dense_round_trip_and_events(tmp_path):
    x, y = rate_data(16)
    ds = from_arrays(x, y, dt_ms=1.0)
    save_dataset(ds, tmp_path / "d.npz")
    back = load_dataset(tmp_path / "d.npz")
    np.testing.assert_array_equal(back.spikes, x)
    np.testing.assert_array_equal(back.labels, y)
    assert back.dt_ms == 1.0 and back.n_classes == 2
    # the same spikes as events in ms, binned at 1 ms
    s, t, ch = np.nonzero(x)
    np.savez(tmp_path / "e.npz", sample=s, t_ms=t * 1.0, channel=ch, labels=y, dt_ms=1.0, n_channels=8,
             duration_ms=float(x.shape[1]))
    ev = load_dataset(tmp_path / "e.npz")
    np.testing.assert_array_equal(ev.spikes, x)
    # two events in one step of one channel count once, with a warning
    with pytest.warns(UserWarning, match="1 of 3 events"):
        d = from_events([0, 0, 1], [1.0, 1.2, 0.0], [0, 0, 1], [0, 1], dt_ms=1.0)
    assert d.spikes[0, 1, 0] == 1 and d.spikes.sum() == 2


def _npz_with_header(path, shape):
    """An NPZ whose one array's header claims ``shape`` but holds a few bytes."""
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("spikes.npy", buf.getvalue() + b"\x00" * 16)
        for name, value in (("labels", np.zeros(2, np.int64)), ("dt_ms", np.float64(1.0))):
            part = io.BytesIO()
            np.save(part, value)
            zf.writestr(f"{name}.npy", part.getvalue())


@pytest.mark.parametrize("case, match", [
    ("missing", "no such file"),
    ("notzip", "not a valid NPZ"),
    ("empty", "not a valid NPZ"),
    ("nolabels", "missing array 'labels'"),
    ("huge", "over the limit"),
    ("objects", "Python objects"),
    ("dt", "'dt_ms' must be a number"),
    ("events_dt", "dt_ms must be a positive"),
])
def test_bad_npz_files_are_refused_in_one_line(tmp_path, case, match):
    p = tmp_path / f"{case}.npz"
    x, y = rate_data(4)
    if case == "notzip":
        p.write_bytes(b"\x89PNG not a zip")
    elif case == "empty":
        p.write_bytes(b"")
    elif case == "nolabels":
        np.savez(p, spikes=x, dt_ms=1.0)
    elif case == "huge":
        _npz_with_header(p, (10**6, 10**4, 10**3))  # claims 10 TB
    elif case == "objects":
        np.savez(p, spikes=np.array([None, 1], dtype=object), labels=y, dt_ms=1.0)
    elif case == "dt":
        np.savez(p, spikes=x, labels=y, dt_ms=np.array([1.0, 2.0]))
    elif case == "events_dt":
        np.savez(p, sample=[0], t_ms=[1.0], channel=[0], labels=[0, 1], dt_ms=0.0)
    with pytest.raises(FormatError, match=match) as info:
        load_dataset(p)
    assert "\n" not in str(info.value)


def test_tonic_style_events_and_torch_dataset():
    dtype = np.dtype([("x", np.int64), ("t", np.float64), ("p", np.int64)])
    ev0 = np.array([(3, 1500.0, 0), (1, 2000.0, 1)], dtype)  # t in µs
    ev1 = np.array([(0, 0.0, 1)], dtype)
    ds = from_tonic([ev0, ev1], [1, 0], sensor_size=(4, 1, 2), dt_ms=1.0, duration_ms=3.0)
    assert ds.spikes.shape == (2, 3, 8)
    assert ds.spikes[0, 1, 3] == 1 and ds.spikes[0, 2, 1 + 4] == 1 and ds.spikes[1, 0, 4] == 1  # floor bins
    with pytest.raises(FormatError, match="field x outside"):
        from_tonic([np.array([(9, 0.0, 0)], dtype)], [0], sensor_size=(4, 1, 2), dt_ms=1.0)
    torch = pytest.importorskip("torch")
    x, y = rate_data(10)
    tds = torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y))
    d = as_dataset(tds, dt_ms=1.0)
    np.testing.assert_array_equal(d.spikes, x)
    assert d.dt_ms == 1.0 and from_torch(tds).n_classes == 2


def test_split_is_stratified_and_seeded():
    x, y = rate_data(40)
    a, b = split(from_arrays(x, y), 0.25, seed=3)
    a2, b2 = split(from_arrays(x, y), 0.25, seed=3)
    assert len(b) == 10 and (b.labels == 0).sum() == 5
    np.testing.assert_array_equal(b.spikes, b2.spikes)


def test_cli_train_on_user_npz_and_plugin_task(tmp_path, capsys):
    from evo_circuits import save as save_circuit
    from evo_circuits.cli import main

    c, mask = feedforward_circuit(8, 12, 2, seed=0)  # dt 1 ms
    net = tmp_path / "net.json"
    save_circuit(c, net)
    x, y = rate_data(64)
    save_dataset(from_arrays(x, y, dt_ms=1.0), tmp_path / "my.npz")
    xt, yt = rate_data(32, seed=1)
    save_dataset(from_arrays(xt, yt, dt_ms=1.0), tmp_path / "my_test.npz")
    out = tmp_path / "trained"
    code = main(["train", str(net), "--data", str(tmp_path / "my.npz"), "--test", str(tmp_path / "my_test.npz"),
                 "--epochs", "3", "--batch-size", "16", "--lr", "0.02", "--out", str(out), "-q"])
    text = capsys.readouterr().out
    assert code == 0 and "test accuracy:" in text.splitlines()[-1]
    assert (out / "trained.json").is_file()
    # a file made for another time step: one line, exit 2
    save_dataset(from_arrays(x, y, dt_ms=0.1), tmp_path / "fine.npz")
    assert main(["train", str(net), "--data", str(tmp_path / "fine.npz"), "--epochs", "1", "-q",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dt_ms 0.1" in err
    # a broken file: one line, exit 2
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    assert main(["train", str(net), "--data", str(tmp_path / "bad.npz"), "--epochs", "1", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.npz" in err

    # a task plugin: found by train --data task:NAME --plugin, tasks --plugin, score --plugin
    plugin = tmp_path / "burst.py"
    plugin.write_text('''
import numpy as np
from evo_circuits.simulate import InputSpikes
from evo_circuits.tasks import Param, Task, TrialBatch, register_task

@register_task
class Burst(Task):
    name = "burst_plugin_test"
    description = "class = which of two channels bursts"
    params = {"duration_ms": Param(20.0, "trial length", min=1.0)}
    n_inputs = 2
    n_outputs = 2
    def chance_level(self):
        return 0.5
    def make_batch(self, n_trials, rng, dt_ms):
        lab = rng.integers(0, 2, n_trials)
        n_steps = int(round(self.p.duration_ms / dt_ms))
        trial = np.repeat(np.arange(n_trials), n_steps // 2)
        step = np.tile(np.arange(0, n_steps, 2), n_trials)[:len(trial)]
        return TrialBatch(InputSpikes(trial, np.repeat(lab, n_steps // 2), step, n_trials=n_trials,
                                      n_steps=n_steps, dt_ms=dt_ms), lab)
    def score_ports(self, ports, batch):
        return (ports.counts.argmax(axis=2) == batch.labels).mean(axis=1), {}
''')
    c2, _ = feedforward_circuit(2, 6, 2, seed=1)
    net2 = tmp_path / "net2.json"
    save_circuit(c2, net2)
    assert main(["tasks", "--plugin", str(plugin)]) == 0
    assert "burst_plugin_test" in capsys.readouterr().out
    assert main(["train", str(net2), "--data", "task:burst_plugin_test", "--plugin", str(plugin), "--trials", "64",
                 "--epochs", "2", "-q", "--out", str(tmp_path / "t2")]) == 0
    assert "test accuracy:" in capsys.readouterr().out
    assert main(["score", str(net2), "--fitness", "task:burst_plugin_test", "--plugin", str(plugin)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("score: ")


def test_event_binning_edge_cases():
    # floor binning: [k dt, (k+1) dt) -> step k; 2.0 ms written in decimal lands in step 2
    d = from_events([0, 0, 0, 1], [0.5, 1.5, 2.0, 0.0], [0, 0, 0, 0], [0, 1], dt_ms=1.0, duration_ms=3.0)
    assert d.spikes[0, :, 0].tolist() == [1, 1, 1] and d.spikes.shape == (2, 3, 1)
    # an event in the last half step of the duration is inside it
    assert from_events([0], [2.9], [0], [0, 1], dt_ms=1.0, duration_ms=3.0).spikes[0, 2, 0] == 1
    # 300 events in one step are one spike (no 8-bit wrap-around), and the warning says so
    with pytest.warns(UserWarning, match="299 of 300"):
        many = from_events(np.zeros(300, int), np.full(300, 0.2), np.zeros(300, int), [0, 1], dt_ms=1.0)
    assert many.spikes.sum() == 1


def test_torch_and_empty_data_are_validated():
    with pytest.raises(FormatError, match="no samples"):
        from_arrays(np.zeros((0, 5, 2), np.uint8), np.zeros(0, int), n_classes=2)
    torch = pytest.importorskip("torch")
    x, y = rate_data(6)
    half = torch.utils.data.TensorDataset(torch.as_tensor(x * 0.7), torch.as_tensor(y))
    with pytest.raises(FormatError, match="0 or 1"):
        from_torch(half)
    frac = torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y + 0.5))
    with pytest.raises(FormatError, match="integer class indices"):
        from_torch(frac)
    d = from_torch(torch.utils.data.TensorDataset(torch.as_tensor(x.transpose(0, 2, 1)), torch.as_tensor(y)),
                   channels_first=True)
    np.testing.assert_array_equal(d.spikes, x)


def test_test_set_is_checked_against_the_training_set():
    from evo_circuits.train import TrainError

    x, y = rate_data(32)
    c, mask = feedforward_circuit(8, 16, 2, seed=1)
    cfg = TrainConfig(epochs=1, batch_size=16)
    only0 = (x[y == 0], y[y == 0])  # a test set without the top class takes the training set's classes
    assert np.isfinite(train(c, (x, y), only0, cfg, mask=mask).test_accuracy)
    with pytest.raises(TrainError, match="steps per sample"):
        train(c, (x, y), (x[:, :10], y), cfg, mask=mask)
