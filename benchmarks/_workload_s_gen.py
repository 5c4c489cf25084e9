"""Generator for benchmark "workload S" (numpy + stdlib only).

Workload S: 256 circuits x 16 trials x 32 neurons (26 E, 6 I), recurrent
connection probability 0.2 without self-loops, E weights U(0.5, 1.5), I weights
U(1, 3), 4 input channels each a Bernoulli spike train (p = 0.1 per step, i.e.
1000 Hz at dt = 0.1 ms), each channel->neuron synapse present with p = 0.5 at
weight 2.0, all delays 0, dt = 0.1 ms, 2000 steps (200 ms), current synapses.

This module imports nothing from ``evo_circuits`` so that both the project venv
and the Brian2 venv (numpy<2) can load it by path, e.g.::

    spec = importlib.util.spec_from_file_location("wl", "benchmarks/_workload_s_gen.py")

Run as a script to write workload S as files (circuit JSON array + input-spike NPZ;
``evo_circuits.brian2_bridge.run_brian2`` accepts the circuit dicts directly)::

    python benchmarks/_workload_s_gen.py --seed 0 --circuits C.json --inputs IN.npz
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

N_CIRCUITS = 256
N_TRIALS = 16
N_EXC = 26
N_INH = 6
N_INPUTS = 4
N_STEPS = 2000
DT_MS = 0.1
P_REC = 0.2
P_IN_SPIKE = 0.1
P_IN_SYN = 0.5
W_IN = 2.0


def _make_circuit(rng: np.random.Generator, index: int) -> dict[str, Any]:
    """Draw one random circuit of workload S as a circuit-JSON dict.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (consumed in a fixed order).
    index : int
        Circuit number, used only in its name.

    Returns
    -------
    dict
        Circuit JSON object (format "evo-circuits/circuit", version 1).
    """
    n = N_EXC + N_INH
    types = ["E"] * N_EXC + ["I"] * N_INH
    adj = rng.random((n, n)) < P_REC
    np.fill_diagonal(adj, False)
    w_e = rng.uniform(0.5, 1.5, size=(n, n))
    w_i = rng.uniform(1.0, 3.0, size=(n, n))
    synapses = []
    for pre, post in zip(*np.nonzero(adj)):
        w = w_e[pre, post] if types[pre] == "E" else w_i[pre, post]
        synapses.append(
            {"pre": int(pre), "post": int(post), "weight": float(w), "delay_ms": 0.0}
        )
    in_adj = rng.random((N_INPUTS, n)) < P_IN_SYN
    input_synapses = [
        {"channel": int(c), "post": int(post), "weight": W_IN, "delay_ms": 0.0}
        for c, post in zip(*np.nonzero(in_adj))
    ]
    return {
        "format": "evo-circuits/circuit",
        "version": 1,
        "name": f"workload-s-{index}",
        "dt_ms": DT_MS,
        "synapse_model": "current",
        "n_inputs": N_INPUTS,
        "neurons": [{"type": t} for t in types],
        "outputs": [n - 1],
        "input_synapses": input_synapses,
        "synapses": synapses,
        "metadata": {},
    }


def make_workload_s(
    seed: int = 0,
    n_circuits: int = N_CIRCUITS,
    n_trials: int = N_TRIALS,
    n_steps: int = N_STEPS,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Build workload S deterministically from a seed.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``.
    n_circuits, n_trials, n_steps : int
        Sizes; the defaults are workload S proper, smaller values give a
        quick variant with the same statistics.

    Returns
    -------
    circuits : list of dict
        Circuit JSON objects.
    inputs : dict
        ``spike_trial``, ``spike_channel``, ``spike_step`` (int64 arrays sorted
        by trial, step, channel) and ``n_trials``, ``n_steps`` (ints): the
        input-spike NPZ fields shared by every circuit.
    """
    rng = np.random.default_rng(seed)
    circuits = [_make_circuit(rng, k) for k in range(n_circuits)]
    # One Bernoulli train per (trial, channel); layout (trial, step, channel)
    # so np.nonzero already yields the documented sort order.
    spikes = rng.random((n_trials, n_steps, N_INPUTS)) < P_IN_SPIKE
    trial, step, channel = np.nonzero(spikes)
    inputs = {
        "spike_trial": trial.astype(np.int64),
        "spike_channel": channel.astype(np.int64),
        "spike_step": step.astype(np.int64),
        "n_trials": int(n_trials),
        "n_steps": int(n_steps),
    }
    return circuits, inputs


def main() -> None:
    """Write workload S as circuit JSON + input NPZ files."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-circuits", type=int, default=N_CIRCUITS)
    ap.add_argument("--n-trials", type=int, default=N_TRIALS)
    ap.add_argument("--n-steps", type=int, default=N_STEPS)
    ap.add_argument("--circuits", required=True, help="output JSON (array)")
    ap.add_argument("--inputs", required=True, help="output NPZ")
    args = ap.parse_args()
    circuits, inputs = make_workload_s(
        args.seed, args.n_circuits, args.n_trials, args.n_steps
    )
    with open(args.circuits, "w", encoding="utf-8") as f:
        json.dump(circuits, f)
    np.savez(args.inputs, **inputs)


if __name__ == "__main__":
    main()
