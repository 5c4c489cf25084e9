"""Benchmark "workload S": the numba simulator against Brian2 on the same networks.

Workload S: 256 circuits x 16 trials x 32 neurons (26 E, 6 I, p = 0.2, no self-loops;
E weights U(0.5, 1.5) mV, I weights U(1, 3) mV), 4 Bernoulli input channels at 1000 Hz,
each channel to each neuron with p = 0.5 at 2 mV, dt 0.1 ms, 200 ms.

Prints wall time (median of repeated runs), neuron-steps/s, evaluations/s, spikes, the
compile time of a cold numba cache, and the same workload run through Brian2 2.9 in
runtime (cython) and cpp_standalone modes as one merged network (build, compile and run
times apart), with ratios. The last line reads
``workload S: <X> neuron-steps/s; Brian2 runtime <Y>; ratio <R>``.

Run::

    make bench                                  # or
    .venv/bin/python benchmarks/simulate.py [--repeats 7] [--no-brian2] [--quick --plot out.png]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def load_generator():
    spec = importlib.util.spec_from_file_location("workload_s", Path(__file__).parent / "_workload_s_gen.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cold_compile_seconds() -> float:
    """First-call time of the kernel in a fresh process with an empty numba cache."""
    code = ("import time, evo_circuits as ec; c = ec.random_circuit(4, 1, 1, seed=0); "
            "i = ec.InputSpikes.bernoulli([100], 1, 10); t = time.perf_counter(); ec.simulate(c, i); "
            "print(time.perf_counter() - t)")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed numba runs (median reported)")
    ap.add_argument("--brian2-repeats", type=int, default=3, help="timed Brian2 runs per mode")
    ap.add_argument("--no-brian2", action="store_true", help="skip the Brian2 peer")
    ap.add_argument("--quick", action="store_true", help="32 circuits x 4 trials, no Brian2 (for the demo)")
    ap.add_argument("--plot", help="write a figure of the population's activity")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import numba

    import evo_circuits as ec
    from evo_circuits.io import from_dict

    gen = load_generator()
    sizes = dict(n_circuits=32, n_trials=4) if args.quick else {}
    circ_dicts, inp = gen.make_workload_s(args.seed, **sizes)
    circuits = [from_dict(d) for d in circ_dicts]
    inputs = ec.InputSpikes(trial=inp["spike_trial"], channel=inp["spike_channel"], step=inp["spike_step"],
                            n_trials=inp["n_trials"], n_steps=inp["n_steps"])
    n_c, n_t, n_s = len(circuits), inputs.n_trials, inputs.n_steps
    n_neurons = sum(c.n_neurons for c in circuits)
    neuron_steps = n_neurons * n_t * n_s
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads), numpy {np.__version__}")
    print(f"workload S{' (quick)' if args.quick else ''}: {n_c} circuits x {n_t} trials x "
          f"{n_neurons // n_c} neurons x {n_s} steps = {neuron_steps:.3g} neuron-steps")

    compile_s = cold_compile_seconds()
    t0 = time.perf_counter()
    res = ec.simulate(circuits, inputs)
    first_call = time.perf_counter() - t0
    walls = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = ec.simulate(circuits, inputs)
        walls.append(time.perf_counter() - t0)
    wall = statistics.median(walls)
    rate = neuron_steps / wall
    spikes = int(res.counts.sum())
    print(f"numba compile (cold cache, first call): {compile_s:.2f} s; first call this process: {first_call:.2f} s")
    print(f"numba wall: median {wall:.3f} s of {args.repeats} (min {min(walls):.3f}, max {max(walls):.3f})")
    print(f"numba: {rate:.3g} neuron-steps/s, {n_c * n_t / wall:.0f} evaluations/s (circuit-trials), "
          f"{spikes} spikes, mean rate {res.mean_rate_hz().mean():.1f} Hz")

    if args.plot:
        plot_population(res, circuits, inputs, args.plot)
        print(f"wrote {args.plot}")
    if args.quick or args.no_brian2:
        print(f"workload S: {rate:.3g} neuron-steps/s; Brian2 runtime not run; ratio n/a")
        return 0
    from evo_circuits.brian2_bridge import brian2_python, run_brian2

    if brian2_python() is None:
        print("Brian2 venv missing: run `make brian2` (or `make bench`)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        report = {}
        for mode in ("runtime", "cpp_standalone"):
            print(f"brian2 {mode}: warm-up run (fills the code cache) ...", flush=True)
            b2_spikes = run_brian2(circ_dicts, inputs, mode, Path(tmp) / mode).spikes
            runs = [run_brian2(circ_dicts, inputs, mode, Path(tmp) / mode).timing for _ in range(args.brian2_repeats)]
            med = {k: statistics.median(r[k] for r in runs) for k in ("build_s", "codegen_compile_s", "run_s", "total_s")}
            report[mode] = med
            print(f"brian2 {mode} (median of {len(runs)}): build {med['build_s']:.2f} s, "
                  f"codegen+compile {med['codegen_compile_s']:.2f} s, run {med['run_s']:.2f} s, "
                  f"{b2_spikes['step'].size} spikes (numba {spikes})")
        rt = report["runtime"]
        rt_total = rt["build_s"] + rt["run_s"]
        sa_run = report["cpp_standalone"]["run_s"]
        print(f"ratio vs Brian2 runtime (build + run, warm cache): {rt_total / wall:.1f}x")
        print(f"ratio vs Brian2 cpp_standalone (run only, compile excluded): {sa_run / wall:.1f}x")
        print(f"workload S: {rate:.3g} neuron-steps/s; Brian2 runtime {neuron_steps / rt_total:.3g}; "
              f"ratio {rt_total / wall:.1f}")
    return 0


def plot_population(res, circuits, inputs, path: str) -> None:
    """Histogram of per-circuit rates and a raster of circuit 0, trial 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evo_circuits.io.atomic import atomic_open

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.4))
    a.hist(res.mean_rate_hz(), bins=20, color="#888")
    a.set_xlabel("mean rate per circuit (Hz)")
    a.set_ylabel("circuits")
    a.set_title(f"{len(circuits)} random E/I circuits")
    one = __import__("evo_circuits").simulate(circuits[0], inputs, record_spikes=True)
    sp = one.spikes
    sel = sp["trial"] == 0
    colours = np.where(circuits[0].types[sp["neuron"][sel]] > 0, "#c0392b", "#2e6fbf")
    b.scatter(sp["step"][sel] * one.dt_ms, sp["neuron"][sel], s=4, marker="|", c=colours)
    b.set_xlabel("time (ms)")
    b.set_ylabel("neuron (E red, I blue)")
    b.set_title("circuit 0, trial 0")
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format=Path(path).suffix.lstrip(".") or "png", dpi=110, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
