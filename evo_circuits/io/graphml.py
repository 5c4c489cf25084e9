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
from ..model import DEFAULT_DT_MS, DT_RANGE_MS
from .caps import check_size, read_bytes
from .files import finite
from .json import delay_steps


def save(circuit: Circuit, path: str | os.PathLike) -> None:
    """Write the circuit's networkx view as GraphML, atomically."""
    import networkx as nx  # ~0.2 s to import; only GraphML files need it here

    buf = _io.BytesIO()
    nx.write_graphml(circuit.to_networkx(), buf)
    write_text(path, buf.getvalue().decode("utf-8"))


def load(path: str | os.PathLike, *, max_neurons: int | None = None, max_inputs: int | None = None,
         max_synapses: int | None = None, max_bytes: int | None = None) -> Circuit:
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
        # Read as a multigraph so that a repeated edge is seen, not silently overwritten.
        g = nx.read_graphml(_io.BytesIO(raw), force_multigraph=True)
    except RecursionError:
        raise FormatError(f"{path}: GraphML nested too deeply") from None
    except Exception as exc:  # networkx/XML raise many parser exception types
        raise FormatError(f"{path}: not valid GraphML ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if not g.is_directed():
        raise FormatError(f"{path}: expected a directed, simple GraphML graph")
    seen = set()
    for u, v in g.edges():
        if (u, v) in seen:
            raise FormatError(f"{path}: duplicate edge {u!r} -> {v!r} (a circuit has at most one synapse per pair)")
        seen.add((u, v))
    g = nx.DiGraph(g)
    kinds = [d.get("kind") for _, d in g.nodes(data=True)]
    n, n_in_nodes = kinds.count("neuron"), kinds.count("input")
    n_in_attr = g.graph.get("n_inputs", n_in_nodes)
    if isinstance(n_in_attr, bool) or not isinstance(n_in_attr, (int, np.integer)):
        raise FormatError(f"{path}: graph attribute 'n_inputs' must be an integer, got {n_in_attr!r}")
    check_size(n, max(int(n_in_attr), n_in_nodes), str(path), max_neurons=max_neurons, max_inputs=max_inputs,
               n_synapses=g.number_of_edges(), max_synapses=max_synapses)
    idx = sorted(d.get("index") for _, d in g.nodes(data=True) if d.get("kind") == "input")
    if idx != list(range(int(n_in_attr))):
        raise FormatError(f"{path}: input nodes must have 'index' 0..{int(n_in_attr) - 1} "
                          f"(graph attribute n_inputs = {int(n_in_attr)})")
    _check_numbers(g, path)
    try:
        return Circuit.from_networkx(g)
    except (FormatError, CircuitError) as exc:
        raise FormatError(f"{path}: {exc}") from None
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise FormatError(f"{path}: GraphML does not describe a circuit ({type(exc).__name__}: {exc})") from None


def _check_numbers(g, path) -> None:
    """Range-check the graph's time step and every edge's numbers before they are used."""
    dt = g.graph.get("dt_ms", DEFAULT_DT_MS)
    if not finite(dt) or not DT_RANGE_MS[0] <= dt <= DT_RANGE_MS[1]:
        raise FormatError(f"{path}: graph attribute dt_ms: expected a time step in "
                          f"[{DT_RANGE_MS[0]:g}, {DT_RANGE_MS[1]:g}] ms, got {dt!r}")
    for u, v, d in g.edges(data=True):
        where = f"{path}: edge {u!r} -> {v!r}"
        if "weight" not in d:
            raise FormatError(f"{where}: missing attribute 'weight'")
        for key in ("weight", "delay_ms", "p_release", "std_U", "std_tau_rec"):
            if key in d and not finite(d[key]):
                raise FormatError(f"{where}: {key}: expected a finite number, got {d[key]!r}")
        delay_steps(d.get("delay_ms", 0.0), dt, f"{where}: delay_ms")
