"""Task-suite benchmark: circuit evaluations per second per task, population 256.

For every fitness spec in fitness/*.toml, scores 256 random task circuits
(``evo_circuits.random_task_circuit``) in one ``FitnessSpec.evaluate`` call — one numba
call for the population — and prints the median of several repeats. This is the
figure evolution throughput depends on (the local backend evaluates exactly this way).

Run::

    .venv/bin/python benchmarks/tasks.py [--repeats 5] [--population 256]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--population", type=int, default=256)
    args = ap.parse_args(argv)

    import numba

    import evo_circuits as ec
    from evo_circuits.tasks import load_fitness

    print(f"machine: {os.cpu_count()} cores, numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads), "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'task':<16} {'trials':>6} {'ms/trial':>8} {'median s':>9} {'evals/s':>8} {'neuron-steps/s':>15}")
    for spec_file in sorted((ROOT / "fitness").glob("*.toml")):
        spec = load_fitness(spec_file)
        t = spec.task
        pop = [ec.random_task_circuit(t.n_inputs, t.n_outputs, seed=k) for k in range(args.population)]
        res, batch, _ = spec.evaluate(pop, seed=0, return_raw=True)  # warm-up (and the batch size)
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            spec.evaluate(pop, seed=0)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        n_tr, n_steps = batch.inputs.n_trials, batch.inputs.n_steps
        neuron_steps = sum(c.n_neurons for c in pop) * n_tr * n_steps
        print(f"{spec.name:<16} {n_tr:>6} {n_steps * pop[0].dt_ms:>8g} {med:>9.3f} {args.population / med:>8.0f} "
              f"{neuron_steps / med:>15.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
