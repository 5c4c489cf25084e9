"""Plots of a run directory: fitness curves, champion drawing and its task raster."""

from __future__ import annotations

from pathlib import Path

from ..errors import EvoCircuitsError
from .runs import read_champion, read_fitness, read_logbook, read_status


def run_plots(run_dir: str | Path, *, trust_plugins: bool = False) -> list[Path]:
    """(Re)draw ``plots/*.png`` of a run from its files; returns the paths written.

    Every file is read through the checked readers of :mod:`.runs`, and all of them
    before anything is drawn; ``trust_plugins`` as in :func:`~evo_circuits.evolve.run.resume`.
    """
    from .. import plots
    from ..simulate import simulate

    run_dir = Path(run_dir)
    for name in ("logbook.csv", "champion.json"):
        if not (run_dir / name).is_file():
            raise EvoCircuitsError(f"{run_dir}: not a run directory ({name} missing)")
    rows = read_logbook(run_dir)
    if not rows:
        raise EvoCircuitsError(f"{run_dir / 'logbook.csv'}: no generations logged yet")
    champ = read_champion(run_dir / "champion.json")
    status = read_status(run_dir)
    spec_file = run_dir / "fitness.resolved.json"
    spec = read_fitness(run_dir, trust_plugins=trust_plugins) if spec_file.exists() else None
    out = run_dir / "plots"
    out.mkdir(exist_ok=True)
    written = [plots.fitness_curves(rows, out / "fitness.png",
                                    title=f"{run_dir.name}: {status.get('algorithm', '')} on {status.get('task', '')}")]
    if spec is not None:
        seed = int(status.get("seed", 0))
        res, batch, _ = spec.evaluate(champ, seed=seed, return_raw=True)
        rec = simulate(champ, batch.inputs, seed=seed, record_spikes=True)
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
