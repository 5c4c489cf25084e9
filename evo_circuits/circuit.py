"""The circuit (genome): typed E/I neurons, input channels, output ports and synapses.

A :class:`Circuit` stores everything as arrays so that evolution operators and the
simulator never walk Python objects per synapse. Synapses are stored as one sparse
table, :class:`Synapses` (``Circuit.synapses``): one entry per synapse, sorted by
(source row, post), so memory grows with the number of synapses, not neurons². A
source row is an input channel (rows ``0 .. n_inputs - 1``) or a neuron (row
``n_inputs + i``); ``post`` is a neuron.

Small circuits also offer the classic dense views, rows = sources, columns = neurons::

    weights[n_inputs + n, n]    magnitudes >= 0 (0 = no synapse); sign = Dale's law
    delays[n_inputs + n, n]     integer steps of dt
    p_release[n_inputs + n, n]  release probability in (0, 1]
    std_u, std_tau_rec          Tsodyks–Markram depression (std_u = 0: none)

They are built from the table on demand, read-only (writing into one raises instead of
silently changing nothing), and refused with a :class:`CircuitError` above
:data:`DENSE_MAX_ENTRIES` entries. A circuit may be built from either form.

Circuits are immutable by convention: operators build new ones with :meth:`replace`.
:meth:`Circuit.to_networkx` / :meth:`Circuit.from_networkx` give a networkx view; files
are read and written by :mod:`evo_circuits.io` (``evo_circuits.load`` / ``save``).
"""

from __future__ import annotations

import math
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

#: Largest ``(n_inputs + n) * n`` whose dense views (``weights`` ...) are built: 2**25
#: entries, 268 MB per float64 matrix. Larger circuits are used through ``synapses``.
DENSE_MAX_ENTRIES = 2**25

#: Dense views up to this many entries are kept once built (operators read them often).
_DENSE_CACHE_ENTRIES = 2**16


class Synapses(NamedTuple):
    """The synapse list of a circuit (COO), sorted by (source row, post).

    ``pre`` is a source row: input channel ``c`` is row ``c``, neuron ``i`` is row
    ``n_inputs + i``; ``post`` is a neuron index. All arrays have one entry per synapse.
    The arrays of a circuit's table are read-only.
    """

    pre: np.ndarray          #: int32 source row
    post: np.ndarray         #: int32 postsynaptic neuron
    weight: np.ndarray       #: float64 magnitude > 0
    delay: np.ndarray        #: int32 steps
    p_release: np.ndarray    #: float64 in (0, 1]
    std_u: np.ndarray        #: float64 depression U (0 = none)
    std_tau_rec: np.ndarray  #: float64 recovery time (ms)

    @property
    def nbytes(self) -> int:
        """Bytes taken by the arrays."""
        return int(sum(a.nbytes for a in self))

    @classmethod
    def empty(cls) -> "Synapses":
        """A table without synapses."""
        return _frozen(cls(*(np.zeros(0, dt) for dt in _SYN_DTYPES)))

    @classmethod
    def from_dense(cls, weights: np.ndarray, delays: np.ndarray | None = None, p_release: np.ndarray | None = None,
                   std_u: np.ndarray | None = None, std_tau_rec: np.ndarray | None = None) -> "Synapses":
        """The synapses (non-zero ``weights``) of dense ``(sources, neurons)`` matrices.

        Missing matrices take the defaults (delay 0, p_release 1, no depression).
        """
        pre, post = np.nonzero(weights)
        m = len(pre)

        def pick(a: np.ndarray | None, fill: float, dtype: type) -> np.ndarray:
            return np.full(m, fill, dtype) if a is None else np.asarray(a)[pre, post].astype(dtype)

        return cls(pre.astype(np.int32), post.astype(np.int32), np.asarray(weights)[pre, post].astype(np.float64),
                   pick(delays, 0, np.int32), pick(p_release, 1.0, np.float64), pick(std_u, 0.0, np.float64),
                   pick(std_tau_rec, 0.0, np.float64))

    def to_dense(self, field: str, shape: tuple[int, int]) -> np.ndarray:
        """One field as a dense ``shape`` matrix, absent synapses at the field's default."""
        k = self._fields.index(field)
        out = np.full(shape, _SYN_FILL[k], _SYN_DTYPES[k])
        out[self.pre, self.post] = self[k]
        return out

    def take(self, index: np.ndarray) -> "Synapses":
        """The synapses selected by a boolean mask or an index array, in that order."""
        return Synapses(*(a[index] for a in self))


