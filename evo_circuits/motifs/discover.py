"""From runs to the library: prune champions, store them with provenance, census them.

:func:`harvest_run` is what an evolution run calls at its end (``[motifs]`` section of
the run config) and what ``evo-circuits motifs add RUN_ID...`` does for finished runs.
:func:`run_circuits` collects the champions (and optionally hall of fame) of runs for
``evo-circuits motifs census RUN_ID...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..circuit import Circuit
from ..errors import EvoCircuitsError
from ..io import load
from ..io.caps import file_caps
from ..tasks.spec import load_resolved_fitness
from .census import subgraph_counts
from .library import MotifLibrary
from .prune import PruneResult, prune
from .similarity import nearest_named


@dataclass
class Harvested:
    """One circuit taken from a run into the library."""

    source: str
    motif_id: int
    is_new: bool
    name: str | None
    pruning: PruneResult
    similarity: str = ""  # how the core relates to the named motifs ("is X", "contained in X (...)", ...)


def run_circuits(run_dir: str | Path, hall_of_fame: bool = False) -> list[tuple[str, Circuit]]:
    """(file, circuit) of a run's champion, plus its hall of fame if asked."""
    run_dir = Path(run_dir)
    files = [run_dir / "champion.json"]
    if hall_of_fame:
        files += sorted((run_dir / "hall_of_fame").glob("rank_*.json"))
    out = []
    for f in files:
        if not f.is_file():
            raise EvoCircuitsError(f"{run_dir}: {f.name} missing (not a finished run directory?)")
        out.append((str(f), load(f, **file_caps())))
    return out


def harvest_run(run_dir: str | Path, library: MotifLibrary, *, epsilon: float = 0.02, min_score: float = 0.9,
                hall_of_fame: bool = False, trust_plugins: bool = False) -> list[Harvested]:
    """Prune a run's champion (and hall of fame) and add the cores to ``library``.

    Circuits whose pruned score is below ``min_score`` are not stored (they solve
    nothing worth naming). Occurrences of isomorphic cores across runs and seeds are
    counted by the library, once per run: harvesting the same run again adds nothing.
    ``trust_plugins`` lets the run's fitness spec load its task plugin (a run folder may
    come from someone else).
    """
    run_dir = Path(run_dir)
    spec_file = run_dir / "fitness.resolved.json"
    if not spec_file.is_file():
        raise EvoCircuitsError(f"{run_dir}: not a run directory (no fitness.resolved.json)")
    spec = load_resolved_fitness(spec_file, trust_plugins=trust_plugins)
    out = []
    for path, circuit in run_circuits(run_dir, hall_of_fame):
        res = prune(circuit, spec, epsilon=epsilon)
        if res.score_after < min_score:
            continue
        meta = circuit.metadata
        core = res.circuit.replace(name=f"{run_dir.name}-core", metadata={
            "pruned_from": path, "removed": res.removed, "score_before_pruning": res.score_before})
        prov = {"run_id": run_dir.name, "generation": meta.get("generation"), "seed": meta.get("seed"),
                "config_hash": meta.get("config_hash"), "file": path}
        mid, is_new = library.add(core, task=spec.task.name, score=res.score_after,
                                  provenance={k: v for k, v in prov.items() if v is not None},
                                  census={"subgraph_counts": subgraph_counts(core)}, fitness=spec.name,
                                  fitness_hash=spec.hash())
        near = nearest_named(res.circuit)
        out.append(Harvested(source=path, motif_id=mid, is_new=is_new, name=library.entry(mid).name, pruning=res,
                             similarity=near.describe() if near else "unlike any named motif"))
    return out


def census_of_runs(run_dirs: Sequence[str | Path], *, hall_of_fame: bool = False, n_random: int = 100,
                   seed: int = 0):
    """Census (3- and 4-node E/I subgraphs vs. the null model) over the champions of runs."""
    from .census import census

    circuits = [c for d in run_dirs for _, c in run_circuits(d, hall_of_fame)]
    return census(circuits, n_random=n_random, seed=seed)
