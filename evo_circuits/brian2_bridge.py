"""Run circuits through Brian2 (the reference simulator) from the project's own venv.

Brian2 2.9 needs numpy < 2, so it lives in its own virtualenv (``make brian2`` creates
``.venv-brian2``) and cannot import this package. This module writes the circuits in
the fully resolved ``evo-circuits/arrays-population`` NPZ (:mod:`evo_circuits.io.npz`:
every parameter explicit, delays and refractory periods in steps; synapses in the sparse
layout) and the inputs as the
input-spike NPZ, calls the standalone script :mod:`evo_circuits.brian2_ref` with that
venv's Python, and reads the spikes back. Used by the agreement tests and the benchmark; users
can call it to cross-check their own circuits.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .circuit import Circuit
from .errors import EvoCircuitsError
from .io import from_dict
from .io.npz import save_population
from .simulate import InputSpikes

RUNNER = Path(__file__).with_name("brian2_ref.py")
_DEFAULT_VENV = Path(__file__).resolve().parent.parent / ".venv-brian2"


def brian2_python() -> Path | None:
    """Python of the Brian2 venv: ``$EVO_CIRCUITS_BRIAN2_PYTHON`` or ``<repo>/.venv-brian2``."""
    env = os.environ.get("EVO_CIRCUITS_BRIAN2_PYTHON")
    path = Path(env) if env else _DEFAULT_VENV / "bin" / "python"
    return path if path.exists() else None


@dataclass
class Brian2Run:
    """Spikes and timings of one Brian2 run.

    Attributes
    ----------
    spikes : dict of ndarray
        ``individual``, ``trial``, ``neuron``, ``step`` sorted by (individual, trial, step, neuron).
    timing : dict
        ``build_s``, ``codegen_compile_s``, ``run_s``, ``total_s`` and sizes.
    """

    spikes: dict
    timing: dict


def run_brian2(circuits: Circuit | Sequence[Circuit] | Sequence[dict], inputs: InputSpikes,
               mode: str = "runtime", workdir: str | os.PathLike | None = None) -> Brian2Run:
    """Simulate circuits with Brian2 as one merged network.

    Parameters
    ----------
    circuits : Circuit, sequence of Circuit, or sequence of circuit-JSON dicts
    inputs : InputSpikes
        Shared by all circuits (per-individual inputs are not supported here).
    mode : {"runtime", "cpp_standalone"}
    workdir : path, optional
        Where files and the standalone build go (default: a temporary folder).

    Returns
    -------
    Brian2Run
    """
    py = brian2_python()
    if py is None:
        raise EvoCircuitsError("Brian2 venv not found: run `make brian2` (or set EVO_CIRCUITS_BRIAN2_PYTHON)")
    if inputs.per_individual:
        raise EvoCircuitsError("run_brian2: per-individual inputs are not supported")
    if isinstance(circuits, Circuit):
        circuits = [circuits]
    circuits = [c if isinstance(c, Circuit) else from_dict(c) for c in circuits]
    _check_supported(circuits)
    inputs.check_dt(circuits[0].dt_ms)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        cpath, ipath, opath, tpath = (work / n for n in ("circuits.npz", "inputs.npz", "spikes.npz", "timing.json"))
        save_population(circuits, cpath, layout="sparse")  # memory grows with synapses, not neurons^2
        inputs.save(ipath)
        cmd = [str(py), str(RUNNER), "--circuits", str(cpath), "--inputs", str(ipath), "--out", str(opath),
               "--mode", mode, "--timing", str(tpath), "--build-dir", str(work / f"build_{mode}")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise EvoCircuitsError(f"Brian2 runner failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        with np.load(opath, allow_pickle=False) as z:
            spikes = {k: z[k] for k in ("individual", "trial", "neuron", "step")}
        return Brian2Run(spikes=spikes, timing=json.loads(tpath.read_text()))


def _check_supported(circuits: Sequence[Circuit]) -> None:
    """Refuse what the reference does not model: empty circuits and stochastic release."""
    if not circuits:
        raise EvoCircuitsError("run_brian2: no circuits")
    for k, c in enumerate(circuits):
        if c.n_neurons == 0:
            raise EvoCircuitsError(f"run_brian2: circuit {k} has no neurons")
        if np.any(c.synapses.p_release != 1.0):
            raise EvoCircuitsError(f"run_brian2: circuit {k}: release probabilities < 1 are not supported by the "
                                   "Brian2 reference (release is stochastic otherwise)")
