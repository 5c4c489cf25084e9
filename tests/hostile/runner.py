"""Run one attack in-process and judge it; summarise many as the issue's table."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import resource
import signal
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from . import world as world_mod

#: Verdicts, best first; a failed attack gets the worst that applies.
OK_VERDICTS = ("refused", "accepted")
BAD_VERDICTS = ("wrongly refused", "silently wrong", "traceback", "data lost")

#: Extra address space an attack may take before MemoryError (a hostile file claiming
#: gigabytes must be refused before allocating, not fail on a full machine).
MEMORY_HEADROOM = 3 * 2**30
TIMEOUT_S = 120


@dataclass(frozen=True)
class Attack:
    """One hostile input and the command that reads it.

    Attributes
    ----------
    kind : str
        The file kind attacked ("circuit JSON", "checkpoint", ...): a row of the table.
    name : str
        What is wrong with the file.
    argv : tuple of str
        The command, run in a copy of the world folder.
    setup : callable(Path) or None
        Spoils the world copy (writes the hostile file).
    expect : {"refuse", "accept", "any"}
        A refusal is exit 2 with one line; an acceptance exit 0; "any" takes either
        (a command that does not read the spoiled file).
    check : callable(Path, Outcome) -> str or None
        After an accepted run: what is silently wrong, if anything.
    changes : tuple of str
        Paths (relative, prefix match) an accepted run may change besides ``out/``.
    quick : bool
        Part of the set run by ``make test``.
    env : tuple of (name, value)
        Environment variables set for the command (e.g. a lowered cap).
    """

    kind: str
    name: str
    argv: tuple[str, ...]
    setup: Callable[[Path], None] | None = None
    expect: str = "refuse"
    check: Callable[[Path, "Outcome"], str | None] | None = None
    changes: tuple[str, ...] = ()
    quick: bool = True
    env: tuple[tuple[str, str], ...] = ()

    @property
    def id(self) -> str:
        return f"{self.kind}: {self.name}"


@dataclass
class Outcome:
    """What one attack did."""

    code: int | None
    stdout: str
    stderr: str
    escaped: str | None = None      # an exception that left cli.main
    changed: list[str] = field(default_factory=list)
    plugin_ran: bool = False
    verdict: str = ""
    detail: str = ""


class _Timeout(BaseException):
    """Raised by the alarm (not an Exception, so the CLI guard does not catch it)."""


def snapshot(root: Path) -> dict[str, str]:
    """Content hash of every file under ``root`` except ``out/`` and SQLite's -wal/-shm."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir.parts[:1] == ("out",):
            continue
        for name in filenames:
            if name.endswith(("-wal", "-shm")):
                continue
            p = Path(dirpath) / name
            rel = str(rel_dir / name)
            try:
                if p.is_symlink():
                    out[rel] = f"-> {os.readlink(p)}"
                elif not p.is_file():  # a FIFO would block
                    out[rel] = f"special {p.lstat().st_mode:o}"
                else:
                    out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            except OSError as exc:
                out[rel] = f"unreadable {exc.errno}"
    return out


