"""evo_circuits.torch.EICircuit: the simulator bit for bit, the numba trainer's gradients,
Dale's law and structure kept, and a motif training end to end inside nn.Sequential."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from evo_circuits import Circuit  # noqa: E402
from evo_circuits.assemble import assemble  # noqa: E402
from evo_circuits.motifs.named import named_motif  # noqa: E402
from evo_circuits.torch import EICircuit, SpikeCount, SurrogateSpike, project_  # noqa: E402
from evo_circuits.train import BPTT, Readout, TrainableNetwork, TrainError  # noqa: E402

from test_train_gradients import input_spikes, small_circuit  # noqa: E402
from test_train_simulate import simulate_spikes  # noqa: E402

DOC = Path(__file__).parent.parent / "docs" / "torch.md"
F64 = torch.float64


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny tensors: intra-op threads only spin against each other (and other processes)
    on a shared CPU; one thread made these tests ~10x faster here."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def run(module: EICircuit, x: np.ndarray):
    """Forward pass on batch-first uint8 spikes; spikes and p as NumPy (B, T, n)."""
    _, rec = module(torch.as_tensor(x), record=True)
    return rec.spikes.detach().numpy(), rec.membrane.detach().numpy(), rec


# ----------------------------------------------------------------------------- forward
def test_forward_is_the_simulator_bit_for_bit():
    """exact=True, float64: spikes, start-of-step potentials (record_v) and the training
    forward pass's p equal the simulator's exactly, on recurrent circuits with delays 0-3
    steps and a 4-step refractory clamp."""
    for seed in range(3):
        c = small_circuit(60 + seed, n=10, t_ref=0.4)
        x = input_spikes(70 + seed, b=4, t=120)
        s, p, rec = run(EICircuit(c, exact=True, dtype=F64, batch_first=True), x)
        sim, v = simulate_spikes(c, x)
        assert s.sum() > 50 and c.delays[c.weights > 0].max() == 3
        np.testing.assert_array_equal(s, sim)
        v_next = np.where(s[:, :-1] > 0, c.param("v_reset"), p[:, :-1])
        np.testing.assert_array_equal(v_next, np.transpose(v[:, :, 1:], (0, 2, 1)))
        p_bptt, m_bptt = BPTT(TrainableNetwork.from_circuit(c)).forward(x)
        np.testing.assert_array_equal(p, p_bptt)
        np.testing.assert_array_equal(rec.integrating.numpy(), m_bptt.astype(bool))


def test_fast_path_and_layouts_agree():
    """The default path (matrix products) gives the same spikes and potentials to rounding;
    time-first and batch-first inputs give the same results; outputs are the output neurons."""
    c = small_circuit(63, n=10, t_ref=0.4)
    x = input_spikes(73, b=4, t=120)
    s_exact, p_exact, _ = run(EICircuit(c, exact=True, dtype=F64, batch_first=True), x)
    fast = EICircuit(c, dtype=F64)
    out, rec = fast(torch.as_tensor(x).transpose(0, 1), record=True)
    np.testing.assert_array_equal(rec.spikes.detach().numpy().transpose(1, 0, 2), s_exact)
    np.testing.assert_allclose(rec.membrane.detach().numpy().transpose(1, 0, 2), p_exact, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(out.detach().numpy(), rec.spikes.detach().numpy()[..., c.outputs])
    assert out.shape == (120, 4, len(c.outputs))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_cuda():
    c = small_circuit(64, n=8)
    x = input_spikes(74, b=3, t=60)
    s_cpu, p_cpu, _ = run(EICircuit(c, dtype=F64, batch_first=True, exact=True), x)
    gpu = EICircuit(c, dtype=F64, batch_first=True, exact=True).to("cuda")
    _, rec = gpu(torch.as_tensor(x).cuda(), record=True)
    np.testing.assert_array_equal(rec.spikes.detach().cpu().numpy(), s_cpu)
    np.testing.assert_allclose(rec.membrane.detach().cpu().numpy(), p_cpu, atol=1e-9)


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("reset_grad", [False, True])
@pytest.mark.parametrize("readout", [Readout("count", gain=0.5), Readout("membrane", gain=0.2, window=(5, 70)),
                                     Readout("count", gain=1.0, none_class=True)])
def test_gradients_equal_numba_bptt(readout, reset_grad, exact):
    """Autograd through the module = the numba BPTT kernels (weights and biases; frozen
    input rows get no gradient), float64, to 1e-10 relative."""
    c = small_circuit(80, n=9, t_ref=0.3)
    trainable = c.weights > 0
    trainable[0] = False  # a frozen input channel
    net = TrainableNetwork.from_circuit(c, trainable=trainable, train_bias=True)
    x = input_spikes(81, b=5, t=80)
    y = np.array([0, 1, 1, 0, 1]) if not readout.none_class else np.array([0, 2, 1, 2, 0])
    g = BPTT(net, readout, slope=1.3, reset_grad=reset_grad).loss_and_grad(x, y)
    m = EICircuit(net, slope=1.3, reset_grad=reset_grad, exact=exact, dtype=F64, batch_first=True)
    _, rec = m(torch.as_tensor(x), record=True)
    loss = torch.nn.functional.cross_entropy(m.logits(rec, readout), torch.as_tensor(y))
    loss.backward()
    assert rec.spikes.sum() > 20
    assert loss.item() == pytest.approx(g.loss, rel=1e-12)
    gw, gb = m.weight.grad.numpy(), m.bias.grad.numpy()
    assert (gw[~trainable] == 0).all() and np.abs(gw).max() > 0
    np.testing.assert_allclose(gw, g.weights, rtol=1e-10, atol=1e-10 * np.abs(g.weights).max())
    np.testing.assert_allclose(gb, g.bias, rtol=1e-10, atol=1e-10 * np.abs(g.bias).max())


def test_assembly_masks_gradients_and_to_circuit():
    """An assembled network with frozen motifs and growth entries: gradients equal the
    numba trainer's with the same masks; absent synapses stay absent in to_circuit()."""
    asm = assemble({
        "name": "small", "dt_ms": 0.1, "seed": 1, "inputs": 6, "readout": "readout",
        "modules": {"wta": {"motif": "winner-take-all", "copies": 2, "weight_scale": 0.5, "trainable": False},
                    "readout": {"neurons": 3}},
        "connections": [
            {"from": "inputs", "to": "wta.in", "pattern": "one-to-one", "weight": "port"},
            {"from": "wta.out", "to": "readout", "pattern": "all-to-all", "p": 0.5, "weight": 20.0, "grow": True,
             "delay_ms": 0.2},
        ],
    })
    m = EICircuit.from_assembly(asm, dtype=F64, batch_first=True)
    assert asm.growable.any() and (asm.mask & ~asm.trainable).any()
    x = input_spikes(90, b=4, t=60, c=6, rate=0.2)
    y = np.array([0, 1, 2, 1])
    ro = Readout("membrane", gain=0.5)
    g = BPTT(TrainableNetwork.from_circuit(asm.circuit, asm.mask, asm.trainable, delays=asm.delays), ro).loss_and_grad(x, y)
    _, rec = m(torch.as_tensor(x), record=True)
    torch.nn.functional.cross_entropy(m.logits(rec, ro), torch.as_tensor(y)).backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), g.weights, rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        m.weight += 1.0  # every entry; only trainable ones may keep it
    m.project_()
    trained = m.to_circuit()
    assert isinstance(trained, Circuit)
    assert not (trained.weights[~asm.mask] > 0).any()
    frozen = asm.mask & ~asm.trainable
    np.testing.assert_array_equal(trained.weights[frozen], asm.circuit.weights[frozen])
    assert (trained.weights[asm.trainable] > 0).all()
    np.testing.assert_array_equal(trained.types, asm.circuit.types)


