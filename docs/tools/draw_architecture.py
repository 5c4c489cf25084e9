"""Draw docs/img/architecture.png: the package's layers and the imports between them.

The layers come from tests/test_architecture.py (the test that enforces them) and the
arrows from the imports actually in the source, so the drawing cannot drift from the code.

Run::

    .venv/bin/python docs/tools/draw_architecture.py [-o docs/img/architecture.png]
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", default=str(ROOT / "docs" / "img" / "architecture.png"))
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("arch", ROOT / "tests" / "test_architecture.py")
    arch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(arch)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modules = arch._modules()
    present = ({m.split(".")[1] if "." in m else "__init__" for m in modules} - {"cli"}) | {"commands"}
    rows = [[k for k in sorted(layer) if k in present] for layer in arch.LAYERS]
    rows = [r for r in rows if r]
    pos = {}
    for y, row in enumerate(rows):
        for x, key in enumerate(row):
            pos[key] = ((x - (len(row) - 1) / 2) * 2.2, y)
    key_of = lambda m: ("commands" if m.endswith(".commands") or m == "evo_circuits.cli" else  # noqa: E731
                        (m.split(".")[1] if "." in m else "__init__"))
    edges = set()
    for name, path in modules.items():
        for target in arch._imports(name, path, modules):
            a, b = key_of(name), key_of(target)
            if a != b and a in pos and b in pos:
                edges.add((a, b))
    import networkx as nx

    # Only the imports not implied by others (transitive reduction): the rest is clutter.
    drawn = nx.transitive_reduction(nx.DiGraph(sorted(edges))).edges
    fig, ax = plt.subplots(figsize=(9, 0.62 * len(rows) + 1))
    for a, b in sorted(drawn):
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.annotate("", xy=(x1, y1 + 0.18), xytext=(x0, y0 - 0.18),
                    arrowprops=dict(arrowstyle="->", color="0.55", lw=0.7, shrinkA=0, shrinkB=0))
    labels = {"__init__": "evo_circuits (facade)", "commands": "cli.py + */commands.py"}
    for key, (x, y) in pos.items():
        ax.text(x, y, labels.get(key, key), ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round,pad=0.3", fc="#e8f0fe" if y % 2 else "#fdf1e6", ec="0.4"))
    ax.set_xlim(-6, 6)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.axis("off")
    ax.set_title("evo-circuits layers (bottom = lowest); arrows: imports (transitive reduction), always downwards", fontsize=10)
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
