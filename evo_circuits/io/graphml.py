"""GraphML: the circuit's networkx view (:meth:`Circuit.to_networkx`) as a file.

The attributes are listed in ``docs/formats.md``; the circuit ``metadata`` is not
carried. The reader refuses documents with a DTD or entities before parsing (so no
entity expansion), multigraphs, and graphs larger than the caps, with one line naming
the problem.
"""

from __future__ import annotations

import io as _io
import os

import numpy as np

from ..circuit import Circuit
from ..errors import CircuitError, FormatError
from .atomic import write_text
from .caps import check_size, read_bytes


def save(circuit: Circuit, path: str | os.PathLike) -> None:
    """Write the circuit's networkx view as GraphML, atomically."""
    import networkx as nx  # ~0.2 s to import; only GraphML files need it here

    buf = _io.BytesIO()
    nx.write_graphml(circuit.to_networkx(), buf)
    write_text(path, buf.getvalue().decode("utf-8"))


def load(path: str | os.PathLike, *, max_neurons: int | None = None, max_inputs: int | None = None,
         max_bytes: int | None = None) -> Circuit:
    """Read a circuit written by :func:`save`; the caps as in :func:`evo_circuits.io.load`.

    Raises
    ------
    FormatError
        One line starting with the path.
    """
    import networkx as nx

    raw = read_bytes(path, max_bytes)
    if b"<!doctype" in raw.lower() or b"<!entity" in raw[:4096].lower():
        raise FormatError(f"{path}: GraphML with a DTD/entities is not accepted")
    try:
        g = nx.read_graphml(_io.BytesIO(raw))
    except Exception as exc:  # networkx/XML raise many parser exception types
        raise FormatError(f"{path}: not valid GraphML ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if not isinstance(g, nx.DiGraph) or g.is_multigraph():
        raise FormatError(f"{path}: expected a directed, simple GraphML graph")
    kinds = [d.get("kind") for _, d in g.nodes(data=True)]
    n, n_in_nodes = kinds.count("neuron"), kinds.count("input")
    n_in_attr = g.graph.get("n_inputs", n_in_nodes)
    if isinstance(n_in_attr, bool) or not isinstance(n_in_attr, (int, np.integer)):
        raise FormatError(f"{path}: graph attribute 'n_inputs' must be an integer, got {n_in_attr!r}")
    check_size(n, max(int(n_in_attr), n_in_nodes), str(path), max_neurons=max_neurons, max_inputs=max_inputs)
    idx = sorted(d.get("index") for _, d in g.nodes(data=True) if d.get("kind") == "input")
    if idx != list(range(int(n_in_attr))):
        raise FormatError(f"{path}: input nodes must have 'index' 0..{int(n_in_attr) - 1} "
                          f"(graph attribute n_inputs = {int(n_in_attr)})")
    try:
        return Circuit.from_networkx(g)
    except (FormatError, CircuitError) as exc:
        raise FormatError(f"{path}: {exc}") from None
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise FormatError(f"{path}: GraphML does not describe a circuit ({type(exc).__name__}: {exc})") from None
