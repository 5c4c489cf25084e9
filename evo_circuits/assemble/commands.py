"""CLI command ``evo-circuits assemble``: build a network from an assembly spec."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..errors import EvoCircuitsError
from ..io import save
from ..io.atomic import write_text
from ..motifs.library import default_library_path
from .build import assemble


def cli_library(arg: str | os.PathLike | None) -> Path | None:
    """The motif library a command uses: ``--library`` (must exist), else the default
    (``$EVO_CIRCUITS_LIBRARY`` or ``motifs/library.db``) if that file exists, else none."""
    if arg is not None:
        if not Path(arg).is_file():
            raise EvoCircuitsError(f"--library: {arg}: no such motif library")
        return Path(arg)
    default = default_library_path()
    return default if default.is_file() else None


def _cmd_assemble(args: argparse.Namespace) -> int:
    if args.draw is not None and args.draw.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise EvoCircuitsError(f"--draw: {args.draw}: drawing format must be .png, .svg or .pdf")
    for flag, path in (("-o", args.out), ("--mask", args.mask), ("--summary", args.summary), ("--draw", args.draw)):
        if path is not None and not path.parent.is_dir():
            raise EvoCircuitsError(f"{flag}: {path.parent}: no such directory")
    asm = assemble(args.spec, library=cli_library(args.library), seed=args.seed)
    c = asm.circuit
    save(c, args.out)
    print(f"{c!r}")
    for m in asm.modules:
        print(f"  module {m['name']}: {m['copies']} x {m['neurons_per_copy']} neurons ({m['source']}), "
              f"neurons {m['first']}..{m['stop'] - 1}, {m['n_exc']}E + {m['n_inh']}I")
    for k in asm.connections:
        extra = f", {k['merged']} merged" if k["merged"] else ""
        extra += f", {k['growable']} may grow" if k["growable"] else ""
        print(f"  connection {k['index']} {k['name']} ({k['pattern']}, {k['sign']}): {k['synapses']} synapses "
              f"from {k['candidates']} candidates{extra}")
    summary = asm.to_dict()["mask"]
    print(f"  synapses: {summary['existing']} existing, {summary['growable']} may grow, "
          f"{summary['trainable']} trainable, {summary['frozen']} frozen")
    for w in asm.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"wrote {args.out}")
    if args.mask:
        asm.save_structure(args.mask)
        print(f"wrote {args.mask}")
    if args.summary:
        write_text(args.summary, json.dumps(asm.to_dict(), indent=2) + "\n")
        print(f"wrote {args.summary}")
    if args.draw:
        from .draw import draw_assembly

        print(f"wrote {draw_assembly(c, args.draw)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``evo-circuits assemble`` to the command parser."""
    s = sub.add_parser("assemble", help="build one network from motifs with an assembly spec (TOML)",
                       description="Build one network from motifs with an assembly spec (docs/assemble.md) and "
                                   "write it as circuit JSON, with module membership in its metadata.")
    s.add_argument("spec", type=Path, help="assembly spec (TOML), e.g. docs/examples/assemble_digits_wta.toml")
    s.add_argument("-o", "--out", required=True, type=Path, help="circuit JSON to write")
    s.add_argument("--mask", type=Path, help="also write the structure (mask, trainable, module, copy) as NPZ")
    s.add_argument("--summary", type=Path, help="also write a JSON summary (modules, connections, counts)")
    s.add_argument("--draw", type=Path, help="also draw the network grouped by module (png/svg/pdf)")
    s.add_argument("--library", type=Path, help="motif library for 'motif = <id or name>' "
                                                "(default: $EVO_CIRCUITS_LIBRARY or motifs/library.db if present)")
    s.add_argument("--seed", type=int, help="seed of connection sampling and weights (default: the spec's seed, else 0)")
    s.set_defaults(func=_cmd_assemble)
