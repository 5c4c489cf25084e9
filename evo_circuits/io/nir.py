"""NIR (Neuromorphic Intermediate Representation): circuits as NIR graphs and ``.nir`` files.

:func:`to_nir` / :func:`from_nir` convert between a :class:`Circuit` and a
``nir.NIRGraph`` (``pip install 'evo-circuits[nir]'``); :func:`save` / :func:`load` write
and read HDF5 ``.nir`` files. The reader walks the HDF5 tree with h5py itself, checking
every object before reading it (only plain numeric and string datasets, no external or
soft links, no virtual datasets, at most :data:`~.caps.MAX_NIR_VALUES` values), so a
small hostile file cannot run code or claim gigabytes.

Two flavours (full tables in ``docs/motifs.md``). The default, ``cuba``, is for the
frameworks people run NIR in: one ``CubaLIF`` population that snnTorch 1.0 and Norse 1.1
load and run, at any dt, reproducing our simulator's spikes (tests/test_nir_peers.py)::

    input --in (Linear, +w)----> syn_scale (Linear/Affine, diag) --> neurons (CubaLIF) --> output
    neurons --rec (Linear, +-w)-/

It is a discrete-time graph: the peers' forward-Euler steps of 0.1 ms, with the time
constants chosen so that each is one exact step of the circuit's dt (:func:`_to_nir_cuba`).
What CubaLIF cannot hold (delays, a second synaptic time constant, refractoriness,
``v_reset != v_rest``, stochastic release or depression) is refused in one line naming the
``allow_...`` keyword / ``--allow-...`` flag that drops or approximates it
(:data:`NIR_ALLOWANCES`).

``exact`` is NIR's exact description of the model (``synapse_model = "current"``), which
neither snnTorch nor Norse can load (they have no LI or Delay node)::

    input (Input, n_in) --Linear W>=0--[Delay]--> syn_e (LI, tau=tau_e, r=tau_e, v_leak=0)
    neurons --Linear +w (E pre)--[Delay]--------> syn_e
    neurons --Linear -w (I pre)--[Delay]--------> syn_i (LI, tau=tau_i, r=tau_i, v_leak=0)
    syn_e, syn_i --> neurons (LIF, tau=tau_m, r=1, v_leak=i_bias,
                              v_threshold=v_th-v_rest, v_reset=v_reset-v_rest) --> output

Times are in seconds, voltages and weights in mV, voltages relative to each neuron's
``v_rest`` (kept in the LIF node's metadata). With the spike train read as a sum of
Dirac deltas, the LI equation ``tau dx/dt = -x + r W S`` makes ``x`` jump by
``r W / tau = W`` per spike, i.e. exactly our ``I_e += w`` (and ``syn_i`` holds ``-I_i``).

Both flavours carry the circuit JSON in their metadata, so :func:`from_nir` returns the
identical circuit, whatever a flavour had to drop.
"""

from __future__ import annotations

import io as _io
import math
import os
import warnings
from typing import Any

import numpy as np

from ..circuit import DENSE_MAX_ENTRIES, Circuit
from ..dynamics.propagators import psc_coefficient
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
#: Version 2 of the cuba flavour: a discrete-time graph for 0.1-ms Euler steps (version 1,
#: still read, held the continuous time constants and only ran at dt = 0.1 ms).
NIR_CUBA_FORMAT_VERSION = 2
NIR_FLAVOURS = ("cuba", "exact")
DEFAULT_FLAVOUR = "cuba"
#: The step, in seconds, at which snnTorch's NIR importer (hard-coded) and therefore the
#: cuba flavour's graphs advance; Norse must be given the same ``dt``.
PEER_STEP_S = 1e-4
#: What the cuba flavour (snnTorch, Norse) cannot hold: the keyword that allows it -> what then happens.
NIR_ALLOWANCES = {
    "allow_drop_delays": "synaptic delays dropped (every synapse acts at delay 0)",
    "allow_one_tau_syn": "inhibition decaying with tau_e (its weight scaled by tau_i/tau_e to keep its charge)",
    "allow_no_refractory": "no refractory period (a neuron integrates again the step after its spike)",
    "allow_reset_to_rest": "reset to v_rest instead of v_reset",
    "allow_drop_release": "release probabilities and depression dropped (every delivery succeeds in full)",
}


def allowance_flag(keyword: str) -> str:
    """The CLI flag of an :data:`NIR_ALLOWANCES` keyword (``allow_drop_delays`` -> ``--allow-drop-delays``)."""
    return "--" + keyword.replace("_", "-")


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