# ----------------------------------------------------------------------------- constraints
def test_dale_law_and_structure_after_projection():
    c = small_circuit(5)
    m = EICircuit(c, dtype=F64)
    with torch.no_grad():
        m.weight -= 10.0  # push many magnitudes negative, absent entries too
    assert (m.magnitudes() >= 0).all()  # the forward pass never sees a negative magnitude
    signed = m.signed_weight().detach()
    assert (signed[m.sign > 0] >= 0).all() and (signed[m.sign < 0] <= 0).all()
    m.project_()
    w = m.weight.detach().numpy()
    assert (w >= 0).all() and (w[~(c.weights > 0)] == 0).all()
    trained = m.to_circuit(name="t")
    assert trained.name == "t" and not (trained.weights > c.weights).any()
    # Synapses clipped to 0 keep receiving gradient (they may grow back), absent ones never do.
    x = torch.as_tensor(input_spikes(6, b=2, t=40)).transpose(0, 1)
    with torch.no_grad():
        m.weight.copy_(torch.as_tensor(c.weights))
        m.weight[0] = 0.0
    m(x).sum().backward()
    assert (m.weight.grad[~m.structure] == 0).all()
    assert m.weight.grad[0][m.structure[0]].abs().sum() > 0


def test_bad_inputs_are_refused_in_one_line():
    c = small_circuit(7)
    m = EICircuit(c)
    with pytest.raises(TrainError, match="channels"):
        m(torch.zeros(10, 2, c.n_inputs + 1))
    with pytest.raises(TrainError, match="expected a tensor"):
        m(torch.zeros(10, c.n_inputs))
    with pytest.raises(TrainError, match="current-based"):
        EICircuit(c.replace(synapse_model="conductance"))
    p = c.p_release.copy()
    p[c.weights > 0] = 0.5
    with pytest.raises(TrainError, match="release probability"):
        EICircuit(c.replace(p_release=p))


