"""Motif drawings: inputs on the left, output ports on the right, hidden neurons between.

Conventions: excitatory neurons red, inhibitory blue, input channels grey squares;
excitatory synapses end in an arrow, inhibitory ones in a bar (⊣); line width follows
the weight; delays > 0 are written on the synapse in ms. Columns are the shortest-path
distance from the inputs, so a feedforward motif reads left to right; synapses that go
back or stay within a column are drawn curved, so recurrence stands out.
"""

from __future__ import annotations

import math
import os
from collections import deque
from pathlib import Path

import numpy as np

from ..circuit import Circuit
from ..io.atomic import atomic_open
from ..model import PARAM_INDEX
from ..plots import E_COLOUR, I_COLOUR, image_format, pyplot

INPUT_COLOUR = "#8a8a8a"
_PER_COLUMN = 6


def layout(circuit: Circuit) -> dict[str, tuple[float, float]]:
    """Node positions keyed by the networkx node ids (``in<c>``, ``n<i>``).

    Inputs are column 0, output neurons the last column, every other neuron sits at
    its shortest-path distance from the inputs (neurons unreachable from the inputs go
    in column 1). Within a column nodes are ordered by the mean row of their
    presynaptic partners (one barycentre sweep) to reduce crossings.
    """
    n_in, n = circuit.n_inputs, circuit.n_neurons
    adj = circuit.weights > 0
    dist = np.full(n, -1)
    queue: deque[int] = deque()
    for i in range(n):
        if n_in and adj[:n_in, i].any():
            dist[i] = 1
            queue.append(i)
    while queue:
        u = queue.popleft()
        for v in np.flatnonzero(adj[n_in + u]):
            if dist[v] < 0:
                dist[v] = dist[u] + 1
                queue.append(int(v))
    outputs = set(int(o) for o in circuit.outputs)
    hidden = [i for i in range(n) if i not in outputs]
    col = {i: int(dist[i]) if dist[i] > 0 else 1 for i in hidden}
    out_col = max(col.values(), default=0) + 1
    for o in outputs:
        col[o] = out_col
    columns: dict[int, list[str]] = {0: [f"in{c}" for c in range(n_in)]}
    for i in range(n):
        columns.setdefault(col[i], []).append(f"n{i}")
    pos: dict[str, tuple[float, float]] = {}
    port = {int(o): k for k, o in enumerate(circuit.outputs)}

    # Tall columns are split into sub-columns of at most _PER_COLUMN nodes, staggered so
    # that edges between neighbours in one column do not run through the others.
    x_of: dict[int, float] = {}
    x = 0.0
    for c in sorted(columns):
        x_of[c] = x
        x += 1.0 + 0.8 * (math.ceil(len(columns[c]) / _PER_COLUMN) - 1 if columns[c] else 0)

    def place(c: int, names: list[str]) -> None:
        k_sub = max(1, math.ceil(len(names) / _PER_COLUMN))
        m = len(names)
        for k, name in enumerate(names):
            pos[name] = (x_of[c] + 0.8 * (k % k_sub), ((m - 1) / 2.0 - k) * (1.0 if k_sub == 1 else 0.75))

    place(0, columns[0])
    for c in sorted(k for k in columns if k > 0):
        names = columns[c]

        def bary(name: str) -> float:
            i = int(name[1:])
            if c == out_col and i in port:
                return float(port[i])  # output ports keep their order, top to bottom
            rows = [pos[src][1] for src in _sources(circuit, i) if src in pos]
            return -float(np.mean(rows)) if rows else 0.0

        place(c, sorted(names, key=lambda s: (bary(s), int(s[1:]))))
    return pos