_SYN_DTYPES = (np.int32, np.int32, np.float64, np.int32, np.float64, np.float64, np.float64)
_SYN_FILL = (0, 0, 0.0, 0, 1.0, 0.0, 0.0)
#: Dense view name -> field of :class:`Synapses`.
DENSE_VIEWS = {"weights": "weight", "delays": "delay", "p_release": "p_release", "std_u": "std_u",
               "std_tau_rec": "std_tau_rec"}


def _frozen(s: Synapses) -> Synapses:
    for a in s:
        a.setflags(write=False)
    return s


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
    types = np.asarray(types)
    out = np.empty((len(types), len(NEURON_PARAMS)), np.float64)
    for i in np.flatnonzero(~np.isin(types, (EXCITATORY, INHIBITORY)))[:1]:
        raise KeyError(int(types[i]))
    for t in (EXCITATORY, INHIBITORY):  # vectorised: assembled circuits have 10^5 neurons
        out[types == t] = TYPE_DEFAULTS[TYPE_NAMES[t]].as_tuple()
    return out


class Circuit:
    """A spiking E/I circuit.

    Parameters
    ----------
    types : array_like of int, shape (n,)
        +1 for excitatory, -1 for inhibitory neurons.
    n_inputs : int
        Number of external input channels (excitatory spike sources).
    weights : array_like, shape (n_inputs + n, n), optional
        Dense synapse weight magnitudes (mV, or relative conductance); 0 means absent.
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
    synapses : Synapses, optional
        The synapses as a table instead of dense matrices (any order; entries with
        weight 0 are dropped). Give either this or the dense matrices.

    Raises
    ------
    CircuitError
        If any field is invalid; the message names the field.
    """

    def __init__(self, types: Any, n_inputs: int, weights: Any = None, delays: Any = None, p_release: Any = None,
                 std_u: Any = None, std_tau_rec: Any = None, params: Any = None, outputs: Sequence[int] = (),
                 dt_ms: float = DEFAULT_DT_MS, synapse_model: str = "current", name: str = "",
                 metadata: dict | None = None, *, synapses: Synapses | None = None) -> None:
        self.types = _int_array(types, "types", ndim=1, dtype=np.int64)
        _check_types(self.types)
        self.types = self.types.astype(np.int8)
        n = self.types.shape[0]
        if not isinstance(n_inputs, (int, np.integer)) or isinstance(n_inputs, bool) or n_inputs < 0:
            raise CircuitError(f"n_inputs: expected an integer >= 0, got {n_inputs!r}")
        self.n_inputs = int(n_inputs)
        dense = {"weights": weights, "delays": delays, "p_release": p_release, "std_u": std_u,
                 "std_tau_rec": std_tau_rec}
        given = [k for k, v in dense.items() if v is not None]
        if synapses is not None and given:
            raise CircuitError(f"{given[0]}: give the synapses either as a table or as dense matrices, not both")
        self._dense_cache: dict[str, np.ndarray] = {}
        if synapses is not None:
            self._syn = _normalise_synapses(synapses, self.n_inputs + n, n)
        elif given:
            if weights is None:
                raise CircuitError(f"weights: missing (needed with {given[0]})")
            self._syn = _dense_to_synapses(dense, (self.n_inputs + n, n))
        else:
            self._syn = Synapses.empty()
        self.params = (default_params(self.types) if params is None
                       else _float_matrix(params, "params", (n, len(NEURON_PARAMS))))
        self.outputs = _int_array(outputs, "outputs", ndim=1, dtype=np.int64)
        self.dt_ms = float(dt_ms)
        self.synapse_model = synapse_model
        self.name = name
        self.metadata = {} if metadata is None else metadata
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
        s = self._syn
        _check_structure(s, self.n_inputs + n, n)
        w, u, tau = s.weight, s.std_u, s.std_tau_rec
        _check_syn(~np.isfinite(w) | (w < 0), s, "weights", w,
                   "weights must be finite and >= 0 (magnitudes; the sign comes from the presynaptic type)")
        _check_syn(w > MAX_ABS_MV, s, "weights", w, f"weights must be at most {MAX_ABS_MV:g}")
        _check_syn((s.delay < 0) | (s.delay > MAX_DELAY_STEPS), s, "delays", s.delay,
                   f"delay out of range [0, {MAX_DELAY_STEPS}] steps")
        _check_syn(~((s.p_release > 0) & (s.p_release <= 1)), s, "p_release", s.p_release,
                   "release probability must be in (0, 1]")
        _check_syn(~((u >= 0) & (u <= 1)), s, "std_u", u, "depression U must be in [0, 1] (0 = no depression)")
        _check_syn((u > 0) & ~(tau > 0), s, "std_tau_rec", tau, "depression tau_rec must be > 0 ms where std_u > 0")
        lo, hi = TAU_RANGE_MS
        _check_syn((u > 0) & ~((tau >= lo) & (tau <= hi)), s, "std_tau_rec", tau,
                   f"depression tau_rec must be in [{lo:g}, {hi:g}] ms")
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
        bad = (self.outputs < 0) | (self.outputs >= n)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise CircuitError(f"outputs[{j}]: neuron index {int(self.outputs[j])} out of range [0, {n})")
        if len(np.unique(self.outputs)) != len(self.outputs):
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
        return int(self._syn.pre.shape[0])

    @property
    def synapses(self) -> Synapses:
        """The synapses as a :class:`Synapses` table sorted by (source row, post) (read-only)."""
        return self._syn

    @property
    def dense_shape(self) -> tuple[int, int]:
        """Shape of the dense views: ``(n_inputs + n, n)``."""
        return (self.n_inputs + self.n_neurons, self.n_neurons)

    @property
    def weights(self) -> np.ndarray:
        """Dense weight magnitudes, rows = sources, columns = neurons (read-only; small circuits)."""
        return self._dense("weights")

    @property
    def delays(self) -> np.ndarray:
        """Dense delays in steps (read-only; small circuits)."""
        return self._dense("delays")

    @property
    def p_release(self) -> np.ndarray:
        """Dense release probabilities, 1 where absent (read-only; small circuits)."""
        return self._dense("p_release")

    @property
    def std_u(self) -> np.ndarray:
        """Dense depression utilisation, 0 = none (read-only; small circuits)."""
        return self._dense("std_u")

    @property
    def std_tau_rec(self) -> np.ndarray:
        """Dense depression recovery times in ms (read-only; small circuits)."""
        return self._dense("std_tau_rec")

    def _dense(self, view: str) -> np.ndarray:
        cached = self._dense_cache.get(view)
        if cached is not None:
            return cached
        shape = self.dense_shape
        if shape[0] * shape[1] > DENSE_MAX_ENTRIES:
            raise CircuitError(f"{view}: this circuit is too large for dense matrices ({shape[0]:,} x {shape[1]:,} "
                               f"entries, the limit is {DENSE_MAX_ENTRIES:,}); use Circuit.synapses")
        out = self._syn.to_dense(DENSE_VIEWS[view], shape)
        out.setflags(write=False)  # a write would not reach the synapse table: refuse it
        if shape[0] * shape[1] <= _DENSE_CACHE_ENTRIES:
            self._dense_cache[view] = out
        return out

    @property
    def source_signs(self) -> np.ndarray:
        """Sign (+1/-1) of every presynaptic source row: inputs then neurons."""
        return np.concatenate([np.ones(self.n_inputs, np.int8), self.types])

    @property
    def signed_weights(self) -> np.ndarray:
        """Weights with Dale's-law signs applied (rows: sources, columns: neurons; small circuits)."""
        return self.weights * self.source_signs[:, None]

    @property
    def signed_synapse_weights(self) -> np.ndarray:
        """Per-synapse weights with Dale's-law signs applied (order of :attr:`synapses`)."""
        return self._syn.weight * self.source_signs[self._syn.pre]

    def param(self, name: str) -> np.ndarray:
        """Column of one neuron parameter, e.g. ``circuit.param("tau_m")``."""
        return self.params[:, PARAM_INDEX[name]]

    def refractory_steps(self) -> np.ndarray:
        """Refractory period of each neuron in whole steps, ``round(t_ref / dt)``."""
        return np.rint(self.param("t_ref") / self.dt_ms).astype(np.int64)

    def replace(self, **changes: Any) -> "Circuit":
        """A validated copy with some fields changed (arrays are copied).

        Synapses change with ``synapses=`` (a table) or with dense matrices
        (``weights=`` ...; the matrices not given are taken from this circuit). A change
        of ``types`` or ``n_inputs`` that alters the shape needs new synapses too.
        """
        unknown = sorted(set(changes) - set(_FIELDS) - set(DENSE_VIEWS) - {"synapses"})
        if unknown:
            raise TypeError(f"replace: unknown field {unknown[0]!r}")
        fields: dict[str, Any] = {k: changes.get(k, getattr(self, k)) for k in _FIELDS}
        fields = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in fields.items()}
        fields["metadata"] = dict(fields["metadata"])
        dense = {k: changes[k] for k in DENSE_VIEWS if k in changes}
        if dense and "synapses" in changes:
            raise CircuitError(f"{next(iter(dense))}: give the synapses either as a table or as dense matrices, not both")
        if dense:
            fields.update({k: dense.get(k, getattr(self, k)) for k in DENSE_VIEWS})
            return Circuit(**fields)
        if "synapses" in changes:
            return Circuit(**fields, synapses=changes["synapses"])
        shape = (int(fields["n_inputs"]) + len(np.atleast_1d(fields["types"])), len(np.atleast_1d(fields["types"])))
        if shape != self.dense_shape:
            raise CircuitError(f"weights: expected shape {shape}, got {self.dense_shape} "
                               "(give the synapses of the new shape)")
        return Circuit(**fields, synapses=self._syn)  # read-only arrays: shared, not copied

    def copy(self) -> "Circuit":
        """A deep copy."""
        return self.replace()

    def without_neurons(self, remove: Sequence[int]) -> "Circuit":
        """A copy with some neurons (and all their synapses) removed.

        Output ports of removed neurons are dropped; the remaining neurons keep their
        order, so indices above a removed neuron shift down.
        """
        keep_mask = np.ones(self.n_neurons, bool)
        remove_idx = np.array([int(i) for i in remove], np.int64)
        keep_mask[remove_idx[(remove_idx >= 0) & (remove_idx < self.n_neurons)]] = False
        keep = np.flatnonzero(keep_mask)
        new_index = np.full(self.n_neurons, -1, np.int64)
        new_index[keep] = np.arange(len(keep))
        row_map = np.concatenate([np.arange(self.n_inputs), np.where(keep_mask, self.n_inputs + new_index, -1)])
        s = self._syn
        sel = (row_map[s.pre] >= 0) & keep_mask[s.post]
        kept = s.take(sel)
        syn = kept._replace(pre=row_map[kept.pre].astype(np.int32), post=new_index[kept.post].astype(np.int32))
        outputs = [int(new_index[o]) for o in self.outputs if keep_mask[o]]
        return self.replace(types=self.types[keep], params=self.params[keep], outputs=outputs, synapses=syn)

    def with_neurons(self, types: Sequence[int], params: np.ndarray | None = None) -> "Circuit":
        """A copy with unconnected neurons appended (per-type default parameters)."""
        types = np.asarray(types, np.int8)
        k = len(types)
        new_params = default_params(types) if params is None else np.asarray(params, float).reshape(k, -1)
        # new neurons are the last rows and columns: every existing (row, post) stays
        return self.replace(types=np.concatenate([self.types, types]), params=np.vstack([self.params, new_params]),
                            synapses=self._syn)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Circuit):
            return NotImplemented
        return (self.n_inputs == other.n_inputs and self.dt_ms == other.dt_ms
                and self.synapse_model == other.synapse_model and self.name == other.name
                and self.metadata == other.metadata
                and all(np.array_equal(getattr(self, k), getattr(other, k)) for k in ("types", "params", "outputs"))
                and all(np.array_equal(a, b) for a, b in zip(self._syn, other._syn)))

    __hash__ = None  # mutable attributes, compared by value

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return (f"Circuit({label}{self.n_exc}E+{self.n_inh}I, inputs={self.n_inputs}, "
                f"outputs={self.outputs.tolist()}, synapses={self.n_synapses}, {self.synapse_model})")

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_dense_cache"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        # pickling does not keep the read-only flag; copies keep the table immutable
        self._syn = _frozen(Synapses(*(np.array(a) for a in self._syn)))

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
        signed = self.signed_synapse_weights
        s = self._syn
        for k, (pre, post) in enumerate(zip(s.pre.tolist(), s.post.tolist())):
            src = input_node(pre) if pre < self.n_inputs else neuron_node(pre - self.n_inputs)
            attrs = {"weight": float(signed[k]), "delay_ms": float(s.delay[k] * self.dt_ms),
                     "p_release": float(s.p_release[k])}
            if s.std_u[k] > 0:
                attrs["std_U"] = float(s.std_u[k])
                attrs["std_tau_rec"] = float(s.std_tau_rec[k])
            g.add_edge(src, neuron_node(post), **attrs)
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
        signs = np.concatenate([np.ones(n_in, np.int8), types])
        cols: list[list] = [[] for _ in range(7)]
        for u, v, d in g.edges(data=True):
            r, col = row_of[u], row_of[v] - n_in
            if col < 0:
                raise FormatError(f"graph edge {u!r}->{v!r}: an input channel cannot be postsynaptic")
            weight = float(d["weight"])
            if weight * signs[r] < 0:
                raise FormatError(f"graph edge {u!r}->{v!r}: weight {weight} breaks Dale's law "
                                  f"(presynaptic type {'E' if signs[r] > 0 else 'I'})")
            values = (r, col, abs(weight), int(round(float(d.get("delay_ms", 0.0)) / dt)),
                      float(d.get("p_release", 1.0)), float(d.get("std_U", 0.0)), float(d.get("std_tau_rec", 0.0)))
            for lst, x in zip(cols, values):
                lst.append(x)
        syn = Synapses(*(np.array(c, dtype=np.int64 if k in (0, 1, 3) else np.float64) for k, c in enumerate(cols)))
        return cls(types=types, n_inputs=n_in, synapses=syn, params=params,
                   outputs=[outputs[k] for k in sorted(outputs)], dt_ms=dt,
                   synapse_model=str(gattr.get("synapse_model", "current")), name=str(gattr.get("name", "")))

    @classmethod
    def adopt(cls, types: Any, n_inputs: int, synapses: Synapses, **fields: Any) -> "Circuit":
        """A circuit that takes over ``synapses`` without copying them (large circuits).

        Like ``Circuit(types, n_inputs, synapses=synapses, **fields)``, but arrays that
        already have the table's dtypes (int32 ``pre``, ``post``, ``delay``; float64
        values) become the circuit's own and are made read-only, so building a circuit
        of 10^7 synapses does not hold two copies. Validated as usual.
        """
        obj = cls(types, n_inputs, **fields)  # validates everything but the synapses
        n = obj.n_neurons
        obj._syn = _normalise_synapses(synapses, obj.n_inputs + n, n, copy=False)
        obj.validate()
        return obj

    @classmethod
    def _trusted(cls, **fields: Any) -> "Circuit":
        """Build without validation from arrays taken from valid circuits (internal fast path).

        Takes the fields of the constructor, with the synapses as ``synapses=`` or as
        dense matrices.
        """
        obj = cls.__new__(cls)
        for k in _FIELDS:
            setattr(obj, k, fields.get(k, _FIELD_DEFAULTS.get(k)))
        if obj.metadata is None:
            obj.metadata = {}
        obj._dense_cache = {}
        if fields.get("synapses") is not None:
            obj._syn = _frozen(Synapses(*fields["synapses"]))
        elif fields.get("weights") is not None:
            obj._syn = _frozen(Synapses.from_dense(*(fields.get(k) for k in DENSE_VIEWS)))
        else:
            obj._syn = Synapses.empty()
        return obj


