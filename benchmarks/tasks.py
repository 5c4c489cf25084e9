"""Task-suite benchmark: circuit evaluations per second per task, population 256.

For every fitness spec in fitness/*.toml, scores 256 random task circuits
(``evo_circuits.random_task_circuit``) in one ``FitnessSpec.evaluate`` call — one numba
call for the population — and prints the median of several repeats. This is the
figure evolution throughput depends on (the local backend evaluates exactly this way).

With ``--against REV`` the package of revision REV (a detached git worktree under the
temp directory, created or reused) is loaded beside this one: for each task both score
the same circuits on the same spec and seed, the scores are checked identical, then the
two are timed interleaved (old, new, old, new...) and the ratio new/old of the medians is
printed. Read ratios, not absolute figures, on a shared machine.

Run::

    .venv/bin/python benchmarks/tasks.py [--repeats 5] [--population 256] [--against eb4e3b0] [--tasks xor,wta]
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from _side_by_side import checkout, interleave, load_package

from evo_circuits.io.json import to_dict

ROOT = Path(__file__).resolve().parent.parent


def _old_circuits(old, circuits: list) -> list:
    """The same circuits as the old package's objects (through the circuit JSON dict, a fixed format)."""
    return [old.io.json.from_dict(to_dict(c)) for c in circuits]


def _same_result(a, b) -> bool:
    fields = ("score", "raw_score", "spikes_per_trial", "silent", "runaway")
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in fields) and a.extras.keys() == b.extras.keys() \
        and all(np.array_equal(a.extras[k], b.extras[k]) for k in a.extras)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--population", type=int, default=256)
    ap.add_argument("--against", metavar="REV", help="also time revision REV (git) in the same run; print new/old")
    ap.add_argument("--tasks", help="comma-separated spec names (default: every fitness/*.toml)")
    args = ap.parse_args(argv)

    import numba

    import evo_circuits as ec
    from evo_circuits.tasks import load_fitness

    old = None
    if args.against:
        where = checkout(args.against)
        old = load_package(where)
        old_load_fitness = importlib.import_module(f"{old.__name__}.tasks").load_fitness
        print(f"against: {args.against} at {where}")

    print(f"machine: {os.cpu_count()} cores, numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads), "
          f"load average {os.getloadavg()[0]:.1f}")
    if old is None:
        print(f"{'task':<16} {'trials':>6} {'ms/trial':>8} {'median s':>9} {'evals/s':>8} {'neuron-steps/s':>15}")
    else:
        print(f"{'task':<16} {'trials':>6} {'ms/trial':>8} {'old evals/s':>11} {'new evals/s':>11} {'new/old':>8}")
    wanted = set(args.tasks.split(",")) if args.tasks else None
    for spec_file in sorted((ROOT / "fitness").glob("*.toml")):
        spec = load_fitness(spec_file)
        if wanted is not None and spec.name not in wanted:
            continue
        t = spec.task
        pop = [ec.random_task_circuit(t.n_inputs, t.n_outputs, seed=k) for k in range(args.population)]
        res, batch, _ = spec.evaluate(pop, seed=0, return_raw=True)  # warm-up (and the batch size)
        n_tr, n_steps = batch.inputs.n_trials, batch.inputs.n_steps
        ms_trial = n_steps * pop[0].dt_ms

        def run_new():
            spec.evaluate(pop, seed=0)

        if old is None:
            med = statistics.median(interleave((run_new,), args.repeats)[0])
            neuron_steps = sum(c.n_neurons for c in pop) * n_tr * n_steps
            print(f"{spec.name:<16} {n_tr:>6} {ms_trial:>8g} {med:>9.3f} {args.population / med:>8.0f} "
                  f"{neuron_steps / med:>15.3g}")
            continue
        old_spec, old_pop = old_load_fitness(spec_file), _old_circuits(old, pop)

        def run_old():
            old_spec.evaluate(old_pop, seed=0)

        if not _same_result(old_spec.evaluate(old_pop, seed=0), res):  # also the old side's warm-up
            raise SystemExit(f"{spec.name}: scores differ between {args.against} and this tree")
        t_old, t_new = interleave((run_old, run_new), args.repeats)
        mo, mn = statistics.median(t_old), statistics.median(t_new)
        print(f"{spec.name:<16} {n_tr:>6} {ms_trial:>8g} {args.population / mo:>11.0f} {args.population / mn:>11.0f} "
              f"{mo / mn:>8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
