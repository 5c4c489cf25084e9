"""Hostile-file fuzzing of every file-reading command (issue 12); prints the table.

    python benchmarks/fuzz.py              # the quick corpus (what `make test` runs)
    python benchmarks/fuzz.py --fuzz-long  # every attack, ZIP bombs and slow variants too
    python benchmarks/fuzz.py --kind checkpoint -v   # one file kind, one line per attack

Each attack copies a small valid project (tests/hostile/world.py), spoils one file and
runs the command in-process with its address space capped. A clean refusal is exit code
2 with one line on stderr; "accepted" is a hostile-but-valid input that worked and
passed its check. Failures: "wrongly refused", "silently wrong" (accepted bad input, a
wrong result, plugin code run, escapes printed raw), "traceback" (any exception or
exit 1), "data lost" (a file outside out/ changed). Exit code 1 if any attack failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostile import attacks, runner, world  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fuzz-long", action="store_true", help="every attack, not only the quick set")
    ap.add_argument("--kind", help="only this file kind (e.g. 'checkpoint')")
    ap.add_argument("--match", help="only attacks whose name contains this")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per attack")
    args = ap.parse_args(argv)
    todo = attacks.all_attacks() if args.fuzz_long else attacks.quick_attacks()
    if args.kind:
        todo = [a for a in todo if a.kind == args.kind]
    if args.match:
        todo = [a for a in todo if args.match in a.name]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="evo-fuzz-world-") as tmp:
        w = world.build(Path(tmp) / "world")

        def show(attack, res):
            bad = res.verdict in runner.BAD_VERDICTS
            if args.verbose or bad:
                print(f"{'FAIL' if bad else 'ok  '} {res.verdict:<15} {attack.id}: {res.detail[:160]!r}", flush=True)

        results = runner.run_all(todo, w, show)
    print()
    print(runner.table(results))
    print(f"\n{len(results)} attacks in {time.perf_counter() - t0:.0f} s")
    return int(any(res.verdict in runner.BAD_VERDICTS for _, res in results))


if __name__ == "__main__":
    sys.exit(main())
