"""CLI commands of training: ``evo-circuits train`` and ``evo-circuits compare``.

::

    evo-circuits train NET.json --data digits --epochs 30 [--mask NET_mask.npz] [--out DIR]
    evo-circuits train NET.json --data task:xor --epochs 50 --trials 512
    evo-circuits compare SPEC.toml --data digits --seeds 5 [--epochs 30] [--out DIR]
    evo-circuits compare SPEC.toml --data itd --seeds 5 --controls twin,layered,plain,frozen,unconstrained
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..errors import EvoCircuitsError


def _data(args: argparse.Namespace, dt_ms: float):
    """(train, test) data sets named by ``--data`` (and ``--test``)."""
    from .adaptors import load_dataset, split
    from .data import load_digits, task_dataset
    from .temporal import TEMPORAL_BENCHMARKS, temporal_benchmark

    spec = args.data
    test = load_dataset(args.test) if args.test else None
    if spec == "digits":
        tr, te = load_digits(encoding=args.encoding, n_steps=args.steps, seed=args.seed)
        return tr, test or te
    if spec.startswith("task:"):
        from ..tasks import get_task, load_plugin

        for plugin in args.plugin or ():
            load_plugin(plugin)
        task = get_task(spec[5:])()
        n_test = max(1, args.trials // 4)
        # Independent trial streams for train and test.
        return (task_dataset(task, args.trials, seed=2 * args.seed, dt_ms=dt_ms),
                test or task_dataset(task, n_test, seed=2 * args.seed + 1, dt_ms=dt_ms))
    if spec.endswith(".npz") or Path(spec).is_file():
        data = load_dataset(spec)
        # Without --test, a fixed stratified quarter is held out (seeded by --seed).
        return (data, test) if test is not None else split(data, 0.25, seed=args.seed)
    if spec in TEMPORAL_BENCHMARKS:
        tr, te = temporal_benchmark(spec, args.trials, max(1, args.trials // 4), seed=args.seed, dt_ms=dt_ms)
        return tr, test or te
    raise EvoCircuitsError(f"--data: expected 'digits', {', '.join(map(repr, TEMPORAL_BENCHMARKS))}, 'task:NAME' "
                           f"or an NPZ file, got {spec!r}")


def _config(args: argparse.Namespace):
    from .trainer import TrainConfig

    # Readout by data set unless given: digits learn best from the outputs' mean membrane
    # (x2 per mV; measured in docs/training.md); tasks are scored on output spikes.
    readout = args.readout or ("count" if args.data.startswith("task:") else "membrane")
    gain = args.gain if args.gain is not None else (1.0 if readout == "count" else 2.0)
    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, clip=args.clip or None,
                       slope=args.slope, reset_grad=args.reset_grad, readout=readout, gain=gain,
                       reduce=args.reduce, readout_tau_ms=args.readout_tau,
                       train_inputs=not args.freeze_inputs, train_bias=args.train_bias, grow=args.grow,
                       dtype=args.dtype, seed=args.seed)


def _write_history(path: Path, rows: list[dict]) -> None:
    from ..io.atomic import atomic_open

    with atomic_open(path, "w") as fh:
        keys = list(dict.fromkeys(k for row in rows for k in row))  # callbacks may add columns
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def _cmd_train(args: argparse.Namespace) -> int:
    from ..io import load, save
    from ..io.caps import file_caps
    from ..plots import learning_curves
    from .progress import TrainProgress
    from .trainer import train

    circuit = load(args.circuit, **file_caps())
    mask = trainable = delays = None
    if args.mask:
        from ..assemble import load_structure

        st = load_structure(args.mask, circuit)
        mask, trainable, delays = st["mask"], st["trainable"], st["delays"]
    cfg = _config(args)
    train_data, test_data = _data(args, circuit.dt_ms)
    src = Path(args.circuit)
    out = Path(args.out) if args.out else src.parent / (src.stem + "-trained")
    out.mkdir(parents=True, exist_ok=True)
    print(f"circuit: {circuit!r}")
    print(f"data: {train_data.name} ({len(train_data)} samples) / {test_data.name} ({len(test_data)} samples), "
          f"{train_data.n_steps} steps x {circuit.dt_ms:g} ms, {train_data.n_classes} classes")
    print(f"readout: {cfg.readout} (gain {cfg.gain:g}), Adam lr {cfg.lr:g}, batch {cfg.batch_size}, {cfg.dtype}")
    res = train(circuit, train_data, test_data, cfg, mask=mask, trainable=trainable, delays=delays,
                progress=None if args.quiet else TrainProgress(cfg.epochs))
    save(res.circuit, out / "trained.json")
    _write_history(out / "history.csv", res.history)
    curves = {"test": res.curve("test_acc"), "train": res.curve("train_acc")}
    plot = learning_curves(curves, out / "learning_curve.png", ylabel="accuracy", chance=1.0 / train_data.n_classes,
                           title=f"{circuit.name or 'circuit'} on {train_data.name.split('/')[0]}")
    print(f"training: {res.samples_per_s:,.0f} samples/s ({res.train_samples} samples in {res.train_seconds:.1f} s)")
    print(f"wrote {out / 'trained.json'}, {out / 'history.csv'}, {plot}")
    print(f"test accuracy: {res.test_accuracy:.4f}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from ..assemble import AssemblySpec, assemble
    from ..assemble.commands import cli_library
    from ..io import save
    from ..io.atomic import atomic_open
    from ..plots import learning_curves
    from .compare import ARM_DESCRIPTIONS, compare, parse_controls
    from .progress import TrainProgress

    if args.seeds < 1:
        raise EvoCircuitsError(f"--seeds: expected at least 1, got {args.seeds}")
    cfg = _config(args)  # settings are checked before anything is assembled or written
    arms = ["assembled", *parse_controls(args.controls)]
    spec = AssemblySpec.from_toml(args.spec)
    library = cli_library(args.library)
    first = assemble(spec, library=library)
    # One assembly per seed (connection sampling and weights drawn anew), like the twins.
    assemblies = {0: first}
    for k in range(1, args.seeds):
        assemblies[k] = assemble(spec, library=library, seed=first.seed + k)

    def network(seed: int):
        asm = assemblies[seed]
        return asm.circuit, asm.mask, asm.trainable, asm.motif_synapses, asm.delays

    train_data, test_data = _data(args, first.circuit.dt_ms)
    name = spec.name if spec.name is not None else Path(args.spec).stem
    out = Path(args.out) if args.out else Path(f"compare-{name}")
    out.mkdir(parents=True, exist_ok=True)
    c = first.circuit
    print(f"assembled: {c!r}")
    for m in first.modules:  # which motif each module holds (library id and rank for task:NAME#k)
        if m["kind"] == "motif":
            print(f"  module {m['name']}: {m['source']}, {m['copies']} copies")
    for w in first.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"data: {train_data.name} / {test_data.name}; {args.seeds} seeds x {cfg.epochs} epochs, same optimiser "
          f"(Adam lr {cfg.lr:g}, batch {cfg.batch_size}, {cfg.readout} readout) for every network")
    for arm in arms:
        print(f"  {arm:<10} {ARM_DESCRIPTIONS[arm]}")
    bars: dict = {}

    def progress(label, k, n_seeds, epoch, batch, n_batches, info):
        if args.quiet:
            return
        key = (label, k)
        if key not in bars:
            bars[key] = TrainProgress(cfg.epochs, label=f"{label:<9} seed {k + 1}/{n_seeds}")
        bars[key](epoch, batch, n_batches, info)

    res = compare(network, train_data, test_data, cfg, seeds=args.seeds, controls=arms[1:],
                  threshold=args.threshold, progress=progress)
    print(res.report())
    plot = learning_curves(res.curves, out / "compare.png", chance=1.0 / train_data.n_classes,
                           title=f"{c.name} on {args.data}: {', '.join(arms)} ({len(res.seeds)} seeds)")
    summary = dict(spec=str(args.spec), data=args.data, seeds=res.seeds, config=asdict(cfg),
                   arms={a: ARM_DESCRIPTIONS[a] for a in arms}, sizes=res.extras["sizes"],
                   input_rate=res.extras["input_rate"], threshold=res.bar, summary=res.summary(),
                   curves={k: v.tolist() for k, v in res.curves.items()},
                   hidden_rate_hz={k: v.tolist() for k, v in res.rates.items()})
    with atomic_open(out / "compare.json", "w") as fh:
        json.dump(summary, fh, indent=1, default=lambda o: list(o) if isinstance(o, tuple) else str(o))
    print(f"wrote {plot}, {out / 'compare.json'}")
    if args.save_networks:
        (out / "networks").mkdir(exist_ok=True)
        for key, circuits in res.networks.items():
            for seed, c in zip(res.seeds, circuits):
                if c is not None:  # None: an unconstrained network whose synapses changed sign
                    save(c, out / "networks" / f"{key}-seed{seed}.json")
        print(f"wrote the trained networks to {out / 'networks'}/")
    return 0


def _train_options(s: argparse.ArgumentParser, epochs: int) -> None:
    s.add_argument("--data", required=True,
                   help="'digits' (scikit-learn 8x8 digits), 'itd' / 'patterns' (temporal benchmarks, docs/science.md), "
                        "'task:NAME' (task suite) or FILE.npz (your own "
                        "spikes + labels, layouts in docs/training.md)")
    s.add_argument("--test", metavar="FILE.npz", help="fixed held-out set (default: digits/task test split, or a "
                   "stratified quarter of --data FILE.npz)")
    s.add_argument("--plugin", action="append", metavar="FILE.py",
                   help="task plugin file(s) defining the task of --data task:NAME (executed: trust it)")
    s.add_argument("--epochs", type=int, default=epochs)
    s.add_argument("--out", help="output folder (default: next to the input)")
    s.add_argument("--batch-size", type=int, default=128)
    s.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (default 2e-3)")
    s.add_argument("--clip", type=float, default=100.0, help="max gradient norm, 0 = no clipping (default 100)")
    s.add_argument("--slope", type=float, default=None, help="fast-sigmoid surrogate slope, 1/mV")
    s.add_argument("--reset-grad", action="store_true", help="let gradients flow through the reset (default: detached)")
    s.add_argument("--readout", choices=("count", "membrane", "li"), default=None,
                   help="output spike counts, mean membrane, or non-spiking leaky-integrator outputs "
                        "(default: count for tasks, membrane otherwise)")
    s.add_argument("--reduce", choices=("mean", "max"), default="mean",
                   help="li readout: mean or max of the output membrane over the trial (default mean)")
    s.add_argument("--readout-tau", type=float, default=None, metavar="MS",
                   help="li readout: membrane time constant of the outputs (default: theirs)")
    s.add_argument("--gain", type=float, default=None,
                   help="logit per output spike (count, default 1) or per mV (membrane/li, default 2)")
    s.add_argument("--train-bias", action="store_true", help="also train each neuron's i_bias")
    s.add_argument("--freeze-inputs", action="store_true", help="do not train input synapses")
    s.add_argument("--grow", action="store_true", help="let absent synapses grow (default: structure fixed)")
    s.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--steps", type=int, default=32, help="digits: time steps per sample (default 32)")
    s.add_argument("--encoding", choices=("rate", "latency"), default="rate", help="digits: spike encoding")
    s.add_argument("--trials", type=int, default=512, help="tasks and temporal benchmarks: training samples (test: a quarter as many)")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _with_slope(func):
    def run(args: argparse.Namespace) -> int:
        if args.slope is None:
            from .surrogate import DEFAULT_SLOPE

            args.slope = DEFAULT_SLOPE
        return func(args)
    return run


def register(sub: argparse._SubParsersAction) -> None:
    """Add the training commands to the ``evo-circuits`` parser."""
    s = sub.add_parser("train", help="train a circuit with surrogate gradients (digits or a task)")
    s.add_argument("circuit", help="circuit JSON")
    s.add_argument("--mask", help="structure NPZ from 'evo-circuits assemble --mask' (which synapses exist/train)")
    _train_options(s, epochs=30)
    s.set_defaults(func=_with_slope(_cmd_train))

    s = sub.add_parser("compare", help="assembled network vs control networks (random twin, layered, plain, "
                                       "frozen motifs), trained alike")
    s.add_argument("spec", help="assembly spec (TOML)")
    s.add_argument("--seeds", type=int, default=5)
    s.add_argument("--controls", default="twin",
                   help="comma-separated arms besides the assembly: twin (random twin), layered (random wiring "
                        "inside each module), plain (inputs -> hidden -> readout, same trainable count), frozen "
                        "(the motifs' own synapses frozen), unconstrained or nodale (the plain network trained without "
                        "Dale's law); default twin")
    s.add_argument("--threshold", type=float, default=None,
                   help="accuracy of 'epochs to threshold' (default: 90%% of the best arm's mean final accuracy)")
    s.add_argument("--library", help="motif library for 'motif = <id or name>' (default: named motifs only)")
    s.add_argument("--save-networks", action="store_true",
                   help="also write every trained network to OUT/networks/<arm>-seed<k>.json")
    _train_options(s, epochs=30)
    s.set_defaults(func=_with_slope(_cmd_compare))