#: Constructor fields other than the synapses, in order, and their defaults.
_FIELDS = ("types", "n_inputs", "params", "outputs", "dt_ms", "synapse_model", "name", "metadata")
_FIELD_DEFAULTS: dict[str, Any] = {"params": None, "outputs": (), "dt_ms": DEFAULT_DT_MS,
                                   "synapse_model": "current", "name": "", "metadata": None}


def _dense_to_synapses(dense: dict[str, Any], shape: tuple[int, int]) -> Synapses:
    """Check dense matrices (types and shape) and turn them into a frozen table."""
    w = _float_matrix(dense["weights"], "weights", shape)
    d = (None if dense["delays"] is None
         else _int_array(dense["delays"], "delays", ndim=2, dtype=np.int32, shape=shape))
    others = {k: (None if dense[k] is None else _float_matrix(dense[k], k, shape))
              for k in ("p_release", "std_u", "std_tau_rec")}
    syn = Synapses.from_dense(w, d, others["p_release"], others["std_u"], others["std_tau_rec"])
    if d is not None:  # the dense form checks delays everywhere, absent synapses included
        _check_where((d < 0) | (d > MAX_DELAY_STEPS), "delays", d, f"delay out of range [0, {MAX_DELAY_STEPS}] steps")
    return _frozen(syn)


