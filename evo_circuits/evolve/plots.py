"""Plots of a run directory: fitness curves, champion drawing and its task raster."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ..errors import EvoCircuitsError


def run_plots(run_dir: str | Path) -> list[Path]:
    """(Re)draw ``plots/*.png`` of a run from its files; returns the paths written."""
    from .. import plots
    from ..io import load
    from ..simulate import simulate
    from ..tasks import fitness_from_dict

    run_dir = Path(run_dir)
    try:
        rows = list(csv.DictReader((run_dir / "logbook.csv").open()))
        champ = load(run_dir / "champion.json")
    except FileNotFoundError as exc:
        raise EvoCircuitsError(f"{run_dir}: not a run directory ({Path(exc.filename).name} missing)") from None
    out = run_dir / "plots"
    out.mkdir(exist_ok=True)
    status = json.loads((run_dir / "status.json").read_text()) if (run_dir / "status.json").exists() else {}
    written = [plots.fitness_curves(rows, out / "fitness.png",
                                    title=f"{run_dir.name}: {status.get('algorithm', '')} on {status.get('task', '')}")]
    spec_file = run_dir / "fitness.resolved.json"
    if spec_file.exists():
        spec = fitness_from_dict(json.loads(spec_file.read_text()))
        res, batch, _ = spec.evaluate(champ, seed=int(status.get("seed", 0)), return_raw=True)
        rec = simulate(champ, batch.inputs, seed=int(status.get("seed", 0)), record_spikes=True)
        n = min(4, batch.inputs.n_trials)
        titles = [f"trial {t}: label {batch.labels[t].tolist() if hasattr(batch.labels[t], 'tolist') else batch.labels[t]}"
                  for t in range(n)]
        written.append(plots.raster(champ, batch.inputs, rec, out / "champion_raster.png", trials=n,
                                    trial_titles=titles, title=f"champion on {spec.name}: score {res.score[0]:.3f}"))
    try:
        from ..motifs.draw import draw_motif
    except ImportError:  # the motif drawing module is optional at this stage
        draw_motif = None
    if draw_motif is not None:
        draw_motif(champ, out / "champion.png")
        written.append(out / "champion.png")
    return written
