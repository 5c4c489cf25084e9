"""Data sets: rate/latency coding, digits, and the task suite as classification problems."""

from __future__ import annotations

import numpy as np
import pytest

from evo_circuits.tasks import available_tasks
from evo_circuits.train import TASK_CLASSES, Encoder, TrainError, task_dataset


def test_rate_code_is_seeded_and_independent_of_batching():
    x = np.random.default_rng(0).random((10, 5))
    enc = Encoder("rate", n_steps=50, seed=3)
    a = enc.encode(x, draw=1)
    assert a.shape == (10, 50, 5) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, enc.encode(x, draw=1))
    # a sample's spikes depend on its id, not on its batch
    np.testing.assert_array_equal(a[3:6], enc.encode(x[3:6], ids=np.arange(3, 6), draw=1))
    assert not np.array_equal(a, enc.encode(x, draw=2))
    assert not np.array_equal(a, Encoder("rate", n_steps=50, seed=4).encode(x, draw=1))


def test_rate_code_rates():
    x = np.linspace(0, 1, 11)[None, :].repeat(200, 0)
    s = Encoder("rate", n_steps=100).encode(x)
    rate = s.mean(axis=(0, 1))
    np.testing.assert_allclose(rate, x[0], atol=0.01)
    assert rate[0] == 0 and rate[-1] == 1


def test_latency_code():
    x = np.array([[1.0, 0.5, 0.0, 0.05]])
    s = Encoder("latency", n_steps=11, threshold=0.1).encode(x)
    assert s.sum() == 2
    assert s[0, 0, 0] == 1 and s[0, 5, 1] == 1


def test_encoder_validation():
    with pytest.raises(TrainError, match="encoding"):
        Encoder("poisson")
    with pytest.raises(TrainError, match="n_steps"):
        Encoder("rate", n_steps=0)


def test_digits():
    pytest.importorskip("sklearn")
    from evo_circuits.train import load_digits

    tr, te = load_digits(n_steps=8)
    assert (len(tr), len(te)) == (1347, 450)
    assert tr.n_channels == 64 and tr.n_classes == 10 and tr.n_steps == 8
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    d = sk_digits()
    _, x_te, _, y_te = train_test_split(d.data, d.target, test_size=0.25, random_state=0, stratify=d.target)
    np.testing.assert_array_equal(te.labels, y_te)  # the workload's split, exactly
    np.testing.assert_array_equal(te.features, x_te / 16.0)
    b = tr.batch(np.arange(4), draw=1)
    assert b.shape == (4, 8, 64)
    np.testing.assert_array_equal(b, tr.batch(np.arange(4), draw=1))
    lat_tr, _ = load_digits(encoding="latency", n_steps=16)
    assert lat_tr.batch(np.arange(3)).sum(axis=1).max() == 1


@pytest.mark.parametrize("name", sorted(TASK_CLASSES))
def test_every_task_is_a_dataset_or_rejected(name):
    assert name in available_tasks()
    if name == "oscillator":
        with pytest.raises(TrainError, match="not a classification task"):
            task_dataset(name, 8)
        return
    ds = task_dataset(name, 16, seed=1)
    task = available_tasks()[name]()
    assert ds.n_channels == task.n_inputs
    assert ds.n_classes == task.n_outputs + int(ds.readout_hint.get("none_class", False))
    assert ds.labels.min() >= 0 and ds.labels.max() < ds.n_classes
    assert len(np.unique(ds.labels)) >= 2  # both answers occur
    assert ds.batch(np.arange(4)).shape == (4, ds.n_steps, ds.n_channels)


def test_task_mapping_details():
    xor = task_dataset("xor", 16, seed=0)
    assert xor.readout_hint == {"none_class": True} and xor.n_classes == 2
    gating = task_dataset("gating", 16, seed=0)
    assert gating.n_classes == 3 and set(gating.labels) == {0, 1, 2}
    itd = task_dataset("itd", 12, seed=0)
    assert itd.n_classes == 3 and itd.readout_hint == {}
    mem = task_dataset("memory", 16, seed=0)
    lo, hi = mem.readout_hint["window"]
    assert hi <= mem.n_steps and hi - lo == 100  # the last 10-ms bin at dt 0.1 ms
    assert every_task_covered()


def every_task_covered() -> bool:
    # Built-in families only: other tests register plugin tasks in the same process.
    builtin = {name for name, cls in available_tasks().items() if cls.__module__.startswith("evo_circuits.tasks.")}
    return builtin <= set(TASK_CLASSES) | {"oscillator"}
