"""CLI commands of the evolution engine: evolve, resume, runs, plot.

The commands turn on what the Python API leaves off by default: progress, plots, and
storing the champion in the motif library as the run config's ``[motifs]`` table says.
(The engine itself is imported when a command runs: ``evo-circuits --help`` stays fast.)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import RunConfig
    from .result import EvolutionResult


def _config_library(cfg: RunConfig) -> Path | None:
    """Where the CLI stores a run's champion: the config's ``[motifs]`` table decides."""
    if not cfg.add_to_library:
        return None
    from ..motifs.library import default_library_path

    return Path(cfg.library) if cfg.library else default_library_path()


def _resume_library(cfg: RunConfig, explicit: str | None) -> Path | None:
    """Where ``resume`` stores the champion. A run folder may come from someone else, so
    a library path written in its config is not followed: ``--library PATH`` if given,
    else the default library (``$EVO_CIRCUITS_LIBRARY`` or ``motifs/library.db``)."""
    if not cfg.add_to_library:
        return None
    from ..motifs.library import default_library_path

    chosen = Path(explicit) if explicit else default_library_path()
    if cfg.library and Path(cfg.library).resolve() != chosen.resolve():
        print(f"note: the run's config names the motif library {cfg.library}; resume writes to {chosen} "
              f"(pass --library PATH to choose)")
    return chosen


def _report(res: EvolutionResult) -> None:
    """What the CLI says about a finished run besides progress: a too-easy task, the library."""
    from .run import SOLVED_AT_START

    if res.logbook and res.logbook[0]["score_best"] >= SOLVED_AT_START:
        print(f"note: a random circuit of generation 0 already scored {res.logbook[0]['score_best']:.3f}: "
              "the task may be too easy to need evolution (harder trials, or a smaller [init] size)")
    for h in res.motifs:
        what = "new motif" if h.is_new else "one more occurrence of motif"
        print(f"motif library {res.library}: champion pruned to {h.pruning.circuit.n_exc}E+{h.pruning.circuit.n_inh}I "
              f"(score {h.pruning.score_after:.3f}); {what} {h.motif_id} ({h.similarity})")
    if res.library is not None and not res.motifs:
        print(f"motif library {res.library}: champion not stored "
              f"(score < {res.config.library_min_score} after pruning)")

from ..errors import EvoCircuitsError


def _cmd_evolve(args: argparse.Namespace) -> int:
    from .config import load_config
    from .run import evolve

    cfg = load_config(args.config)
    res = evolve(cfg, out=args.out, seed=args.seed, generations=args.generations, workers=args.workers,
                 dask=args.dask, progress=not args.quiet, plots=True, library=_config_library(cfg))
    _report(res)  # results, not progress: --quiet keeps them
    print(f"run finished: {res.run_dir}")
    print(f"champion: {res.paths['champion']}; plots: {res.paths['plots']}")
    return 0


def _cmd_resume(args: argparse.Namespace) -> int:
    from .run import read_run_config, resume

    res = resume(args.run_dir, generations=args.generations, workers=args.workers, dask=args.dask,
                 progress=not args.quiet, plots=True,
                 library=_resume_library(read_run_config(args.run_dir), args.library),
                 trust_plugins=args.trust_plugins)
    if res.new_generations == 0 and res.status == "finished":
        print(f"{res.run_dir}: finished at generation {res.generations}; nothing to do "
              f"(--generations N continues to generation N)")
        return 0
    _report(res)  # results, not progress: --quiet keeps them
    print(f"run finished: {res.run_dir}")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from .runs import find_run, list_runs, summarize

    if args.action == "show":
        if not args.run_id:
            raise EvoCircuitsError("runs show: give a run id")
        print(summarize(find_run(args.run_id, args.root)))
        return 0
    rows = list_runs(args.root)
    if not rows:
        print(f"no runs under {args.root}/ (give --root DIR to look in another folder)")
        return 0
    print(f"{len(rows)} run(s) under {args.root}/ (give --root DIR to look in another folder)")
    print(f"{'run':<40} {'status':<12} {'gen':>9} {'best':>7}  task")
    for r in rows:
        gen = f"{r.get('generation', '?')}/{r.get('generations', '?')}"
        best = r.get("best_score")
        print(f"{r['run']:<40} {r.get('status', '?'):<12} {gen:>9} {'-' if best is None else f'{best:.4f}':>7}  "
              f"{r.get('task', '?')}")
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from .plots import run_plots
    from .runs import find_run

    for p in run_plots(find_run(args.run_id, args.root), trust_plugins=args.trust_plugins):
        print(f"wrote {p}")
    return 0


def add_trust_plugins(parser: argparse.ArgumentParser) -> None:
    """The ``--trust-plugins`` flag of commands that read fitness specs the user did not name."""
    parser.add_argument("--trust-plugins", action="store_true",
                        help="let a fitness spec found in a run folder or library load its task plugin "
                             "(Python code; only for folders you trust)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the evolution commands to the ``evo-circuits`` parser."""
    s = sub.add_parser("evolve", help="evolve circuits on a run config (runs/*.toml)")
    s.add_argument("config", help="run config TOML")
    s.add_argument("--out", help="run directory (default runs/<name>-s<seed>-<time>)")
    s.add_argument("--seed", type=int)
    s.add_argument("--generations", type=int)
    s.add_argument("--workers", type=int, help="evaluate in a local process pool of N workers")
    s.add_argument("--dask", metavar="ADDR", help="evaluate on a Dask cluster (tcp://host:port)")
    s.add_argument("--quiet", action="store_true", help="no progress display")
    s.set_defaults(func=_cmd_evolve)

    s = sub.add_parser("resume", help="continue (or extend) a run from its last checkpoint")
    s.add_argument("run_dir")
    s.add_argument("--generations", type=int, help="total generations to reach")
    s.add_argument("--workers", type=int)
    s.add_argument("--dask", metavar="ADDR")
    s.add_argument("--quiet", action="store_true")
    s.add_argument("--library", metavar="PATH", help="motif library for the champion (default: $EVO_CIRCUITS_LIBRARY "
                   "or motifs/library.db; a path in the run folder's config is not followed)")
    add_trust_plugins(s)
    s.set_defaults(func=_cmd_resume)

    s = sub.add_parser("runs", help="list runs, or `runs show RUN_ID`")
    s.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    s.add_argument("run_id", nargs="?")
    s.add_argument("--root", default="runs", help="folder holding runs (default runs/, relative to the current "
                   "folder; runs written with --out elsewhere are found with --root or by their path)")
    s.set_defaults(func=_cmd_runs)

    s = sub.add_parser("plot", help="redraw a run's plots")
    s.add_argument("run_id")
    s.add_argument("--root", default="runs")
    add_trust_plugins(s)
    s.set_defaults(func=_cmd_plot)
