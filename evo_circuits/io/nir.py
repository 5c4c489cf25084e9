"""NIR (Neuromorphic Intermediate Representation): circuits as NIR graphs and ``.nir`` files.

:func:`to_nir` / :func:`from_nir` convert between a :class:`Circuit` and a
``nir.NIRGraph`` (``pip install 'evo-circuits[nir]'``); :func:`save` / :func:`load` write
and read HDF5 ``.nir`` files. The reader walks the HDF5 tree with h5py itself, checking
every object before reading it (only plain numeric and string datasets, no external or
soft links, no virtual datasets, at most :data:`~.caps.MAX_NIR_VALUES` values), so a
small hostile file cannot run code or claim gigabytes.

NIR mapping (exact for ``synapse_model = "current"``; full table in ``docs/motifs.md``)::

    input (Input, n_in) --Linear W>=0--[Delay]--> syn_e (LI, tau=tau_e, r=tau_e, v_leak=0)
    neurons --Linear +w (E pre)--[Delay]--------> syn_e
    neurons --Linear -w (I pre)--[Delay]--------> syn_i (LI, tau=tau_i, r=tau_i, v_leak=0)
    syn_e, syn_i --> neurons (LIF, tau=tau_m, r=1, v_leak=i_bias,
                              v_threshold=v_th-v_rest, v_reset=v_reset-v_rest) --> output

Times are in seconds, voltages and weights in mV, voltages relative to each neuron's
``v_rest`` (kept in the LIF node's metadata). With the spike train read as a sum of
Dirac deltas, the LI equation ``tau dx/dt = -x + r W S`` makes ``x`` jump by
``r W / tau = W`` per spike, i.e. exactly our ``I_e += w`` (and ``syn_i`` holds ``-I_i``).

``to_nir(circuit, flavour="cuba")`` writes instead, for importers that know only
``CubaLIF`` (snnTorch)::

    input --in (Linear, +w)----> syn_scale (Linear, diag dt/tau_m) --> neurons (CubaLIF,
    neurons --rec (Linear, +-w)-/    tau_syn=tau_e, tau_mem=tau_m, r=tau_m/dt, w_in=tau_e/dt) --> output

with a spike read as a unit pulse lasting one step (snnTorch's convention). It is exact
only where ``tau_i == tau_e`` (else inhibition decays with ``tau_e``; a
:class:`NIRApproximationWarning` says so) and has no delays (refused unless
``allow_drop_delays=True``); the circuit JSON in its metadata still round-trips exactly.
"""

from __future__ import annotations

import io as _io
import math
import os
import warnings
from typing import Any

import numpy as np

from ..circuit import Circuit
from ..errors import CircuitError, EvoCircuitsError, FormatError
from ..model import PARAM_INDEX, TYPE_DEFAULTS
from ..version import __version__
from .atomic import atomic_open
from .caps import MAX_FILE_BYTES, MAX_INPUTS, MAX_NEURONS, MAX_NIR_VALUES, check_file, check_size
from .json import dumps, loads

NIR_FORMAT = "evo-circuits/nir"
#: The "cuba" flavour has its own format id, so readers that predate it refuse it
#: instead of misreading its weights (they follow another spike convention).
NIR_CUBA_FORMAT = "evo-circuits/nir-cuba"
NIR_FORMAT_VERSION = 1
NIR_FLAVOURS = ("exact", "cuba")

_SEC = 1e-3  # ms -> s


class NIRApproximationWarning(UserWarning):
    """A NIR export that does not reproduce the circuit's dynamics exactly (cuba flavour)."""


# ============================================================================ NIR export
def _nir():
    try:
        import nir
    except ImportError:
        raise EvoCircuitsError("NIR support needs the 'nir' package: pip install 'evo-circuits[nir]'") from None
    return nir


def _nir_checked(circuit: Circuit):
    """The ``nir`` module, after refusing circuits NIR cannot describe."""
    nir = _nir()
    if circuit.synapse_model != "current":
        raise FormatError("NIR export: NIR has no conductance-based neuron; only synapse_model='current' "
                          "circuits map exactly (export JSON instead)")
    if circuit.n_neurons == 0:
        raise FormatError("NIR export: the circuit has no neurons")
    return nir


def _nir_population(circuit: Circuit) -> dict[str, Any]:
    """Fields shared by both flavours' neuron population (seconds; mV relative to rest).

    ``v_leak``, ``v_threshold``, ``v_reset`` and the ``metadata`` (types, output ports,
    absolute ``v_rest``, ``t_ref``) that :func:`from_nir` reads back.
    """
    col = circuit.param
    v_rest = col("v_rest")
    return {
        "v_leak": col("i_bias").copy(), "v_threshold": col("v_th") - v_rest, "v_reset": col("v_reset") - v_rest,
        "metadata": {"role": "neurons", "types": circuit.types.astype(np.int8),
                     "outputs": np.asarray(circuit.outputs, np.int64), "v_rest": v_rest.copy(),
                     "t_ref": col("t_ref") * _SEC},
    }