def _label_point(a: tuple[float, float], b: tuple[float, float], rad: float, nodes, radius: float) -> tuple[float, float]:
    """Where to write an edge's label: a point of matplotlib's arc3 quadratic Bezier.

    A little before the middle first, so that the labels of two edges crossing at their
    midpoints do not collide; then other points along the edge, until one is clear of
    every node (a label under a neuron cannot be read).
    """
    (x1, y1), (x2, y2) = a, b
    cx = (x1 + x2) / 2 + rad * (y2 - y1)
    cy = (y1 + y2) / 2 - rad * (x2 - x1)
    nodes = list(nodes)
    first = None
    for t in (0.42, 0.58, 0.3, 0.7, 0.5, 0.22, 0.78):
        mx = (1 - t) ** 2 * x1 + 2 * t * (1 - t) * cx + t ** 2 * x2
        my = (1 - t) ** 2 * y1 + 2 * t * (1 - t) * cy + t ** 2 * y2
        first = first or (mx, my)
        if all(math.hypot(mx - nx, my - ny) > 1.8 * radius for nx, ny in nodes):
            return mx, my
    return first


def _sources(circuit: Circuit, i: int) -> list[str]:
    n_in = circuit.n_inputs
    return [f"in{r}" if r < n_in else f"n{r - n_in}" for r in np.flatnonzero(circuit.weights[:, i])]


