"""Drawing of an assembled network grouped by module (legible for a few hundred neurons).

Layout: the input channels form a grid on the left; every module is a box, each copy of
a motif a small frame inside it, every neuron a dot (E red, I blue; output neurons
ringed black). Modules sit in columns by their distance from the inputs (readout
populations last). Module-to-module connectivity is drawn as one arrow per module pair
labelled with its synapse counts (``E 1169`` excitatory, ``I 144`` inhibitory); a random
subset of individual synapses is drawn faintly underneath so the fan-in/fan-out texture
shows. Synapses inside a module are summarised under its box (within a copy / between
copies). Membership comes from ``circuit.metadata["assembly"]`` (written by
:func:`~evo_circuits.assemble.assemble`), so a saved — or trained — circuit JSON is enough.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ..circuit import Circuit
from ..io.atomic import atomic_open
from ..plots import E_COLOUR, I_COLOUR, INPUT_COLOUR, image_format, pyplot
from .structure import module_membership

_MIXED_COLOUR = "#7d3c98"
_DOT = 0.24  # spacing of neuron dots (data units)
_PAD = 0.12  # padding of a copy frame
_COL_GAP = 3.2  # horizontal gap between columns (room for arrow labels)
_ROW_GAP = 1.1  # vertical gap between modules of one column


def _grid(n: int, aspect: float = 1.0) -> tuple[int, int]:
    """(columns, rows) of a near-square grid holding n items (aspect = height/width)."""
    if n <= 0:
        return 0, 0
    cols = max(1, math.ceil(math.sqrt(n / aspect)))
    return cols, math.ceil(n / cols)


def _module_columns(n_mod: int, counts: np.ndarray, readout_like: list[bool]) -> list[int]:
    """Column (>= 1) of each module: longest path from the inputs, feedback edges ignored.

    ``counts[src + 1, dst + 1]`` counts synapses between modules (index 0: the inputs).
    Edges closing a cycle (found by a depth-first search from the inputs, then from
    every unvisited module in spec order) are ignored, so every remaining edge goes
    strictly to the right; modules made only of readout neurons go to the last column.
    """
    nodes = n_mod + 1
    adj = [[v for v in range(1, nodes) if v != u and counts[u, v] > 0] for u in range(nodes)]
    state = [0] * nodes  # 0 new, 1 on stack, 2 done
    order: list[int] = []
    back: set[tuple[int, int]] = set()
    for root in range(nodes):
        if state[root]:
            continue
        stack = [(root, iter(adj[root]))]
        state[root] = 1
        while stack:
            u, it = stack[-1]
            for v in it:
                if state[v] == 1:
                    back.add((u, v))
                elif state[v] == 0:
                    state[v] = 1
                    stack.append((v, iter(adj[v])))
                    break
            else:
                state[u] = 2
                order.append(u)
                stack.pop()
    layer = [0] * nodes
    for u in reversed(order):  # reverse post-order is a topological order of the DAG
        for v in adj[u]:
            if (u, v) not in back:
                layer[v] = max(layer[v], layer[u] + 1)
    cols = [max(1, layer[m + 1]) for m in range(n_mod)]
    last = max([c for c, r in zip(cols, readout_like) if not r], default=0) + 1
    return [last if r else c for c, r in zip(cols, readout_like)]


def draw_assembly(circuit: Circuit, path: str | os.PathLike, *, title: str | None = None,
                  max_edges: int = 400, seed: int = 0) -> Path:
    """Draw an assembled circuit grouped by module to ``path`` (png, svg or pdf), atomically.

    Parameters
    ----------
    circuit : Circuit
        Ideally from :func:`~evo_circuits.assemble.assemble` (module membership in its
        metadata); any circuit works (drawn as one module).
    path : str or PathLike
    title : str, optional
        Default: the circuit's name and size.
    max_edges : int
        At most this many individual synapses are drawn (a random subset, faint); the
        module-level arrows always count all of them.
    seed : int
        Seed of that subset.

    Returns
    -------
    Path
    """
    plt = pyplot()
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    path = Path(path)
    fmt = image_format(path)
    n_in, n = circuit.n_inputs, circuit.n_neurons
    module, copy, names = module_membership(circuit)
    meta = circuit.metadata.get("assembly", {}) if isinstance(circuit.metadata, dict) else {}
    local = np.asarray(meta.get("local", []), np.int64)
    if local.shape != (n,):
        local = np.zeros(n, np.int64)
        for key in set(zip(module.tolist(), copy.tolist())):
            idx = np.flatnonzero((module == key[0]) & (copy == key[1]))
            local[idx] = np.arange(len(idx))
    sources = meta.get("sources", {}) if isinstance(meta.get("sources"), dict) else {}
    n_mod = len(names)
    outputs = {int(o) for o in circuit.outputs}
    src_mod = np.concatenate([np.full(n_in, -1), module])  # module of every source row (-1: inputs)
    signs = circuit.source_signs
    rows, cols = circuit.synapses.pre, circuit.synapses.post  # the table: no dense matrices

    # Module-level counts: [src + 1, dst + 1, sign(0 E, 1 I)].
    counts = np.zeros((n_mod + 1, n_mod + 1, 2), np.int64)
    np.add.at(counts, (src_mod[rows] + 1, module[cols] + 1, (signs[rows] < 0).astype(np.int64)), 1)
    tot = counts.sum(axis=2)
    readout_like = []
    for m in range(n_mod):
        idx = np.flatnonzero(module == m)
        readout_like.append(len(idx) > 0 and all(int(i) in outputs for i in idx) and n_mod > 1)
    column = _module_columns(n_mod, tot, readout_like)

    # Geometry of every module box (width, height) and neuron offsets inside it.
    boxes: dict[int, dict] = {}
    for m in range(n_mod):
        idx = np.flatnonzero(module == m)
        k = int(copy[idx].max()) + 1 if len(idx) else 1
        size = int(local[idx].max()) + 1 if len(idx) else 1
        mc, mr = _grid(size, aspect=1.0)
        cell_w, cell_h = mc * _DOT + 2 * _PAD, mr * _DOT + 2 * _PAD
        gc, gr = _grid(k, aspect=1.3 * cell_w / cell_h)
        w, h = gc * cell_w + 0.2, gr * cell_h + 0.2
        offs = {}
        for i in idx:
            c, j = int(copy[i]), int(local[i])
            cx, cy = 0.1 + (c % gc) * cell_w, 0.1 + (c // gc) * cell_h
            offs[int(i)] = (cx + _PAD + (j % mc + 0.5) * _DOT, cy + _PAD + (j // mc + 0.5) * _DOT)
        boxes[m] = {"w": w, "h": h, "k": k, "size": size, "cell": (cell_w, cell_h), "grid": gc, "offs": offs}

    # Columns: inputs at column 0, modules from column 1.
    col_ids = sorted(set(column))
    col_members = {c: [m for m in range(n_mod) if column[m] == c] for c in col_ids}
    ic, ir = _grid(n_in, aspect=1.0)
    in_w, in_h = ic * _DOT, ir * _DOT
    col_w = {c: max(boxes[m]["w"] for m in ms) for c, ms in col_members.items()}
    col_h = {c: sum(boxes[m]["h"] for m in ms) + _ROW_GAP * (len(ms) - 1) for c, ms in col_members.items()}
    total_h = max([in_h] + list(col_h.values()))
    x = in_w + _COL_GAP if n_in else 0.0
    for c in col_ids:
        y = (total_h - col_h[c]) / 2
        for m in col_members[c]:
            b = boxes[m]
            b["x"], b["y"] = x + (col_w[c] - b["w"]) / 2, y
            y += b["h"] + _ROW_GAP
        x += col_w[c] + _COL_GAP
    total_w = x - _COL_GAP

    pos = np.zeros((n_in + n, 2))
    in_y0 = (total_h - in_h) / 2
    for ch in range(n_in):
        pos[ch] = ((ch % ic + 0.5) * _DOT, in_y0 + in_h - (ch // ic + 0.5) * _DOT)
    for m, b in boxes.items():
        for i, (ox, oy) in b["offs"].items():
            pos[n_in + i] = (b["x"] + ox, b["y"] + b["h"] - oy)

    fig_w = min(22.0, max(7.0, 0.85 * total_w + 1.5))
    fig_h = min(16.0, max(4.0, 0.85 * total_h + 1.8))
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    ax.set_aspect("equal")
    ax.axis("off")

    # Individual synapses: up to half the budget inside modules (short, drawn clearly),
    # the rest a faint random subset of the synapses between modules.
    rng = np.random.default_rng(seed)
    internal = src_mod[rows] == module[cols]
    same_copy = internal & (np.concatenate([np.full(n_in, -1), copy])[rows] == copy[cols])
    idx_in_copy, idx_between = np.flatnonzero(same_copy), np.flatnonzero(internal & ~same_copy)
    half = max_edges // 2  # synapses within a copy first, then between copies of a module
    if len(idx_in_copy) > half:
        idx_in_copy = rng.choice(idx_in_copy, size=half, replace=False)
    if len(idx_between) > half - len(idx_in_copy):
        idx_between = rng.choice(idx_between, size=half - len(idx_in_copy), replace=False)
    idx_int, idx_ext = np.sort(np.concatenate([idx_in_copy, idx_between])), np.flatnonzero(~internal)
    budget = max_edges - len(idx_int)
    if len(idx_ext) > budget:
        idx_ext = np.sort(rng.choice(idx_ext, size=max(budget, 0), replace=False))
    n_drawn = len(idx_int) + len(idx_ext)
    for pick, alpha, lw in ((idx_ext, float(np.clip(12.0 / math.sqrt(max(len(idx_ext), 1)), 0.06, 0.5)), 0.5),
                            (idx_int, 0.55, 0.7)):
        segs = np.stack([pos[rows[pick]], pos[n_in + cols[pick]]], axis=1)
        inh = signs[rows[pick]] < 0
        for sel, colour in ((~inh, E_COLOUR), (inh, I_COLOUR)):
            if sel.any():
                ax.add_collection(LineCollection(segs[sel], colors=colour, linewidths=lw, alpha=alpha,
                                                 zorder=1 if pick is idx_ext else 3.5))

    # Input grid.
    if n_in:
        ax.scatter(pos[:n_in, 0], pos[:n_in, 1], marker="s", s=18, c=INPUT_COLOUR, zorder=3, linewidths=0)
        ax.add_patch(FancyBboxPatch((-0.1, in_y0 - 0.1), in_w + 0.2, in_h + 0.2, boxstyle="round,pad=0.05",
                                    fc="none", ec="#999999", lw=0.8, zorder=2))
        ax.text(in_w / 2, in_y0 + in_h + 0.25, f"inputs ({n_in})", ha="center", va="bottom", fontsize=9,
                fontweight="bold")

    # Module boxes, copy frames, neurons, labels.
    for m, b in boxes.items():
        ax.add_patch(FancyBboxPatch((b["x"], b["y"]), b["w"], b["h"], boxstyle="round,pad=0.05",
                                    fc="#f6f6f6", ec="#555555", lw=1.0, zorder=2))
        if b["k"] > 1:
            cw, ch = b["cell"]
            for c in range(b["k"]):
                cx = b["x"] + 0.1 + (c % b["grid"]) * cw
                cy = b["y"] + b["h"] - 0.1 - (c // b["grid"] + 1) * ch
                ax.add_patch(FancyBboxPatch((cx + 0.03, cy + 0.03), cw - 0.06, ch - 0.06,
                                            boxstyle="round,pad=0.0,rounding_size=0.05", fc="white",
                                            ec="#bbbbbb", lw=0.6, zorder=2.2))
        idx = np.flatnonzero(module == m)
        source = str(sources.get(names[m], "")).split(":", 1)[-1]
        label = names[m] + (f" ×{b['k']}" if b["k"] > 1 else "")
        sub = f"{source}, " if source and source != "population" and source != names[m] else ""
        n_e = int((circuit.types[idx] > 0).sum())
        ax.text(b["x"] + b["w"] / 2, b["y"] + b["h"] + 0.22, label, ha="center", va="bottom", fontsize=9,
                fontweight="bold")
        ax.text(b["x"] + b["w"] / 2, b["y"] + b["h"] + 0.08, f"{sub}{n_e}E + {len(idx) - n_e}I", ha="center",
                va="bottom", fontsize=7, color="#444444")
        same = (src_mod[rows] == m) & (module[cols] == m)
        if same.any():
            pre_copy = copy[rows[same] - n_in]
            within = pre_copy == copy[cols[same]]
            s_inh = signs[rows[same]] < 0
            parts = []
            for what, sel in (("within copies", within), ("between copies", ~within)):
                if sel.any():
                    parts.append(f"{what}: E {int((sel & ~s_inh).sum())}, I {int((sel & s_inh).sum())}")
            ax.text(b["x"] + b["w"] / 2, b["y"] - 0.12, "\n".join(parts), ha="center", va="top", fontsize=6.5,
                    color="#444444")
    colours = np.where(circuit.types > 0, E_COLOUR, I_COLOUR)
    is_out = np.array([i in outputs for i in range(n)], bool)
    ax.scatter(pos[n_in:, 0], pos[n_in:, 1], s=22, c=colours, edgecolors=np.where(is_out, "black", "white"),
               linewidths=np.where(is_out, 1.2, 0.4), zorder=4)

    # Module-level arrows with synapse counts.
    def anchor(m: int, side: str, frac: float) -> tuple[float, float]:
        if m < 0:
            return ((in_w + 0.15) if side == "right" else -0.15, in_y0 + in_h * frac)
        b = boxes[m]
        return (b["x"] + b["w"] + 0.08 if side == "right" else b["x"] - 0.08, b["y"] + b["h"] * frac)

    pairs = [(s, d) for s in range(-1, n_mod) for d in range(n_mod) if s != d and tot[s + 1, d + 1] > 0]
    out_n = {s: sum(1 for p in pairs if p[0] == s) for s in range(-1, n_mod)}
    in_n = {d: sum(1 for p in pairs if p[1] == d) for d in range(n_mod)}
    out_k = dict.fromkeys(range(-1, n_mod), 0)
    in_k = dict.fromkeys(range(n_mod), 0)
    max_count = max([int(tot[s + 1, d + 1]) for s, d in pairs], default=1)
    y_lo, y_hi = -1.0, total_h + 0.9
    for s, d in sorted(pairs, key=lambda p: (p[0], boxes[p[1]]["y"])):
        e, i = (int(v) for v in counts[s + 1, d + 1])
        out_k[s] += 1
        in_k[d] += 1
        f_out = 1 - out_k[s] / (out_n[s] + 1)
        f_in = 1 - in_k[d] / (in_n[d] + 1)
        col_s = 0 if s < 0 else column[s]
        backward = column[d] < col_s
        if column[d] == col_s:  # same column: a straight vertical arrow between the boxes
            bs, bd = boxes[s], boxes[d]
            down = bd["y"] < bs["y"]
            xm = (max(bs["x"], bd["x"]) + min(bs["x"] + bs["w"], bd["x"] + bd["w"])) / 2
            xm += 0.5 * (f_out - 0.5)
            p1 = (xm, bs["y"] - 0.1 if down else bs["y"] + bs["h"] + 0.45)
            p2 = (xm, bd["y"] + bd["h"] + 0.45 if down else bd["y"] - 0.1)
        else:
            p1 = anchor(s, "left" if backward else "right", f_out)
            p2 = anchor(d, "right" if backward else "left", f_in)
        colour = E_COLOUR if i == 0 else (I_COLOUR if e == 0 else _MIXED_COLOUR)
        lw = 0.8 + 2.4 * math.log1p(e + i) / math.log1p(max_count)
        rad = 0.45 if backward else 0.0
        lo_c, hi_c = sorted((col_s, column[d]))
        between = [boxes[m] for m in range(n_mod) if lo_c < column[m] < hi_c]
        if between:  # bow above or below the boxes of the columns it skips
            top = max(b["y"] + b["h"] for b in between) + 0.8
            bottom = min(b["y"] for b in between) - 0.8
            ymean, dx = (p1[1] + p2[1]) / 2, p2[0] - p1[0]
            up, down = top - ymean, ymean - bottom
            rad = -2 * up / dx if up <= down else 2 * down / dx
        ax.add_patch(FancyArrowPatch(p1, p2, connectionstyle=f"arc3,rad={rad}",
                                     arrowstyle="-|>" if i == 0 else ("-[" if e == 0 else "-|>"),
                                     mutation_scale=12, color=colour, lw=lw, alpha=0.9, zorder=5))
        text = " / ".join(t for t in (f"E {e}" if e else "", f"I {i}" if i else "") if t)
        mx = (p1[0] + p2[0]) / 2 + rad * (p2[1] - p1[1]) / 2  # the curve's midpoint (arc3 Bezier)
        my = (p1[1] + p2[1]) / 2 - rad * (p2[0] - p1[0]) / 2
        y_lo, y_hi = min(y_lo, my - 0.4), max(y_hi, my + 0.4)
        ax.text(mx, my, text, ha="center", va="center", fontsize=7, color=colour, zorder=6,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9})

    ax.set_xlim(-0.6, total_w + 0.6)
    ax.set_ylim(y_lo, y_hi)
    fig.set_size_inches(fig_w, min(16.0, max(4.0, 0.85 * (y_hi - y_lo) + 0.9)))
    handles = [
        Line2D([], [], marker="o", ls="", color=E_COLOUR, label="E neuron"),
        Line2D([], [], marker="o", ls="", color=I_COLOUR, label="I neuron"),
        Line2D([], [], marker="o", ls="", mfc="white", mec="black", label="readout neuron"),
        Line2D([], [], marker="s", ls="", color=INPUT_COLOUR, label="input channel"),
        Line2D([], [], color=E_COLOUR, label="excitatory synapses"),
        Line2D([], [], color=I_COLOUR, label="inhibitory synapses"),
        Line2D([], [], color=_MIXED_COLOUR, label="E and I"),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=7, fontsize=7, frameon=False,
              handlelength=1.4, columnspacing=1.2)
    drawn = f"{n_drawn} of {len(rows)}" if n_drawn < len(rows) else f"all {len(rows)}"
    name = title if title is not None else (circuit.name or "network")
    ax.set_title(f"{name}: {n_in} inputs, {circuit.n_exc}E + {circuit.n_inh}I neurons, {circuit.n_synapses} "
                 f"synapses ({drawn} drawn), {len(outputs)} readout", fontsize=9)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format=fmt, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path