def _nir_graph_metadata(circuit: Circuit, fmt: str, weight_unit: str, spike_convention: str) -> dict[str, Any]:

    return {
        "format": fmt, "format_version": NIR_FORMAT_VERSION, "producer": f"evo-circuits {__version__}",
        "name": circuit.name, "time_unit": "s", "voltage_unit": "mV, relative to each neuron's v_rest",
        "weight_unit": weight_unit, "dt": circuit.dt_ms * _SEC,
        "spike_convention": spike_convention,
        "circuit_json": dumps(circuit),
    }


def to_nir(circuit: Circuit, flavour: str = "exact", *, allow_drop_delays: bool = False):
    """Convert a circuit to a ``nir.NIRGraph``.

    Parameters
    ----------
    circuit : Circuit
        A current-based circuit with at least one neuron.
    flavour : {"exact", "cuba"}
        ``"exact"`` (default): LIF + two LI synapse groups + Delay nodes, an exact
        mapping of the model (module docstring). ``"cuba"``: one ``CubaLIF`` population
        fed by an input and a recurrent ``Linear`` (through a diagonal scale), for
        importers that know only CubaLIF (snnTorch); see :func:`_to_nir_cuba` for the
        mapping and what it approximates.
    allow_drop_delays : bool
        ``"cuba"`` only: export circuits with delays > 0 by dropping the delays
        (recorded in the metadata) instead of refusing them.

    Returns
    -------
    nir.NIRGraph
        Either flavour carries the circuit JSON in its metadata, so :func:`from_nir`
        gives the identical circuit back.

    Raises
    ------
    FormatError
        For conductance-based circuits (NIR has no conductance-based neuron), empty
        circuits, an unknown flavour, and (``"cuba"``) delays > 0 without
        ``allow_drop_delays``.
    """
    if flavour == "exact":
        return _to_nir_exact(circuit)
    if flavour == "cuba":
        return _to_nir_cuba(circuit, allow_drop_delays=allow_drop_delays)
    raise FormatError(f"NIR flavour: expected one of {', '.join(NIR_FLAVOURS)}, got {flavour!r}")


def _to_nir_exact(circuit: Circuit):
    """The exact flavour: nodes ``input``, ``neurons`` (LIF), ``syn_e``/``syn_i`` (LI).

    One ``Linear`` per (source, sign, delay) group named ``in_e_d<steps>``,
    ``rec_e_d<steps>``, ``rec_i_d<steps>``, a ``Delay`` after each group with a delay
    > 0 (``..._delay``), and ``output`` (all neurons' spikes; the output ports are
    listed in the ``neurons`` metadata). The graph metadata holds units, ``dt`` and the
    circuit JSON.
    """
    nir = _nir_checked(circuit)
    n, n_in = circuit.n_neurons, circuit.n_inputs
    col = circuit.param
    tau_e, tau_i = col("tau_e") * _SEC, col("tau_i") * _SEC
    pop = _nir_population(circuit)
    nodes: dict[str, Any] = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "neurons": nir.LIF(tau=col("tau_m") * _SEC, r=np.ones(n), **pop),
        # r = tau: with Dirac spikes a spike through weight W makes the state jump by W.
        "syn_e": nir.LI(tau=tau_e, r=tau_e.copy(), v_leak=np.zeros(n), metadata={"role": "synapse_e"}),
        "syn_i": nir.LI(tau=tau_i, r=tau_i.copy(), v_leak=np.zeros(n), metadata={"role": "synapse_i"}),
        "output": nir.Output(output_type={"output": np.array([n])}),
    }
    edges = [("syn_e", "neurons"), ("syn_i", "neurons"), ("neurons", "output")]
    signed = circuit.signed_weights
    for source, rows, prefix in (("input", slice(0, n_in), "in"), ("neurons", slice(n_in, None), "rec")):
        block, delays = signed[rows], circuit.delays[rows]
        for sign, syn, tag in ((1.0, "syn_e", "e"), (-1.0, "syn_i", "i")):
            present = np.sign(block) == sign
            for d in sorted({int(x) for x in delays[present]}):
                m = np.where(present & (delays == d), block, 0.0)
                name = f"{prefix}_{tag}_d{d}"
                meta = {"role": "projection", "source": source, "synapse": tag.upper(), "delay_steps": d}
                nodes[name] = nir.Linear(weight=np.ascontiguousarray(m.T), metadata=meta)
                edges.append((source, name))
                if d > 0:
                    nodes[f"{name}_delay"] = nir.Delay(delay=np.full(n, d * circuit.dt_ms * _SEC),
                                                       metadata={"role": "delay", "delay_steps": d})
                    edges += [(name, f"{name}_delay"), (f"{name}_delay", syn)]
                else:
                    edges.append((name, syn))
    metadata = _nir_graph_metadata(
        circuit, NIR_FORMAT, "mV (jump of the synaptic current per spike)",
        "spikes are Dirac deltas: an LI synapse with r = tau jumps by W per spike")
    # NIR's type inference starts from an Input with outgoing edges; without input
    # channels there is none (our own reader checks every shape anyway).
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=n_in > 0)


