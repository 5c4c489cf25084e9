"""The circuit (genome): typed E/I neurons, input channels, output ports and synapses.

A :class:`Circuit` stores everything as arrays so that evolution operators and the
simulator never walk Python objects per synapse. Rows of the synapse matrices are
presynaptic sources — first the ``n_inputs`` input channels, then the ``n`` neurons —
and columns are postsynaptic neurons::

    weights[n_inputs + n, n]    magnitudes >= 0 (0 = no synapse); sign = Dale's law
    delays[n_inputs + n, n]     integer steps of dt
    p_release[n_inputs + n, n]  release probability in (0, 1]
    std_u, std_tau_rec          Tsodyks–Markram depression (std_u = 0: none)

Circuits are immutable by convention: operators build new ones with :meth:`replace`.
:meth:`Circuit.to_networkx` / :meth:`Circuit.from_networkx` give a networkx view; files
are read and written by :mod:`evo_circuits.io` (``evo_circuits.load`` / ``save``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

import numpy as np

from .errors import CircuitError, FormatError
from .model import (
    DEFAULT_DT_MS,
    DT_RANGE_MS,
    EXCITATORY,
    INHIBITORY,
    MAX_ABS_MV,
    MAX_T_REF_MS,
    NEURON_PARAMS,
    PARAM_INDEX,
    SYNAPSE_MODELS,
    TYPE_CODES,
    TYPE_DEFAULTS,
    TAU_RANGE_MS,
    TYPE_NAMES,
)

if TYPE_CHECKING:
    import networkx as nx

#: Longest allowed synaptic delay in steps (100 ms at the default dt).
MAX_DELAY_STEPS = 1000


class Synapses(NamedTuple):
    """The synapse list of a circuit (COO), sorted by (source row, post).

    ``pre`` is a source row: input channel ``c`` is row ``c``, neuron ``i`` is row
    ``n_inputs + i``; ``post`` is a neuron index. All arrays have one entry per synapse.
    """

    pre: np.ndarray          #: int32 source row
    post: np.ndarray         #: int32 postsynaptic neuron
    weight: np.ndarray       #: float64 magnitude > 0
    delay: np.ndarray        #: int32 steps
    p_release: np.ndarray    #: float64 in (0, 1]
    std_u: np.ndarray        #: float64 depression U (0 = none)
    std_tau_rec: np.ndarray  #: float64 recovery time (ms)


def default_params(types: np.ndarray) -> np.ndarray:
    """Per-neuron parameter matrix filled with the per-type defaults.

    Parameters
    ----------
    types : ndarray of int
        Neuron types (+1 E, -1 I).

    Returns
    -------
    ndarray, shape (n, len(NEURON_PARAMS))
    """
    rows = [TYPE_DEFAULTS[TYPE_NAMES[int(t)]].as_tuple() for t in types]
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(NEURON_PARAMS))


@dataclass(eq=False)
class Circuit:
    """A spiking E/I circuit.

    Parameters
    ----------
    types : array_like of int, shape (n,)
        +1 for excitatory, -1 for inhibitory neurons.
    n_inputs : int
        Number of external input channels (excitatory spike sources).
    weights : array_like, shape (n_inputs + n, n)
        Synapse weight magnitudes (mV, or relative conductance); 0 means absent.
    delays : array_like of int, optional
        Delays in steps, same shape as ``weights``; default 0.
    p_release : array_like, optional
        Release probabilities in (0, 1]; default 1.
    std_u, std_tau_rec : array_like, optional
        Short-term depression utilisation (0 = no depression) and recovery time (ms).
    params : array_like, shape (n, len(NEURON_PARAMS)), optional
        Per-neuron parameters in the order of :data:`~evo_circuits.model.NEURON_PARAMS`;
        default: per-type defaults.
    outputs : sequence of int
        Indices of the neurons read out as output ports, in port order.
    dt_ms : float
        Simulation time step (ms).
    synapse_model : {"current", "conductance"}
    name : str
    metadata : dict
        Free-form JSON-serialisable information (provenance, scores).

    Raises
    ------
    CircuitError
        If any field is invalid; the message names the field.
    """

    types: np.ndarray
    n_inputs: int
    weights: np.ndarray
    delays: np.ndarray | None = None
    p_release: np.ndarray | None = None
    std_u: np.ndarray | None = None
    std_tau_rec: np.ndarray | None = None
    params: np.ndarray | None = None
    outputs: Sequence[int] = ()
    dt_ms: float = DEFAULT_DT_MS
    synapse_model: str = "current"
    name: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.types = _int_array(self.types, "types", ndim=1, dtype=np.int64)
        _check_types(self.types)
        self.types = self.types.astype(np.int8)
        n = self.types.shape[0]
        if not isinstance(self.n_inputs, (int, np.integer)) or isinstance(self.n_inputs, bool) or self.n_inputs < 0:
            raise CircuitError(f"n_inputs: expected an integer >= 0, got {self.n_inputs!r}")
        self.n_inputs = int(self.n_inputs)
        shape = (self.n_inputs + n, n)
        self.weights = _float_matrix(self.weights, "weights", shape)
        self.delays = (np.zeros(shape, np.int32) if self.delays is None
                       else _int_array(self.delays, "delays", ndim=2, dtype=np.int32, shape=shape))
        self.p_release = (np.ones(shape) if self.p_release is None
                          else _float_matrix(self.p_release, "p_release", shape))
        self.std_u = np.zeros(shape) if self.std_u is None else _float_matrix(self.std_u, "std_u", shape)
        self.std_tau_rec = (np.zeros(shape) if self.std_tau_rec is None
                            else _float_matrix(self.std_tau_rec, "std_tau_rec", shape))
        self.params = (default_params(self.types) if self.params is None
                       else _float_matrix(self.params, "params", (n, len(NEURON_PARAMS))))
        self.outputs = _int_array(self.outputs, "outputs", ndim=1, dtype=np.int64)
        self.dt_ms = float(self.dt_ms)
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Check every field; raise :class:`CircuitError` naming the first bad one."""
        n = self.n_neurons
        _check_types(self.types)
        if not (math.isfinite(self.dt_ms) and self.dt_ms > 0):
            raise CircuitError(f"dt_ms: expected a positive number, got {self.dt_ms}")
        if not DT_RANGE_MS[0] <= self.dt_ms <= DT_RANGE_MS[1]:
            raise CircuitError(f"dt_ms: expected a time step in [{DT_RANGE_MS[0]:g}, {DT_RANGE_MS[1]:g}] ms, "
                               f"got {self.dt_ms:g}")
        if self.synapse_model not in SYNAPSE_MODELS:
            raise CircuitError(f"synapse_model: expected one of {', '.join(SYNAPSE_MODELS)}, got {self.synapse_model!r}")
        _check_where(~np.isfinite(self.weights) | (self.weights < 0), "weights", self.weights,
                     "weights must be finite and >= 0 (magnitudes; the sign comes from the presynaptic type)")
        _check_where(self.weights > MAX_ABS_MV, "weights", self.weights, f"weights must be at most {MAX_ABS_MV:g}")
        present = self.weights > 0
        _check_where((self.delays < 0) | (self.delays > MAX_DELAY_STEPS), "delays", self.delays,
                     f"delay out of range [0, {MAX_DELAY_STEPS}] steps")
        _check_where(present & ~((self.p_release > 0) & (self.p_release <= 1)), "p_release", self.p_release,
                     "release probability must be in (0, 1]")
        _check_where(present & ~((self.std_u >= 0) & (self.std_u <= 1)), "std_u", self.std_u,
                     "depression U must be in [0, 1] (0 = no depression)")
        _check_where(present & (self.std_u > 0) & ~(self.std_tau_rec > 0), "std_tau_rec", self.std_tau_rec,
                     "depression tau_rec must be > 0 ms where std_u > 0")
        lo, hi = TAU_RANGE_MS
        _check_where(present & (self.std_u > 0) & ~((self.std_tau_rec >= lo) & (self.std_tau_rec <= hi)), "std_tau_rec",
                     self.std_tau_rec, f"depression tau_rec must be in [{lo:g}, {hi:g}] ms")
        for k in ("tau_m", "tau_e", "tau_i"):
            col = self.params[:, PARAM_INDEX[k]]
            _check_where(~(col > 0) | ~np.isfinite(col), k, col, f"'{k}' must be a finite number > 0 ms", prefix="neurons")
            _check_where(~((col >= lo) & (col <= hi)), k, col, f"'{k}' must be in [{lo:g}, {hi:g}] ms", prefix="neurons")
        col = self.params[:, PARAM_INDEX["t_ref"]]
        _check_where(~(col >= 0) | ~np.isfinite(col), "t_ref", col, "'t_ref' must be a finite number >= 0 ms", prefix="neurons")
        _check_where(col > MAX_T_REF_MS, "t_ref", col, f"'t_ref' must be at most {MAX_T_REF_MS:g} ms", prefix="neurons")
        for k in ("v_rest", "v_th", "v_reset", "i_bias", "e_e", "e_i"):
            col = self.params[:, PARAM_INDEX[k]]
            _check_where(~np.isfinite(col), k, col, f"'{k}' must be finite", prefix="neurons")
            _check_where(np.abs(col) > MAX_ABS_MV, k, col, f"'{k}' must be within +-{MAX_ABS_MV:g} mV", prefix="neurons")
        for j, o in enumerate(self.outputs):
            if not 0 <= o < n:
                raise CircuitError(f"outputs[{j}]: neuron index {int(o)} out of range [0, {n})")
        if len(set(self.outputs.tolist())) != len(self.outputs):
            raise CircuitError("outputs: a neuron is listed twice")
        if not isinstance(self.name, str):
            raise CircuitError(f"name: expected a string, got {type(self.name).__name__}")
        if not isinstance(self.metadata, dict):
            raise CircuitError(f"metadata: expected an object/dict, got {type(self.metadata).__name__}")

    # ------------------------------------------------------------------ views
    @property
    def n_neurons(self) -> int:
        """Number of neurons (inputs excluded)."""
        return int(self.types.shape[0])

    @property
    def n_exc(self) -> int:
        """Number of excitatory neurons."""
        return int(np.count_nonzero(self.types == EXCITATORY))

    @property
    def n_inh(self) -> int:
        """Number of inhibitory neurons."""
        return int(np.count_nonzero(self.types == INHIBITORY))

    @property
    def n_synapses(self) -> int:
        """Number of synapses, input synapses included."""
        return int(np.count_nonzero(self.weights))

    @property
    def synapses(self) -> Synapses:
        """The synapses as a :class:`Synapses` list sorted by (source row, post)."""
        pre, post = np.nonzero(self.weights)
        return Synapses(pre.astype(np.int32), post.astype(np.int32), self.weights[pre, post],
                        self.delays[pre, post].astype(np.int32), self.p_release[pre, post],
                        self.std_u[pre, post], self.std_tau_rec[pre, post])

    @property
    def source_signs(self) -> np.ndarray:
        """Sign (+1/-1) of every presynaptic source row: inputs then neurons."""
        return np.concatenate([np.ones(self.n_inputs, np.int8), self.types])

    @property
    def signed_weights(self) -> np.ndarray:
        """Weights with Dale's-law signs applied (rows: sources, columns: neurons)."""
        return self.weights * self.source_signs[:, None]

    def param(self, name: str) -> np.ndarray:
        """Column of one neuron parameter, e.g. ``circuit.param("tau_m")``."""
        return self.params[:, PARAM_INDEX[name]]

    def refractory_steps(self) -> np.ndarray:
        """Refractory period of each neuron in whole steps, ``round(t_ref / dt)``."""
        return np.rint(self.param("t_ref") / self.dt_ms).astype(np.int64)

    def replace(self, **changes: Any) -> "Circuit":
        """A validated copy with some fields changed (arrays are copied)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields.update(changes)
        fields = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in fields.items()}
        fields["metadata"] = dict(fields["metadata"])
        return Circuit(**fields)

    def copy(self) -> "Circuit":
        """A deep copy."""
        return self.replace()

    def without_neurons(self, remove: Sequence[int]) -> "Circuit":
        """A copy with some neurons (and all their synapses) removed.

        Output ports of removed neurons are dropped; the remaining neurons keep their
        order, so indices above a removed neuron shift down.
        """
        remove_set = {int(i) for i in remove}
        keep = np.array([i for i in range(self.n_neurons) if i not in remove_set], np.int64)
        rows = np.concatenate([np.arange(self.n_inputs), self.n_inputs + keep])
        new_index = {int(old): k for k, old in enumerate(keep)}
        sub = lambda a: a[np.ix_(rows, keep)]  # noqa: E731
        return self.replace(types=self.types[keep], weights=sub(self.weights), delays=sub(self.delays),
                            p_release=sub(self.p_release), std_u=sub(self.std_u),
                            std_tau_rec=sub(self.std_tau_rec), params=self.params[keep],
                            outputs=[new_index[int(o)] for o in self.outputs if int(o) in new_index])

    def with_neurons(self, types: Sequence[int], params: np.ndarray | None = None) -> "Circuit":
        """A copy with unconnected neurons appended (per-type default parameters)."""
        types = np.asarray(types, np.int8)
        k = len(types)
        new_params = default_params(types) if params is None else np.asarray(params, float).reshape(k, -1)

        def grow(a: np.ndarray, fill: float) -> np.ndarray:
            out = np.full((self.n_inputs + self.n_neurons + k, self.n_neurons + k), fill, dtype=a.dtype)
            out[:self.n_inputs + self.n_neurons, :self.n_neurons] = a
            return out

        return self.replace(types=np.concatenate([self.types, types]), weights=grow(self.weights, 0.0),
                            delays=grow(self.delays, 0), p_release=grow(self.p_release, 1.0),
                            std_u=grow(self.std_u, 0.0), std_tau_rec=grow(self.std_tau_rec, 0.0),
                            params=np.vstack([self.params, new_params]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Circuit):
            return NotImplemented
        return (self.n_inputs == other.n_inputs and self.dt_ms == other.dt_ms
                and self.synapse_model == other.synapse_model and self.name == other.name
                and self.metadata == other.metadata
                and all(np.array_equal(getattr(self, k), getattr(other, k)) for k in _ARRAY_FIELDS))

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return (f"Circuit({label}{self.n_exc}E+{self.n_inh}I, inputs={self.n_inputs}, "
                f"outputs={self.outputs.tolist()}, synapses={self.n_synapses}, {self.synapse_model})")

    # ------------------------------------------------------------------ networkx view
    def to_networkx(self) -> "nx.DiGraph":
        """A networkx DiGraph view of the circuit.

        Node ids are strings: ``"in<c>"`` for input channel ``c`` and ``"n<i>"`` for
        neuron ``i`` (:func:`input_node`, :func:`neuron_node`). Node attributes: ``kind``
        (input|neuron), ``type`` (E|I; inputs are E), ``role`` (in|hidden|out), ``index``
        and, for outputs, ``out_port``; neurons also carry their parameters. Edge
        attributes: ``weight`` (signed by Dale's law), ``delay_ms``, ``p_release`` and,
        with depression, ``std_U`` and ``std_tau_rec``. Graph attributes: ``name``,
        ``dt_ms``, ``synapse_model``, ``n_inputs``. All values are scalars, so the graph
        writes to GraphML as is; ``metadata`` is not carried.
        """
        import networkx as nx  # ~0.2 s to import; only the view needs it

        g = nx.DiGraph(name=self.name, dt_ms=self.dt_ms, synapse_model=self.synapse_model,
                       n_inputs=self.n_inputs)
        for c in range(self.n_inputs):
            g.add_node(input_node(c), kind="input", type="E", role="in", index=c)
        ports = {int(o): k for k, o in enumerate(self.outputs)}
        for i, t in enumerate(self.types):
            attrs = {name: float(self.params[i, k]) for k, name in enumerate(NEURON_PARAMS)}
            role = "out" if i in ports else "hidden"
            if i in ports:
                attrs["out_port"] = ports[i]
            g.add_node(neuron_node(i), kind="neuron", type=TYPE_NAMES[int(t)], role=role, index=i, **attrs)
        signs = self.source_signs
        for pre, post in zip(*np.nonzero(self.weights)):
            src = input_node(pre) if pre < self.n_inputs else neuron_node(pre - self.n_inputs)
            attrs = {"weight": float(signs[pre] * self.weights[pre, post]),
                     "delay_ms": float(self.delays[pre, post] * self.dt_ms),
                     "p_release": float(self.p_release[pre, post])}
            if self.std_u[pre, post] > 0:
                attrs["std_U"] = float(self.std_u[pre, post])
                attrs["std_tau_rec"] = float(self.std_tau_rec[pre, post])
            g.add_edge(src, neuron_node(int(post)), **attrs)
        return g

    @classmethod
    def from_networkx(cls, g: "nx.DiGraph") -> "Circuit":
        """Inverse of :meth:`to_networkx` (also accepts graphs read back from GraphML).

        Raises
        ------
        FormatError
            If a node or edge lacks a required attribute or breaks Dale's law.
        """
        gattr = g.graph
        n_in = int(gattr.get("n_inputs", sum(1 for _, d in g.nodes(data=True) if d.get("kind") == "input")))
        dt = float(gattr.get("dt_ms", DEFAULT_DT_MS))
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
        return cls(types=types, n_inputs=n_in, weights=w, delays=delays, p_release=p, std_u=su,
                   std_tau_rec=st, params=params, outputs=[outputs[k] for k in sorted(outputs)],
                   dt_ms=dt, synapse_model=str(gattr.get("synapse_model", "current")),
                   name=str(gattr.get("name", "")))

    @classmethod
    def _trusted(cls, **fields: Any) -> "Circuit":
        """Build without validation from arrays taken from valid circuits (internal fast path)."""
        obj = cls.__new__(cls)
        for f in dataclasses.fields(cls):
            setattr(obj, f.name, fields.get(f.name, f.default if f.default is not dataclasses.MISSING else {}))
        return obj


_ARRAY_FIELDS = ("types", "weights", "delays", "p_release", "std_u", "std_tau_rec", "params", "outputs")


def input_node(c: int) -> str:
    """Node id of input channel ``c`` in :meth:`Circuit.to_networkx`."""
    return f"in{c}"


def neuron_node(i: int) -> str:
    """Node id of neuron ``i`` in :meth:`Circuit.to_networkx`."""
    return f"n{i}"


def _check_types(types: np.ndarray) -> None:
    bad = ~np.isin(types, (EXCITATORY, INHIBITORY))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CircuitError(f"types[{i}]: unknown neuron type {int(types[i])} (expected +1 for E or -1 for I)")


def _int_array(value: Any, name: str, ndim: int, dtype: type, shape: tuple | None = None) -> np.ndarray:
    arr = np.asarray(value)
    if arr.size == 0:
        arr = arr.reshape((0,) * ndim) if shape is None else arr.reshape(shape)
    if arr.ndim != ndim:
        raise CircuitError(f"{name}: expected a {ndim}-d array, got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise CircuitError(f"{name}: expected shape {shape}, got {arr.shape}")
    if arr.size and arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise CircuitError(f"{name}: expected whole numbers, got {arr[arr != np.round(arr)][:1].tolist()}")
    elif arr.size and arr.dtype.kind not in "iub":
        raise CircuitError(f"{name}: expected integers, got dtype {arr.dtype}")
    if arr.size and arr.dtype != dtype:  # a cast must not wrap (2**32 steps would become 0)
        info = np.iinfo(dtype)
        out_of_range = (arr < info.min) | (arr > info.max)
        if out_of_range.any():
            idx = tuple(int(i) for i in np.argwhere(out_of_range)[0])
            raise CircuitError(f"{name}[{', '.join(map(str, idx))}]: {arr[idx]} does not fit {np.dtype(dtype).name}")
    return np.ascontiguousarray(arr, dtype=dtype)


def _float_matrix(value: Any, name: str, shape: tuple) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64) if not isinstance(value, np.ndarray) else value
    if arr.dtype.kind not in "fiub":
        raise CircuitError(f"{name}: expected numbers, got dtype {arr.dtype}")
    if arr.size == 0:
        arr = arr.reshape(shape)
    if arr.shape != shape:
        raise CircuitError(f"{name}: expected shape {shape}, got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _check_where(bad: np.ndarray, name: str, values: np.ndarray, why: str, prefix: str = "") -> None:
    """Raise naming the first offending element of ``values`` where ``bad`` holds."""
    if not bad.any():
        return
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f"{prefix}[{idx[0]}].{name}" if prefix else f"{name}[{', '.join(map(str, idx))}]"
    raise CircuitError(f"{where}: {why}, got {float(values[idx])}")


def type_codes(names: Sequence[str]) -> np.ndarray:
    """Convert ``["E", "I", ...]`` to type codes, rejecting unknown names."""
    out = []
    for i, t in enumerate(names):
        if t not in TYPE_CODES:
            raise CircuitError(f"neurons[{i}].type: unknown neuron type {t!r} (expected 'E' or 'I')")
        out.append(TYPE_CODES[t])
    return np.array(out, dtype=np.int8)
