"""CLI commands of the motif library: ``evo-circuits motifs list|show|draw|gallery|export|import``.

Every command takes ``--library PATH`` (else ``$EVO_CIRCUITS_LIBRARY``, else
``motifs/library.db``). Bad input raises :class:`~evo_circuits.errors.EvoCircuitsError`
subclasses, which the CLI prints as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import FormatError
from ..io import IMPORT_CAPS, format_from_suffix, load, save
from ..io.nir import DEFAULT_FLAVOUR, NIR_ALLOWANCES, NIR_FLAVOURS, allowance_flag
from .similarity import MAX_DISTANCE, nearest_named, relations


def add_nir_export_arguments(s: argparse.ArgumentParser) -> None:
    """``--nir-flavour`` and one ``--allow-...`` flag per :data:`NIR_ALLOWANCES` entry."""
    s.add_argument("--nir-flavour", choices=NIR_FLAVOURS,
                   help=f"NIR layout (default {DEFAULT_FLAVOUR}): cuba (one CubaLIF population that snnTorch and "
                        "Norse load and run; refuses what it cannot hold unless allowed below) or exact "
                        "(LIF + two LI synapses + Delay nodes, NIR's exact model; neither snnTorch nor Norse loads it)")
    for key, what in NIR_ALLOWANCES.items():
        s.add_argument(allowance_flag(key), dest=key, action="store_true",
                       help=f"NIR cuba flavour: allow {what}")


def nir_export_options(args: argparse.Namespace, fmt: str) -> dict:
    """The NIR options of :func:`add_nir_export_arguments` for :func:`evo_circuits.io.save`."""
    given = {key: True for key in NIR_ALLOWANCES if getattr(args, key)}
    if args.nir_flavour:
        given["flavour"] = args.nir_flavour
    if fmt != "nir" and given:
        raise FormatError("--nir-flavour and the --allow-... flags apply to NIR output only")
    return given


def _open(args: argparse.Namespace):
    from .library import MotifLibrary

    return MotifLibrary(args.library)


def _fmt_score(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def _cmd_list(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        if args.distance is not None and args.near is None:
            raise FormatError("--distance goes with --near NAME")
        rows = lib.list(task=args.task, min_score=args.min_score, contains=args.contains,
                        max_neurons=args.max_neurons, sort=args.sort, within=args.within, near=args.near,
                        distance=1 if args.distance is None else args.distance)
        missing = None if lib.exists else lib.path
        nearest = {r.id: nearest_named(lib.get(r.id)) for r in rows}
    if args.json:
        json.dump([{**r.to_dict(), "nearest": nearest[r.id].to_dict() if nearest[r.id] else None} for r in rows],
                  sys.stdout, indent=1, allow_nan=False)
        print()
        return 0
    table = [("id", "name", "size", "in/out", "syn", "tasks", "best", "occ", "nearest named motif")]
    for r in rows:
        near = nearest[r.id].describe() if nearest[r.id] else "-"
        table.append((str(r.id), r.name or "-", f"{r.n_exc}E+{r.n_inh}I", f"{r.n_inputs}/{r.n_outputs}",
                      str(r.n_synapses), ",".join(r.tasks) or "-", _fmt_score(r.best_score), str(r.occurrences),
                      near))
    widths = [max(len(row[k]) for row in table) for k in range(len(table[0]))]
    right = {0, 3, 4, 6, 7}
    for row in table:
        print("  ".join(cell.rjust(w) if k in right else cell.ljust(w)
                        for k, (cell, w) in enumerate(zip(row, widths))).rstrip())
    print(f"{len(rows)} motif(s)" + (f" (built-in named motifs: {missing} does not exist yet)" if missing else ""))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        e = lib.entry(args.motif)
    related = relations(e.circuit)
    if args.json:
        json.dump({**e.to_dict(), "related": [r.to_dict() for r in related]}, sys.stdout, indent=1, allow_nan=False)
        print()
        return 0
    print(f"motif {e.id}" + (f" ({e.name})" if e.name else ""))
    print("  named motifs " + ("; ".join(r.describe() for r in related) if related
                               else f"none within edit distance {MAX_DISTANCE}"))
    print(f"  label        {e.label}")
    if e.circuit_name:
        print(f"  circuit name {e.circuit_name}")
    print(f"  size         {e.n_exc}E + {e.n_inh}I, {e.n_inputs} input(s), {e.n_outputs} output(s), "
          f"{e.n_synapses} synapses")
    print(f"  occurrences  {e.occurrences} ({e.runs} run(s), {e.seeds} run seed(s))")
    print(f"  added        {e.created}")
    if e.tasks:
        print("  tasks        " + ", ".join(f"{t} (best {_fmt_score(s)})" for t, s in e.tasks.items()))
    specs = sorted({(s["fitness"], s["fitness_hash"]) for s in e.scores or () if s.get("fitness")})
    if specs:
        print("  fitness      " + ", ".join(f"{n} (spec hash {h})" for n, h in specs))
    if e.census:
        print(f"  census       {json.dumps(e.census, allow_nan=False)}")
    if e.provenance:
        print("  provenance:")
        for p in e.provenance:
            parts = [p["source"]] + [f"{k}={p[k]}" for k in ("run_id", "generation", "seed", "config_hash",
                                                            "package_version", "file") if p.get(k) is not None]
            print(f"    {p['created']}  " + " ".join(parts))
    return 0


def _cmd_draw(args: argparse.Namespace) -> int:
    from .draw import draw_motif

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise FormatError(f"{out}: drawing format must be .png, .svg or .pdf")
    with _open(args) as lib:
        e = lib.entry(args.motif)
    mid, name, c = e.id, e.name, e.circuit
    drawn = draw_motif(c, out, title=name or c.name or f"motif {mid}", show_weights=args.weights,
                       show_taus=args.taus)
    print(f"wrote {drawn}")
    return 0


def _cmd_gallery(args: argparse.Namespace) -> int:
    from .gallery import write_gallery

    with _open(args) as lib:
        index = write_gallery(lib, args.out, rasters=not args.no_rasters, fitness_dir=args.fitness_dir,
                              seed=args.seed, trust_plugins=args.trust_plugins)
        n = len(lib)
    print(f"wrote {index} ({n} motif page(s))")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    fmt = args.format or format_from_suffix(args.out)
    with _open(args) as lib:
        c = lib.get(args.motif)
    options = nir_export_options(args, fmt)
    out = save(c, args.out, fmt, **options)
    print(f"wrote {out} ({fmt}" + (f", {options.get('flavour', DEFAULT_FLAVOUR)} flavour)" if fmt == "nir" else ")"))
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    # Validate every file before touching the library: one bad file adds nothing.
    circuits = [(path, load(path, args.format, **IMPORT_CAPS)) for path in args.files]
    with _open(args) as lib:
        for path, circuit in circuits:
            mid, is_new = lib.add(circuit, task=args.task, score=args.score,
                                  provenance={"source": "import", "file": str(path)})
            e = lib.entry(mid)
            what = "added as" if is_new else "already present as"
            print(f"{path}: {what} motif {mid}" + (f" ({e.name})" if e.name else "")
                  + f", {e.occurrences} occurrence(s)")
    return 0


def _resolve_runs(ids: list[str], root: str) -> list:
    from ..evolve.runs import find_run

    return [find_run(r, root) for r in ids]


def _cmd_add(args: argparse.Namespace) -> int:
    from .discover import harvest_run

    runs = _resolve_runs(args.runs, args.root)
    with _open(args) as lib:
        for run in runs:
            got = harvest_run(run, lib, epsilon=args.epsilon, min_score=args.min_score,
                              hall_of_fame=args.hall_of_fame, trust_plugins=args.trust_plugins)
            if not got:
                print(f"{run}: nothing stored (no circuit scores >= {args.min_score} after pruning)")
            for h in got:
                e = lib.entry(h.motif_id)
                print(f"{h.source}: pruned {len(h.pruning.removed)} part(s), score {h.pruning.score_before:.3f} -> "
                      f"{h.pruning.score_after:.3f}; {'new motif' if h.is_new else 'one more occurrence of motif'} "
                      f"{h.motif_id} ({h.similarity}), {e.occurrences} occurrence(s)")
                for item in h.pruning.removed:
                    print(f"    removed {item}")
    return 0


def _cmd_census(args: argparse.Namespace) -> int:
    from .discover import census_of_runs

    res = census_of_runs(_resolve_runs(args.runs, args.root), hall_of_fame=args.hall_of_fame,
                         n_random=args.n_random, seed=args.seed)
    print(res.to_table(only_motifs=not args.all, max_rows=args.max_rows))
    if not args.all:
        print(f"({len(res.motifs())} class(es) meet z > 2, p < 0.01, ratio > 1.1, >= 4 occurrences; "
              f"--all lists every class)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``evo-circuits motifs ...`` to the CLI parser."""
    from ..evolve.commands import add_trust_plugins
    from .library import SORT_KEYS

    p = sub.add_parser("motifs", help="browse, draw, export and import the motif library")
    msub = p.add_subparsers(dest="motifs_command", required=True, metavar="ACTION")

    def cmd(name: str, help: str, func) -> argparse.ArgumentParser:
        s = msub.add_parser(name, help=help, description=help)
        s.add_argument("--library", metavar="PATH", default=None,
                       help="library database (default: $EVO_CIRCUITS_LIBRARY or motifs/library.db)")
        s.set_defaults(func=func)
        return s

    s = cmd("list", "list motifs as a table (id, name, size, tasks, best score, occurrences)", _cmd_list)
    s.add_argument("--task", help="only motifs scored on this task")
    s.add_argument("--min-score", type=float, help="best score (on --task if given) at least this")
    s.add_argument("--contains", metavar="NAME", help="only motifs containing this named motif as a subgraph")
    s.add_argument("--within", metavar="NAME", help="only motifs that are this named motif or a part of it")
    s.add_argument("--near", metavar="NAME", help="only motifs within --distance edits of this named motif")
    s.add_argument("--distance", type=int, metavar="K", help="with --near: largest graph edit distance (default 1)")
    s.add_argument("--max-neurons", type=int, help="at most this many neurons")
    s.add_argument("--sort", choices=SORT_KEYS, default="occurrences")
    s.add_argument("--json", action="store_true", help="print JSON (for scripts)")

    s = cmd("show", "details and provenance of one motif", _cmd_show)
    s.add_argument("motif", metavar="ID|NAME")
    s.add_argument("--json", action="store_true", help="print the full entry as JSON")

    s = cmd("draw", "draw one motif (png/svg/pdf)", _cmd_draw)
    s.add_argument("motif", metavar="ID|NAME")
    s.add_argument("-o", "--out", required=True, help="output image (.png, .svg or .pdf)")
    s.add_argument("--weights", action="store_true", help="label synapses with their weights")
    s.add_argument("--taus", action="store_true", help="write each neuron's time constants (ms) under it")

    s = cmd("gallery", "write a static HTML gallery of the library", _cmd_gallery)
    s.add_argument("-o", "--out", required=True, help="output folder")
    s.add_argument("--no-rasters", action="store_true", help="skip simulating the motifs (faster)")
    s.add_argument("--fitness-dir", default="fitness", help="where <task>.toml specs are (default: fitness)")
    s.add_argument("--seed", type=int, default=0)
    add_trust_plugins(s)

    s = cmd("export", "write one motif as json, graphml, nir or npz", _cmd_export)
    s.add_argument("motif", metavar="ID|NAME")
    s.add_argument("--format", choices=("json", "graphml", "nir", "npz"),
                   help="default: from the output file's suffix")
    add_nir_export_arguments(s)
    s.add_argument("-o", "--out", required=True)

    s = cmd("add", "prune the champions of finished runs and store their cores", _cmd_add)
    s.add_argument("runs", nargs="+", metavar="RUN_ID")
    s.add_argument("--root", default="runs", help="folder holding runs (default runs/)")
    s.add_argument("--epsilon", type=float, default=0.02, help="largest score drop pruning may cause")
    s.add_argument("--min-score", type=float, default=0.9, help="store only cores scoring at least this")
    s.add_argument("--hall-of-fame", action="store_true", help="also the runs' hall of fame")
    add_trust_plugins(s)

    s = cmd("census", "3/4-node E/I subgraph census of runs' champions against a null model", _cmd_census)
    s.add_argument("runs", nargs="+", metavar="RUN_ID")
    s.add_argument("--root", default="runs")
    s.add_argument("--hall-of-fame", action="store_true", help="include each run's hall of fame")
    s.add_argument("--n-random", type=int, default=100, help="randomised circuits per circuit")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--all", action="store_true", help="list every class, not only significant ones")
    s.add_argument("--max-rows", type=int)

    s = cmd("import", "add motif files (circuit JSON, GraphML or NIR) to the library", _cmd_import)
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument("--format", choices=("json", "graphml", "nir"), help="default: detected from the content")
    s.add_argument("--task", help="record the motif under this task")
    s.add_argument("--score", type=float, help="with --task: its score")
