"""A Circuit prepared for gradient training: weight magnitudes, structure, constants.

:class:`TrainableNetwork` holds what training changes (synapse weight magnitudes and
optionally the per-neuron bias ``i_bias``), which entries exist and which may change, and
the per-neuron constants of the exact propagator — taken from the simulator's own packing
(:func:`evo_circuits.dynamics.propagators`) so that the training forward pass and the
simulator compute the very same numbers.

Dale's law is structural here: a weight is a magnitude >= 0 and its sign is its source
row's type (input channels excitatory), so the optimiser can never flip a synapse's sign.
Magnitudes are kept >= 0 by projection after every update (clip at 0). A clipped synapse
keeps receiving gradients and may grow back; it is only *absent* from the Circuit that
:meth:`TrainableNetwork.to_circuit` returns while its weight is 0 (weight 0 means
"no synapse" in a Circuit). With ``dale=False`` (the unconstrained control of
``docs/science.md``) the projection leaves signs alone: a weight below 0 reverses its
synapse (an E row's negative weight lowers ``I_e``), and such a network is no longer a
Circuit.

What training supports: the current-based model, synapses with any delay (fixed, not
trained), release probability 1 and no short-term depression. Anything else is rejected
with an error that names the offending synapse (stochastic release would make the
forward pass a different random function at every call; depression would need its
resource variables differentiated too).

Storage is a synapse list, not a matrix: the entries that may be non-zero during training
(the *structure*: the mask, plus trainable entries outside it when growth is allowed) in
source-row order, with their weights, delays and flags. Memory and the optimiser's work
are proportional to synapses, so assembled networks of 10^4+ neurons train. Dense
``(n_inputs + n, n)`` views (:attr:`TrainableNetwork.weights`, ``mask``, ``trainable``...)
are built on demand for small networks and tools written against them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..circuit import MAX_DELAY_STEPS, Circuit, Synapses
from ..errors import EvoCircuitsError
from ..model import PARAM_INDEX
from ..dynamics.propagators import propagators


class TrainError(EvoCircuitsError, ValueError):
    """A circuit, mask, data set or setting cannot be used for training; the message says why."""


#: Networks with more (source, target) entries than this, ``(n_inputs + n) * n``, are
#: "large": their kernels deliver every synapse from the synapse list (no dense rows) when
#: the structure is sparse, and ``grow=True`` lets only the mask's entries grow.
LARGE_NETWORK_ENTRIES = 1 << 22
#: ... "sparse": at most this fraction of the entries in the structure.
SPARSE_MAX_DENSITY = 0.25
#: A sparse network's input synapses stay on the dense path when at least this fraction
#: of the input block's entries are synapses.
DENSE_INPUT_DENSITY = 0.02


@dataclass(eq=False)
class TrainableNetwork:
    """Trainable state and fixed constants of one circuit.

    The trainable synapses are a list (one entry per synapse of the *structure*, sorted by
    source row then target): ``pre``, ``post``, ``w``, ``delays``, ``in_mask``, ``free``.

    Attributes
    ----------
    circuit : Circuit
        The circuit training started from (neuron types, parameters, outputs...).
    pre, post : int64 arrays (n_syn,)
        Source row (input channels, then neurons) and target neuron of every entry.
    w : float64 array (n_syn,)
        Current weight magnitudes (updated in place by training).
    delays : int64 array (n_syn,)
        Delay in steps (fixed).
    in_mask : bool array (n_syn,)
        The synapse exists (may be 0 after projection, it still exists); entries outside
        the mask are growth entries.
    free : bool array (n_syn,)
        Entries the optimiser updates.
    bias : ndarray, shape (n,)
        Current ``i_bias`` of every neuron (mV).
    train_bias : bool
        Whether ``bias`` is a trained parameter.
    dale : bool
        Keep Dale's law (weights projected to >= 0); False lets weights change sign.
    sparse : bool or None
        Deliver every synapse from the list in the kernels (no dense weight rows); None:
        decide by size (large and sparse networks, see :data:`LARGE_NETWORK_ENTRIES`).
    """

    circuit: Circuit
    pre: np.ndarray
    post: np.ndarray
    w: np.ndarray
    delays: np.ndarray
    in_mask: np.ndarray
    free: np.ndarray
    bias: np.ndarray
    train_bias: bool = False
    dale: bool = True
    sparse: bool | None = None

    def __post_init__(self) -> None:
        c = self.circuit
        # Constants of the exact propagator, the very numbers the simulator uses.
        self.prop = p = propagators(c.params, c.dt_ms)
        self.em, self.de, self.di, self.ke, self.ki = p.em, p.de, p.di, p.ke, p.ki
        self.v_rest = c.param("v_rest").copy()
        self.v_th, self.v_reset, self.v_init = p.v_th, p.v_reset, p.v_init
        self.ref_steps = p.ref_steps
        self.inh_row = c.source_signs < 0
        n_in, n = c.n_inputs, c.n_neurons
        n_rows = n_in + n
        if self.sparse is None:
            self.sparse = bool(n_rows * n > LARGE_NETWORK_ENTRIES and len(self.w) <= SPARSE_MAX_DENSITY * n_rows * n)
        self.n_ring = int(self.delays.max(initial=0)) + 1
        # Each synapse takes one of two paths in the kernels. Fast (synapses without delay
        # of a dense network): dense row slices, matrix products for the input currents and
        # weight gradients. Listed (the others): a list per source row, delivered one by
        # one, delays through a ring of future steps. A sparse network keeps the input
        # synapses without delay fast when its input block is small and not too sparse
        # (a product over the few channels beats delivering their many synapses one by one).
        listed = self.delays > 0
        if self.sparse:
            from_input = self.pre < n_in
            n_block = n_in * n
            if not (n_block <= LARGE_NETWORK_ENTRIES and from_input.sum() >= DENSE_INPUT_DENSITY * n_block):
                from_input[:] = False
            listed |= ~from_input
        # Rows of the dense matrix of fast synapses: all in a dense network, else the inputs'.
        self.n_fast_rows = n_rows if not self.sparse else (n_in if (~listed).any() else 0)
        self.fast_idx = np.flatnonzero(~listed)
        # ... and their positions in the flattened dense matrix (one take/put per batch).
        self.fast_flat = self.pre[self.fast_idx] * n + self.post[self.fast_idx]
        self.dl_idx = np.flatnonzero(listed)  # source-row order, targets ascending within a row
        self.dl_row, self.dl_col = self.pre[self.dl_idx], self.post[self.dl_idx]
        self.dl_ptr = np.searchsorted(self.dl_row, np.arange(n_rows + 1)).astype(np.int64)
        self.dl_delay = self.delays[self.dl_idx]
        self.row_listed = self.dl_ptr[1:] > self.dl_ptr[:-1]  # the row has listed synapses
        # Columns spanned by each source row's fast synapses (dense slices).
        f_row, f_col = self.pre[self.fast_idx], self.post[self.fast_idx]
        ptr = np.searchsorted(f_row, np.arange(n_rows + 1))
        any_col = ptr[1:] > ptr[:-1]
        self.col_lo = np.zeros(n_rows, np.int64)
        self.col_hi = np.zeros(n_rows, np.int64)
        self.col_lo[any_col] = f_col[ptr[:-1][any_col]]
        self.col_hi[any_col] = f_col[ptr[1:][any_col] - 1] + 1
        # For the backward pass: neuron-to-neuron fast synapses by postsynaptic neuron i,
        # and the presynaptic neurons tcol_lo[i]:tcol_hi[i] they span.
        nn_sel = f_row >= n_in
        t_pre, t_post = f_row[nn_sel] - n_in, f_col[nn_sel]
        self.tcol_lo = np.full(n, n, np.int64)
        self.tcol_hi = np.zeros(n, np.int64)
        np.minimum.at(self.tcol_lo, t_post, t_pre)
        np.maximum.at(self.tcol_hi, t_post, t_pre + 1)
        has = self.tcol_hi > 0
        self.tcol_lo[~has] = 0
        self.post_cols = np.flatnonzero(has).astype(np.int64)
        # Weight gradients of fast synapses are matrix products (bptt.BPTT): source rows in
        # blocks of one kind (inputs, E neurons, I neurons) with the columns they span.
        is_input = np.arange(n_rows) < n_in
        self.grad_blocks: list[tuple[np.ndarray, int, int, bool]] = []
        for sel in (any_col & is_input, any_col & ~is_input & ~self.inh_row, any_col & self.inh_row):
            if sel.any():
                idx = np.flatnonzero(sel)
                self.grad_blocks.append((idx, int(self.col_lo[idx].min()), int(self.col_hi[idx].max()),
                                         bool(self.inh_row[idx[0]])))
        # Columns reached by fast input synapses (their summed current is a product too).
        fast_in = np.flatnonzero(any_col & is_input)
        self.input_cols = (int(self.col_lo[fast_in].min()), int(self.col_hi[fast_in].max())) if len(fast_in) else (0, 0)
        # Columns whose adjoints gE / gQ the backward kernel records for those products.
        self.rec_cols = {inh: (min((b[1] for b in self.grad_blocks if b[3] == inh), default=0),
                               max((b[2] for b in self.grad_blocks if b[3] == inh), default=0))
                         for inh in (False, True)}

    def __repr__(self) -> str:
        c = self.circuit
        return (f"TrainableNetwork('{c.name}', n_inputs={c.n_inputs}, n_neurons={c.n_neurons}, "
                f"synapses={self.n_synapses}, trainable={int(self.free.sum())}, train_bias={self.train_bias}, "
                f"sparse={self.sparse})")

    def fast_weights(self, dtype=np.float64, out: np.ndarray | None = None) -> np.ndarray:
        """Weights of the fast synapses as a dense matrix (:attr:`n_fast_rows`, n), other
        entries 0 (the first rows: all of them in a dense network, the inputs' or none in a
        sparse one). ``out``: a zeroed matrix of that shape and ``dtype`` to write into
        (its other entries stay as they are)."""
        w = np.zeros((self.n_fast_rows, self.n_neurons), dtype) if out is None else out
        w.reshape(-1)[self.fast_flat] = self.w if len(self.fast_idx) == len(self.w) else self.w[self.fast_idx]
        return w

    def listed_weights(self, dtype=np.float64) -> np.ndarray:
        """Weights of the listed synapses, in the order of ``dl_row``/``dl_col``."""
        return np.ascontiguousarray(self.w[self.dl_idx], dtype)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_circuit(cls, circuit: Circuit, mask=None, trainable=None, *, delays=None, train_inputs: bool = True,
                     train_bias: bool = False, grow: bool = False, dale: bool = True,
                     sparse: bool | None = None) -> "TrainableNetwork":
        """Prepare a circuit for training.

        Parameters
        ----------
        circuit : Circuit
            Current-based, ``p_release`` 1, no depression (delays are fine).
        mask : bool array, scipy.sparse matrix or (pre, post) index arrays, optional
            Which synapses exist or may grow (shape of ``circuit.weights``; as entries:
            source rows and target neurons); default the circuit's synapses. Must contain
            every synapse of the circuit.
        trainable : same forms as ``mask``, optional
            Which synapses the optimiser changes; default ``mask``.
        delays : int array, scipy.sparse matrix or (pre, post, delay) arrays, optional
            Delays (steps) of the mask's entries, e.g. ``Assembly.delays``: growth entries
            take theirs from here. Synapses of the circuit keep the circuit's delays;
            entries without one get 0.
        train_inputs : bool
            Train the input synapses (rows of input channels); if False they are frozen.
        train_bias : bool
            Also train each neuron's ``i_bias``.
        grow : bool
            Let absent synapses grow: every entry (of the trained rows) becomes trainable,
            starting at weight 0 — on a network with more than :data:`LARGE_NETWORK_ENTRIES`
            entries only the mask's entries (a mask lists what may grow there). Without it
            absent synapses stay absent.
        dale : bool
            Keep every synapse's sign (its source's type); False: signs are free.
        sparse : bool, optional
            Force the kernels' synapse-list path (True) or dense rows (False); default by
            size (see :class:`TrainableNetwork`).

        Returns
        -------
        TrainableNetwork

        Raises
        ------
        TrainError
            If the circuit uses a feature training does not support, or the masks do not fit.
        """
        c = circuit
        if not isinstance(c, Circuit):
            raise TrainError(f"circuit: expected an evo_circuits.Circuit, got {type(c).__name__}")
        if c.synapse_model != "current":
            raise TrainError(f"circuit '{c.name}': training supports the current-based model only, "
                             f"got synapse_model {c.synapse_model!r}")
        syn = c.synapses
        _check_supported(c, syn)
        n_in, n = c.n_inputs, c.n_neurons
        shape = (n_in + n, n)
        # Entries as sorted linear keys row * n + col: set operations stay proportional to synapses.
        present = syn.pre.astype(np.int64) * n + syn.post
        mask_k = present if mask is None else _entries(mask, "mask", shape)
        missing = np.setdiff1d(present, mask_k, assume_unique=True)
        if len(missing):
            raise TrainError(f"mask: synapse {_name(c, *divmod(int(missing[0]), n))} exists in the circuit "
                             "but not in the mask")
        if trainable is None:
            train_k = mask_k
        else:
            train_k = _entries(trainable, "trainable", shape)
            outside = np.setdiff1d(train_k, mask_k, assume_unique=True)
            if len(outside) and not grow:
                raise TrainError(f"trainable: synapse {_name(c, *divmod(int(outside[0]), n))} is trainable but "
                                 "absent from the mask (pass grow=True to let absent synapses grow)")
        if grow:
            every = np.arange(shape[0] * n, dtype=np.int64) if shape[0] * n <= LARGE_NETWORK_ENTRIES else mask_k
            train_k = np.union1d(train_k, every)
        if not train_inputs:
            train_k = train_k[train_k >= n_in * n]
        keys = np.union1d(mask_k, train_k)
        pre, post = np.divmod(keys, n)
        w = np.zeros(len(keys))
        at = np.searchsorted(keys, present)
        w[at] = syn.weight
        d = np.zeros(len(keys), np.int64) if delays is None else _values(delays, "delays", shape, pre, post)
        d[at] = syn.delay
        return cls(circuit=c, pre=pre, post=post, w=w, delays=d, in_mask=_member(keys, mask_k),
                   free=_member(keys, train_k), bias=c.param("i_bias").copy(), train_bias=bool(train_bias),
                   dale=bool(dale), sparse=sparse)

    @classmethod
    def from_assembly(cls, assembly, **kwargs) -> "TrainableNetwork":
        """The network of :func:`evo_circuits.assemble.assemble` with its mask, trainable
        entries and the delays of growth entries, read from its entry table (no dense
        matrix, so it works for assemblies of any size); ``kwargs`` as in :meth:`from_circuit`."""
        e = assembly.entries
        return cls.from_circuit(assembly.circuit, (e.pre, e.post), (e.pre[e.trainable], e.post[e.trainable]),
                                delays=(e.pre, e.post, e.delay), **kwargs)

    # ------------------------------------------------------------------ views
    @property
    def n_inputs(self) -> int:
        """Number of input channels."""
        return self.circuit.n_inputs

    @property
    def n_neurons(self) -> int:
        """Number of neurons."""
        return self.circuit.n_neurons

    @property
    def n_synapses(self) -> int:
        """Number of entries in the structure (synapses and growth entries)."""
        return len(self.w)

    @property
    def outputs(self) -> np.ndarray:
        """Indices of the output neurons (read out in port order)."""
        return np.asarray(self.circuit.outputs, np.int64)

    @property
    def v_inf(self) -> np.ndarray:
        """Resting point of the free membrane, ``v_rest + i_bias`` (as the simulator computes it)."""
        return self.v_rest + self.bias

    def dense(self, values: np.ndarray, fill=0) -> np.ndarray:
        """A per-synapse array as a read-only ``(n_inputs + n, n)`` matrix (``fill`` elsewhere)."""
        out = np.full((self.n_inputs + self.n_neurons, self.n_neurons), fill, np.asarray(values).dtype)
        out[self.pre, self.post] = values
        out.flags.writeable = False
        return out

    @property
    def weights(self) -> np.ndarray:
        """Current weight magnitudes as a dense read-only matrix (n_inputs + n, n); assign a
        matrix to set them (entries outside the structure are ignored)."""
        return self.dense(self.w, 0.0)

    @weights.setter
    def weights(self, value: np.ndarray) -> None:
        value = np.asarray(value, np.float64)
        if value.shape != (self.n_inputs + self.n_neurons, self.n_neurons):
            raise TrainError(f"weights: expected shape {(self.n_inputs + self.n_neurons, self.n_neurons)}, "
                             f"got {value.shape}")
        self.w[:] = value[self.pre, self.post]

    @property
    def mask(self) -> np.ndarray:
        """Dense bool matrix of the synapses that exist (may be 0 after projection)."""
        return self.dense(self.in_mask, False)

    @property
    def trainable(self) -> np.ndarray:
        """Dense bool matrix of the entries the optimiser updates."""
        return self.dense(self.free, False)

    @property
    def structure(self) -> np.ndarray:
        """Dense bool matrix of the entries that may be non-zero: ``mask | trainable``."""
        return self.dense(np.ones(len(self.w), bool), False)

    @property
    def delay(self) -> np.ndarray:
        """Dense matrix of the delays (steps) of the structure's entries, 0 elsewhere."""
        return self.dense(self.delays, 0)

    @property
    def sign_flips(self) -> int:
        """Synapses whose weight is below 0: reversed against their source's type (``dale=False`` only)."""
        return int(np.count_nonzero(self.w < 0))

    def project(self) -> None:
        """Restore the constraints after an update: magnitudes >= 0 (with Dale's law)."""
        if self.dale:
            np.maximum(self.w, 0.0, out=self.w)

    def to_circuit(self, name: str | None = None, metadata: dict | None = None) -> Circuit:
        """The trained network as a Circuit (synapses with weight 0 are absent).

        Synapses that were absent from the starting circuit (grown, or in the mask at
        weight 0) get release probability 1 and no depression, and the delay training
        assumed (the ``delays`` given for the mask's entries, else 0).

        Raises
        ------
        TrainError
            If a synapse changed sign (``dale=False``): a Circuit holds magnitudes only.
        """
        c = self.circuit
        if self.sign_flips:
            raise TrainError(f"circuit '{c.name}': {self.sign_flips} synapse(s) changed sign in training without "
                             "Dale's law; a Circuit cannot hold them (the signed weights are in network.weights)")
        syn, n = c.synapses, c.n_neurons
        keys = self.pre * n + self.post
        present = syn.pre.astype(np.int64) * n + syn.post
        inside = _member(present, keys)
        at = np.searchsorted(keys, present[inside])
        # Per structure entry: the circuit's values where it had the synapse, else p_release
        # 1 and no depression (supported circuits have those everywhere anyway).
        p_rel, std_u, tau = np.ones(len(keys)), np.zeros(len(keys)), np.zeros(len(keys))
        p_rel[at], std_u[at], tau[at] = syn.p_release[inside], syn.std_u[inside], syn.std_tau_rec[inside]
        keep = self.w != 0
        kept = syn.take(~inside)  # the circuit's synapses outside the structure, unchanged
        table = Synapses(*(np.concatenate([a, b]) for a, b in zip(
            (self.pre[keep], self.post[keep], self.w[keep], self.delays[keep], p_rel[keep], std_u[keep], tau[keep]),
            kept)))
        params = c.params.copy()
        params[:, PARAM_INDEX["i_bias"]] = self.bias
        meta = dict(c.metadata)
        meta.update(metadata or {})
        return c.replace(synapses=table, params=params, name=c.name if name is None else name, metadata=meta)

    def copy(self) -> "TrainableNetwork":
        """An independent copy (trained arrays copied; the fixed structure shared)."""
        return TrainableNetwork(circuit=self.circuit, pre=self.pre, post=self.post, w=self.w.copy(),
                                delays=self.delays, in_mask=self.in_mask, free=self.free, bias=self.bias.copy(),
                                train_bias=self.train_bias, dale=self.dale, sparse=self.sparse)


