"""Finding and summarising run directories (``evo-circuits runs``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ..errors import EvoCircuitsError

RUNS_DIR = Path("runs")


def find_run(run_id: str, root: str | Path = RUNS_DIR) -> Path:
    """A run directory from a path or a run id under ``root``."""
    for cand in (Path(run_id), Path(root) / run_id):
        if (cand / "config.resolved.json").is_file():
            return cand
    raise EvoCircuitsError(f"run {run_id!r}: not found (looked for {run_id} and {Path(root) / run_id})")


def list_runs(root: str | Path = RUNS_DIR) -> list[dict]:
    """Status of every run under ``root``, newest first."""
    rows = []
    root = Path(root)
    if not root.is_dir():
        return rows
    for d in root.iterdir():
        status_file = d / "status.json"
        if not status_file.is_file():
            continue
        try:
            s = json.loads(status_file.read_text())
        except json.JSONDecodeError:
            s = {"status": "unreadable"}
        rows.append({"run": d.name, "path": str(d), **s})
    return sorted(rows, key=lambda r: r.get("updated", ""), reverse=True)


def summarize(run_dir: Path) -> str:
    """Multi-line human summary of one run."""
    status = json.loads((run_dir / "status.json").read_text()) if (run_dir / "status.json").exists() else {}
    cfg = json.loads((run_dir / "config.resolved.json").read_text())
    lines = [f"run {run_dir.name}  ({run_dir})",
             f"status: {status.get('status', '?')} at generation {status.get('generation', '?')}/{cfg['generations']}, "
             f"{status.get('evaluations', '?')} evaluations",
             f"task: {status.get('task', '?')}  fitness: {cfg['fitness']}",
             f"algorithm: {cfg['algorithm']}  population {cfg['population']}  seed {cfg['seed']}  backend {cfg['backend']}",
             f"best score: {status.get('best_score', float('nan')):.4f}"]
    log = run_dir / "logbook.csv"
    if log.exists():
        rows = list(csv.DictReader(log.open()))
        if rows:
            reach = next((r["generation"] for r in rows if float(r["score_best"]) >= 0.9), None)
            walls = [float(r["wall_s"]) for r in rows]
            lines.append(f"score >= 0.9 first at generation {reach}" if reach is not None else "score never reached 0.9")
            lines.append(f"wall time {sum(walls):.1f} s, mean {sum(float(r['evals_per_s']) for r in rows) / len(rows):.0f} evaluations/s")
    champ = run_dir / "champion.json"
    if champ.exists():
        from ..io import load

        c = load(champ)
        lines.append(f"champion: {c!r}")
        lines.append(f"champion objectives: {c.metadata.get('objectives')}")
    hof = sorted((run_dir / "hall_of_fame").glob("rank_*.json"))
    lines.append(f"hall of fame: {len(hof)} circuits in {run_dir / 'hall_of_fame'}")
    return "\n".join(lines)