def _to_nir_cuba(circuit: Circuit, *, allow_drop_delays: bool = False):
    """The cuba flavour, for importers that know only ``CubaLIF`` (snnTorch)::

        input -> in (Linear, mV) ----------> syn_scale (Linear, diag dt/tau_m) -> neurons (CubaLIF) -> output
        neurons -> rec (Linear, signed mV) -/

    ``in`` and ``rec`` hold the signed weights of the exact flavour (``+w`` from inputs
    and E neurons, ``−w`` from I neurons, mV), all delays in one node each; ``syn_scale``
    multiplies each neuron's input by ``dt / tau_m``. ``neurons``: ``tau_mem = tau_m``,
    ``tau_syn = tau_e``, ``r = tau_m / dt``, ``w_in = tau_e / dt``; ``v_leak``,
    ``v_threshold``, ``v_reset`` and metadata as in the exact flavour (mV relative to
    rest). A spike is read as a pulse of height 1 lasting one step (area ``dt``), as
    snnTorch's importer discretises it (it requires ``r = tau_mem / dt``, and
    ``w_in · dt / tau_syn = 1`` makes its ``syn += input`` exact): a spike through ``w``
    makes ``I`` jump by ``w · dt / tau_m`` and ``v`` sees ``r I = w``, as our ``I_e += w``.
    The scale sits in its own node, not in ``w_in``, because snnTorch folds a ``w_in``
    scale into the threshold and then needs it equal for all neurons; and it makes the
    recurrent loop ``neurons -> rec -> syn_scale -> neurons`` three nodes long, which keeps
    snnTorch 1.0 away from its LIF<->Linear "RNN subgraph" rewrite (with nirtorch 2.x
    that rewrite feeds the external input through the recurrent weights).

    Approximations, recorded in the metadata (``approximations``) and undone by
    :func:`from_nir` from the embedded circuit JSON:

    - one synaptic time constant: the inhibitory current decays with ``tau_e``. Exact
      only where ``tau_i == tau_e`` (or the neuron gets no inhibitory synapse); a
      :class:`NIRApproximationWarning` names the neurons where it is not;
    - no delays: refused unless ``allow_drop_delays`` (then every synapse acts at
      delay 0; ``in``/``rec`` keep the dropped ones in ``dropped_delay_steps``).

    The refractory period, as in the exact flavour, is only in the metadata.
    """
    nir = _nir_checked(circuit)
    n, n_in = circuit.n_neurons, circuit.n_inputs
    col = circuit.param
    dt = circuit.dt_ms * _SEC
    tau_m, tau_e, tau_i = col("tau_m") * _SEC, col("tau_e") * _SEC, col("tau_i") * _SEC
    signed = circuit.signed_weights
    present = signed != 0
    delayed = present & (circuit.delays > 0)
    notes = []
    if delayed.any():
        if not allow_drop_delays:
            raise FormatError(f"NIR export (cuba flavour): {int(delayed.sum())} synapse(s) have delays > 0 "
                              f"(up to {int(circuit.delays[delayed].max())} steps) and CubaLIF graphs have no "
                              "Delay nodes; pass allow_drop_delays=True (--allow-drop-delays) to export them "
                              "with delay 0, or use the exact flavour")
        notes.append(f"{int(delayed.sum())} synaptic delay(s) > 0 dropped (every synapse acts at delay 0; "
                     "see dropped_delay_steps of the Linear nodes)")
    # tau_i is visible only for neurons that receive inhibitory synapses.
    approx = np.any(signed[n_in:] < 0, axis=0) & ~np.isclose(tau_i, tau_e, rtol=1e-12, atol=0)
    if approx.any():
        which = ", ".join(str(int(i)) for i in np.flatnonzero(approx))
        msg = (f"inhibitory currents decay with tau_syn = tau_e instead of tau_i in neuron(s) {which} "
               "(CubaLIF has one synaptic time constant)")
        warnings.warn(f"NIR export (cuba flavour): {msg}", NIRApproximationWarning, stacklevel=3)
        notes.append(msg)
    pop = _nir_population(circuit)
    pop["metadata"].update({
        "tau_syn_is": "tau_e", "tau_i": tau_i.copy(), "tau_i_approximated": approx.astype(np.int8),
        "note": "one synaptic current: tau_syn = tau_e; exact where tau_e == tau_i or the neuron gets no "
                "inhibitory synapse; r = tau_mem/dt and w_in = tau_syn/dt (spike = one-step unit pulse)",
    })
    nodes: dict[str, Any] = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "neurons": nir.CubaLIF(tau_syn=tau_e, tau_mem=tau_m, r=tau_m / dt, w_in=tau_e / dt, **pop),
        "syn_scale": nir.Linear(weight=np.diag(dt / tau_m), metadata={
            "role": "scale", "note": "dt / tau_m per neuron: mV weights -> jump of the CubaLIF current I"}),
        "output": nir.Output(output_type={"output": np.array([n])}),
    }
    edges = [("syn_scale", "neurons"), ("neurons", "output")]
    for source, rows, name in (("input", slice(0, n_in), "in"), ("neurons", slice(n_in, None), "rec")):
        if source == "input" and n_in == 0:
            continue
        dropped = np.where(present[rows], circuit.delays[rows], 0).astype(np.int64)
        meta = {"role": "projection", "source": source, "synapse": "E and I (signed)",
                "dropped_delay_steps": np.ascontiguousarray(dropped.T)}
        nodes[name] = nir.Linear(weight=np.ascontiguousarray(signed[rows].T), metadata=meta)
        edges += [(source, name), (name, "syn_scale")]
    metadata = _nir_graph_metadata(
        circuit, NIR_CUBA_FORMAT, "mV (in, rec); syn_scale turns them into jumps of I (r I = w)",
        "a spike is a unit pulse lasting one step dt (area dt), as snnTorch's importer reads it; "
        "with r = tau_mem/dt and w_in = tau_syn/dt a spike through w (mV) makes r I jump by w")
    metadata["approximations"] = "; ".join(notes) if notes else "none"
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=n_in > 0)