def to_nir(circuit: Circuit, flavour: str = DEFAULT_FLAVOUR, **allow: bool):
    """Convert a circuit to a ``nir.NIRGraph``.

    Parameters
    ----------
    circuit : Circuit
        A current-based circuit with at least one neuron.
    flavour : {"cuba", "exact"}
        ``"cuba"`` (default): one ``CubaLIF`` population, a graph that snnTorch's and
        Norse's importers load and run (:func:`_to_nir_cuba`). ``"exact"``: LIF + two LI
        synapse groups + Delay nodes, NIR's exact description of the model (module
        docstring), which neither snnTorch 1.0 nor Norse 1.1 can load (no LI or Delay).
    **allow : bool
        ``"cuba"`` only, one keyword per feature it cannot hold (:data:`NIR_ALLOWANCES`):
        ``allow_drop_delays``, ``allow_one_tau_syn``, ``allow_no_refractory``,
        ``allow_reset_to_rest``, ``allow_drop_release``. Without the keyword a circuit
        that uses the feature is refused; with it, the feature is dropped or
        approximated (a :class:`NIRApproximationWarning` says which).

    Returns
    -------
    nir.NIRGraph
        Either flavour carries the circuit JSON in its metadata, so :func:`from_nir`
        gives the identical circuit back.

    Raises
    ------
    FormatError
        For conductance-based circuits (NIR has no conductance-based neuron), empty
        circuits, circuits too large for dense matrices, an unknown flavour, and (``"cuba"``) in one line listing every feature
        the peers cannot run and the option that drops it.
    """
    unknown = sorted(set(allow) - set(NIR_ALLOWANCES))
    if unknown:
        raise TypeError(f"to_nir: unknown option {unknown[0]!r} (expected one of {', '.join(NIR_ALLOWANCES)})")
    rows, cols = circuit.dense_shape
    if rows * cols > DENSE_MAX_ENTRIES:  # NIR's Linear nodes are dense matrices
        raise FormatError(f"NIR export: the circuit is too large for NIR's dense weight matrices ({rows:,} x {cols:,} "
                          "entries); save it as circuit JSON or NPZ")
    if flavour == "exact":
        return _to_nir_exact(circuit)
    if flavour == "cuba":
        return _to_nir_cuba(circuit, **allow)
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


def _cuba_problems(circuit: Circuit) -> list[tuple[str, str]]:
    """What the cuba flavour cannot hold: ``(description, allowance keyword)`` pairs."""
    col = circuit.param
    present = circuit.weights > 0
    out = []
    delayed = present & (circuit.delays > 0)
    if delayed.any():
        out.append((f"{int(delayed.sum())} synaptic delay(s) > 0 (up to "
                    f"{circuit.delays[delayed].max() * circuit.dt_ms:g} ms)", "allow_drop_delays"))
    two_tau = _two_tau_neurons(circuit)
    if two_tau.any():
        out.append((f"tau_i != tau_e in neuron(s) {_listed(two_tau)} (CubaLIF has one synaptic time constant)",
                    "allow_one_tau_syn"))
    # A refractory period of one step is no clamp at all (the neuron integrates again at k + 1).
    refractory = circuit.refractory_steps() > 1
    if refractory.any():
        out.append((f"t_ref > dt in neuron(s) {_listed(refractory)} (no refractory period in CubaLIF)",
                    "allow_no_refractory"))
    reset = ~np.isclose(col("v_reset"), col("v_rest"), rtol=0, atol=1e-12)
    if reset.any():
        out.append((f"v_reset != v_rest in neuron(s) {_listed(reset)} (snnTorch and Norse reset to rest)",
                    "allow_reset_to_rest"))
    stochastic = present & (circuit.p_release < 1)
    depressing = present & (circuit.std_u > 0)
    if stochastic.any() or depressing.any():
        out.append((f"{int(stochastic.sum())} synapse(s) with p_release < 1 and {int(depressing.sum())} with "
                    "short-term depression", "allow_drop_release"))
    return out


def _two_tau_neurons(circuit: Circuit) -> np.ndarray:
    """Neurons that receive inhibition with ``tau_i != tau_e`` (tau_i is visible only there)."""
    col = circuit.param
    gets_i = np.any(circuit.signed_weights[circuit.n_inputs:] < 0, axis=0)
    return gets_i & ~np.isclose(col("tau_i"), col("tau_e"), rtol=1e-12, atol=0)


