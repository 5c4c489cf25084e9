"""Finding, reading and summarising run directories (``evo-circuits runs``).

A run folder may come from someone else, so every file in it is read through one of
the checked readers here (``read_status``, ``read_resolved``, ``read_logbook``,
``read_champion``): a missing key, a truncated logbook, binary bytes or a circuit
claiming a billion inputs is a one-line :class:`~evo_circuits.errors.FormatError`
naming the file, never a traceback.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from ..circuit import Circuit
from ..errors import EvoCircuitsError, FormatError
from ..io import load
from ..io.caps import file_caps
from ..io.files import read_json, read_text
from ..tasks import FitnessSpec
from ..tasks.spec import load_resolved_fitness

RUNS_DIR = Path("runs")


def read_run_json(run_dir: str | Path, name: str) -> dict:
    """A JSON object file of a run folder (``status.json``, ``config.resolved.json``)."""
    path = Path(run_dir) / name
    data = read_json(path, f"run-folder file {name}")
    if not isinstance(data, dict):
        raise FormatError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def read_status(run_dir: str | Path) -> dict:
    """``status.json`` of a run ({} if missing), with its values type-checked."""
    if not (Path(run_dir) / "status.json").exists():
        return {}
    status = read_run_json(run_dir, "status.json")
    for key, kinds in (("status", str), ("task", str), ("algorithm", str), ("updated", str),
                       ("generation", int), ("generations", int), ("evaluations", int), ("seed", int),
                       ("best_score", (int, float))):
        value = status.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
            raise FormatError(f"{Path(run_dir) / 'status.json'}: {key}: wrong type ({type(value).__name__})")
    return status


def read_logbook(run_dir: str | Path) -> list[dict[str, str]]:
    """Rows of ``logbook.csv``, each checked complete and numeric ([] if missing).

    Raises
    ------
    FormatError
        A truncated row, a missing column, or a value that is not a finite number.
    """
    path = Path(run_dir) / "logbook.csv"
    if not path.exists():
        return []
    text = read_text(path, "logbook (CSV)")
    if text and not text.endswith("\n"):  # written whole, newline-terminated, by an atomic replace
        raise FormatError(f"{path}: truncated (the last line does not end)")
    reader = csv.DictReader(text.splitlines())
    if text and "generation" not in (reader.fieldnames or []):
        raise FormatError(f"{path}: no 'generation' column (not a logbook)")
    rows = list(reader)
    for i, row in enumerate(rows, 2):
        if None in row or any(v is None for v in row.values()):
            raise FormatError(f"{path}: line {i}: wrong number of columns (truncated or edited?)")
        for key, value in row.items():
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise FormatError(f"{path}: line {i}: {key}: expected a finite number, got {value[:20]!r}")
    return rows


def read_fitness(run_dir: str | Path, *, trust_plugins: bool = False) -> FitnessSpec:
    """The run's ``fitness.resolved.json`` as a spec; its plugin runs only if trusted."""
    return load_resolved_fitness(Path(run_dir) / "fitness.resolved.json", trust_plugins=trust_plugins)


def read_champion(path: str | Path) -> Circuit:
    """A circuit file of a run folder, read with the command line's size caps."""
    if not Path(path).is_file():
        raise FormatError(f"{path}: missing (not a finished run directory?)")
    return load(path, **file_caps())


def find_run(run_id: str, root: str | Path = RUNS_DIR) -> Path:
    """A run directory from a path or a run id under ``root``."""
    for cand in (Path(run_id), Path(root) / run_id):
        if (cand / "config.resolved.json").is_file():
            return cand
    raise EvoCircuitsError(f"run {run_id!r}: not found (looked for {run_id} and {Path(root) / run_id})")


def list_runs(root: str | Path = RUNS_DIR) -> list[dict]:
    """Status of every run under ``root``, newest first (an unreadable status says so)."""
    rows = []
    root = Path(root)
    if not root.is_dir():
        return rows
    for d in root.iterdir():
        if not (d / "status.json").is_file():
            continue
        try:
            s = read_status(d)
        except FormatError:
            s = {"status": "unreadable"}
        rows.append({"run": d.name, "path": str(d), **s})
    return sorted(rows, key=lambda r: str(r.get("updated", "")), reverse=True)


def summarize(run_dir: Path) -> str:
    """Multi-line human summary of one run."""
    status = read_status(run_dir)
    cfg = read_run_json(run_dir, "config.resolved.json")
    where = run_dir / "config.resolved.json"
    missing = [k for k in ("generations", "fitness", "algorithm", "population", "seed", "backend") if k not in cfg]
    if missing:
        raise FormatError(f"{where}: missing key {missing[0]!r}")
    best = status.get("best_score")
    lines = [f"run {run_dir.name}  ({run_dir})",
             f"status: {status.get('status', '?')} at generation {status.get('generation', '?')}/{cfg['generations']}, "
             f"{status.get('evaluations', '?')} evaluations",
             f"task: {status.get('task', '?')}  fitness: {cfg['fitness']}",
             f"algorithm: {cfg['algorithm']}  population {cfg['population']}  seed {cfg['seed']}  backend {cfg['backend']}",
             f"best score: {best:.4f}" if best is not None else "best score: ?"]
    rows = read_logbook(run_dir)
    if rows:
        reach = next((r["generation"] for r in rows if float(r.get("score_best", "nan")) >= 0.9), None)
        walls = [float(r.get("wall_s", 0.0)) for r in rows]
        rates = [float(r.get("evals_per_s", 0.0)) for r in rows]
        lines.append(f"score >= 0.9 first at generation {reach}" if reach is not None else "score never reached 0.9")
        lines.append(f"wall time {sum(walls):.1f} s, mean {sum(rates) / len(rows):.0f} evaluations/s")
    champ = run_dir / "champion.json"
    if champ.exists():
        c = read_champion(champ)
        lines.append(f"champion: {c!r}")
        lines.append(f"champion objectives: {c.metadata.get('objectives')}")
    hof = sorted((run_dir / "hall_of_fame").glob("rank_*.json"))
    lines.append(f"hall of fame: {len(hof)} circuits in {run_dir / 'hall_of_fame'}")
    return "\n".join(lines)

