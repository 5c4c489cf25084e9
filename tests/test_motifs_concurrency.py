"""Several processes adding motifs to one library at once: nothing lost, nothing duplicated."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from evo_circuits import random_circuit
from evo_circuits.io import dumps
from evo_circuits.motifs.canonical import canonical_label, same_motif
from evo_circuits.motifs.library import MotifLibrary
from evo_circuits.motifs.named import named_motifs

N_PROCS = 8
N_EACH = 100
N_SHARED = 50  # added by every process (as differently relabelled copies)

_WORKER = r"""
import json, sys, time
from pathlib import Path
from evo_circuits.io import loads
from evo_circuits.motifs.library import MotifLibrary

db, todo, go, k = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
circuits = [loads(t) for t in json.loads(Path(todo).read_text())]
lib = MotifLibrary(db, timeout=120)
while not go.exists():          # start together, for maximal contention
    time.sleep(0.005)
for j, c in enumerate(circuits):
    lib.add(c, task="t", score=j / 100, provenance={"run_id": f"proc{k}", "seed": k, "generation": j})
lib.close()
"""


def _distinct_circuits(count: int) -> list:
    """``count`` pairwise non-isomorphic small circuits, none isomorphic to a named motif."""
    seen: dict[str, list] = {}
    for c in named_motifs().values():
        seen.setdefault(canonical_label(c), []).append(c)
    out = []
    seed = 0
    while len(out) < count:
        seed += 1
        rng = np.random.default_rng(seed)
        c = random_circuit(int(rng.integers(2, 5)), int(rng.integers(1, 3)), int(rng.integers(1, 3)),
                           p_conn=0.4, seed=seed)
        label = canonical_label(c)
        if any(same_motif(c, o) for o in seen.get(label, [])):
            continue
        seen.setdefault(label, []).append(c)
        out.append(c)
    return out


def _relabel(c, perm):
    rows = np.r_[np.arange(c.n_inputs), c.n_inputs + perm]
    where = {int(old): new for new, old in enumerate(perm)}
    return c.replace(types=c.types[perm], weights=c.weights[rows][:, perm], delays=c.delays[rows][:, perm],
                     params=c.params[perm], outputs=[where[int(o)] for o in c.outputs])


@pytest.mark.slow
def test_eight_processes_add_concurrently(tmp_path):
    circuits = _distinct_circuits(N_SHARED + N_PROCS * (N_EACH - N_SHARED))
    shared, unique = circuits[:N_SHARED], circuits[N_SHARED:]
    db = tmp_path / "lib.db"
    go = tmp_path / "go"
    procs = []
    for k in range(N_PROCS):
        rng = np.random.default_rng(100 + k)
        mine = [_relabel(c, rng.permutation(c.n_neurons)) for c in shared]
        mine += unique[k * (N_EACH - N_SHARED):(k + 1) * (N_EACH - N_SHARED)]
        order = rng.permutation(len(mine))
        todo = tmp_path / f"todo{k}.json"
        todo.write_text(json.dumps([dumps(mine[i]) for i in order]))
        procs.append(subprocess.Popen([sys.executable, "-c", _WORKER, str(db), str(todo), str(go), str(k)],
                                      stderr=subprocess.PIPE, text=True))
    time.sleep(1.0)  # let every worker import and open the (new) library
    t0 = time.perf_counter()
    go.touch()
    errors = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    elapsed = time.perf_counter() - t0
    assert all(rc == 0 for rc, _ in errors), [e for rc, e in errors if rc][:1]

    n_named = len(named_motifs())
    with MotifLibrary(db) as lib:
        assert len(lib) == n_named + N_SHARED + N_PROCS * (N_EACH - N_SHARED)
        occ = {r.id: r.occurrences for r in lib.list(sort="id")}
        shared_ids = {lib_id for lib_id, o in occ.items() if o == N_PROCS}
        assert len(shared_ids) == N_SHARED
        assert sorted(occ.values()).count(1) == N_PROCS * (N_EACH - N_SHARED)
        assert sum(occ.values()) == N_PROCS * N_EACH
    con = sqlite3.connect(str(db))
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        assert con.execute("SELECT count(*) FROM provenance WHERE source = 'run'").fetchone()[0] == N_PROCS * N_EACH
        assert con.execute("SELECT count(*) FROM scores").fetchone()[0] == N_PROCS * N_EACH
    finally:
        con.close()
    print(f"{N_PROCS} x {N_EACH} concurrent adds in {elapsed:.2f} s")
