"""A small valid project that attacks copy and spoil.

Layout (paths relative to the world folder)::

    c.json c.graphml c.nir      one circuit (feedforward inhibition) in three formats
    in.npz                      valid input spikes for it (dt 0.1 ms)
    fit.toml run.toml asm.toml  a fitness spec, a run config (1 generation), an assembly spec
    mask.npz                    the assembly's structure NPZ
    lib.db                      a motif library (named motifs + the circuit, task coincidence)
    runs/ok/                    a finished run of run.toml (library adds on: min_score 0)
    out/                        where commands write; not compared before/after
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "feedforward_inhibition.json"

FITNESS = """name = "tiny"
[task]
family = "coincidence"
duration_ms = 30.0
min_gap_ms = 5.0
max_gap_ms = 10.0
trials = 4
"""

RUN = """[run]
name = "tiny"
fitness = "fit.toml"
seed = 1
generations = 1
population = 4
checkpoint_every = 1
[evaluation]
backend = "serial"
[limits]
max_neurons = 4
[motifs]
min_score = 0.0
"""

ASSEMBLY = """name = "small"
dt_ms = 0.1
seed = 0
inputs = 2
readout = "out"
[modules.ffi]
file = "c.json"
copies = 2
[modules.out]
neurons = 2
[[connections]]
from = "inputs"
to = "ffi.in"
pattern = "all-to-all"
weight = 50.0
[[connections]]
from = "ffi.out"
to = "out"
pattern = "all-to-all"
weight = 50.0
"""


def build(root: Path) -> Path:
    """Write the world into ``root`` (created) and return it."""
    from evo_circuits import load, save
    from evo_circuits.evolve.run import evolve
    from evo_circuits.motifs.library import MotifLibrary
    from evo_circuits.simulate import InputSpikes

    root.mkdir(parents=True, exist_ok=True)
    (root / "out").mkdir(exist_ok=True)
    circuit = load(EXAMPLE)
    save(circuit, root / "c.json")
    save(circuit, root / "c.graphml")
    save(circuit, root / "c.nir", flavour="exact")  # the lossless flavour
    InputSpikes.bernoulli([300.0], 2, 200, dt_ms=0.1, seed=0).save(root / "in.npz")
    (root / "fit.toml").write_text(FITNESS)
    (root / "run.toml").write_text(RUN)
    (root / "asm.toml").write_text(ASSEMBLY)
    old_cwd, old_lib = Path.cwd(), os.environ.get("EVO_CIRCUITS_LIBRARY")
    os.environ["EVO_CIRCUITS_LIBRARY"] = str(root / "lib.db")
    try:
        os.chdir(root)
        with MotifLibrary(root / "lib.db") as lib:
            lib.add(circuit, task="coincidence", score=0.95, provenance={"source": "import", "file": "c.json"})
        evolve(root / "run.toml", out=root / "runs" / "ok", progress=False, plots=False)
        from evo_circuits.cli import main

        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["assemble", "asm.toml", "-o", "out/asm.json", "--mask", "mask.npz"]) == 0
    finally:
        os.chdir(old_cwd)
        if old_lib is None:
            os.environ.pop("EVO_CIRCUITS_LIBRARY", None)
        else:
            os.environ["EVO_CIRCUITS_LIBRARY"] = old_lib
    for p in (root / "out").iterdir():
        p.unlink()
    return root


def copy(world: Path, dest: Path) -> Path:
    """A fresh copy of ``world`` at ``dest`` (symlinks kept as links)."""
    shutil.copytree(world, dest, symlinks=True)
    return dest