def _listed(mask: np.ndarray, most: int = 8) -> str:
    idx = [str(int(i)) for i in np.flatnonzero(mask)]
    return ", ".join(idx[:most]) + (f" and {len(idx) - most} more" if len(idx) > most else "")


def _to_nir_cuba(circuit: Circuit, **allow: bool):
    """The cuba flavour: a discrete-time graph that snnTorch and Norse load and run::

        input -> in (Linear, mV) ----------> syn_scale (Linear/Affine, diag s k) -> neurons (CubaLIF) -> output
        neurons -> rec (Linear, signed mV) -/

    Both peers advance a ``CubaLIF`` by forward Euler, ``syn = (1 - h/tau_syn) syn +
    (h/tau_syn) w_in x``, ``mem = (1 - h/tau_mem) mem + (h/tau_mem) r syn``, with step
    ``h`` = 0.1 ms (snnTorch hard-codes it; Norse is given it). The graph's numbers
    make these steps our simulator's exact propagator at the circuit's ``dt``: one graph
    step of ``h`` is one circuit step, and with ``em = exp(-dt/tau_m)``,
    ``es = exp(-dt/tau_e)``::

        tau_mem = h / (1 - em)    r    = 1 / (1 - em)     (so mem = em mem + syn)
        tau_syn = h / (1 - es)    w_in = 1 / (1 - es)     (so syn = es syn + x)
        syn_scale = diag(s k)     k = psc_coefficient(tau_e, tau_m, dt)

    ``in``/``rec`` hold the signed weights (``+w`` from inputs and E neurons, ``-w`` from
    I neurons, mV). snnTorch needs one threshold for all neurons: each neuron's voltage is
    measured in units scaled by ``s = theta / (v_th - v_rest)`` (``theta`` the largest
    threshold above rest), which scales its input, bias and threshold alike and leaves its
    spikes unchanged; ``v_reset`` is 0 (rest). ``i_bias`` enters as the bias of
    ``syn_scale`` (an ``Affine``), ``s (1 - em)(1 - es) i_bias``, which holds ``syn`` at the
    value that adds our ``(1 - em) i_bias`` to ``mem`` each step; it builds up with
    ``tau_e`` from the start (the only difference from our simulator that no option
    controls, besides float32). The recurrent loop ``neurons -> rec -> syn_scale ->
    neurons`` is three nodes long, which keeps snnTorch 1.0 away from its LIF<->Linear
    "RNN subgraph" rewrite (with nirtorch 2.x that rewrite feeds the external input
    through the recurrent weights).

    What CubaLIF cannot hold is refused, one line naming each feature and its keyword
    (:data:`NIR_ALLOWANCES`); with the keyword it is dropped or approximated, recorded in
    the metadata (``approximations``) and announced by a :class:`NIRApproximationWarning`.
    :func:`from_nir` restores the circuit from the embedded JSON.
    """
    nir = _nir_checked(circuit)
    n, n_in = circuit.n_neurons, circuit.n_inputs
    col = circuit.param
    theta = col("v_th") - col("v_rest")
    if np.any(theta <= 0):
        raise FormatError(f"NIR export (cuba flavour): v_th <= v_rest in neuron(s) {_listed(theta <= 0)}; "
                          "snnTorch and Norse neurons fire above rest only (use flavour 'exact')")
    problems = _cuba_problems(circuit)
    refused = [(what, key) for what, key in problems if not allow.get(key)]
    if refused:
        flags = " ".join(allowance_flag(key) for _, key in refused)
        python = ", ".join(f"{key}=True" for _, key in refused)
        raise FormatError("NIR export (cuba flavour, for snnTorch/Norse) cannot hold "
                          + "; ".join(f"{what} [{allowance_flag(key)}]" for what, key in refused)
                          + f": pass {flags} (Python: {python}) to drop or approximate them, or choose "
                            "flavour 'exact' (LIF + LI + Delay, which neither snnTorch nor Norse loads)")
    notes = [f"{what}: {NIR_ALLOWANCES[key]}" for what, key in problems]
    if notes:
        warnings.warn("NIR export (cuba flavour): " + "; ".join(notes), NIRApproximationWarning, stacklevel=3)

    dt_ms, h = circuit.dt_ms, PEER_STEP_S
    one_m = -np.expm1(-dt_ms / col("tau_m"))  # 1 - em
    one_s = -np.expm1(-dt_ms / col("tau_e"))  # 1 - es
    scale = theta.max() / theta
    k = psc_coefficient(col("tau_e"), col("tau_m"), dt_ms)
    signed = circuit.signed_weights.copy()
    two_tau = _two_tau_neurons(circuit)
    # One tau_syn: inhibition onto these neurons decays with tau_e; tau_i/tau_e keeps its charge.
    signed[n_in:] = np.where(signed[n_in:] < 0, signed[n_in:] * np.where(two_tau, col("tau_i") / col("tau_e"), 1.0),
                             signed[n_in:])
    bias = scale * one_m * one_s * col("i_bias")

    pop = _nir_population(circuit)
    pop.update(v_leak=np.zeros(n), v_threshold=np.full(n, theta.max()), v_reset=np.zeros(n))
    pop["metadata"].update({
        "tau_m": col("tau_m") * _SEC, "tau_e": col("tau_e") * _SEC, "tau_i": col("tau_i") * _SEC,
        "voltage_scale": scale, "tau_i_approximated": two_tau.astype(np.int8),
        "note": "discrete time: tau_mem, tau_syn, r, w_in make 0.1-ms Euler steps our exact propagator at the "
                "circuit's dt; voltages of neuron j in units scaled by voltage_scale[j] (one threshold)",
    })
    scale_meta = {"role": "scale", "note": "voltage_scale * psc_coefficient per neuron (and bias: i_bias drive)"}
    scale_node = (nir.Affine(weight=np.diag(scale * k), bias=bias, metadata=scale_meta) if np.any(bias != 0)
                  else nir.Linear(weight=np.diag(scale * k), metadata=scale_meta))
    nodes: dict[str, Any] = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "neurons": nir.CubaLIF(tau_syn=h / one_s, tau_mem=h / one_m, r=1.0 / one_m, w_in=1.0 / one_s, **pop),
        "syn_scale": scale_node,
        "output": nir.Output(output_type={"output": np.array([n])}),
    }
    edges = [("syn_scale", "neurons"), ("neurons", "output")]
    present = circuit.signed_weights != 0
    for source, rows, name in (("input", slice(0, n_in), "in"), ("neurons", slice(n_in, None), "rec")):
        if source == "input" and n_in == 0:
            continue
        dropped = np.where(present[rows], circuit.delays[rows], 0).astype(np.int64)
        meta = {"role": "projection", "source": source, "synapse": "E and I (signed)",
                "dropped_delay_steps": np.ascontiguousarray(dropped.T)}
        nodes[name] = nir.Linear(weight=np.ascontiguousarray(signed[rows].T), metadata=meta)
        edges += [(source, name), (name, "syn_scale")]
    metadata = _nir_graph_metadata(
        circuit, NIR_CUBA_FORMAT, "mV (in, rec); syn_scale turns them into jumps of syn",
        "discrete time: a spike is 1 for one step; run the graph with steps of dt (0.1 ms, snnTorch's "
        "fixed step; Norse: from_nir(graph, dt=1e-4)); one step is one circuit step (time_scale)")
    metadata.update(format_version=NIR_CUBA_FORMAT_VERSION, dt=h, time_scale=h / (dt_ms * _SEC),
                    approximations="; ".join(notes) if notes else "none")
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=n_in > 0)