def save(circuit: Circuit, path: str | os.PathLike, flavour: str = "exact", *,
             allow_drop_delays: bool = False) -> None:
    """Write :func:`to_nir` of ``circuit`` to an HDF5 ``.nir`` file, atomically."""
    nir = _nir()
    buf = _io.BytesIO()
    nir.write(buf, to_nir(circuit, flavour, allow_drop_delays=allow_drop_delays))
    with atomic_open(path, "wb") as fh:
        fh.write(buf.getvalue())


# ============================================================================ NIR import
def _scalar(value: Any) -> Any:
    """Plain Python value of an HDF5/NumPy scalar (bytes decoded)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _read_hdf5_tree(path: str | os.PathLike) -> dict:
    """Read a NIR HDF5 file into nested dicts, checking every object before reading it."""
    try:
        import h5py
    except ImportError:
        raise EvoCircuitsError("NIR support needs the 'nir' package: pip install 'evo-circuits[nir]'") from None
    budget = [MAX_NIR_VALUES]

    def walk(group, where: str, depth: int) -> dict:
        if depth > 6:
            raise FormatError(f"{where}: nested too deeply (NIR subgraphs are not supported)")
        out: dict[str, Any] = {}
        for key in group.keys():
            here = f"{where}/{key}"
            if not isinstance(group.get(key, getlink=True), h5py.HardLink):
                raise FormatError(f"{here}: links to other objects or files are not allowed")
            item = group[key]
            if isinstance(item, h5py.Group):
                out[key] = walk(item, here, depth + 1)
                continue
            if not isinstance(item, h5py.Dataset):
                raise FormatError(f"{here}: unsupported HDF5 object {type(item).__name__}")
            if item.is_virtual or item.external:
                raise FormatError(f"{here}: virtual or external datasets are not allowed")
            is_str = h5py.check_string_dtype(item.dtype) is not None
            if not is_str and item.dtype.kind not in "fiub":
                raise FormatError(f"{here}: unsupported data type {item.dtype}")
            size = int(np.prod(item.shape)) if item.shape is not None else 0
            budget[0] -= size
            if budget[0] < 0 or (is_str and size > 100_000):
                raise FormatError(f"{here}: the file holds more values than the import cap "
                                  f"({MAX_NIR_VALUES:,}); motifs are small circuits")
            value = item[()]
            if is_str:
                if np.ndim(value) == 0:
                    value = _scalar(value)
                else:
                    arr = np.asarray(value, dtype=object)
                    value = np.array([b.decode("utf-8") if isinstance(b, bytes) else str(b) for b in arr.ravel()],
                                     dtype=object).reshape(arr.shape)
            out[key] = value
        return out

    try:
        with h5py.File(path, "r") as fh:
            tree = walk(fh, "", 0)
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from None
    except (OSError, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: not a readable NIR/HDF5 file ({str(exc).splitlines()[0] if str(exc) else exc!r})") from None
    return tree


def _nir_graph_from_tree(tree: dict, path: str | os.PathLike):
    nir = _nir()
    node = tree.get("node")
    if not isinstance(node, dict) or _scalar(node.get("type")) != "NIRGraph":
        raise FormatError(f"{path}: not a NIR graph file (missing 'node' group of type NIRGraph)")
    nodes = node.get("nodes")
    edges = node.get("edges")
    if not isinstance(nodes, dict) or edges is None:
        raise FormatError(f"{path}: NIR graph without 'nodes' or 'edges'")
    if len(nodes) > 10_000:
        raise FormatError(f"{path}: {len(nodes):,} NIR nodes is more than the cap of 10,000")
    edges = np.asarray(edges, dtype=object)
    if edges.size and (edges.ndim != 2 or edges.shape[1] != 2):
        raise FormatError(f"{path}: NIR 'edges' must be a list of (source, target) pairs")
    built = {}
    for name, nd in nodes.items():
        if not isinstance(nd, dict) or "type" not in nd:
            raise FormatError(f"{path}: NIR node {name!r} has no 'type'")
        kind = _scalar(nd["type"])
        cls = getattr(nir, kind, None) if isinstance(kind, str) else None
        if not (isinstance(cls, type) and issubclass(cls, nir.NIRNode)):
            raise FormatError(f"{path}: NIR node {name!r}: unknown node type {kind!r}")
        if kind == "NIRGraph":
            raise FormatError(f"{path}: NIR node {name!r}: nested subgraphs are not supported")
        data = {k: (_scalar(v) if k == "type" else v) for k, v in nd.items()}
        if "metadata" in data and not isinstance(data["metadata"], dict):
            raise FormatError(f"{path}: NIR node {name!r}: 'metadata' must be a group")
        try:
            built[name] = nir.dict2NIRNode(data)
        except (AssertionError, TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            raise FormatError(f"{path}: NIR node {name!r} ({kind}): invalid ({exc or type(exc).__name__})") from None
    meta = node.get("metadata", {})
    if not isinstance(meta, dict):
        raise FormatError(f"{path}: NIR graph 'metadata' must be a group")
    edge_list = [(str(a), str(b)) for a, b in edges.reshape(-1, 2)] if edges.size else []
    try:
        # from_nir checks every shape it uses; NIR's own type inference needs an Input
        # with outgoing edges, which circuits without input channels lack.
        return nir.NIRGraph(nodes=built, edges=edge_list, metadata=dict(meta), type_check=False)
    except (AssertionError, TypeError, ValueError, KeyError, NotImplementedError) as exc:
        raise FormatError(f"{path}: invalid NIR graph ({exc or type(exc).__name__})") from None


def load(path: str | os.PathLike, *, max_neurons: int | None = None, max_inputs: int | None = None,
         max_bytes: int | None = None) -> Circuit:
    """Read a ``.nir`` file (HDF5) and convert it with :func:`from_nir`.

    The caps are those of :func:`evo_circuits.io.load`; the values read are always
    capped by :data:`~.caps.MAX_NIR_VALUES`.

    Raises
    ------
    FormatError
        If the file is not a NIR graph that maps onto a circuit, or is too large.
    """
    check_file(path, max_bytes)
    graph = _nir_graph_from_tree(_read_hdf5_tree(path), path)
    try:
        return from_nir(graph, max_neurons=max_neurons, max_inputs=max_inputs)
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from None


def _meta(node) -> dict:
    m = getattr(node, "metadata", None)
    return m if isinstance(m, dict) else {}


def _vector(value: Any, n: int, what: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    arr = arr.reshape(-1)
    if arr.shape != (n,):
        raise FormatError(f"{what}: expected {n} values, got shape {np.shape(value)}")
    if not np.all(np.isfinite(arr)):
        raise FormatError(f"{what}: values must be finite")
    return arr


def from_nir(graph, *, max_neurons: int | None = None, max_inputs: int | None = None) -> Circuit:
    """Convert a ``nir.NIRGraph`` to a circuit.

    Accepts both layouts written by :func:`to_nir` and, more generally, one spiking
    population (``LIF`` fed by ``LI`` synaptic filters, or ``CubaLIF``) with ``Linear``
    (or zero-bias ``Affine``) projections from one ``Input`` and from the population
    itself, optionally through ``Delay`` nodes. Synapse signs give the presynaptic
    types (Dale's law). If the graph carries evo-circuits metadata (the circuit JSON),
    the values NIR cannot hold (refractory period, release probability, depression,
    name) come from it, and where the graph agrees with it the JSON circuit is returned
    exactly. Spikes are read as Dirac deltas, except in our cuba flavour (format
    ``evo-circuits/nir-cuba``), where a spike is a unit pulse lasting one step ``dt``
    (snnTorch's reading); its delays and ``tau_i`` come from the JSON.

    Raises
    ------
    FormatError
        If the graph does not map onto a circuit (the message says why).
    """
    nir = _nir()
    gmeta = {k: _scalar(v) for k, v in _meta(graph).items()}
    fmt = gmeta.get("format")
    if isinstance(fmt, str) and fmt.startswith("evo-circuits") and fmt not in (NIR_FORMAT, NIR_CUBA_FORMAT):
        raise FormatError(f"NIR metadata 'format': expected {NIR_FORMAT!r} or {NIR_CUBA_FORMAT!r}, got {fmt!r}")
    if fmt in (NIR_FORMAT, NIR_CUBA_FORMAT) and gmeta.get("format_version") != NIR_FORMAT_VERSION:
        raise FormatError(f"NIR metadata 'format_version': unsupported version {gmeta.get('format_version')!r} "
                          f"(this reader knows {NIR_FORMAT_VERSION})")
    time_unit = gmeta.get("time_unit", "s")
    to_ms = {"s": 1e3, "ms": 1.0}.get(time_unit)
    if to_ms is None:
        raise FormatError(f"NIR metadata 'time_unit': expected 's' or 'ms', got {time_unit!r}")
    nodes = graph.nodes
    pops = [k for k, v in nodes.items() if isinstance(v, (nir.LIF, nir.CubaLIF))]
    if len(pops) != 1:
        raise FormatError(f"expected exactly one LIF or CubaLIF population, found {len(pops)}"
                          + (f" ({', '.join(pops)})" if pops else ""))
    pop_name = pops[0]
    pop = nodes[pop_name]
    n = int(np.asarray(pop.v_threshold).size)
    inputs = [k for k, v in nodes.items() if isinstance(v, nir.Input)]
    if len(inputs) > 1:
        raise FormatError(f"expected at most one Input node, found {len(inputs)}")
    n_in = int(np.prod(nodes[inputs[0]].input_type["input"])) if inputs else 0
    check_size(n, n_in, "NIR graph", max_neurons=max_neurons, max_inputs=max_inputs)
    if n == 0:
        raise FormatError("the neuron population is empty")
    preds: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b in graph.edges:
        if a not in nodes or b not in nodes:
            raise FormatError(f"edge ({a!r}, {b!r}) refers to a node that does not exist")
        if a in preds[b]:
            raise FormatError(f"duplicate edge ({a!r}, {b!r})")
        preds[b].append(a)
    row_of = {pop_name: n_in}
    if inputs:
        row_of[inputs[0]] = 0
    dt_ms = float(gmeta["dt"]) * to_ms if "dt" in gmeta else 0.1
    if not (math.isfinite(dt_ms) and dt_ms > 0):
        raise FormatError(f"NIR metadata 'dt': expected a positive number, got {gmeta.get('dt')!r}")

    # Area of one spike, in the graph's time unit: Dirac deltas (1), except in our cuba
    # flavour, where a spike is a unit pulse lasting one step (area dt), as in snnTorch.
    spike_area = dt_ms / to_ms if fmt == NIR_CUBA_FORMAT else 1.0

    shape = (n_in + n, n)
    signed = np.zeros(shape)
    delays = np.zeros(shape, np.int64)
    tau = {+1: np.full(n, np.nan), -1: np.full(n, np.nan)}

    def trace(name: str) -> tuple[int, np.ndarray, np.ndarray]:
        """Walk back from a filter input: [Delay] -> Linear/Affine -> [Delay] -> source."""
        node, delay_post, delay_pre = nodes[name], np.zeros(n), None
        if isinstance(node, nir.Delay):
            delay_post = _vector(node.delay, n, f"Delay {name!r}") * to_ms
            name = _single_pred(preds, name)
            node = nodes[name]
        if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
            raise FormatError(f"Affine {name!r}: a bias has no circuit equivalent (use Linear)")
        if not isinstance(node, (nir.Linear, nir.Affine)):
            raise FormatError(f"node {name!r} ({type(node).__name__}): expected a Linear projection "
                              "(optionally followed by a Delay) in front of a synapse")
        weight = np.asarray(node.weight, dtype=np.float64)
        src = _single_pred(preds, name)
        if isinstance(nodes[src], nir.Delay):
            delay_pre = _vector(nodes[src].delay, weight.shape[-1] if weight.ndim == 2 else 0,
                                f"Delay {src!r}") * to_ms
            src = _single_pred(preds, src)
        if src not in row_of:
            raise FormatError(f"Linear {name!r}: its source {src!r} must be the Input or the neuron population")
        n_src = n_in if src != pop_name else n
        if weight.shape != (n, n_src):
            raise FormatError(f"Linear {name!r}: expected weight shape {(n, n_src)}, got {weight.shape}")
        if not np.all(np.isfinite(weight)):
            raise FormatError(f"Linear {name!r}: weights must be finite")
        total = delay_post[:, None] + (0.0 if delay_pre is None else delay_pre[None, :])
        return row_of[src], weight, total

    def projections(name: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Like :func:`trace`, but a Linear fed only by Linear projections (our cuba
        flavour's ``syn_scale``) multiplies each of them and is expanded."""
        node, ps = nodes[name], preds.get(name, [])
        if not (isinstance(node, (nir.Linear, nir.Affine)) and ps
                and all(isinstance(nodes[q], (nir.Linear, nir.Affine)) for q in ps)):
            return [trace(name)]
        m = np.asarray(node.weight, dtype=np.float64)
        if m.shape != (n, n) or not np.all(np.isfinite(m)) or np.any(m != np.diag(np.diag(m))):
            raise FormatError(f"Linear {name!r} between projections and the population: expected a finite "
                              f"diagonal {(n, n)} weight (a per-neuron scale)")
        if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
            raise FormatError(f"Affine {name!r}: a bias has no circuit equivalent (use Linear)")
        return [(row0, np.diag(m)[:, None] * weight, dly) for row0, weight, dly in map(trace, ps)]

    def add(row0: int, weight: np.ndarray, delay_ms: np.ndarray, scale: np.ndarray, tau_syn: np.ndarray,
            where: str, signs_allowed: tuple[int, ...] = (1, -1)) -> None:
        w = (weight * scale[:, None]).T  # (n_src, n)
        rows = slice(row0, row0 + w.shape[0])
        here = w != 0
        if np.any(here & (signed[rows] != 0)):
            raise FormatError(f"{where}: two projections onto the same synapse (one synapse per pre/post pair)")
        steps = np.rint(delay_ms.T / dt_ms)
        if np.any(here & ((np.abs(delay_ms.T / dt_ms - steps) > 1e-6) | (steps < 0))):
            raise FormatError(f"{where}: delays must be whole non-negative multiples of dt = {dt_ms:g} ms")
        signed[rows] = np.where(here, w, signed[rows])
        delays[rows] = np.where(here, steps, delays[rows]).astype(np.int64)
        for sign in signs_allowed:
            posts = np.any(np.sign(w) == sign, axis=0)
            old = tau[sign][posts]
            new = tau_syn[posts]
            if np.any(~np.isnan(old) & ~np.isclose(old, new, rtol=1e-12, atol=0)):
                raise FormatError(f"{where}: one neuron gets {'E' if sign > 0 else 'I'} synapses with two "
                                  "different time constants")
            tau[sign][posts] = new

    if isinstance(pop, nir.CubaLIF):
        tau_m = _vector(pop.tau_mem, n, "CubaLIF tau_mem") * to_ms
        r_pop = _vector(pop.r, n, "CubaLIF r")
        tau_syn = _vector(pop.tau_syn, n, "CubaLIF tau_syn") * to_ms
        w_in = _vector(pop.w_in, n, "CubaLIF w_in")
        for p in preds[pop_name]:
            for row0, weight, dly in projections(p):
                # tau_syn dI/dt = -I + w_in W S: a Dirac spike (area spike_area) adds
                # w_in W area / tau_syn to I, and v sees R I; times in the unit of tau.
                add(row0, weight, dly, r_pop * w_in * spike_area / (tau_syn / to_ms), tau_syn,
                    f"projection {p!r}")
        leak_tau = tau_m
    else:
        tau_m = _vector(pop.tau, n, "LIF tau") * to_ms
        r_pop = _vector(pop.r, n, "LIF r")
        for f in preds[pop_name]:
            filt = nodes[f]
            if not isinstance(filt, nir.LI):
                raise FormatError(f"node {f!r} ({type(filt).__name__}) feeds the LIF population directly; "
                                  "circuits need exponential synapses (an LI filter or a CubaLIF population)")
            if np.any(_vector(filt.v_leak, n, f"LI {f!r} v_leak") != 0):
                raise FormatError(f"LI {f!r}: a synaptic filter must have v_leak = 0")
            t_f = _vector(filt.tau, n, f"LI {f!r} tau") * to_ms
            r_f = _vector(filt.r, n, f"LI {f!r} r")
            for p in preds[f]:
                row0, weight, dly = trace(p)
                add(row0, weight, dly, r_pop * r_f * spike_area / (t_f / to_ms), t_f, f"projection {p!r}")
        leak_tau = tau_m
    if np.any(leak_tau <= 0) or any(np.any(t[~np.isnan(t)] <= 0) for t in tau.values()):
        raise FormatError("time constants must be > 0")

    # Types from the signs of each neuron's outgoing synapses (Dale's law).
    pmeta = {k: v for k, v in _meta(pop).items()}
    out_w = signed[n_in:]
    pos, neg = np.any(out_w > 0, axis=1), np.any(out_w < 0, axis=1)
    if np.any(pos & neg):
        i = int(np.flatnonzero(pos & neg)[0])
        raise FormatError(f"neuron {i} has excitatory and inhibitory outgoing synapses (Dale's law)")
    if np.any(signed[:n_in] < 0):
        raise FormatError("input channels are excitatory: input weights must be >= 0")
    if "types" in pmeta:
        types = np.asarray(pmeta["types"]).reshape(-1)
        if types.shape != (n,) or not np.all(np.isin(types, (1, -1))):
            raise FormatError(f"population metadata 'types': expected {n} values of +1/-1")
        types = types.astype(np.int8)
        if np.any((types > 0) & neg) or np.any((types < 0) & pos):
            raise FormatError("population metadata 'types' contradicts the synapse signs")
    else:
        types = np.where(neg, -1, 1).astype(np.int8)

    defaults = np.array([TYPE_DEFAULTS["E" if t > 0 else "I"].as_tuple() for t in types]).reshape(n, -1)
    params = defaults.copy()
    v_leak = _vector(pop.v_leak, n, "v_leak")
    v_th = _vector(pop.v_threshold, n, "v_threshold")
    v_reset = _vector(pop.v_reset, n, "v_reset")
    params[:, PARAM_INDEX["tau_m"]] = leak_tau
    for sign, key in ((1, "tau_e"), (-1, "tau_i")):
        t = tau[sign]
        params[:, PARAM_INDEX[key]] = np.where(np.isnan(t), params[:, PARAM_INDEX[key]], t)
    if "v_rest" in pmeta:  # our layout: voltages relative to rest, v_leak = i_bias
        v_rest = _vector(pmeta["v_rest"], n, "population metadata 'v_rest'")
        i_bias = v_leak
    else:  # foreign graph: absolute voltages
        v_rest, i_bias = v_leak, np.zeros(n)
    params[:, PARAM_INDEX["v_rest"]] = v_rest
    params[:, PARAM_INDEX["i_bias"]] = i_bias
    params[:, PARAM_INDEX["v_th"]] = v_th + (v_rest if "v_rest" in pmeta else 0.0)
    params[:, PARAM_INDEX["v_reset"]] = v_reset + (v_rest if "v_rest" in pmeta else 0.0)
    # The LIF's R scales the synaptic current; v_leak is unaffected, so fold R != 1 into
    # the weights (done above) — a CubaLIF/LIF with R = 0 would silence every synapse.
    params[:, PARAM_INDEX["t_ref"]] = (_vector(pmeta["t_ref"], n, "population metadata 't_ref'") * to_ms
                                       if "t_ref" in pmeta else 0.0)
    if "outputs" in pmeta:
        outputs = [int(o) for o in np.asarray(pmeta["outputs"]).reshape(-1)]
    else:
        outputs = list(range(n))
    try:
        circuit = Circuit(types=types, n_inputs=n_in, weights=np.abs(signed), delays=delays, params=params,
                          outputs=outputs, dt_ms=dt_ms, name=str(gmeta.get("name", "") or ""))
    except CircuitError as exc:
        raise FormatError(f"NIR graph: {exc}") from None
    text = gmeta.get("circuit_json")
    if isinstance(text, str):
        return _merge_embedded(circuit, text, cuba=fmt == NIR_CUBA_FORMAT)
    return circuit


def _single_pred(preds: dict, name: str) -> str:
    p = preds.get(name, [])
    if len(p) != 1:
        raise FormatError(f"node {name!r}: expected exactly one incoming edge, found {len(p)}")
    return p[0]


def _merge_embedded(from_graph: Circuit, text: str, *, cuba: bool = False) -> Circuit:
    """Prefer the embedded circuit JSON where the graph agrees with it.

    ``cuba``: the graph is our cuba flavour, which cannot hold delays or ``tau_i``
    (it may have dropped the former and approximated the latter); both come from the
    JSON and are not compared.
    """
    if len(text) > MAX_FILE_BYTES:
        raise FormatError("NIR metadata 'circuit_json' is larger than the import cap")
    emb = loads(text, where="NIR metadata 'circuit_json'", max_neurons=MAX_NEURONS, max_inputs=MAX_INPUTS)
    g = from_graph
    same_shape = (emb.n_neurons == g.n_neurons and emb.n_inputs == g.n_inputs
                  and np.array_equal(emb.types, g.types) and np.array_equal(emb.weights > 0, g.weights > 0))
    if not same_shape:
        # The graph was edited beyond recognition: the graph wins, only the name survives.
        return g.replace(name=emb.name or g.name, metadata=dict(emb.metadata))
    if cuba:
        params = g.params.copy()
        params[:, PARAM_INDEX["tau_i"]] = emb.params[:, PARAM_INDEX["tau_i"]]
        g = g.replace(delays=emb.delays, params=params)
    close = (np.allclose(emb.weights, g.weights, rtol=1e-9, atol=1e-12)
             and np.array_equal(emb.delays, g.delays) and emb.dt_ms == g.dt_ms
             and np.array_equal(np.asarray(emb.outputs), np.asarray(g.outputs)))
    cols = [PARAM_INDEX[k] for k in ("tau_m", "tau_e", "tau_i", "v_rest", "v_th", "v_reset", "i_bias", "t_ref")]
    used_tau = np.ones_like(emb.params, dtype=bool)
    # tau_e / tau_i of a neuron without E / I input are not visible in the graph.
    has_e = np.any(emb.signed_weights > 0, axis=0)
    has_i = np.any(emb.signed_weights < 0, axis=0)
    used_tau[:, PARAM_INDEX["tau_e"]] = has_e
    used_tau[:, PARAM_INDEX["tau_i"]] = has_i
    params_close = all(np.allclose(emb.params[used_tau[:, c], c], g.params[used_tau[:, c], c], rtol=1e-9, atol=1e-9)
                       for c in cols)
    if close and params_close:
        return emb
    # Edited numbers: graph values, plus what NIR cannot hold from the JSON.
    params = g.params.copy()
    for c in range(params.shape[1]):
        if c not in cols:
            params[:, c] = emb.params[:, c]
    params[:, PARAM_INDEX["tau_e"]] = np.where(has_e, g.params[:, PARAM_INDEX["tau_e"]], emb.params[:, PARAM_INDEX["tau_e"]])
    params[:, PARAM_INDEX["tau_i"]] = np.where(has_i, g.params[:, PARAM_INDEX["tau_i"]], emb.params[:, PARAM_INDEX["tau_i"]])
    return g.replace(params=params, p_release=emb.p_release, std_u=emb.std_u, std_tau_rec=emb.std_tau_rec,
                     name=emb.name, metadata=dict(emb.metadata), synapse_model=emb.synapse_model)
