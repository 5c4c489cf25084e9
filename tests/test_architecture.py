"""The package's layers import only downwards, and the neuron model is written once.

Every ``import`` in ``evo_circuits/`` (module level and inside functions, where lazy
imports could hide a cycle) is read from the source. Each module belongs to a layer
(``LAYERS``, lowest first; ``docs/architecture.md`` explains them); a module may import
its own layer and the layers below, never one above. CLI command modules
(``<package>.commands`` and ``cli``) form the top layer.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "evo_circuits"

#: Layers, lowest first: top-level modules or packages of evo_circuits.
LAYERS: list[set[str]] = [
    {"errors", "model", "version", "stats", "text"},    # foundations: no evo_circuits imports but these
    {"circuit", "dynamics", "progress"},                 # the genome; the neuron model; progress display
    {"io", "random_circuit"},                            # files; random genomes
    {"simulate", "brian2_bridge", "brian2_ref"},         # the simulator (and its Brian2 reference)
    {"plots", "viz"},                                    # figures of circuits, spikes and curves
    {"tasks"},                                           # task families and fitness specs
    {"motifs"},                                          # pruning, canonical forms, census, library
    {"evolve"},                                          # DEAP evolution (stores champions in the library)
    {"assemble"},                                        # motifs into larger networks
    {"train"},                                           # surrogate-gradient training, data, compare
    {"torch"},                                           # the PyTorch module
    {"discover"},                                        # campaigns over tasks and seeds
    {"__init__"},                                        # the public facade
    {"cli", "commands"},                                 # command-line front ends
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """evo_circuits modules imported anywhere in a module (relative imports resolved)."""
    pkg = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(pkg[:len(pkg) - node.level + 1]) if node.level else ""
            mod = ".".join(p for p in (base, node.module or "") if p)
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in modules]
            # "from pkg import submodule" imports the submodule (and runs pkg/__init__, which
            # belongs to pkg's own layer unless pkg is the top-level facade)
            targets = subs + ([mod] if len(subs) < len(node.names) else [])
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for t in targets:
            if t == "evo_circuits" or t.startswith("evo_circuits."):
                while t not in modules and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t != name:
                    found.add(t)
    return found


def _layer(name: str) -> int:
    parts = name.split(".")
    key = "__init__" if len(parts) == 1 else ("commands" if parts[-1] == "commands" else parts[1])
    for rank, members in enumerate(LAYERS):
        if key in members:
            return rank
    raise AssertionError(f"{name}: not in any layer of tests/test_architecture.py (add it where it belongs)")


def test_layers_import_only_downwards():
    modules = _modules()
    upward = []
    for name, path in sorted(modules.items()):
        for target in sorted(_imports(name, path, modules)):
            if _layer(target) > _layer(name):
                upward.append(f"{name} -> {target}")
    assert not upward, "imports of a higher layer:\n" + "\n".join(upward)


def test_no_import_cycles_between_packages():
    modules = _modules()
    top = lambda m: m.split(".")[1] if "." in m else "__init__"  # noqa: E731
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name.endswith(".commands"):
            continue
        for target in _imports(name, path, modules):
            if top(target) != top(name) and not target.endswith(".commands"):
                edges.setdefault(top(name), set()).add(top(target))

    def reaches(a: str, b: str, seen: set[str]) -> bool:
        return any(n == b or (n not in seen and reaches(n, b, seen | {n})) for n in edges.get(a, ()))
    cycles = sorted(f"{a} <-> {b}" for a in edges for b in edges[a] if reaches(b, a, {b}))
    assert not cycles, "package import cycles: " + ", ".join(cycles)


def test_the_lif_update_is_written_once():
    """The membrane update expression lives in dynamics/lif.py only (issue: one model, one place)."""
    pattern = re.compile(r"\(\s*v\w*\s*-\s*v_inf\w*\s*\)\s*\*\s*\w*em")
    hits = [f"{p.relative_to(PACKAGE)}:{i}" for p in PACKAGE.rglob("*.py")
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert hits == ["dynamics/lif.py:" + hits[0].split(":")[1]] and len(hits) == 1, hits
