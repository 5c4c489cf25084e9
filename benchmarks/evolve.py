"""Evolution benchmarks: does evolution solve the tasks, how fast; process-pool speed-up.

``--solve`` runs the shipped configs (runs/<task>.toml) for several seeds and prints,
per task, the generation and wall time at which the best score first reached 0.9
(median over seeds). ``--pool`` times the evaluation of one population of 256 random
circuits on the serial backend (one process, one numba thread) and on a local process
pool of 2 workers (median of interleaved repeats) for a few tasks, checks both give the
same scores, and prints the speed-ups.

Run::

    .venv/bin/python benchmarks/evolve.py --solve [--tasks coincidence xor gating itd] [--seeds 0 1 2]
    .venv/bin/python benchmarks/evolve.py --pool [--repeats 5]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def solve(tasks: list[str], seeds: list[int], threshold: float = 0.9) -> int:
    from evo_circuits.evolve import evolve

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"{'task':<12} {'seed':>4} {'gen>=0.9':>9} {'time>=0.9 s':>12} {'best':>6} {'gens run':>9} {'wall s':>7}")
    summary = {}
    with tempfile.TemporaryDirectory() as tmp:
        for task in tasks:
            rows = []
            for seed in seeds:
                t0 = time.perf_counter()
                d = evolve(ROOT / "runs" / f"{task}.toml", out=Path(tmp) / f"{task}-{seed}", seed=seed,
                           progress=False, plots=False)
                wall = time.perf_counter() - t0
                log = list(csv.DictReader((d / "logbook.csv").open()))
                elapsed, reach, reach_t = 0.0, None, None
                for r in log:
                    elapsed += float(r["wall_s"])
                    if reach is None and float(r["score_best"]) >= threshold:
                        reach, reach_t = int(r["generation"]), elapsed
                best = max(float(r["score_best"]) for r in log)
                rows.append((reach, reach_t, best))
                print(f"{task:<12} {seed:>4} {reach if reach is not None else '-':>9} "
                      f"{f'{reach_t:.1f}' if reach_t is not None else '-':>12} {best:>6.3f} {len(log) - 1:>9} {wall:>7.1f}",
                      flush=True)
            solved = [r for r in rows if r[0] is not None]
            summary[task] = (len(solved), len(rows),
                             statistics.median(r[0] for r in solved) if len(solved) == len(rows) else None,
                             statistics.median(r[1] for r in solved) if len(solved) == len(rows) else None)
    print("\nmedian over seeds (all seeds must reach 0.9):")
    for task, (n_ok, n, g, t) in summary.items():
        med = f"generation {g:g}, {t:.1f} s" if g is not None else "not solved by every seed"
        print(f"  {task:<12} solved {n_ok}/{n}: {med}")
    return 0


def pool(repeats: int, population: int = 256, tasks: tuple[str, ...] = ("xor", "gating", "memory")) -> int:
    import numba

    import evo_circuits as ec
    from evo_circuits.evolve.backends import Evaluator
    from evo_circuits.tasks import load_fitness

    print(f"machine: {os.cpu_count()} cores, numba {numba.__version__}, load average {os.getloadavg()[0]:.1f}")
    print(f"population {population}, {repeats} interleaved repeats (medians); serial = 1 process, 1 numba thread; "
          f"processes = pool of 2 single-threaded workers")
    for task in tasks:
        spec = ROOT / "fitness" / f"{task}.toml"
        t = load_fitness(spec).task
        pop = [ec.random_task_circuit(t.n_inputs, t.n_outputs, seed=k) for k in range(population)]
        ids = list(range(population))
        serial = Evaluator(spec, "serial")
        procs = Evaluator(spec, "processes", workers=2)
        a, b = serial.evaluate(pop, ids, 0), procs.evaluate(pop, ids, 0)  # warm up: caches, worker start
        assert all((a[k] == b[k]).all() for k in a), "backends disagree"
        times: dict[str, list[float]] = {"serial": [], "processes": []}
        for _ in range(repeats):  # interleaved, so machine noise hits both alike
            for name, ev in (("serial", serial), ("processes", procs)):
                t0 = time.perf_counter()
                ev.evaluate(pop, ids, 0)
                times[name].append(time.perf_counter() - t0)
        procs.close()
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"  {task:<8} serial {med['serial']:.3f} s ({population / med['serial']:.0f} eval/s), processes "
              f"{med['processes']:.3f} s ({population / med['processes']:.0f} eval/s): "
              f"speed-up {med['serial'] / med['processes']:.2f}x")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--solve", action="store_true")
    ap.add_argument("--pool", action="store_true")
    ap.add_argument("--tasks", nargs="+", default=["coincidence", "xor", "gating", "itd"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    if not (args.solve or args.pool):
        ap.error("give --solve and/or --pool")
    if args.pool:
        pool(args.repeats)
    if args.solve:
        solve(args.tasks, args.seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
