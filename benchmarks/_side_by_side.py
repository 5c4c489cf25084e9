"""Side-by-side measurement of two versions of the package in one process.

An old revision is checked out in a detached git worktree and imported under another
module name next to the current ``evo_circuits``; a benchmark then checks both give
identical results on identical inputs and times them interleaved (old, new, old, new...),
which cancels most of a shared machine's drift. The ratio is what to read.

Used by ``benchmarks/redesign_ab.py`` and ``benchmarks/tasks.py --against REV``.
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent


def checkout(rev: str, repo: Path = ROOT) -> Path:
    """A detached worktree of ``rev`` under the temp directory, created or reused.

    Parameters
    ----------
    rev : str
        Any git revision (commit id, branch, tag).
    repo : Path
        The repository to check out from (default: this tree's).

    Returns
    -------
    Path
        ``<tmp>/evo-against-<full sha>``; an existing directory of that name is reused.
    """
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                         check=True, capture_output=True, text=True).stdout.strip()
    path = Path(tempfile.gettempdir()) / f"evo-against-{sha}"
    if not (path / "evo_circuits" / "__init__.py").exists():
        # --force: a directory left registered by a deleted checkout does not block this one.
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--force", "--detach", str(path), sha],
                       check=True, capture_output=True, text=True)
    return path


def load_package(path: Path, name: str = "evo_base") -> ModuleType:
    """Import the ``evo_circuits`` package found under ``path`` as module ``name``.

    Its relative imports resolve inside it, so the two versions do not mix; its numba
    functions compile (and cache) next to its own files.
    """
    if name in sys.modules:
        return sys.modules[name]
    pkg = Path(path) / "evo_circuits"
    spec = importlib.util.spec_from_file_location(name, pkg / "__init__.py", submodule_search_locations=[str(pkg)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def interleave(fns: Sequence[Callable[[], object]], repeats: int) -> list[list[float]]:
    """Wall times (s) of each function, called in turn ``repeats`` times: one list per function."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, acc in zip(fns, times):
            t = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t)
    return times


def report(label: str, t_old: list[float], t_new: list[float], unit: str = "ms") -> None:
    """One line: both medians and the speed ratio old/new (median and min)."""
    k = 1e3 if unit == "ms" else 1.0
    mo, mn = statistics.median(t_old), statistics.median(t_new)
    print(f"{label}: before {k * mo:.2f} {unit}, after {k * mn:.2f} {unit} (medians of {len(t_old)}); "
          f"after/before speed {mo / mn:.3f} (median), {min(t_old) / min(t_new):.3f} (min)")
