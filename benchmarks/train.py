"""Benchmark "workload G": surrogate-gradient training on digits, numba BPTT vs snnTorch.

Workload G: scikit-learn digits (8x8, 1797 images), split
``train_test_split(test_size=0.25, random_state=0, stratify=y)``; 64 input channels
(excitatory) → 128 LIF (80 % E, 20 % I) → 10 LIF outputs, all-to-all between layers,
Dale's law; T = 32 steps of 1 ms, rate coding (Bernoulli per step, p = pixel / 16);
cross-entropy on the output neurons' mean membrane potential (x 2 per mV; the outputs are
LIF neurons that spike and reset as usual); batch 128, Adam lr 2e-3, 30 epochs.

Each implementation runs in its own subprocess (so peak memory is its own) for every
seed (``--seeds``, default 3; Dale-constrained nets are init-sensitive, so every seed is
checked). Training throughput counts samples through encoding + forward + backward +
update per second of training (evaluation excluded; numba compilation excluded by a
warm-up call). The last line reads
``workload G: <X> samples/s, test acc <A>; snnTorch <Y> samples/s, test acc <B>; ratio <R>``
(means over seeds).

The snnTorch peer (``pip install torch==2.13.0`` then ``pip install --no-deps snntorch``)
is the same network: ``snn.Synaptic`` neurons (alpha = exp(-dt/tau_e), beta =
exp(-dt/tau_m), reset to zero, threshold 1 — our voltages divided by the 15 mV threshold
gap), the same fast-sigmoid surrogate, weights kept >= 0 by projection with fixed
per-neuron signs for Dale's law, the same initial weights, parametrised like ours (in units
of the threshold gap), the same readout, loss, optimiser, batch and epochs. Differences that remain: snnTorch's synaptic current
reaches the membrane in the same step (ours one step later, the simulator's schedule),
and it integrates by Euler steps where ours uses the exact propagator.

Workload "big" (``--workload big``, issue 15): a network of >= 10,000 neurons assembled
from motif copies by the project's own assembly spec (:func:`big_spec`): 5,000
feedforward-inhibition motifs (1 E + 1 I each, the motif's delays rounded to 1-ms steps),
every motif's input port sampling 16 of the 64 pixels, lateral inhibition between
neighbouring copies (ring, 4 neighbours each side, p 0.5), and 10 readout neurons each
sampling 2 % of the motifs' principal cells; about 0.2 % connectivity. It trains
``--epochs`` (default 1) on the digits workload's data and readout with Adam (batch 32,
lr 5e-3: one epoch is then 43 updates, enough to learn), and prints
training samples/s, peak RSS (whole process and the training phase alone), synapse count
and test accuracy. ``--copies`` scales it.

Run::

    .venv/bin/python benchmarks/train.py [--seeds 3] [--epochs 30] [--dtype float32|float64] [--no-snntorch]
                                         [--eicircuit]
    .venv/bin/python benchmarks/train.py --workload big [--copies 5000] [--epochs 1] [--seeds 1]

``--eicircuit`` also trains the same network as :class:`evo_circuits.torch.EICircuit` (PyTorch
autograd, ``torch.optim.Adam`` on weights in mV with lr and clipping scaled by the threshold
gap, projection after each step) and prints the numba/EICircuit throughput ratio.

Both sides compute in float32 by default (snnTorch's float type). ``--dtype float64`` runs
our exact path instead: input spikes delivered one by one in the simulator's order, so the
training forward pass is the simulator bit for bit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

N_IN, N_HIDDEN, N_OUT, FRAC_E, STEPS, BATCH, LR = 64, 128, 10, 0.8, 32, 128, 2e-3
#: Workload "big": smaller batches and a larger step, so that one epoch (43 updates) learns.
BIG_BATCH, BIG_LR = 32, 5e-3
#: Readout: mean membrane potential of the 10 output LIF neurons (mV above rest), times GAIN.
GAIN = 2.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process (MB), from /proc (Linux)."""
    vals = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                vals[line.split(":")[0]] = float(line.split()[1]) / 1024.0
    return vals.get("VmRSS", float("nan")), vals.get("VmHWM", peak_mb())


