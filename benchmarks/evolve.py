"""Evolution benchmarks: does evolution solve the tasks, how fast; process-pool speed-up.

``--solve`` runs the shipped configs (runs/<task>.toml) for several seeds, each stopping
once its champion scores >= 0.9 on the run's validation trials (held out from selection;
configs without validation get 64 validation trials) or after ``--generations``
(default 300). Per task it prints the success rate, the median generation
and wall time (of the successful seeds) at which the champion first reached 0.9, and
the champions' median score on a third, fresh set of 256 trials (test trials: neither
selection nor the champion choice saw them). ``--configs DIR`` reads the run configs
from another folder (to compare settings), ``--first-seed`` shifts the seeds. ``--jobs 2``
runs two seeds at once (one numba thread each). ``--pool`` times the evaluation of one
population of 256 random circuits on the serial backend (one process, one numba thread)
and on a local process pool of 2 workers (median of interleaved repeats) for a few tasks,
checks both give the same scores, and prints the speed-ups.

Run::

    .venv/bin/python benchmarks/evolve.py --solve [--tasks xor wta ...] [--seeds 10] [--jobs 2]
    .venv/bin/python benchmarks/evolve.py --pool [--repeats 5]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import csv
import dataclasses
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASKS = ["coincidence", "xor", "gating", "itd", "timing_pattern", "memory", "wta", "oscillator"]
THRESHOLD = 0.9
#: Test trials per champion: many, so that the test score's own noise (~0.01) is small next
#: to the optimism of the validation score it is there to expose.
TEST_TRIALS = 256


def solve_one(task: str, seed: int, out: str, max_generations: int, threads: int | None,
              configs: str | None = None) -> dict:
    """One run to the threshold; returns generation/seconds to it, and the test score."""
    if threads is not None:
        import numba

        numba.set_num_threads(threads)
    from evo_circuits.evolve import evolve
    from evo_circuits.evolve.config import load_config
    from evo_circuits.evolve.seeds import test_seed
    from evo_circuits.io import load
    from evo_circuits.tasks import load_fitness

    cfg = load_config(Path(configs or ROOT / "runs") / f"{task}.toml")
    cfg = dataclasses.replace(cfg, seed=seed, stop_score=THRESHOLD, add_to_library=False,
                              generations=max_generations,
                              validation_trials=cfg.validation_trials or 64)
    t0 = time.perf_counter()
    d = evolve(cfg, out=out).run_dir
    wall = time.perf_counter() - t0
    log = list(csv.DictReader((d / "logbook.csv").open()))
    elapsed, reach, reach_t = 0.0, None, None
    for r in log:
        elapsed += float(r["wall_s"])
        if float(r["validation_best"]) >= THRESHOLD:
            reach, reach_t = int(r["generation"]), elapsed
            break
    spec = load_fitness(cfg.fitness_path())
    test = spec.evaluate(load(d / "champion.json"), seed=test_seed(seed), n_trials=TEST_TRIALS)
    return {"task": task, "seed": seed, "generation": reach, "seconds": reach_t, "gens_run": len(log) - 1,
            "validation": max(float(r["validation_best"]) for r in log), "test": float(test.score[0]), "wall": wall}


def solve(tasks: list[str], n_seeds: int, jobs: int = 1, max_generations: int = 300,
          configs: str | None = None, first_seed: int = 0) -> int:
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {jobs} run(s) at once")
    print(f"{'task':<15} {'seed':>4} {'gen>=0.9':>9} {'s>=0.9':>8} {'valid':>6} {'test':>6} {'gens run':>9} {'wall s':>7}",
          flush=True)
    results: dict[str, list[dict]] = {t: [] for t in tasks}
    threads = 1 if jobs > 1 else None
    with tempfile.TemporaryDirectory() as tmp:
        work = [(t, s, str(Path(tmp) / f"{t}-{s}"), max_generations, threads, configs)
                for t in tasks for s in range(first_seed, first_seed + n_seeds)]
        if jobs > 1:
            with cf.ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
                done = (f.result() for f in cf.as_completed([pool.submit(solve_one, *w) for w in work]))
                for r in done:
                    _print_row(r)
                    results[r["task"]].append(r)
        else:
            for w in work:
                r = solve_one(*w)
                _print_row(r)
                results[r["task"]].append(r)
    print(f"\nsuccess = champion >= {THRESHOLD} on fresh (validation) trials within the generations; "
          "medians over the successful seeds; test = median champion score on trials never used")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print(f"{'task':<15} {'success':>8} {'median gen':>11} {'median s':>9} {'test':>6}")
    for task, rows in results.items():
        ok = [r for r in rows if r["generation"] is not None]
        gen = f"{statistics.median(r['generation'] for r in ok):g}" if ok else "-"
        sec = f"{statistics.median(r['seconds'] for r in ok):.1f}" if ok else "-"
        print(f"{task:<15} {f'{len(ok)}/{len(rows)}':>8} {gen:>11} {sec:>9} "
              f"{statistics.median(r['test'] for r in rows):>6.3f}")
    return 0


def _print_row(r: dict) -> None:
    gen = r["generation"] if r["generation"] is not None else "-"
    sec = f"{r['seconds']:.1f}" if r["seconds"] is not None else "-"
    print(f"{r['task']:<15} {r['seed']:>4} {gen:>9} {sec:>8} {r['validation']:>6.3f} {r['test']:>6.3f} "
          f"{r['gens_run']:>9} {r['wall']:>7.1f}", flush=True)


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
    ap.add_argument("--tasks", nargs="+", default=TASKS)
    ap.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 per task (default 10)")
    ap.add_argument("--first-seed", type=int, default=0, help="start the seeds here (--solve)")
    ap.add_argument("--configs", default=None, help="folder of the run configs <task>.toml (default: runs/)")
    ap.add_argument("--jobs", type=int, default=1, help="runs at once (--solve)")
    ap.add_argument("--generations", type=int, default=300, help="at most this many generations per run")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    if not (args.solve or args.pool):
        ap.error("give --solve and/or --pool")
    if args.pool:
        pool(args.repeats)
    if args.solve:
        solve(args.tasks, args.seeds, args.jobs, args.generations, args.configs, args.first_seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