# ----------------------------------------------------------------------------- end to end
def doc_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "docs/torch.md has no python example"
    return blocks[0]


def test_doc_example_motif_in_sequential_trains_end_to_end():
    """The docs/torch.md example: a named motif as a layer of the user's nn.Sequential
    (Linear encoder -> spikes -> winner-take-all -> spike counts) trains: the loss falls,
    Dale's law and the motif's structure hold, and the trained Circuit validates."""
    ns: dict = {}
    exec(compile(doc_example(), str(DOC), "exec"), ns)
    losses, wta, model, trained = ns["losses"], ns["wta"], ns["model"], ns["trained"]
    assert isinstance(model, torch.nn.Sequential) and any(isinstance(m, EICircuit) for m in model)
    assert losses[-1] < 0.6 * losses[0]
    assert (wta.weight >= 0).all()
    motif = named_motif("winner-take-all")
    assert isinstance(trained, Circuit)
    trained.validate()
    np.testing.assert_array_equal(trained.weights > 0, motif.weights > 0)  # structure kept, nothing grew
    np.testing.assert_array_equal(trained.types, motif.types)
    assert not np.array_equal(trained.weights, motif.weights)  # the motif itself trained
    assert ns["SpikeCount"] is SpikeCount and ns["SurrogateSpike"] is SurrogateSpike and ns["project_"] is project_


@pytest.mark.parametrize("reduce", ["mean", "max"])
def test_leaky_integrator_readout_gradients_equal_numba_bptt(reduce):
    """Non-spiking outputs (readout 'li'): the module makes them as the trainer does, and
    autograd through the mean/max membrane equals the numba BPTT."""
    from evo_circuits.train.readout import LI_THRESHOLD_MV, li_outputs

    c = small_circuit(82, n=9, t_ref=0.3)
    ro = Readout("li", gain=0.3, reduce=reduce, tau_ms=6.0, window=(5, 70))
    x, y = input_spikes(83, b=5, t=80), np.array([0, 1, 1, 0, 1])
    g = BPTT(TrainableNetwork.from_circuit(li_outputs(c, 6.0)), ro, slope=1.3).loss_and_grad(x, y)
    m = EICircuit(c, slope=1.3, dtype=F64, batch_first=True, readout=ro)
    _, rec = m(torch.as_tensor(x), record=True)
    assert rec.spikes[..., m.outputs].sum() == 0 and rec.spikes.sum() > 20
    assert (m.to_circuit().param("v_th")[c.outputs] == LI_THRESHOLD_MV).all()
    loss = torch.nn.functional.cross_entropy(m.logits(rec), torch.as_tensor(y))
    loss.backward()
    assert loss.item() == pytest.approx(g.loss, rel=1e-12)
    gw = m.weight.grad.numpy()
    np.testing.assert_allclose(gw, g.weights, rtol=1e-10, atol=1e-10 * np.abs(g.weights).max())
