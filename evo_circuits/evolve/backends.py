"""Evaluation backends: the same seed gives identical scores on every backend.

* ``local``     — this process, numba threads over the whole population (default);
* ``serial``    — this process, one numba thread (the baseline of the pool benchmark);
* ``processes`` — a local process pool, one numba thread per worker, population in chunks;
* ``dask``      — a Dask distributed cluster (``--dask tcp://host:port``), chunks as tasks.

Scores do not depend on the split because trials come from the evaluation seed and
release draws from each individual's stable id. A worker that dies mid-generation is
replaced and its chunk re-run (process pool), or retried by Dask.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
from pathlib import Path
from typing import Sequence

import numpy as np

from ..circuit import Circuit
from ..errors import EvoCircuitsError
from ..io import from_dict
from ..tasks import FitnessSpec, load_fitness

FIELDS = ("score", "raw_score", "spikes_per_trial", "silent", "runaway")

_WORKER_SPEC = None


def evaluate_chunk(spec: str | FitnessSpec, circuits: Sequence[dict | Circuit], ids: Sequence[int], seed: int,
                   threads: int | None = None, n_trials: int | None = None) -> dict:
    """Evaluate circuits (or circuit-JSON dicts) with a fitness spec (or its file).

    The unit of work of every backend; a worker process reads the spec file once.
    ``n_trials`` overrides the spec's trial count (validation sets).
    """
    global _WORKER_SPEC
    if not isinstance(spec, FitnessSpec):
        if _WORKER_SPEC is None or _WORKER_SPEC[0] != spec:
            _WORKER_SPEC = (spec, load_fitness(spec))
        spec = _WORKER_SPEC[1]
    if threads is not None:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    if isinstance(circuits, PackedCircuits):
        circuits = circuits.unpack()
    circuits = [c if isinstance(c, Circuit) else from_dict(c) for c in circuits]
    res = spec.evaluate(circuits, seed=seed, individual_ids=np.asarray(ids, np.int64), n_trials=n_trials)
    return {k: np.asarray(getattr(res, k)) for k in FIELDS}


class PackedCircuits:
    """A chunk of circuits as a few flat arrays: cheap to send to another process.

    Pickling a list of circuits sends ~8 small arrays per circuit, which costs as much as
    evaluating them; one array per field does not. The receiving side rebuilds the
    circuits as views without re-validating them (they were valid when packed).
    """

    _MATRICES = ("weights", "delays", "p_release", "std_u", "std_tau_rec")

    def __init__(self, circuits: Sequence[Circuit]):
        self.n = np.array([c.n_neurons for c in circuits], np.int64)
        self.n_in = np.array([c.n_inputs for c in circuits], np.int64)
        self.n_out = np.array([len(c.outputs) for c in circuits], np.int64)
        self.types = np.concatenate([c.types for c in circuits])
        self.params = np.concatenate([c.params for c in circuits])
        self.outputs = np.concatenate([c.outputs for c in circuits])
        self.matrices = {k: np.concatenate([getattr(c, k).ravel() for c in circuits]) for k in self._MATRICES}
        self.dt = [c.dt_ms for c in circuits]
        self.model = [c.synapse_model for c in circuits]

    def unpack(self) -> list[Circuit]:
        out = []
        no = nm = oo = 0
        for k in range(len(self.n)):
            n, ni, m = int(self.n[k]), int(self.n_in[k]), int((self.n_in[k] + self.n[k]) * self.n[k])
            mats = {key: arr[nm:nm + m].reshape(ni + n, n) for key, arr in self.matrices.items()}
            out.append(Circuit._trusted(types=self.types[no:no + n], n_inputs=ni, params=self.params[no:no + n],
                                        outputs=self.outputs[oo:oo + int(self.n_out[k])], dt_ms=self.dt[k],
                                        synapse_model=self.model[k], name="", metadata={}, **mats))
            no, nm, oo = no + n, nm + m, oo + int(self.n_out[k])
        return out


def pack_circuits(circuits: Sequence[Circuit]) -> PackedCircuits:
    """Circuits ready to cross a process boundary (see :class:`PackedCircuits`)."""
    return PackedCircuits(circuits)


def _init_worker() -> None:
    import numba

    numba.set_num_threads(1)


class Evaluator:
    """Evaluates populations on one backend.

    Parameters
    ----------
    spec_path : str
        Fitness spec file (worker processes load it themselves).
    backend : {"local", "serial", "processes", "dask"}
    workers : int
        Processes of the pool (``processes``); chunks per generation (``dask``).
    dask_address : str
        Scheduler address for ``dask``.
    spec : FitnessSpec, optional
        The spec itself, used by the in-process backends instead of reading the file.
    """

    def __init__(self, spec_path: str | Path, backend: str = "local", workers: int = 2, dask_address: str = "",
                 *, spec: FitnessSpec | None = None):
        self.spec_path = str(Path(spec_path).resolve())
        self.spec = spec
        self.backend = backend
        self.workers = max(1, workers)
        self._pool: cf.ProcessPoolExecutor | None = None
        self._client = None
        if backend == "dask":
            try:
                from distributed import Client
            except ImportError:
                raise EvoCircuitsError("backend 'dask' needs the dask extra: pip install 'evo-circuits[dask]'") from None
            try:
                self._client = Client(dask_address, timeout=10)
            except (OSError, TimeoutError) as exc:
                raise EvoCircuitsError(f"--dask {dask_address}: cannot reach the scheduler ({exc})") from None
        elif backend not in ("local", "serial", "processes"):
            raise EvoCircuitsError(f"backend: unknown {backend!r}")

    def evaluate(self, circuits: Sequence[Circuit], ids: Sequence[int], seed: int,
                 n_trials: int | None = None) -> dict:
        """Scores and secondary figures, arrays aligned with ``circuits``.

        ``n_trials`` overrides the fitness spec's number of trials.
        """
        ids = [int(i) for i in ids]
        if self.backend in ("local", "serial"):
            return evaluate_chunk(self.spec or self.spec_path, circuits, ids, seed,
                                  1 if self.backend == "serial" else 1024, n_trials)
        dicts = circuits
        chunks = [(a, b) for a, b in _split(len(dicts), self.workers)]
        if self.backend == "processes":
            parts = self._run_pool(chunks, dicts, ids, seed, n_trials)
        else:
            futures = [self._client.submit(evaluate_chunk, self.spec_path, pack_circuits(dicts[a:b]), ids[a:b],
                                           seed, 1, n_trials, pure=False, retries=3) for a, b in chunks]
            parts = self._client.gather(futures)
        return {k: np.concatenate([p[k] for p in parts]) for k in FIELDS}

    def _run_pool(self, chunks, dicts, ids, seed, n_trials, attempts: int = 3) -> list[dict]:
        results: dict[int, dict] = {}
        for _ in range(attempts):
            if self._pool is None:
                self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                                    initializer=_init_worker)
            todo = {self._pool.submit(evaluate_chunk, self.spec_path, pack_circuits(dicts[a:b]), ids[a:b], seed,
                                      None, n_trials): k
                    for k, (a, b) in enumerate(chunks) if k not in results}
            try:
                for fut in cf.as_completed(todo):
                    results[todo[fut]] = fut.result()
                return [results[k] for k in range(len(chunks))]
            except cf.process.BrokenProcessPool:
                # A worker died (killed, out of memory): start a new pool, redo the rest.
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
        raise EvoCircuitsError(f"process pool: workers kept dying ({attempts} attempts)")

    def close(self) -> None:
        """Shut down pools and clients."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None


def _split(n: int, k: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, min(k, max(n, 1)) + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
