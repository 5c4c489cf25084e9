"""Large sparse circuits (issue 15): memory grows with synapses, not neurons².

A 100,000-neuron, ~10 M-synapse circuit is drawn, validated, saved (NPZ, sparse layout),
loaded back and simulated for 100 ms in a child process whose peak resident memory must
stay under 4 GB (its dense matrices alone would take 80 GB each).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
import numpy as np
import evo_circuits as ec

path = sys.argv[1]
t = {}
t0 = time.perf_counter()
c = ec.random_circuit(80_000, 20_000, 100, p_conn=0.0009, p_input=0.1, w_exc=(0.05, 0.15), w_inh=(0.2, 0.6),
                      w_input=(2.0, 4.0), max_delay_steps=20, seed=3)
t["draw"] = time.perf_counter() - t0
c.validate()
ec.save(c, path)
back = ec.load(path)
same = back == c.replace(name="")
del c
inputs = ec.InputSpikes.bernoulli(np.full(100, 200.0), 1, 1000, seed=1)
res = ec.simulate(back, inputs)
print(json.dumps({"n": back.n_neurons, "synapses": back.n_synapses, "same": bool(same),
                  "spikes": int(res.counts.sum()), "steps": res.n_steps,
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def test_a_100k_neuron_10m_synapse_circuit_validates_saves_loads_and_simulates_within_4_gb(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "big.npz")], capture_output=True, text=True,
                         env=env, timeout=1800)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["n"] == 100_000 and 9_800_000 < got["synapses"] < 10_300_000
    assert got["same"], "the circuit read back differs from the one saved"
    assert got["steps"] == 1000 and got["spikes"] > 0
    assert got["peak_rss"] < 4 * 2**30, f"peak RSS {got['peak_rss'] / 2**30:.2f} GiB"
    print(f"100k neurons, {got['synapses']:,} synapses: {got['spikes']:,} spikes, peak RSS "
          f"{got['peak_rss'] / 2**30:.2f} GiB")
