"""CLI commands of the task suite: ``evo-circuits tasks`` and ``evo-circuits score``."""

from __future__ import annotations

import argparse

import numpy as np


def _load_plugins(args: argparse.Namespace) -> None:
    from .registry import load_plugin

    for path in args.plugin or ():
        load_plugin(path)


def _cmd_tasks(args: argparse.Namespace) -> int:
    from .spec import describe_tasks

    _load_plugins(args)

    rows = describe_tasks()
    width = max(len(r[0]) for r in rows)
    print(f"{'task':<{width}}  chance  description")
    for name, chance, desc in rows:
        print(f"{name:<{width}}  {chance:>6}  {desc}")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from ..io import load
    from ..io.caps import file_caps
    from .spec import fitness_from_dict, load_fitness

    circuit = load(args.circuit, **file_caps())
    _load_plugins(args)
    if args.fitness.startswith("task:"):  # a task family with its default parameters
        spec = fitness_from_dict({"name": args.fitness[5:], "task": {"family": args.fitness[5:]}})
    else:
        spec = load_fitness(args.fitness)
    task = spec.task
    res, batch, sim = spec.evaluate(circuit, seed=args.seed, return_raw=True)
    print(f"circuit: {circuit!r}")
    print(f"task: {task.name} ({spec.name}), {batch.inputs.n_trials} trials x "
          f"{batch.inputs.n_steps * circuit.dt_ms:g} ms, seed {args.seed}, chance {task.chance_level():.3g}")
    if circuit.n_inputs < task.n_inputs or len(circuit.outputs) < task.n_outputs:
        print(f"note: the task drives {task.n_inputs} input channel(s) and reads {task.n_outputs} output port(s); "
              f"the circuit has {circuit.n_inputs} and {len(circuit.outputs)}")
    print(f"spikes per trial (energy): {res.spikes_per_trial[0]:.2f}")
    print(f"silent outputs: {bool(res.silent[0])}; runaway: {bool(res.runaway[0])}")
    for key, val in res.extras.items():
        print(f"{key}: {np.asarray(val)[0]:.4g}")
    if spec.stability is not None:
        print(f"raw score (before stability penalty): {res.raw_score[0]:.4f}")
    if args.plot:
        from ..plots import raster
        from ..simulate import simulate

        rec = simulate(circuit, batch.inputs, seed=args.seed, record_spikes=True)
        n = min(4, batch.inputs.n_trials)
        titles = [f"trial {t}: label {np.asarray(batch.labels[t]).tolist()}" for t in range(n)]
        title = f"{circuit.name or 'circuit'} on {spec.name}: score {res.score[0]:.3f}"
        path = raster(circuit, batch.inputs, rec, args.plot, trials=n, trial_titles=titles, title=title)
        print(f"wrote {path}")
    print(f"score: {res.score[0]:.4f}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the task commands to the ``evo-circuits`` parser."""
    plugin_help = "task plugin file defining more task families (Python, executed: trust it); repeatable"
    s = sub.add_parser("tasks", help="list the task families with chance levels")
    s.add_argument("--plugin", action="append", metavar="FILE.py", help=plugin_help)
    s.set_defaults(func=_cmd_tasks)

    s = sub.add_parser("score", help="score a circuit on a fitness spec")
    s.add_argument("circuit", help="circuit JSON")
    s.add_argument("--fitness", required=True,
                   help="fitness spec TOML (fitness/*.toml), or task:NAME for a family with default parameters")
    s.add_argument("--plugin", action="append", metavar="FILE.py", help=plugin_help)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--plot", help="draw the input/output raster of a few trials")
    s.set_defaults(func=_cmd_score)
