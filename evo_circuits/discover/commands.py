"""CLI command of discovery campaigns: ``evo-circuits discover``."""

from __future__ import annotations

import argparse


def _cmd_discover(args: argparse.Namespace) -> int:
    from .campaign import discover

    page = discover(args.tasks, args.seeds, args.out, configs=args.configs, library=args.library,
                    generations=args.generations, workers=args.workers, dask=args.dask, min_score=args.min_score,
                    census_random=args.census_random, progress=not args.quiet)
    print(f"wrote {page} and {page.with_name('report.json')}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``evo-circuits discover`` to the CLI parser."""
    d = sub.add_parser("discover", help="discovery campaign: evolve tasks from several seeds, report recurring cores",
                       description="Evolve each task (runs/<task>.toml) from several seeds, prune the champions "
                                   "to cores, add them to the motif library, run the census, and write "
                                   "report.html + report.json: which cores recur and their nearest named motifs.")
    d.add_argument("--tasks", nargs="+", required=True, metavar="TASK")
    d.add_argument("--seeds", type=int, default=4, help="seeds 0..N-1 per task (default 4)")
    d.add_argument("-o", "--out", default=None, help="report folder (default runs/discover-<UTC time>)")
    d.add_argument("--configs", default="runs", help="folder of the run configs <task>.toml (default runs/)")
    d.add_argument("--library", metavar="PATH", default=None,
                   help="library database (default: $EVO_CIRCUITS_LIBRARY or motifs/library.db)")
    d.add_argument("--generations", type=int, help="override every config's generations")
    par = d.add_mutually_exclusive_group()
    par.add_argument("--workers", type=int, help="evaluate in a local process pool of N workers")
    par.add_argument("--dask", metavar="ADDR", help="evaluate on a Dask cluster (tcp://host:port)")
    d.add_argument("--min-score", type=float, default=0.9, help="store only cores scoring at least this")
    d.add_argument("--census-random", type=int, default=20, help="randomised circuits per champion (census)")
    d.add_argument("--quiet", action="store_true", help="no line per run")
    d.set_defaults(func=_cmd_discover)