def draw_motif(circuit: Circuit, path: str | os.PathLike, *, title: str | None = None,
               show_weights: bool = False, show_taus: bool = False) -> Path:
    """Draw a motif to ``path`` (png, svg or pdf, from the suffix), atomically.

    Parameters
    ----------
    circuit : Circuit
    path : str or PathLike
    title : str, optional
        Default: the circuit's name and size.
    show_weights : bool
        Also write each synapse's weight (mV) next to it.
    show_taus : bool
        Also write each neuron's time constants (membrane, excitatory and inhibitory
        synaptic, in ms) under it.

    Returns
    -------
    Path
    """
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import ArrowStyle, Circle, FancyArrowPatch, Rectangle

    path = Path(path)
    fmt = image_format(path)
    n_in, n = circuit.n_inputs, circuit.n_neurons
    pos = layout(circuit)
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    width = max(xs) - min(xs) + 1.6
    height = max(ys) - min(ys) + 1.6
    scale = 1.45
    fig, ax = plt.subplots(figsize=(max(3.6, width * scale), max(2.8, height * scale + 0.5)))
    ax.set_aspect("equal")
    ax.axis("off")
    radius = 0.22
    patches = {}
    port = {int(o): k for k, o in enumerate(circuit.outputs)}
    for c in range(n_in):
        x, y = pos[f"in{c}"]
        p = Rectangle((x - radius, y - radius), 2 * radius, 2 * radius, facecolor=INPUT_COLOUR,
                      edgecolor="#444444", lw=1.0, zorder=3)
        ax.add_patch(p)
        patches[f"in{c}"] = p
        ax.text(x, y, f"in{c}", ha="center", va="center", fontsize=7, color="white", zorder=4)
    for i in range(n):
        x, y = pos[f"n{i}"]
        exc = circuit.types[i] > 0
        colour = E_COLOUR if exc else I_COLOUR
        is_out = i in port
        p = Circle((x, y), radius, facecolor=colour, edgecolor="black" if is_out else "white",
                   lw=2.2 if is_out else 1.0, zorder=3)
        ax.add_patch(p)
        patches[f"n{i}"] = p
        ax.text(x, y, f"{'E' if exc else 'I'}{i}", ha="center", va="center", fontsize=8, color="white",
                fontweight="bold", zorder=4)
        if show_taus:
            tm, te, ti = (float(circuit.params[i, PARAM_INDEX[k]]) for k in ("tau_m", "tau_e", "tau_i"))
            ax.text(x, y - radius - 0.04, f"τm {tm:.3g}\nτe {te:.3g} τi {ti:.3g}", ha="center", va="top",
                    fontsize=5.5, color="#333333", linespacing=1.0, zorder=5,
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
        if is_out:
            ax.annotate("", xy=(x + radius + 0.38, y), xytext=(x + radius + 0.04, y),
                        arrowprops=dict(arrowstyle="-|>", color="black", lw=1.2), zorder=2)
            ax.text(x + radius + 0.42, y, f"out{port[i]}", ha="left", va="center", fontsize=7)

    wmax = float(circuit.weights.max()) if circuit.n_synapses else 1.0
    signs = circuit.source_signs
    arrow = ArrowStyle("-|>", head_length=0.5, head_width=0.28)
    bar = ArrowStyle("-[", widthB=0.55, lengthB=0.0)
    col_of = {k: v[0] for k, v in pos.items()}
    adj = circuit.weights > 0
    for r, post in zip(*np.nonzero(circuit.weights)):
        src = f"in{r}" if r < n_in else f"n{r - n_in}"
        dst = f"n{post}"
        w = float(circuit.weights[r, post])
        inh = signs[r] < 0
        colour = I_COLOUR if inh else (INPUT_COLOUR if r < n_in else E_COLOUR)
        lw = 0.8 + 2.2 * w / wmax
        delay_ms = float(circuit.delays[r, post]) * circuit.dt_ms
        label = []
        if delay_ms > 0:
            label.append(f"{delay_ms:.3g} ms")
        if show_weights:
            label.append(f"{'-' if inh else ''}{w:.3g}")
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        if src == dst:  # autapse: a small loop above the node
            ax.add_patch(FancyArrowPatch((x1 - 0.12, y1 + radius), (x1 + 0.12, y1 + radius),
                                         connectionstyle="arc3,rad=-2.2", arrowstyle=bar if inh else arrow,
                                         mutation_scale=10, color=colour, lw=lw, zorder=2))
            if label:
                ax.text(x1, y1 + radius + 0.42, ", ".join(label), ha="center", va="bottom", fontsize=6.5,
                        color="#333333", zorder=5)
            continue
        backward = col_of[dst] <= col_of[src]
        reciprocal = r >= n_in and adj[n_in + post, r - n_in]
        long_jump = abs(col_of[dst] - col_of[src]) > 1.5 and abs(y2 - y1) < 0.5
        rad = 0.35 if backward else (0.18 if reciprocal or long_jump else 0.0)
        # Keep the bulge of long curved edges bounded (about one node spacing).
        rad = math.copysign(min(abs(rad), 1.2 / max(math.hypot(x2 - x1, y2 - y1), 1e-9)), rad)
        ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), patchA=patches[src], patchB=patches[dst],
                                     connectionstyle=f"arc3,rad={rad}", arrowstyle=bar if inh else arrow,
                                     mutation_scale=10, color=colour, lw=lw, shrinkA=1, shrinkB=2,
                                     alpha=0.9, zorder=1))
        if label:
            mx, my = _label_point((x1, y1), (x2, y2), rad, pos.values(), radius)
            ax.text(mx, my, ", ".join(label), ha="center", va="center", fontsize=6.5, color="#333333",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85), zorder=5)

    ax.set_xlim(min(xs) - 0.7, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    handles = [
        Line2D([], [], marker="o", ls="", color=E_COLOUR, label="E neuron"),
        Line2D([], [], marker="o", ls="", color=I_COLOUR, label="I neuron"),
        Line2D([], [], marker="s", ls="", color=INPUT_COLOUR, label="input"),
        Line2D([], [], color=E_COLOUR, marker=">", label="excitatory →"),
        Line2D([], [], color=I_COLOUR, marker="|", markersize=9, label="inhibitory ⊣"),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=5, fontsize=6.5,
              frameon=False, handlelength=1.2, columnspacing=1.0)
    name = title if title is not None else (circuit.name or "motif")
    ax.set_title(f"{name}: {circuit.n_exc}E + {circuit.n_inh}I, {circuit.n_synapses} synapses", fontsize=9)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format=fmt, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path