def reset_peak_rss() -> bool:
    """Restart the peak-RSS counter (VmHWM) at the current RSS; False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def big_spec(copies: int, seed: int) -> dict:
    """Assembly spec of workload "big": ``copies`` feedforward-inhibition motifs + 10 readout."""
    uniform = lambda lo, hi: {"dist": "uniform", "low": lo, "high": hi}  # noqa: E731
    return {
        "name": "big-ffi", "dt_ms": 1.0, "seed": seed, "inputs": N_IN, "readout": "readout",
        "modules": {"ffi": {"motif": "feedforward-inhibition", "delays": "round", "copies": copies,
                            "weight_scale": 0.25},
                    "readout": {"neurons": N_OUT}},
        "connections": [
            {"from": "inputs", "to": "ffi.in", "pattern": "all-to-all", "fan_in": 16, "weight": uniform(1.0, 3.0)},
            {"from": "ffi.I", "to": "ffi.out", "pattern": "lateral", "neighbours": 4, "p": 0.5,
             "weight": uniform(0.5, 2.0)},
            {"from": "ffi.out", "to": "readout", "pattern": "all-to-all", "p": 0.02, "weight": uniform(1.5, 3.5)},
        ],
    }


def run_big(seed: int, epochs: int, dtype: str, slope: float, clip: float, copies: int) -> dict:
    """Workload "big" in this process: assemble, prepare, warm up, train; figures as a dict."""
    from evo_circuits.assemble import assemble
    from evo_circuits.train import BPTT, Readout, TrainableNetwork, TrainConfig, load_digits, train

    tr, te = load_digits(encoding="rate", n_steps=STEPS, seed=seed)
    t0 = time.perf_counter()
    asm = assemble(big_spec(copies, seed))
    net = TrainableNetwork.from_assembly(asm)  # the entry table: no dense matrix anywhere
    c = asm.circuit
    del asm  # the network keeps what training needs (masks and delays per synapse)
    build_s = time.perf_counter() - t0
    rss_built, peak_built = rss_mb()
    # Warm-up: compile (or load from the numba cache) outside the timed loop.
    BPTT(net, Readout("membrane", gain=GAIN), slope=slope, dtype=np.dtype(dtype)).loss_and_grad(
        tr.batch(np.arange(8), draw=1), tr.labels[:8])
    rss_before, _ = rss_mb()
    exact_phase = reset_peak_rss()
    cfg = TrainConfig(epochs=epochs, batch_size=BIG_BATCH, lr=BIG_LR, slope=slope, clip=clip, dtype=dtype,
                      seed=seed, readout="membrane", gain=GAIN)
    res = train(net, tr, te, cfg)
    _, peak_train = rss_mb()
    return dict(samples_per_s=res.samples_per_s, test_acc=res.test_accuracy, init_acc=res.history[0]["test_acc"],
                seconds=res.train_seconds, curve=res.curve("test_acc").tolist(), peak_mb=peak_mb(),
                n_neurons=c.n_neurons, n_inputs=c.n_inputs, n_synapses=int(net.n_synapses), sparse=bool(net.sparse),
                build_s=build_s, rss_built_mb=rss_built, peak_built_mb=peak_built, rss_before_mb=rss_before,
                peak_train_mb=peak_train if exact_phase else float("nan"))


def network(seed: int):
    from evo_circuits.train import feedforward_circuit

    return feedforward_circuit(N_IN, N_HIDDEN, N_OUT, frac_exc=FRAC_E, seed=seed, dt_ms=1.0)


def run_numba(seed: int, epochs: int, dtype: str, slope: float, clip: float) -> dict:
    from evo_circuits.train import BPTT, Readout, TrainableNetwork, TrainConfig, load_digits, train

    tr, te = load_digits(encoding="rate", n_steps=STEPS, seed=seed)
    circuit, mask = network(seed)
    # Warm-up: compile (or load from the numba cache) outside the timed loop.
    net = TrainableNetwork.from_circuit(circuit, mask)
    bp = BPTT(net, Readout("membrane", gain=GAIN), slope=slope, dtype=np.dtype(dtype))
    bp.loss_and_grad(tr.batch(np.arange(8), draw=1), tr.labels[:8])
    tr.batch(np.arange(BATCH), draw=1)
    cfg = TrainConfig(epochs=epochs, batch_size=BATCH, lr=LR, slope=slope, clip=clip, dtype=dtype, seed=seed,
                      readout="membrane", gain=GAIN)
    res = train(circuit, tr, te, cfg, mask=mask)
    return dict(samples_per_s=res.samples_per_s, test_acc=res.test_accuracy, init_acc=res.history[0]["test_acc"],
                seconds=res.train_seconds, curve=res.curve("test_acc").tolist(), peak_mb=peak_mb())


def run_snntorch(seed: int, epochs: int, slope: float, clip: float, threads: int) -> dict:
    import snntorch as snn
    import torch
    from snntorch import spikegen
    from snntorch import surrogate as sg

    from evo_circuits.dynamics import propagators
    from evo_circuits.train import load_digits

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    tr, te = load_digits(encoding="rate", n_steps=STEPS, seed=seed)
    circuit, mask = network(seed)
    pk = propagators(circuit.params, circuit.dt_ms)
    gap = float(circuit.param("v_th")[0] - circuit.param("v_rest")[0])
    alpha, beta, ke = float(pk.de[0]), float(pk.em[0]), float(pk.ke[0])
    # The parameters are the same as ours: weight magnitudes in units of the threshold gap
    # (so that Adam's lr means the same thing). A current of w mV moves v by ke*w per step
    # here, while snnTorch adds its whole synaptic current to a membrane normalised by the gap:
    # the forward pass multiplies by ke.
    w1 = torch.tensor(circuit.weights[:N_IN, :N_HIDDEN].T / gap, dtype=torch.float32)
    w2 = torch.tensor(circuit.weights[N_IN:N_IN + N_HIDDEN, N_HIDDEN:].T / gap, dtype=torch.float32)
    sign = torch.tensor(circuit.types[:N_HIDDEN], dtype=torch.float32)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w1 = torch.nn.Parameter(w1.clone())          # magnitudes, inputs excitatory
            self.w2 = torch.nn.Parameter(w2.clone())          # magnitudes; sign from the hidden neuron type
            grad = sg.fast_sigmoid(slope=slope * gap)         # same surrogate in normalised voltage
            self.lif1 = snn.Synaptic(alpha=alpha, beta=beta, threshold=1.0, reset_mechanism="zero", spike_grad=grad)
            self.lif2 = snn.Synaptic(alpha=alpha, beta=beta, threshold=1.0, reset_mechanism="zero", spike_grad=grad)

        def forward(self, x):  # x: (T, B, 64)
            syn1, mem1 = self.lif1.init_synaptic()
            syn2, mem2 = self.lif2.init_synaptic()
            w1s = self.w1 * ke
            w2s = self.w2 * (sign * ke)
            total = 0
            for t in range(x.shape[0]):
                spk1, syn1, mem1 = self.lif1(x[t] @ w1s.T, syn1, mem1)
                spk2, syn2, mem2 = self.lif2(spk1 @ w2s.T, syn2, mem2)
                total = total + mem2
            return GAIN * gap * total / x.shape[0]  # same logits: mean membrane in mV x GAIN

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    xtr = torch.tensor(tr.features, dtype=torch.float32)
    ytr = torch.tensor(tr.labels)
    xte = torch.tensor(te.features, dtype=torch.float32)
    yte = torch.tensor(te.labels)
    g = torch.Generator().manual_seed(seed)

    def test_acc() -> float:
        with torch.no_grad():
            torch.manual_seed(12345)
            return float((net(spikegen.rate(xte, num_steps=STEPS)).argmax(1) == yte).float().mean())

    curve = [test_acc()]
    seconds, samples = 0.0, 0
    for _ in range(epochs):
        order = torch.randperm(len(xtr), generator=g)
        t0 = time.perf_counter()
        for k in range(0, len(xtr), BATCH):
            idx = order[k:k + BATCH]
            spikes = spikegen.rate(xtr[idx], num_steps=STEPS)
            loss = torch.nn.functional.cross_entropy(net(spikes), ytr[idx])
            opt.zero_grad()
            loss.backward()
            # Same clipping: snnTorch's surrogate is per threshold gap (ours per mV), so its gradients
            # are `gap` times smaller in the same weight units.
            torch.nn.utils.clip_grad_norm_(net.parameters(), clip / gap)
            opt.step()
            with torch.no_grad():  # Dale's law: magnitudes stay >= 0
                net.w1.clamp_(min=0)
                net.w2.clamp_(min=0)
            samples += len(idx)
        seconds += time.perf_counter() - t0
        curve.append(test_acc())
    return dict(samples_per_s=samples / seconds, test_acc=curve[-1], init_acc=curve[0], seconds=seconds,
                curve=curve, peak_mb=peak_mb(), torch=torch.__version__, snntorch=snn.__version__)


def run_eicircuit(seed: int, epochs: int, dtype: str, slope: float, clip: float, threads: int) -> dict:
    """The same network and training as ours, as an ``evo_circuits.torch.EICircuit`` trained by
    torch autograd and ``torch.optim.Adam`` (weights in mV, so lr and clip scaled by the gap)."""
    import torch

    from evo_circuits.torch import EICircuit
    from evo_circuits.train import Readout, load_digits

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    tr, te = load_digits(encoding="rate", n_steps=STEPS, seed=seed)
    circuit, mask = network(seed)
    gap = float(circuit.param("v_th")[0] - circuit.param("v_rest")[0])
    fdt = torch.float32 if dtype == "float32" else torch.float64
    model = EICircuit(circuit, mask, slope=slope, batch_first=True, dtype=fdt)
    readout = Readout("membrane", gain=GAIN)
    opt = torch.optim.Adam(model.parameters(), lr=LR * gap)
    rng = np.random.default_rng([seed, 0x7121])

    def test_acc() -> float:
        with torch.no_grad():
            _, rec = model(torch.as_tensor(te.batch(np.arange(len(te)), draw=0)), record=True)
            return float((model.logits(rec, readout).argmax(1).numpy() == te.labels).mean())

    curve, seconds, samples = [test_acc()], 0.0, 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(tr))
        t0 = time.perf_counter()
        for k in range(0, len(tr), BATCH):
            idx = order[k:k + BATCH]
            x = torch.as_tensor(tr.batch(idx, draw=(seed % 2**20) * 2**20 + epoch))
            _, rec = model(x, record=True)
            loss = torch.nn.functional.cross_entropy(model.logits(rec, readout), torch.as_tensor(tr.labels[idx]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip / gap)
            opt.step()
            model.project_()
            samples += len(idx)
        seconds += time.perf_counter() - t0
        curve.append(test_acc())
    return dict(samples_per_s=samples / seconds, test_acc=curve[-1], init_acc=curve[0], seconds=seconds,
                curve=curve, peak_mb=peak_mb(), torch=torch.__version__)


def child(args) -> int:
    if args.child == "big":
        out = run_big(args.seed, args.epochs, args.dtype, args.slope, args.clip, args.copies)
    elif args.child == "numba":
        out = run_numba(args.seed, args.epochs, args.dtype, args.slope, args.clip)
    elif args.child == "eicircuit":
        out = run_eicircuit(args.seed, args.epochs, args.dtype, args.slope, args.clip, args.threads)
    else:
        out = run_snntorch(args.seed, args.epochs, args.slope, args.clip, args.threads)
    print("RESULT " + json.dumps(out))
    return 0


def spawn(kind: str, seed: int, args) -> dict | None:
    cmd = [sys.executable, __file__, "--child", kind, "--seed", str(seed), "--epochs", str(args.epochs),
           "--dtype", args.dtype, "--slope", str(args.slope), "--clip", str(args.clip), "--threads", str(args.threads),
           "--copies", str(args.copies)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    sys.stderr.write(proc.stderr[-3000:])
    return None


def spawn_seeds(kind: str, args) -> list[dict]:
    """One child run per seed; the runs that succeeded."""
    return [r for s in range(args.seeds) if (r := spawn(kind, s, args)) is not None]


def snntorch_available() -> bool:
    code = "import torch, snntorch"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def summarise(label: str, runs: list[dict]) -> tuple[float, float]:
    for k, r in enumerate(runs):
        print(f"  {label} seed {k}: {r['samples_per_s']:,.0f} samples/s, test acc {r['test_acc']:.4f} "
              f"(untrained {r['init_acc']:.3f}), {r['seconds']:.1f} s training, peak memory {r['peak_mb']:.0f} MB")
    sps = float(np.mean([r["samples_per_s"] for r in runs]))
    acc = float(np.mean([r["test_acc"] for r in runs]))
    print(f"{label}: {sps:,.0f} training samples/s, test accuracy {acc:.4f} (mean of {len(runs)} seeds; "
          f"min {min(r['test_acc'] for r in runs):.4f}), peak memory {max(r['peak_mb'] for r in runs):.0f} MB")
    return sps, acc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=None, help="default 3 (G), 1 (big)")
    ap.add_argument("--epochs", type=int, default=None, help="default 30 (G), 1 (big)")
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float32",
                    help="numba float type (default float32, as snnTorch; float64 = the simulator bit for bit)")
    ap.add_argument("--slope", type=float, default=None, help="surrogate slope, 1/mV (default: the library's)")
    ap.add_argument("--clip", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads (numba uses all cores)")
    ap.add_argument("--no-snntorch", action="store_true")
    ap.add_argument("--eicircuit", action="store_true",
                    help="also train the same network as evo_circuits.torch.EICircuit (PyTorch autograd)")
    ap.add_argument("--workload", choices=("G", "big"), default="G",
                    help="G: digits 64-128-10 against snnTorch; big: a >= 10,000-neuron assembled network")
    ap.add_argument("--copies", type=int, default=5000, help="big: feedforward-inhibition motifs (2 neurons each)")
    ap.add_argument("--child", choices=("numba", "snntorch", "eicircuit", "big"), help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    big = args.workload == "big" or args.child == "big"
    args.seeds = args.seeds if args.seeds is not None else (1 if big else 3)
    args.epochs = args.epochs if args.epochs is not None else (1 if big else 30)
    if args.slope is None:
        from evo_circuits.train import DEFAULT_SLOPE

        args.slope = DEFAULT_SLOPE
    if args.child:
        return child(args)
    if args.workload == "big":
        return main_big(args)

    print(f"workload G: digits 64 -> {N_HIDDEN} LIF ({FRAC_E:.0%} E) -> {N_OUT} LIF, T = {STEPS}, batch {BATCH}, "
          f"Adam lr {LR}, {args.epochs} epochs, {args.seeds} seeds; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, numba dtype {args.dtype}, surrogate slope {args.slope}/mV")
    ours = spawn_seeds("numba", args)
    if not ours:
        print("numba run failed")
        return 1
    x, a = summarise("evo-circuits (numba)", ours)
    y = b = float("nan")
    if not args.no_snntorch and snntorch_available():
        peer = spawn_seeds("snntorch", args)
        if peer:
            print(f"snnTorch {peer[0]['snntorch']} on torch {peer[0]['torch']}, {args.threads} threads")
            y, b = summarise("snnTorch", peer)
    elif not args.no_snntorch:
        print("snnTorch: not installed (pip install torch==2.13.0 && pip install --no-deps snntorch)")
    if args.eicircuit:
        mod = spawn_seeds("eicircuit", args)
        if mod:
            print(f"EICircuit on torch {mod[0]['torch']}, {args.threads} threads, {args.dtype}")
            z, _ = summarise("evo_circuits.torch.EICircuit", mod)
            print(f"numba trainer / EICircuit: {x / z:.2f} (same network, data, readout and optimiser)")
    ratio = x / y if y == y else float("nan")
    print(f"workload G: {x:.0f} samples/s, test acc {a:.4f}; snnTorch {y:.0f} samples/s, test acc {b:.4f}; "
          f"ratio {ratio:.2f}")
    return 0


def main_big(args) -> int:
    """Workload "big": assemble, train, report (one subprocess per seed)."""
    epochs = args.epochs
    print(f"workload big: digits 64 -> {args.copies} feedforward-inhibition motifs ({2 * args.copies} neurons) "
          f"-> {N_OUT} readout, T = {STEPS}, batch {BIG_BATCH}, Adam lr {BIG_LR}, {epochs} epoch(s), {args.seeds} seed(s); "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}, numba dtype {args.dtype}")
    runs = spawn_seeds("big", args)
    if not runs:
        print("big run failed")
        return 1
    for k, r in enumerate(runs):
        print(f"  seed {k}: {r['n_neurons']:,} neurons, {r['n_inputs']} inputs, {r['n_synapses']:,} synapses "
              f"({'synapse list' if r['sparse'] else 'dense rows'}); assembled + prepared in {r['build_s']:.1f} s, "
              f"RSS then {r['rss_built_mb']:.0f} MB (peak so far {r['peak_built_mb']:.0f} MB)")
        print(f"  seed {k}: {r['samples_per_s']:,.0f} training samples/s ({r['seconds']:.1f} s), test acc "
              f"{r['test_acc']:.4f} (untrained {r['init_acc']:.3f}); peak RSS {r['peak_mb']:.0f} MB, during "
              f"training {r['peak_train_mb']:.0f} MB (from {r['rss_before_mb']:.0f} MB before)")
    sps = float(np.mean([r["samples_per_s"] for r in runs]))
    acc = float(np.mean([r["test_acc"] for r in runs]))
    r = runs[0]
    print(f"workload big: {r['n_neurons']} neurons, {r['n_synapses']} synapses; {sps:.0f} samples/s, test acc "
          f"{acc:.4f}, peak RSS {max(x['peak_mb'] for x in runs):.0f} MB (training phase "
          f"{max(x['peak_train_mb'] for x in runs):.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
