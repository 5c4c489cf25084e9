"""networkx view of a circuit, its inverse, and GraphML export/import.

Node ids are strings: ``"in<c>"`` for input channel ``c`` and ``"n<i>"`` for neuron
``i``. Node attributes: ``kind`` (input|neuron), ``type`` (E|I; inputs are E), ``role``
(in|hidden|out), ``index`` and, for outputs, ``out_port``; neurons also carry their
parameters. Edge attributes: ``weight`` (signed by Dale's law), ``delay_ms``,
``p_release`` and, with depression, ``std_U`` and ``std_tau_rec``. Graph attributes:
``name``, ``dt_ms``, ``synapse_model``, ``n_inputs``. All values are scalars, so the
graph writes to GraphML as is.
"""

from __future__ import annotations

import io as _io
import os

import networkx as nx
import numpy as np

from .atomic import write_text
from .circuit import Circuit
from .errors import FormatError
from .model import NEURON_PARAMS, TYPE_CODES, TYPE_NAMES


def input_node(c: int) -> str:
    """Node id of input channel ``c``."""
    return f"in{c}"


def neuron_node(i: int) -> str:
    """Node id of neuron ``i``."""
    return f"n{i}"


def to_networkx(circuit: Circuit) -> nx.DiGraph:
    """Build a DiGraph with the node/edge attributes described in the module docstring."""
    g = nx.DiGraph(name=circuit.name, dt_ms=circuit.dt_ms, synapse_model=circuit.synapse_model,
                   n_inputs=circuit.n_inputs)
    for c in range(circuit.n_inputs):
        g.add_node(input_node(c), kind="input", type="E", role="in", index=c)
    ports = {int(o): k for k, o in enumerate(circuit.outputs)}
    for i, t in enumerate(circuit.types):
        attrs = {name: float(circuit.params[i, k]) for k, name in enumerate(NEURON_PARAMS)}
        role = "out" if i in ports else "hidden"
        if i in ports:
            attrs["out_port"] = ports[i]
        g.add_node(neuron_node(i), kind="neuron", type=TYPE_NAMES[int(t)], role=role, index=i, **attrs)
    signs = circuit.source_signs
    for pre, post in zip(*np.nonzero(circuit.weights)):
        src = input_node(pre) if pre < circuit.n_inputs else neuron_node(pre - circuit.n_inputs)
        attrs = {"weight": float(signs[pre] * circuit.weights[pre, post]),
                 "delay_ms": float(circuit.delays[pre, post] * circuit.dt_ms),
                 "p_release": float(circuit.p_release[pre, post])}
        if circuit.std_u[pre, post] > 0:
            attrs["std_U"] = float(circuit.std_u[pre, post])
            attrs["std_tau_rec"] = float(circuit.std_tau_rec[pre, post])
        g.add_edge(src, neuron_node(int(post)), **attrs)
    return g


def from_networkx(g: nx.DiGraph) -> Circuit:
    """Inverse of :func:`to_networkx` (also accepts graphs read back from GraphML).

    Raises
    ------
    FormatError
        If a node or edge lacks a required attribute or breaks Dale's law.
    """
    gattr = g.graph
    n_in = int(gattr.get("n_inputs", sum(1 for _, d in g.nodes(data=True) if d.get("kind") == "input")))
    dt = float(gattr.get("dt_ms", 0.1))
    neurons = sorted(((int(d["index"]), node, d) for node, d in g.nodes(data=True) if d.get("kind") == "neuron"),
                     key=lambda x: x[0])
    if [i for i, _, _ in neurons] != list(range(len(neurons))):
        raise FormatError("graph: neuron 'index' attributes must be 0..n-1")
    row_of: dict = {}
    for node, d in g.nodes(data=True):
        if d.get("kind") == "input":
            row_of[node] = int(d["index"])
        elif d.get("kind") != "neuron":
            raise FormatError(f"graph node {node!r}: 'kind' must be 'input' or 'neuron', got {d.get('kind')!r}")
    n = len(neurons)
    types = np.zeros(n, np.int8)
    params = np.zeros((n, len(NEURON_PARAMS)))
    outputs: dict[int, int] = {}
    for i, node, d in neurons:
        row_of[node] = n_in + i
        if d.get("type") not in TYPE_CODES:
            raise FormatError(f"graph node {node!r}: 'type' must be 'E' or 'I', got {d.get('type')!r}")
        types[i] = TYPE_CODES[d["type"]]
        for k, name in enumerate(NEURON_PARAMS):
            if name not in d:
                raise FormatError(f"graph node {node!r}: missing neuron parameter {name!r}")
            params[i, k] = float(d[name])
        if d.get("role") == "out":
            outputs[int(d.get("out_port", len(outputs)))] = i
    shape = (n_in + n, n)
    w, p, su, st = (np.zeros(shape) for _ in range(4))
    p[:] = 1.0
    delays = np.zeros(shape, np.int64)
    signs = np.concatenate([np.ones(n_in, np.int8), types])
    for u, v, d in g.edges(data=True):
        r, col = row_of[u], row_of[v] - n_in
        if col < 0:
            raise FormatError(f"graph edge {u!r}->{v!r}: an input channel cannot be postsynaptic")
        weight = float(d["weight"])
        if weight * signs[r] < 0:
            raise FormatError(f"graph edge {u!r}->{v!r}: weight {weight} breaks Dale's law "
                              f"(presynaptic type {'E' if signs[r] > 0 else 'I'})")
        w[r, col] = abs(weight)
        delays[r, col] = int(round(float(d.get("delay_ms", 0.0)) / dt))
        p[r, col] = float(d.get("p_release", 1.0))
        su[r, col] = float(d.get("std_U", 0.0))
        st[r, col] = float(d.get("std_tau_rec", 0.0))
    return Circuit(types=types, n_inputs=n_in, weights=w, delays=delays, p_release=p, std_u=su,
                   std_tau_rec=st, params=params, outputs=[outputs[k] for k in sorted(outputs)],
                   dt_ms=dt, synapse_model=str(gattr.get("synapse_model", "current")),
                   name=str(gattr.get("name", "")))


def save_graphml(circuit: Circuit, path: str | os.PathLike) -> None:
    """Write the circuit's networkx view as GraphML, atomically."""
    buf = _io.BytesIO()
    nx.write_graphml(to_networkx(circuit), buf)
    write_text(path, buf.getvalue().decode("utf-8"))


def load_graphml(path: str | os.PathLike) -> Circuit:
    """Read a circuit written by :func:`save_graphml`."""
    try:
        g = nx.read_graphml(path)
    except FileNotFoundError:
        raise FormatError(f"{path}: no such file") from None
    except Exception as exc:  # networkx raises several parser exception types
        raise FormatError(f"{path}: not valid GraphML ({exc})") from None
    return from_networkx(g)