@contextlib.contextmanager
def _limits(timeout_s: float):
    """Cap the address space (MemoryError instead of swapping) and the wall time."""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    with open("/proc/self/statm") as fh:
        used = int(fh.read().split()[5]) * resource.getpagesize()  # data + stack
    limit = used + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))

    def alarm(signum, frame):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def run_attack(attack: Attack, world: Path, scratch: Path, timeout_s: float = TIMEOUT_S) -> Outcome:
    """Copy ``world`` into ``scratch``, spoil it, run the command there and judge it."""
    from evo_circuits.cli import main

    here = world_mod.copy(world, scratch / "world")
    if attack.setup is not None:
        attack.setup(here)
    before = snapshot(here)
    out, err = io.StringIO(), io.StringIO()
    old_cwd, old_env = Path.cwd(), dict(os.environ)
    os.environ["EVO_CIRCUITS_LIBRARY"] = str(here / "lib.db")
    os.environ.pop("EVO_CIRCUITS_DEBUG", None)
    os.environ.update(dict(attack.env))
    escaped = None
    code: int | None = None
    try:
        os.chdir(here)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _limits(timeout_s):
            try:
                code = main(list(attack.argv))
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 2
            except _Timeout:
                escaped = f"timeout after {timeout_s:g} s"
            except BaseException as exc:  # noqa: BLE001 - any escape is what we measure
                escaped = f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)
    after = snapshot(here)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    accepted = code == 0 and attack.expect in ("accept", "any")
    allowed = [c for c in changed if accepted and c.startswith(attack.changes or ("\0",))]
    res = Outcome(code=code, stdout=out.getvalue(), stderr=err.getvalue(), escaped=escaped,
                  changed=[c for c in changed if c not in allowed], plugin_ran=(here / "PWNED").exists())
    res.verdict, res.detail = judge(attack, res, here)
    return res


def judge(attack: Attack, res: Outcome, here: Path) -> tuple[str, str]:
    """The verdict of one outcome (see :data:`OK_VERDICTS`, :data:`BAD_VERDICTS`)."""
    err_lines = res.stderr.strip().splitlines()
    if res.changed:
        return "data lost", f"changed: {', '.join(res.changed[:4])}"
    if res.escaped is not None or "Traceback" in res.stderr or res.code == 1:
        return "traceback", res.escaped or (err_lines[-1] if err_lines else f"exit {res.code}")
    if res.plugin_ran:
        return "silently wrong", "plugin code ran without --trust-plugins"
    if res.code == 2:
        if len([ln for ln in err_lines if not ln.startswith("note:")]) != 1:
            return "traceback", f"{len(err_lines)} lines on stderr: {' | '.join(err_lines[:3])}"
        if "\x1b" in res.stderr:
            return "silently wrong", "terminal escape printed raw"
        if attack.expect == "accept":
            return "wrongly refused", err_lines[-1]
        return "refused", err_lines[-1]
    if res.code == 0:
        if "\x1b" in res.stdout:
            return "silently wrong", "terminal escape printed raw"
        if attack.expect == "refuse":
            return "silently wrong", "accepted: " + (res.stdout.strip().splitlines() or [""])[-1][:200]
        problem = attack.check(here, res) if attack.check else None
        if problem:
            return "silently wrong", problem
        return "accepted", (res.stdout.strip().splitlines() or [""])[-1][:200]
    return "traceback", f"exit code {res.code}: {' | '.join(err_lines[:3])}"


def run_all(attacks: Sequence[Attack], world: Path, progress: Callable[[Attack, Outcome], None] | None = None
            ) -> list[tuple[Attack, Outcome]]:
    """Run every attack, each in its own scratch copy of ``world``."""
    results = []
    for attack in attacks:
        with tempfile.TemporaryDirectory(prefix="evo-fuzz-") as tmp:
            res = run_attack(attack, world, Path(tmp))
        results.append((attack, res))
        if progress is not None:
            progress(attack, res)
    return results


def table(results: Sequence[tuple[Attack, Outcome]]) -> str:
    """The closing-note table: per file kind, attacks tried and how they ended."""
    cols = ("attacks", "refused", "accepted") + BAD_VERDICTS
    per_kind: dict[str, Counter] = defaultdict(Counter)
    for attack, res in results:
        per_kind[attack.kind]["attacks"] += 1
        per_kind[attack.kind][res.verdict] += 1
    total = Counter()
    for c in per_kind.values():
        total.update(c)
    rows = [("file kind",) + cols]
    rows += [(kind,) + tuple(str(c[k]) for k in cols) for kind, c in per_kind.items()]
    rows.append(("total",) + tuple(str(total[k]) for k in cols))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths)))
             + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
