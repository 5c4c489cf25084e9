"""Benchmarks "workload S" and "workload L": the numba simulator against Brian2 on the same networks.

Workload S: 256 circuits x 16 trials x 32 neurons (26 E, 6 I, p = 0.2, no self-loops;
E weights U(0.5, 1.5) mV, I weights U(1, 3) mV), 4 Bernoulli input channels at 1000 Hz,
each channel to each neuron with p = 0.5 at 2 mV, dt 0.1 ms, 200 ms.

Prints wall time (median of repeated runs), neuron-steps/s, evaluations/s, spikes, the
compile time of a cold numba cache, and the same workload run through Brian2 2.9 in
runtime (cython) and cpp_standalone modes as one merged network (build, compile and run
times apart), with ratios. The last line reads
``workload S: <X> neuron-steps/s; Brian2 runtime <Y>; ratio <R>``.

Workload L (``--workload L``, issue 15): one 20,000-neuron E/I network (16,000 E, 4,000 I,
recurrent connection probability 0.02 without self-loops: ~8 M synapses; E weights
U(0.05, 0.15) mV, I weights U(0.2, 0.6) mV), driven by 1,000 Poisson (Bernoulli per
step) input channels at 20 Hz, each channel to each neuron with p = 0.1 at U(1.5, 3) mV;
every delay uniform in 0..2 ms (0..20 steps); dt 0.1 ms, 1 s. The numba side runs in a
child process so its peak RSS is its own; it is compared with the size of the circuit's
synapse arrays. Brian2 runs the same network in runtime and cpp_standalone modes (wall
time including build, code generation and compilation) and the spikes are compared.

Run::

    make bench                                  # or
    .venv/bin/python benchmarks/simulate.py [--repeats 7] [--no-brian2] [--quick --plot out.png]
    .venv/bin/python benchmarks/simulate.py --workload L [--repeats 3] [--no-brian2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
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


def timed_runs(circuits, inputs, repeats: int):
    """The result, the first call's wall time and ``repeats`` timed wall times of ``simulate``."""
    import evo_circuits as ec

    t0 = time.perf_counter()
    res = ec.simulate(circuits, inputs)
    first_call = time.perf_counter() - t0
    walls = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = ec.simulate(circuits, inputs)
        walls.append(time.perf_counter() - t0)
    return res, first_call, walls


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed numba runs (median reported)")
    ap.add_argument("--brian2-repeats", type=int, default=3, help="timed Brian2 runs per mode")
    ap.add_argument("--no-brian2", action="store_true", help="skip the Brian2 peer")
    ap.add_argument("--quick", action="store_true", help="32 circuits x 4 trials, no Brian2 (for the demo)")
    ap.add_argument("--plot", help="write a figure of the population's activity")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workload", choices=("S", "L"), default="S", help="S: many small circuits; L: one large network")
    ap.add_argument("--child-out", help=argparse.SUPPRESS)  # workload L: the measured numba child process
    args = ap.parse_args(argv)
    if args.workload == "L":
        return workload_l_child(args) if args.child_out else workload_l(args)

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
    res, first_call, walls = timed_runs(circuits, inputs, args.repeats)
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


# ----------------------------------------------------------------------------- workload L
L_SIZES = dict(n_exc=16_000, n_inh=4_000, n_inputs=1_000, p_conn=0.02, w_exc=(0.05, 0.15), w_inh=(0.2, 0.6),
               p_input=0.1, w_input=(1.5, 3.0), max_delay_steps=20)
L_INPUT_HZ = 20.0
L_STEPS = 10_000
L_DT_MS = 0.1


def make_workload_l(seed: int):
    """The workload-L network and its input spikes (one trial), drawn sparse."""
    import evo_circuits as ec
    from evo_circuits.random_circuit import bernoulli_pairs

    sizes = dict(L_SIZES)
    n_exc, n_inh, n_in = sizes.pop("n_exc"), sizes.pop("n_inh"), sizes.pop("n_inputs")
    circuit = ec.random_circuit(n_exc, n_inh, n_in, dt_ms=L_DT_MS, seed=seed, name="workload-L", **sizes)
    channel, step = bernoulli_pairs(np.random.default_rng([seed, 1]), n_in, L_STEPS, L_INPUT_HZ * L_DT_MS * 1e-3)
    inputs = ec.InputSpikes(trial=np.zeros(len(step), np.int64), channel=channel, step=step, n_trials=1,
                            n_steps=L_STEPS, dt_ms=L_DT_MS)
    return circuit, inputs


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def workload_l_child(args) -> int:
    """The measured side of workload L: build, simulate (timed), record spikes, report JSON."""
    import evo_circuits as ec

    t0 = time.perf_counter()
    circuit, inputs = make_workload_l(args.seed)
    build_s = time.perf_counter() - t0
    cpu0 = time.process_time()
    res, first_call, walls = timed_runs(circuit, inputs, args.repeats)
    cpu = (time.process_time() - cpu0) / (args.repeats + 1)  # CPU seconds a run (less sensitive to a busy machine)
    rec = ec.simulate(circuit, inputs, record_spikes=True).spikes
    np.savez(args.child_out, neuron=rec["neuron"], step=rec["step"])
    print(json.dumps({"build_s": build_s, "first_call_s": first_call, "walls": walls, "cpu_s": cpu,
                      "spikes": int(res.counts.sum()), "n_synapses": circuit.n_synapses,
                      "synapse_bytes": circuit.synapses.nbytes, "peak_rss": peak_rss_bytes()}))
    return 0


