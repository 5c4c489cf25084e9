"""Every matplotlib figure of evo-circuits, in one place.

Functions take data and a path, draw with the non-interactive Agg backend and save the
figure atomically; they return the path.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .circuit import Circuit
from .io.atomic import atomic_open
from .simulate import InputSpikes, SimResult
from .stats import mean_ci

E_COLOUR = "#c0392b"
I_COLOUR = "#2e6fbf"
INPUT_COLOUR = "#555555"


IMAGE_FORMATS = ("png", "svg", "pdf")


def image_format(path: str | os.PathLike) -> str:
    """The image format of ``path`` from its suffix; a one-line error if it is not one we write."""
    from .errors import FormatError

    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in IMAGE_FORMATS:
        raise FormatError(f"{path}: drawing format must be one of {', '.join('.' + f for f in IMAGE_FORMATS)}")
    return fmt


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (files only, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format=fmt, dpi=120, bbox_inches="tight")
    pyplot().close(fig)
    return path


def raster(circuit: Circuit, inputs: InputSpikes, result: SimResult, path: str | os.PathLike,
           trials: int = 3, individual: int = 0, v_neuron: int | None = None,
           trial_titles: list[str] | None = None, title: str | None = None) -> Path:
    """Input and output spike raster of a few trials, optionally with one voltage trace.

    Parameters
    ----------
    circuit : Circuit
    inputs : InputSpikes
    result : SimResult
        Must hold spikes (``record_spikes=True``); with ``record_v`` and ``v_neuron`` a
        voltage panel is added.
    path : str or PathLike
        Output file; the format follows the suffix (png, svg, pdf).
    trials : int
        Number of trials drawn, one column each.
    trial_titles : list of str, optional
        Title of each trial's column (e.g. its label).
    title : str, optional
        Figure title (default: circuit name and size).
    """
    if result.spikes is None:
        raise ValueError("raster: simulate with record_spikes=True")
    plt = pyplot()
    n_tr = min(trials, inputs.n_trials)
    with_v = v_neuron is not None and result.v is not None
    fig, axes = plt.subplots(2 if with_v else 1, n_tr, figsize=(4.2 * n_tr, 4.6 if with_v else 3.4),
                             squeeze=False, sharex=True,
                             gridspec_kw={"height_ratios": [3, 1.4]} if with_v else None)
    dt = result.dt_ms
    sp = result.spikes
    n_in, n = circuit.n_inputs, circuit.n_neurons
    for t in range(n_tr):
        ax = axes[0, t]
        m = inputs.trial == t
        if inputs.per_individual:
            m &= inputs.individual == individual
        m &= inputs.channel < n_in
        ax.scatter(inputs.step[m] * dt, n + inputs.channel[m], s=4, marker="|", color=INPUT_COLOUR)
        sel = (sp["individual"] == individual) & (sp["trial"] == t)
        neu, stp = sp["neuron"][sel], sp["step"][sel]
        colours = np.where(circuit.types[neu] > 0, E_COLOUR, I_COLOUR)
        ax.scatter(stp * dt, neu, s=6, marker="|", c=colours)
        for o in circuit.outputs:
            ax.axhspan(o - 0.45, o + 0.45, color="#f5d76e", alpha=0.35, lw=0)
        ax.set_ylim(-1, n + n_in)
        ax.set_xlim(0, inputs.n_steps * dt)
        ax.set_title(trial_titles[t] if trial_titles else f"trial {t}", fontsize=9)
        ax.set_yticks(list(range(n)) + [n + c for c in range(n_in)] if n + n_in <= 24 else [])
        if n + n_in <= 24:
            ax.set_yticklabels([f"{'E' if circuit.types[i] > 0 else 'I'}{i}" for i in range(n)]
                               + [f"in{c}" for c in range(n_in)], fontsize=7)
        if with_v:
            axv = axes[1, t]
            axv.plot(np.arange(result.n_steps) * dt, result.v[individual, t, v_neuron], lw=0.8, color="k")
            axv.axhline(circuit.param("v_th")[v_neuron], ls=":", color="grey", lw=0.8)
            axv.set_ylabel(f"v{v_neuron} (mV)", fontsize=8)
        axes[-1, t].set_xlabel("time (ms)")
    axes[0, 0].set_ylabel("neurons (outputs shaded) / inputs")
    name = circuit.name or "circuit"
    fig.suptitle(title or f"{name}: {circuit.n_exc}E + {circuit.n_inh}I, E red, I blue, inputs grey", fontsize=10)
    return _save(fig, path)


def fitness_curves(rows: list[dict], path: str | os.PathLike, title: str = "") -> Path:
    """Best and mean (± std) of each objective per generation, from logbook rows.

    With a ``validation_best`` column (runs that validate) the score panel also shows the
    champion's score on the validation trials.
    """
    plt = pyplot()
    objectives = [k[:-5] for k in rows[0] if k.endswith("_best") and f"{k[:-5]}_mean" in rows[0]]
    gens = np.array([float(r["generation"]) for r in rows])
    extra = "archive_coverage" in rows[0]
    fig, axes = plt.subplots(1, len(objectives) + extra, figsize=(4.2 * (len(objectives) + extra), 3.2), squeeze=False)
    for ax, name in zip(axes[0], objectives):
        best = np.array([float(r[f"{name}_best"]) for r in rows])
        mean = np.array([float(r[f"{name}_mean"]) for r in rows])
        std = np.array([float(r[f"{name}_std"]) for r in rows])
        ax.plot(gens, best, color="k", lw=1.6, label="best")
        ax.plot(gens, mean, color="#888", lw=1, label="mean")
        ax.fill_between(gens, mean - std, mean + std, color="#ccc", alpha=0.5, lw=0)
        ax.set_xlabel("generation")
        ax.set_ylabel(name + (" (max)" if name == "score" else " (min)"))
        if name == "score":
            ax.set_ylim(-0.02, 1.02)
            if "validation_best" in rows[0]:
                ax.plot(gens, [float(r["validation_best"]) for r in rows], color="#1a5fb4", lw=1.2, ls="--",
                        label="champion (validation)")
    if extra:
        ax = axes[0, -1]
        ax.plot(gens, [float(r["archive_coverage"]) for r in rows], color="k")
        ax.set_xlabel("generation")
        ax.set_ylabel("archive coverage")
    axes[0, 0].legend(loc="lower right", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def learning_curves(curves: dict, path: str | os.PathLike, title: str = "", ylabel: str = "test accuracy",
                    chance: float | None = None) -> Path:
    """Learning curves per epoch (epoch 0 = before training), one line per entry.

    Parameters
    ----------
    curves : dict of str -> array_like
        1-d (one run) or 2-d (runs x epochs): then the mean is drawn with its 95 %
        confidence band (Student t over runs).
    path : str or PathLike
    title, ylabel : str
    chance : float, optional
        Draw the chance level as a dotted line.
    """

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    colours = ["#c0392b", "#2e6fbf", "#27ae60", "#8e44ad", "#555555", "#d68910"]
    for k, (label, values) in enumerate(curves.items()):
        arr = np.atleast_2d(np.asarray(values, float))
        epochs = np.arange(arr.shape[1])
        colour = colours[k % len(colours)]
        stats = [mean_ci(arr[:, e]) for e in range(arr.shape[1])]
        mean = np.array([m for m, _ in stats])
        half = np.array([h for _, h in stats])
        runs = f" (n={arr.shape[0]})" if arr.shape[0] > 1 else ""
        ax.plot(epochs, mean, color=colour, lw=1.6, label=f"{label}{runs}")
        if arr.shape[0] > 1:
            ax.fill_between(epochs, mean - half, mean + half, color=colour, alpha=0.2, lw=0)
    if chance is not None:
        ax.axhline(chance, color="#888", lw=1, ls=":", label="chance")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