def save(circuit: Circuit, path: str | os.PathLike, flavour: str = DEFAULT_FLAVOUR, **allow: bool) -> None:
    """Write :func:`to_nir` of ``circuit`` to an HDF5 ``.nir`` file, atomically."""
    nir = _nir()
    buf = _io.BytesIO()
    nir.write(buf, to_nir(circuit, flavour, **allow))
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
         max_synapses: int | None = None, max_bytes: int | None = None) -> Circuit:
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
        return from_nir(graph, max_neurons=max_neurons, max_inputs=max_inputs, max_synapses=max_synapses)
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


def from_nir(graph, *, max_neurons: int | None = None, max_inputs: int | None = None,
             max_synapses: int | None = None) -> Circuit:
    """Convert a ``nir.NIRGraph`` to a circuit.

    Accepts both layouts written by :func:`to_nir` and, more generally, one spiking
    population (``LIF`` fed by ``LI`` synaptic filters, or ``CubaLIF``) with ``Linear``
    (or zero-bias ``Affine``) projections from one ``Input`` and from the population
    itself, optionally through ``Delay`` nodes. Synapse signs give the presynaptic
    types (Dale's law). If the graph carries evo-circuits metadata (the circuit JSON),
    the values NIR cannot hold (refractory period, release probability, depression,
    name) come from it, and where the graph agrees with it the JSON circuit is returned
    exactly. Spikes are read as Dirac deltas, except in our cuba flavour (format
    ``evo-circuits/nir-cuba``): version 1 reads a spike as a unit pulse lasting one step
    ``dt`` (snnTorch's reading); version 2 is a discrete-time graph whose Euler steps are
    our exact propagator (:func:`_to_nir_cuba`), undone here (time scale, voltage scale,
    ``syn_scale``, bias, inhibitory charge). Its delays, ``tau_i`` and ``v_reset`` come
    from the JSON (``tau_i`` also from the population metadata).

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
    known = {NIR_FORMAT: (NIR_FORMAT_VERSION,), NIR_CUBA_FORMAT: (1, NIR_CUBA_FORMAT_VERSION)}
    if fmt in known and gmeta.get("format_version") not in known[fmt]:
        raise FormatError(f"NIR metadata 'format_version': unsupported version {gmeta.get('format_version')!r} "
                          f"(this reader knows {' and '.join(map(str, known[fmt]))})")
    # Our cuba flavour from version 2 on: Euler steps of dt that are our exact propagator.
    discrete = fmt == NIR_CUBA_FORMAT and gmeta.get("format_version") == NIR_CUBA_FORMAT_VERSION
    time_unit = gmeta.get("time_unit", "s")
    unit_ms = {"s": 1e3, "ms": 1.0}.get(time_unit)
    if unit_ms is None:
        raise FormatError(f"NIR metadata 'time_unit': expected 's' or 'ms', got {time_unit!r}")
    # Node time values are in graph time, which runs time_scale times the circuit's time
    # (discrete cuba graphs always step by 0.1 ms); metadata times are circuit times.
    time_scale = gmeta.get("time_scale", 1.0) if discrete else 1.0
    if not (isinstance(time_scale, (int, float)) and math.isfinite(time_scale) and time_scale > 0):
        raise FormatError(f"NIR metadata 'time_scale': expected a positive number, got {time_scale!r}")
    to_ms = unit_ms / time_scale
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
    # NIR projections are dense matrices: (n_in + n) * n bounds the synapses they can hold
    check_size(n, n_in, "NIR graph", max_neurons=max_neurons, max_inputs=max_inputs,
               n_synapses=min((n_in + n) * n, MAX_NIR_VALUES), max_synapses=max_synapses)
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
    # 12 significant digits: a time_scale of 0.1 must give dt = 1 ms, not 1.0000000000000002.
    dt_ms = float(f"{float(gmeta['dt']) * to_ms:.12g}") if "dt" in gmeta else 0.1
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

    def projections(name: str, bias_ok: bool = False) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Like :func:`trace`, but a Linear fed only by Linear projections (our cuba
        flavour's ``syn_scale``) multiplies each of them and is expanded (its bias, where
        ``bias_ok``, is read by the caller)."""
        node, ps = nodes[name], preds.get(name, [])
        if not (isinstance(node, (nir.Linear, nir.Affine)) and ps
                and all(isinstance(nodes[q], (nir.Linear, nir.Affine)) for q in ps)):
            return [trace(name)]
        m = np.asarray(node.weight, dtype=np.float64)
        if m.shape != (n, n) or not np.all(np.isfinite(m)) or np.any(m != np.diag(np.diag(m))):
            raise FormatError(f"Linear {name!r} between projections and the population: expected a finite "
                              f"diagonal {(n, n)} weight (a per-neuron scale)")
        if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0) and not bias_ok:
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

    pmeta = {k: v for k, v in _meta(pop).items()}
    vscale, i_bias_drive = np.ones(n), None
    if isinstance(pop, nir.CubaLIF):
        tau_m = _vector(pop.tau_mem, n, "CubaLIF tau_mem") * to_ms
        r_pop = _vector(pop.r, n, "CubaLIF r")
        tau_syn = _vector(pop.tau_syn, n, "CubaLIF tau_syn") * to_ms
        w_in = _vector(pop.w_in, n, "CubaLIF w_in")
        if discrete:
            tau_m, tau_syn, vscale, gain = _discrete_cuba(tau_m, tau_syn, pmeta, n, dt_ms)
        else:
            # tau_syn dI/dt = -I + w_in W S: a Dirac spike (area spike_area) adds
            # w_in W area / tau_syn to I, and v sees R I; times in the unit of tau.
            gain = r_pop * w_in * spike_area / (tau_syn / to_ms)
        drive = np.zeros(n)
        for p in preds[pop_name]:
            if discrete and isinstance(nodes[p], nir.Affine):
                drive += _vector(nodes[p].bias, n, f"Affine {p!r} bias")
            for row0, weight, dly in projections(p, bias_ok=discrete):
                add(row0, weight, dly, gain, tau_syn, f"projection {p!r}")
        if discrete:
            # syn_scale's bias holds syn where it adds our (1 - em) i_bias to v each step.
            i_bias_drive = drive / (vscale * -np.expm1(-dt_ms / tau_m) * -np.expm1(-dt_ms / tau_syn))
            _undo_one_tau_syn(signed[n_in:], tau, tau_syn, pmeta, n, unit_ms)
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
    v_leak = _vector(pop.v_leak, n, "v_leak") if i_bias_drive is None else i_bias_drive
    v_th = _vector(pop.v_threshold, n, "v_threshold") / vscale
    v_reset = _vector(pop.v_reset, n, "v_reset") / vscale
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
    params[:, PARAM_INDEX["t_ref"]] = (_vector(pmeta["t_ref"], n, "population metadata 't_ref'") * unit_ms
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


def _discrete_cuba(tau_mem: np.ndarray, tau_syn: np.ndarray, pmeta: dict, n: int, dt_ms: float):
    """``tau_m``, ``tau_e``, voltage scale and weight gain of a discrete cuba graph.

    ``tau_mem``, ``tau_syn`` are the graph's values in circuit ms: Euler steps of
    ``dt_ms`` with decay ``1 - dt/tau`` that equal ``exp(-dt/tau_true)`` (see
    :func:`_to_nir_cuba`). ``syn_scale`` (already multiplied into the weights) holds
    ``voltage_scale * psc_coefficient``; the gain divides both out.
    """
    one_m, one_s = dt_ms / tau_mem, dt_ms / tau_syn
    if np.any((one_m >= 1) | (one_s >= 1)):
        raise FormatError("CubaLIF: a discrete cuba graph needs tau_mem and tau_syn longer than one step dt")
    tau_m, tau_e = -dt_ms / np.log1p(-one_m), -dt_ms / np.log1p(-one_s)
    vscale = _vector(pmeta.get("voltage_scale", 1.0), n, "population metadata 'voltage_scale'")
    if np.any(vscale <= 0):
        raise FormatError("population metadata 'voltage_scale': values must be > 0")
    return tau_m, tau_e, vscale, 1.0 / (vscale * psc_coefficient(tau_e, tau_m, dt_ms))


def _undo_one_tau_syn(rec: np.ndarray, tau: dict, tau_e: np.ndarray, pmeta: dict, n: int, unit_ms: float) -> None:
    """Undo ``allow_one_tau_syn`` in place: inhibitory weights back to ``w`` (from
    ``w tau_i/tau_e``) and ``tau_i`` from the metadata, where it was approximated."""
    if "tau_i_approximated" not in pmeta or "tau_i" not in pmeta:
        return
    approx = _vector(pmeta["tau_i_approximated"], n, "population metadata 'tau_i_approximated'") != 0
    tau_i = _vector(pmeta["tau_i"], n, "population metadata 'tau_i'") * unit_ms
    if np.any(approx & (tau_i <= 0)):
        raise FormatError("population metadata 'tau_i': values must be > 0")
    ratio = np.where(approx, tau_i / tau_e, 1.0)
    rec[:] = np.where(rec < 0, rec / ratio, rec)
    tau[-1][:] = np.where(approx & ~np.isnan(tau[-1]), tau_i, tau[-1])


def _single_pred(preds: dict, name: str) -> str:
    p = preds.get(name, [])
    if len(p) != 1:
        raise FormatError(f"node {name!r}: expected exactly one incoming edge, found {len(p)}")
    return p[0]


def _merge_embedded(from_graph: Circuit, text: str, *, cuba: bool = False) -> Circuit:
    """Prefer the embedded circuit JSON where the graph agrees with it.

    ``cuba``: the graph is our cuba flavour, which cannot hold delays, ``tau_i`` or
    ``v_reset`` (it may have dropped or approximated them); they come from the JSON and
    are not compared.
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
        for key in ("tau_i", "v_reset"):
            params[:, PARAM_INDEX[key]] = emb.params[:, PARAM_INDEX[key]]
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