def workload_l(args) -> int:
    """Workload L: the numba child, then Brian2 runtime and cpp_standalone on the same network."""
    import numba

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads), numpy {np.__version__}")
    n = L_SIZES["n_exc"] + L_SIZES["n_inh"]
    print(f"workload L: {n:,} neurons ({L_SIZES['n_exc']:,} E), p = {L_SIZES['p_conn']}, {L_SIZES['n_inputs']:,} "
          f"Poisson inputs at {L_INPUT_HZ:g} Hz, delays 0-{L_SIZES['max_delay_steps'] * L_DT_MS:g} ms, "
          f"{L_STEPS * L_DT_MS / 1e3:g} s at dt {L_DT_MS} ms")
    with tempfile.TemporaryDirectory() as tmp:
        spikes_path = Path(tmp) / "numba_spikes.npz"
        cmd = [sys.executable, __file__, "--workload", "L", "--seed", str(args.seed), "--repeats", str(args.repeats),
               "--child-out", str(spikes_path)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        child = json.loads(out.stdout.strip().splitlines()[-1])
        wall = statistics.median(child["walls"])
        syn_mb, rss_mb = child["synapse_bytes"] / 2**20, child["peak_rss"] / 2**20
        print(f"network: {child['n_synapses']:,} synapses (inputs included), synapse arrays {syn_mb:.0f} MiB; "
              f"built in {child['build_s']:.1f} s")
        print(f"numba wall: median {wall:.2f} s of {len(child['walls'])} (min {min(child['walls']):.2f}); "
              f"first call {child['first_call_s']:.2f} s; {child['cpu_s']:.2f} CPU s a run; {child['spikes']:,} spikes "
              f"({child['spikes'] / n / (L_STEPS * L_DT_MS * 1e-3):.1f} Hz mean)")
        print(f"numba peak RSS: {rss_mb:.0f} MiB = {rss_mb / syn_mb:.2f}x the synapse arrays (target <= 2x)")
        if args.no_brian2:
            print("workload L: Brian2 not run")
            return 0
        from evo_circuits.brian2_bridge import brian2_python, run_brian2

        if brian2_python() is None:
            print("Brian2 venv missing: run `make brian2` (or `make bench`)", file=sys.stderr)
            return 1
        with np.load(spikes_path) as z:
            ours = (z["neuron"], z["step"])
        circuit, inputs = make_workload_l(args.seed)
        totals = {}
        for mode in ("runtime", "cpp_standalone"):
            print(f"brian2 {mode}: running ...", flush=True)
            t0 = time.perf_counter()
            run = run_brian2(circuit, inputs, mode, Path(tmp) / mode)
            bridge = time.perf_counter() - t0
            t = run.timing
            # Brian2's own wall time: building the objects, code generation, compilation and
            # the run (the bridge's file writing and the reference's merge are not counted)
            # (runtime's run_s already holds its code generation)
            total = t["build_s"] + t["run_s"] + (t["codegen_compile_s"] if mode == "cpp_standalone" else 0.0)
            totals[mode] = total
            same = (run.spikes["neuron"].size == ours[0].size and np.array_equal(run.spikes["neuron"], ours[0])
                    and np.array_equal(run.spikes["step"], ours[1]))
            print(f"brian2 {mode}: wall {total:.1f} s (build {t['build_s']:.1f} s, codegen+compile "
                  f"{t['codegen_compile_s']:.1f} s, run {t['run_s']:.1f} s; {bridge:.0f} s with files and merge); "
                  f"{run.spikes['step'].size:,} spikes "
                  f"(numba {ours[0].size:,}); spikes identical: {'yes' if same else 'NO'}")
            if not same:
                print(f"  first difference: {first_difference(ours, (run.spikes['neuron'], run.spikes['step']))}")
        print(f"ratio vs Brian2 runtime (build + run): {totals['runtime'] / wall:.1f}x")
        print(f"ratio vs Brian2 cpp_standalone (wall, build and compile included): "
              f"{totals['cpp_standalone'] / wall:.1f}x (target >= 3x)")
        print(f"workload L: numba {wall:.2f} s, peak RSS {rss_mb / syn_mb:.2f}x synapses; "
              f"cpp_standalone ratio {totals['cpp_standalone'] / wall:.1f}")
    return 0


def first_difference(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> str:
    """Where two spike lists sorted by (step, neuron) first differ."""
    k = next((i for i in range(min(a[0].size, b[0].size)) if (a[0][i], a[1][i]) != (b[0][i], b[1][i])),
             min(a[0].size, b[0].size))
    show = lambda s, i: f"neuron {s[0][i]} at step {s[1][i]}" if i < s[0].size else "none"  # noqa: E731
    return f"spike {k}: numba {show(a, k)}, brian2 {show(b, k)}"


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
