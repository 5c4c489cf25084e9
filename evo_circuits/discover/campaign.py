"""A discovery campaign: evolve every task from several seeds, harvest the cores, report
which cores recur.

``evo-circuits discover --tasks timing_pattern memory --seeds 4`` (or
:func:`discover`) runs, for each task, the shipped run config ``runs/<task>.toml`` once
per seed, prunes each champion to its core and adds it to the motif library, runs the
3/4-node subgraph census over the champions, and writes one report into the output
folder: ``report.json`` (machine-readable) and ``report.html`` (with a drawing per core,
``img/motif-<id>.svg``). Per task the report says which canonical cores recur across
seeds, how often, how each relates to the named motifs (:mod:`evo_circuits.motifs.similarity`), and which
seeds solved nothing storable.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime, timezone
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import EvoCircuitsError
from ..evolve.config import load_config
from ..evolve.run import evolve
from ..io.atomic import write_text
from ..motifs.census import census
from ..motifs.discover import harvest_run, run_circuits
from ..motifs.draw import draw_motif
from ..motifs.library import MotifLibrary
from ..motifs.similarity import relations
from .report import report_html

#: Census classes listed per task in the report.
CENSUS_ROWS = 8


@dataclass
class Core:
    """One canonical core found on a task: the library entry and where it came from."""

    motif_id: int
    label: str
    name: str | None
    size: str
    n_synapses: int
    seeds: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    related: list[dict] = field(default_factory=list)
    drawing: str = ""

    @property
    def count(self) -> int:
        """How many seeds of the campaign found this core."""
        return len(self.seeds)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"motif_id": self.motif_id, "label": self.label, "name": self.name, "size": self.size,
                "n_synapses": self.n_synapses, "count": self.count, "seeds": self.seeds, "scores": self.scores,
                "nearest": self.related[0] if self.related else None, "related": self.related,
                "drawing": self.drawing}


@dataclass
class TaskReport:
    """What a campaign found on one task."""

    task: str
    fitness: str
    seeds: list[int]
    runs: dict[int, str]
    cores: list[Core]
    unsolved: list[int]
    census: list[dict]
    seconds: float

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"task": self.task, "fitness": self.fitness, "seeds": self.seeds,
                "runs": {str(k): v for k, v in self.runs.items()}, "solved": len(self.seeds) - len(self.unsolved),
                "unsolved_seeds": self.unsolved, "cores": [c.to_dict() for c in self.cores],
                "census": self.census, "seconds": self.seconds}


def discover(tasks: Sequence[str], seeds: int | Sequence[int], out: str | Path | None = None, *,
             configs: str | Path = "runs", library: str | Path | None = None, generations: int | None = None,
             workers: int | None = None, dask: str | None = None, epsilon: float = 0.02, min_score: float = 0.9,
             census_random: int = 20, progress: bool = True) -> Path:
    """Run a discovery campaign and write its report; returns the ``report.html`` path.

    Parameters
    ----------
    tasks : sequence of str
        Task names; each needs a run config ``<configs>/<task>.toml``.
    seeds : int or sequence of int
        Seeds ``0..n-1``, or the seeds themselves.
    out : path, optional
        Output folder (default ``runs/discover-<UTC time>``): ``runs/<task>-s<seed>/`` (the run directories), ``report.json``,
        ``report.html``, ``img/``. Must be new or empty.
    configs : path
        Folder of the run configs (default ``runs``).
    library : path, optional
        Motif library the cores are added to (default: the default library).
    generations, workers, dask : optional overrides of every run config
    epsilon, min_score : float
        Pruning tolerance and the smallest pruned score stored (as ``motifs add``).
    census_random : int
        Randomised circuits per champion in the census null model.
    progress : bool
        Print one line per run.
    """
    if out is None:
        out = Path("runs") / f"discover-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}"
    out = Path(out)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not tasks:
        raise EvoCircuitsError("discover: give at least one task")
    if not seed_list:
        raise EvoCircuitsError("discover: --seeds must be at least 1")
    cfgs = {}
    for task in tasks:
        path = Path(configs) / f"{task}.toml"
        if not path.is_file():
            raise EvoCircuitsError(f"task {task!r}: no run config {path}")
        cfgs[task] = load_config(path)
    if out.exists() and any(out.iterdir()):
        raise EvoCircuitsError(f"{out}: exists and is not empty")
    (out / "img").mkdir(parents=True, exist_ok=True)
    reports = []
    with MotifLibrary(library) as lib:
        for task, cfg in cfgs.items():
            reports.append(_campaign_task(task, cfg, seed_list, out, lib, generations, workers, dask, epsilon,
                                          min_score, census_random, progress))
        lib_path = str(lib.path)
    for rep in reports:
        for core in rep.cores:
            if not core.drawing:
                with MotifLibrary(library) as lib:
                    c = lib.get(core.motif_id)
                rel = f"img/motif-{core.motif_id}.svg"
                draw_motif(c, out / rel, title=core.name or f"motif {core.motif_id}")
                for other in reports:  # one drawing per motif, shared across tasks
                    for oc in other.cores:
                        if oc.motif_id == core.motif_id:
                            oc.drawing = rel
    data = {"format": "evo-circuits/discovery-report", "version": 1, "library": lib_path,
            "seeds": seed_list, "tasks": [r.to_dict() for r in reports]}
    write_text(out / "report.json", json.dumps(data, indent=1, allow_nan=False) + "\n")
    html_path = out / "report.html"
    write_text(html_path, report_html(data))
    return html_path


def _campaign_task(task: str, cfg, seeds: list[int], out: Path, lib: MotifLibrary, generations: int | None,
                   workers: int | None, dask: str | None, epsilon: float, min_score: float, census_random: int,
                   progress: bool) -> TaskReport:
    t0 = time.perf_counter()
    cfg = dataclasses.replace(cfg, add_to_library=False)
    cores: dict[int, Core] = {}
    runs: dict[int, str] = {}
    unsolved = []
    for seed in seeds:
        run_dir = evolve(cfg, out=out / "runs" / f"{task}-s{seed}", seed=seed, generations=generations,
                         workers=workers, dask=dask).run_dir
        runs[seed] = str(run_dir.relative_to(out))
        got = harvest_run(run_dir, lib, epsilon=epsilon, min_score=min_score)
        if not got:
            unsolved.append(seed)
        for h in got:
            core = cores.get(h.motif_id)
            if core is None:
                e = lib.entry(h.motif_id)
                core = cores[h.motif_id] = Core(
                    motif_id=e.id, label=e.label, name=e.name, size=f"{e.n_exc}E+{e.n_inh}I",
                    n_synapses=e.n_synapses, related=[r.to_dict() for r in relations(e.circuit)])
            core.seeds.append(seed)
            core.scores.append(round(h.pruning.score_after, 4))
        if progress:
            what = (f"core {got[0].motif_id} ({_nearest_text(cores[got[0].motif_id])})" if got
                    else f"nothing stored (score < {min_score} after pruning)")
            print(f"discover: {task} seed {seed}: {what}", flush=True)
    champions = [c for d in runs.values() for _, c in run_circuits(out / d)]
    res = census(champions, n_random=census_random, seed=0)
    return TaskReport(task=task, fitness=cfg.fitness_path().stem, seeds=seeds, runs=runs,
                      cores=sorted(cores.values(), key=lambda c: (-c.count, c.motif_id)), unsolved=unsolved,
                      census=_census_rows(res), seconds=round(time.perf_counter() - t0, 1))


def _nearest_text(core: Core) -> str:
    return core.related[0]["text"] if core.related else "unlike any named motif"


def _census_rows(res) -> list[dict]:
    """The census classes to list: significant ones first, then by real count."""
    rows = sorted(res.rows, key=lambda r: (not r["motif"], -r["count"], r["key"]))[:CENSUS_ROWS]
    finite = (lambda v: v if not isinstance(v, float) or (v == v and abs(v) != float("inf")) else None)
    return [{k: finite(r[k]) for k in ("size", "description", "count", "mean", "z", "ratio", "motif")} for r in rows]
