"""Benchmark: subgraph census (sizes 3 and 4, 100 random sets) of 200 random circuits.

Circuits: 6–15 neurons (about 80 % E), 1–3 input channels, recurrent p = 0.25, input
p = 0.5, drawn with :func:`evo_circuits.random_circuit` from seed 0. Prints the cold
first call (lookup tables + numba compile or cache load), then wall and CPU time of the
timed runs and their median wall time. The last line reads ``census: <T> s for 200 circuits (median of 3)``.

Run::

    .venv/bin/python benchmarks/census.py [--circuits 200] [--n-random 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from evo_circuits import random_circuit
from evo_circuits.motifs.census import census


def circuits(n: int, seed: int = 0) -> list:
    """``n`` random E/I circuits of 6–15 neurons."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        size = int(rng.integers(6, 16))
        n_inh = max(1, round(0.2 * size))
        out.append(random_circuit(size - n_inh, n_inh, int(rng.integers(1, 4)), p_conn=0.25, p_input=0.5,
                                  seed=rng))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--circuits", type=int, default=200)
    ap.add_argument("--n-random", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    cs = circuits(args.circuits)
    n_syn = sum(int(np.count_nonzero(c.weights)) for c in cs)
    n_neu = sum(c.n_neurons for c in cs)
    print(f"{len(cs)} circuits: {n_neu} neurons, {n_syn} synapses in total; sizes (3, 4); "
          f"{args.n_random} random sets")
    t = time.perf_counter()
    census(cs[:2], n_random=1)
    print(f"first call (tables + numba compile/cache load): {time.perf_counter() - t:.2f} s")
    times, cpu = [], []
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        res = census(cs, n_random=args.n_random, seed=0)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    # CPU time is printed too: on a shared machine wall time mostly measures the queue
    print(f"runs: {', '.join(f'{x:.2f}' for x in times)} s wall; "
          f"{', '.join(f'{x:.2f}' for x in cpu)} s CPU; classes seen: {len(res.rows)}, "
          f"flagged as motifs: {len(res.motifs())}")
    print(f"census: {statistics.median(times):.2f} s for {len(cs)} circuits (median of {args.repeats})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