def _entries(value, name: str, shape: tuple) -> np.ndarray:
    """The entries of a bool matrix (dense or scipy.sparse) or of a pair of index arrays
    ``(pre, post)`` as sorted keys ``row * n + col``."""
    n = shape[1]
    if isinstance(value, tuple):
        pre, post = _index_pair(value, name, shape, 2)[:2]
        return np.unique(pre * n + post)
    if hasattr(value, "tocoo"):  # scipy.sparse, without importing scipy
        if tuple(value.shape) != shape:
            raise TrainError(f"{name}: expected a matrix of shape {shape} (the shape of circuit.weights), "
                             f"got shape {tuple(value.shape)}")
        coo = value.tocoo()
        data = np.asarray(coo.data)
        if data.dtype != np.bool_ and (data.dtype.kind not in "iub" or not np.isin(data, (0, 1)).all()):
            raise TrainError(f"{name}: expected booleans, got dtype {data.dtype}")
        nz = data != 0
        return np.unique(coo.row[nz].astype(np.int64) * n + coo.col[nz])
    return np.flatnonzero(_bool_matrix(value, name, shape)).astype(np.int64)


def _values(value, name: str, shape: tuple, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Delays (dense or scipy.sparse integer matrix, or ``(pre, post, delay)`` arrays: 0
    where not listed) at the given entries, checked."""
    if isinstance(value, tuple):
        pre, post, vals = _index_pair(value, name, shape, 3)
        keys = pre * shape[1] + post
        order = np.argsort(keys, kind="stable")
        keys, vals = keys[order], np.asarray(vals)[order]
        want = rows.astype(np.int64) * shape[1] + cols
        found = _member(want, keys)
        out = np.zeros(len(want), vals.dtype)
        out[found] = vals[np.searchsorted(keys, want[found])]
    elif hasattr(value, "tocsr"):
        if tuple(value.shape) != shape:
            raise TrainError(f"{name}: expected a matrix of shape {shape}, got shape {tuple(value.shape)}")
        out = np.asarray(value.tocsr()[rows, cols]).reshape(-1)
    else:
        arr = np.asarray(value)
        if arr.shape != shape:
            raise TrainError(f"{name}: expected an integer array of shape {shape} (the shape of circuit.weights), "
                             f"got shape {arr.shape}")
        out = arr[rows, cols]
    if out.dtype.kind == "f" and len(out) and not (np.isfinite(out).all() and (out == np.round(out)).all()):
        raise TrainError(f"{name}: expected whole numbers of steps")
    if out.dtype.kind not in "iuf" or (len(out) and not (0 <= out.min() and out.max() <= MAX_DELAY_STEPS)):
        raise TrainError(f"{name}: expected integers in [0, {MAX_DELAY_STEPS}] steps")
    return out.astype(np.int64)


def _index_pair(value: tuple, name: str, shape: tuple, k: int) -> tuple:
    """``(pre, post[, values])`` index arrays of entries, checked against ``shape``."""
    if len(value) != k:
        raise TrainError(f"{name}: expected {k} arrays ({'pre, post' + (', values' if k == 3 else '')}), "
                         f"got {len(value)}")
    pre, post = (np.asarray(a) for a in value[:2])
    if pre.ndim != 1 or pre.shape != post.shape or pre.dtype.kind not in "iu" or post.dtype.kind not in "iu" \
            or (k == 3 and np.shape(value[2]) != pre.shape):
        raise TrainError(f"{name}: expected 1-d integer index arrays of equal length")
    if len(pre) and not (0 <= pre.min() and pre.max() < shape[0] and 0 <= post.min() and post.max() < shape[1]):
        raise TrainError(f"{name}: entries outside the shape {shape} of circuit.weights")
    return (pre.astype(np.int64), post.astype(np.int64)) + ((value[2],) if k == 3 else ())


def _member(keys: np.ndarray, subset: np.ndarray) -> np.ndarray:
    """For sorted unique ``keys``: which are in the sorted ``subset``."""
    if len(subset) == 0:
        return np.zeros(len(keys), bool)
    at = np.minimum(np.searchsorted(subset, keys), len(subset) - 1)
    return subset[at] == keys


def _bool_matrix(value, name: str, shape: tuple) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != shape:
        raise TrainError(f"{name}: expected a boolean array of shape {shape} (the shape of circuit.weights), "
                         f"got shape {arr.shape}")
    if arr.dtype != np.bool_:
        if arr.dtype.kind not in "iub" or not np.isin(arr, (0, 1)).all():
            raise TrainError(f"{name}: expected booleans, got dtype {arr.dtype}")
    return arr.astype(bool)


def _name(c: Circuit, row: int, col: int) -> str:
    src = f"input {row}" if row < c.n_inputs else f"neuron {row - c.n_inputs}"
    return f"({src} -> neuron {col})"


def _check_supported(c: Circuit, syn) -> None:
    # Absent entries' release probabilities etc. are ignored: to_circuit() writes 1 and 0 for them.
    for arr, bad, why in (
        (syn.p_release, syn.p_release != 1.0, "has release probability {}; training needs p_release = 1"),
        (syn.std_u, syn.std_u > 0, "has short-term depression (U = {}); training does not support it"),
    ):
        if bad.any():
            k = int(np.argmax(bad))
            raise TrainError(f"circuit '{c.name}': synapse {_name(c, int(syn.pre[k]), int(syn.post[k]))} "
                             f"{why.format(arr[k])}")
