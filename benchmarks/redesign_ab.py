"""Before/after of the "one model, one place" redesign, in one process on identical data.

Loads the package as it was at 916b382 (kernels with 28-47 positional arguments, the
neuron step written out in each) from a git worktree under another name, next to the
current package, checks that both give identical results, and times them interleaved:
the simulator kernel on workload-S circuits, and one training batch of workload G
(forward + backward + weight products) in float32 and float64. Interleaving in one
process cancels most of a shared machine's drift; the ratio is what to read.

Run::

    git worktree add --detach /tmp/evo-base 916b382
    .venv/bin/python benchmarks/redesign_ab.py --base /tmp/evo-base [--repeats 15]
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import numpy as np

from _side_by_side import interleave, load_package, report


def simulator(base, repeats: int) -> None:
    import evo_circuits as ec
    from evo_circuits.simulate.api import _lanes
    from evo_circuits.simulate.kernel import Recording, simulate_population
    from evo_circuits.simulate.pack import InputTable, pack

    old = importlib.import_module("evo_base.simulate.kernel")
    n_circ, n_trials, n_steps = 64, 8, 2000
    pop = [ec.random_circuit(26, 6, 4, seed=k) for k in range(n_circ)]
    inp = ec.InputSpikes.bernoulli([1000] * 4, n_trials=n_trials, n_steps=n_steps, seed=0)
    p = pack(pop)
    ids = np.arange(n_circ, dtype=np.int64)
    set_index = np.tile(np.arange(n_trials, dtype=np.int64), (n_circ, 1))
    in_ptr, in_ch = inp.to_csr()
    lay, neu, syn = p.layout._replace(ind_ids=ids), p.neurons, p.synapses
    syn_inh = syn.row_inh[np.repeat(np.arange(len(syn.ptr) - 1), np.diff(syn.ptr))]  # the old kernel's per-synapse sign
    shape = (n_circ * n_trials, p.max_neurons)
    none = np.zeros(0, np.int64)
    table = InputTable(*inp.step_table(), np.zeros(n_circ, np.int64))
    lanes = _lanes(n_circ, n_trials, p.max_neurons)

    def run_new():
        counts = np.zeros(shape, np.int64)
        simulate_population(lay, neu, syn, table,
                            Recording(counts, np.full(shape, -1, np.int64), False, np.zeros(0, np.bool_),
                                      np.zeros(1, np.int64), none, none, False, np.zeros((0, 0, 0))),
                            False, n_steps, n_trials, lanes, np.uint64(0), p.dt_ms)
        return counts

    def run_old():
        counts = np.zeros(shape, np.int64)
        old.simulate_population(
            False, n_steps, n_trials, np.uint64(0), ids, set_index, in_ptr, in_ch, lay.neuron_off, lay.n_inputs,
            lay.src_off, lay.ring_size, neu.em, neu.de, neu.di, neu.ke, neu.ki, neu.v_inf, neu.v_th, neu.v_reset,
            neu.v_init, neu.ref_steps, neu.tau_m, neu.e_e, neu.e_i, p.dt_ms, syn.ptr, syn.post, syn_inh, syn.w,
            syn.delay, syn.p, syn.u, syn.tau_rec, syn.row_off, syn.row_inh, syn.row_dense, counts,
            np.full(shape, -1, np.int64), False, np.zeros(1, np.int64), none, none, False, np.zeros((0, 0, 0)))
        return counts

    a, b = run_old(), run_new()
    if not np.array_equal(a, b):
        raise SystemExit("simulator: before and after disagree")
    print(f"simulator: identical spike counts ({int(a.sum())} spikes, {n_circ} circuits x {n_trials} trials)")
    report("simulator kernel", *interleave((run_old, run_new), repeats))


def training(base, repeats: int, dtype: str) -> None:
    import evo_circuits.train as new

    old = importlib.import_module("evo_base.train")
    c, mask = new.feedforward_circuit(64, 128, 10, seed=0, balance=1.0)
    tr, _ = new.load_digits(encoding="rate", n_steps=32, seed=0)
    idx = np.arange(128)
    x, y = tr.batch(idx, draw=1), tr.labels[idx]
    c_old = base.Circuit(types=c.types, n_inputs=c.n_inputs, weights=c.weights, delays=c.delays,
                         outputs=list(c.outputs), dt_ms=c.dt_ms, params=c.params)
    bo = old.BPTT(old.TrainableNetwork.from_circuit(c_old, mask=mask), old.Readout("membrane", gain=2.0),
                  dtype=np.dtype(dtype))
    bn = new.BPTT(new.TrainableNetwork.from_circuit(c, mask=mask), new.Readout("membrane", gain=2.0),
                  dtype=np.dtype(dtype))
    go, gn = bo.loss_and_grad(x, y), bn.loss_and_grad(x, y)
    if not (go.loss == gn.loss and np.array_equal(go.weights, gn.weights)):
        raise SystemExit(f"training {dtype}: before and after disagree")
    print(f"training {dtype}: identical loss and gradients")
    report(f"training batch {dtype} (workload G, batch 128)",
           *interleave((lambda: bo.loss_and_grad(x, y), lambda: bn.loss_and_grad(x, y)), repeats))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, type=Path, help="a checkout of 916b382 (git worktree add --detach ...)")
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    base = load_package(args.base)
    simulator(base, args.repeats)
    for dtype in ("float32", "float64"):
        training(base, 2 * args.repeats, dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