def _normalise_synapses(syn: Any, n_rows: int, n: int, copy: bool = True) -> Synapses:
    """Check a synapse table given by the caller: a sorted, frozen table without zero weights.

    With ``copy=False`` arrays already of the table's dtype are adopted (made read-only)
    instead of copied.
    """
    try:
        fields = list(syn)
    except TypeError:
        raise CircuitError(f"synapses: expected a Synapses table, got {type(syn).__name__}") from None
    if len(fields) != len(Synapses._fields):
        raise CircuitError(f"synapses: expected {len(Synapses._fields)} arrays ({', '.join(Synapses._fields)}), "
                           f"got {len(fields)}")
    arrays = []
    for name, value, dtype in zip(Synapses._fields, fields, _SYN_DTYPES):
        where = f"synapses.{name}"
        if np.dtype(dtype).kind == "i":
            arr = _int_array(value, where, ndim=1, dtype=dtype)
        else:
            arr = np.asarray(value)
            if arr.dtype.kind not in "fiub":
                raise CircuitError(f"{where}: expected numbers, got dtype {arr.dtype}")
            if arr.ndim != 1:
                raise CircuitError(f"{where}: expected a 1-d array, got shape {arr.shape}")
            arr = np.ascontiguousarray(arr, dtype=np.float64)
        if copy and np.shares_memory(arr, np.asarray(value)):
            arr = arr.copy()
        arrays.append(arr)
    m = arrays[0].shape[0]
    for name, arr in zip(Synapses._fields, arrays):
        if arr.shape != (m,):
            raise CircuitError(f"synapses.{name}: expected {m} entries (one per synapse), got {arr.shape[0]}")
    s = Synapses(*arrays)
    del fields, arrays
    if (s.weight == 0).any():  # 0 means absent, as in the dense form
        s = s.take(s.weight != 0)
    for name, idx, limit in (("pre", s.pre, n_rows), ("post", s.post, n)):
        bad = (idx < 0) | (idx >= limit)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise CircuitError(f"synapses.{name}[{k}]: index {int(idx[k])} out of range [0, {limit})")
    key = s.pre.astype(np.int64) * max(n, 1) + s.post
    if len(key) > 1 and not (key[1:] > key[:-1]).all():
        order = np.argsort(key, kind="stable")
        s, key = s.take(order), key[order]
        dup = np.flatnonzero(key[1:] == key[:-1])
        if len(dup):
            k = int(dup[0])
            raise CircuitError(f"synapses: duplicate synapse source row {int(s.pre[k])} -> post {int(s.post[k])}")
    return _frozen(s)


def _check_structure(s: Synapses, n_rows: int, n: int) -> None:
    """Indices in range, sorted by (row, post) without repeats (the table's invariants)."""
    m = len(s.pre)
    if any(a.shape != (m,) for a in s):
        raise CircuitError("synapses: the table's arrays differ in length")
    if m == 0:
        return
    if s.pre.min() < 0 or s.pre.max() >= n_rows or s.post.min() < 0 or s.post.max() >= n:
        raise CircuitError(f"synapses: an index is out of range (source rows [0, {n_rows}), neurons [0, {n}))")
    key = s.pre.astype(np.int64) * max(n, 1) + s.post
    if not (key[1:] > key[:-1]).all():
        raise CircuitError("synapses: not sorted by (source row, post) or a synapse is repeated")


def _check_syn(bad: np.ndarray, s: Synapses, name: str, values: np.ndarray, why: str) -> None:
    """Raise naming the first offending synapse as ``name[row, post]`` (the dense index)."""
    if not bad.any():
        return
    k = int(np.argmax(bad))
    raise CircuitError(f"{name}[{int(s.pre[k])}, {int(s.post[k])}]: {why}, got {float(values[k])}")


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
