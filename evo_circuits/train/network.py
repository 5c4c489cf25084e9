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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..circuit import Circuit
from ..errors import EvoCircuitsError
from ..model import PARAM_INDEX
from ..dynamics.propagators import propagators


class TrainError(EvoCircuitsError, ValueError):
    """A circuit, mask, data set or setting cannot be used for training; the message says why."""


@dataclass
class TrainableNetwork:
    """Trainable state and fixed constants of one circuit.

    Attributes
    ----------
    circuit : Circuit
        The circuit training started from (neuron types, parameters, outputs...).
    weights : ndarray, shape (n_inputs + n, n)
        Current weight magnitudes (float64); rows are sources (inputs, then neurons).
    bias : ndarray, shape (n,)
        Current ``i_bias`` of every neuron (mV).
    mask : ndarray of bool, same shape as ``weights``
        Synapses that exist (may be 0 after projection, they still exist).
    trainable : ndarray of bool, same shape
        Entries the optimiser updates; outside ``mask`` only when growth is allowed.
    train_bias : bool
        Whether ``bias`` is a trained parameter.
    dale : bool
        Keep Dale's law (weights projected to >= 0); False lets weights change sign.
    """

    circuit: Circuit
    weights: np.ndarray
    bias: np.ndarray
    mask: np.ndarray
    trainable: np.ndarray
    train_bias: bool = False
    dale: bool = True

    def __post_init__(self) -> None:
        c = self.circuit
        # Constants of the exact propagator, the very numbers the simulator uses.
        self.prop = p = propagators(c.params, c.dt_ms)
        self.em, self.de, self.di, self.ke, self.ki = p.em, p.de, p.di, p.ke, p.ki
        self.v_rest = c.param("v_rest").copy()
        self.v_th, self.v_reset, self.v_init = p.v_th, p.v_reset, p.v_init
        self.ref_steps = p.ref_steps
        self.inh_row = c.source_signs < 0
        structure = self.structure
        self._absent = ~structure
        n_in = c.n_inputs
        # Delays of the mask's entries come from the circuit; synapses grown outside it get delay 0.
        self.delay = np.where(self.mask, c.delays, 0).astype(np.int64)
        # Each synapse takes one of two paths in the kernels. Without delay (``fast``): dense
        # row slices, matrix products for the input currents and weight gradients. With a
        # delay (``delayed``): a sparse list per source row, through a ring of future steps.
        self.delayed = (self.delay > 0) & structure
        fast = structure & ~self.delayed
        self.row_delayed = self.delayed.any(axis=1)
        self.n_ring = int(self.delay[structure].max(initial=0)) + 1
        rows, cols = np.nonzero(self.delayed)  # row-major: columns ascending within a row
        self.dl_row, self.dl_col = rows.astype(np.int64), cols.astype(np.int64)
        self.dl_ptr = np.searchsorted(rows, np.arange(len(structure) + 1)).astype(np.int64)
        self.dl_delay = self.delay[rows, cols].astype(np.int64)
        # Columns spanned by each source row's synapses without delay (dense slices).
        any_col = fast.any(axis=1)
        self.col_lo = np.where(any_col, fast.argmax(axis=1), 0).astype(np.int64)
        self.col_hi = np.where(any_col, fast.shape[1] - fast[:, ::-1].argmax(axis=1), 0).astype(np.int64)
        # For the backward pass: neuron-to-neuron synapses without delays by postsynaptic
        # neuron i, and the presynaptic neurons tcol_lo[i]:tcol_hi[i] they span.
        fast_nn = fast[n_in:]   # (pre j, post i)
        has = fast_nn.any(axis=0)
        self.post_cols = np.flatnonzero(has).astype(np.int64)
        self.tcol_lo = np.where(has, fast_nn.argmax(axis=0), 0).astype(np.int64)
        self.tcol_hi = np.where(has, fast_nn.shape[0] - fast_nn[::-1].argmax(axis=0), 0).astype(np.int64)
        # Weight gradients of synapses without delays are matrix products (bptt.BPTT): source
        # rows in blocks of one kind (inputs, E neurons, I neurons) with the columns they span.
        is_input = np.arange(len(any_col)) < n_in
        self.grad_blocks: list[tuple[np.ndarray, int, int, bool]] = []
        for sel in (any_col & is_input, any_col & ~is_input & ~self.inh_row, any_col & self.inh_row):
            if sel.any():
                idx = np.flatnonzero(sel)
                self.grad_blocks.append((idx, int(self.col_lo[idx].min()), int(self.col_hi[idx].max()),
                                         bool(self.inh_row[idx[0]])))
        # Columns reached by input synapses without delays (their summed current is a product too).
        fast_in = np.flatnonzero(any_col & is_input)
        self.input_cols = (int(self.col_lo[fast_in].min()), int(self.col_hi[fast_in].max())) if len(fast_in) else (0, 0)
        # Columns whose adjoints gE / gQ the backward kernel records for those products.
        self.rec_cols = {inh: (min((b[1] for b in self.grad_blocks if b[3] == inh), default=0),
                               max((b[2] for b in self.grad_blocks if b[3] == inh), default=0))
                         for inh in (False, True)}

    def fast_weights(self, dtype=np.float64) -> np.ndarray:
        """Weights of the synapses without delay (delayed entries 0), (n_inputs + n, n)."""
        return np.ascontiguousarray(np.where(self.delayed, 0.0, self.weights), dtype)

    def delayed_weights(self, dtype=np.float64) -> np.ndarray:
        """Weights of the delayed synapses, in the order of ``dl_row``/``dl_col``."""
        return np.ascontiguousarray(self.weights[self.dl_row, self.dl_col], dtype)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_circuit(cls, circuit: Circuit, mask: np.ndarray | None = None, trainable: np.ndarray | None = None,
                     *, train_inputs: bool = True, train_bias: bool = False, grow: bool = False,
                     dale: bool = True) -> "TrainableNetwork":
        """Prepare a circuit for training.

        Parameters
        ----------
        circuit : Circuit
            Current-based, ``p_release`` 1, no depression (delays are fine).
        mask : ndarray of bool, optional
            Which synapses exist (shape of ``circuit.weights``); default ``weights > 0``.
            Must contain every synapse of the circuit.
        trainable : ndarray of bool, optional
            Which synapses the optimiser changes; default ``mask``.
        train_inputs : bool
            Train the input synapses (rows of input channels); if False they are frozen.
        train_bias : bool
            Also train each neuron's ``i_bias``.
        grow : bool
            Let absent synapses grow: every entry (of the trained rows) becomes trainable,
            starting at weight 0. Without it absent synapses stay absent.
        dale : bool
            Keep every synapse's sign (its source's type); False: signs are free.

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
        shape = c.weights.shape
        present = c.weights > 0
        mask = present.copy() if mask is None else _bool_matrix(mask, "mask", shape)
        missing = present & ~mask
        if missing.any():
            raise TrainError(f"mask: synapse {_name(c, *np.argwhere(missing)[0])} exists in the circuit "
                             "but not in the mask")
        if trainable is None:
            trainable = mask.copy()
        else:
            trainable = _bool_matrix(trainable, "trainable", shape)
            outside = trainable & ~mask
            if outside.any() and not grow:
                raise TrainError(f"trainable: synapse {_name(c, *np.argwhere(outside)[0])} is trainable but absent "
                                 "from the mask (pass grow=True to let absent synapses grow)")
        if grow:
            trainable = trainable | ~mask
        if not train_inputs:
            trainable[:c.n_inputs] = False
        _check_supported(c)
        return cls(circuit=c, weights=np.where(mask | trainable, c.weights, 0.0), bias=c.param("i_bias").copy(),
                   mask=mask, trainable=trainable, train_bias=bool(train_bias), dale=bool(dale))

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
    def outputs(self) -> np.ndarray:
        """Indices of the output neurons (read out in port order)."""
        return np.asarray(self.circuit.outputs, np.int64)

    @property
    def structure(self) -> np.ndarray:
        """Entries that may be non-zero during training: ``mask | trainable``."""
        return self.mask | self.trainable

    @property
    def v_inf(self) -> np.ndarray:
        """Resting point of the free membrane, ``v_rest + i_bias`` (as the simulator computes it)."""
        return self.v_rest + self.bias

    @property
    def sign_flips(self) -> int:
        """Synapses whose weight is below 0: reversed against their source's type (``dale=False`` only)."""
        return int(np.count_nonzero(self.weights < 0))

    def project(self) -> None:
        """Restore the constraints after an update: magnitudes >= 0 (with Dale's law), absent entries 0."""
        if self.dale:
            np.maximum(self.weights, 0.0, out=self.weights)
        np.copyto(self.weights, 0.0, where=self._absent)  # (boolean indexing: 10x slower)

    def to_circuit(self, name: str | None = None, metadata: dict | None = None) -> Circuit:
        """The trained network as a Circuit (synapses with weight 0 are absent).

        Synapses that were absent from the starting circuit (grown, or in the mask at
        weight 0) get release probability 1 and no depression, and delay 0 if they were
        outside the mask: the values training assumed.

        Raises
        ------
        TrainError
            If a synapse changed sign (``dale=False``): a Circuit holds magnitudes only.
        """
        c = self.circuit
        if self.sign_flips:
            raise TrainError(f"circuit '{c.name}': {self.sign_flips} synapse(s) changed sign in training without "
                             "Dale's law; a Circuit cannot hold them (the signed weights are in network.weights)")
        w = np.where(self.structure, self.weights, c.weights)
        fresh = self.structure & ~(c.weights > 0)
        delays, p_rel, std_u = c.delays.copy(), c.p_release.copy(), c.std_u.copy()
        delays[self.structure] = self.delay[self.structure]
        p_rel[fresh], std_u[fresh] = 1.0, 0.0
        params = c.params.copy()
        params[:, PARAM_INDEX["i_bias"]] = self.bias
        meta = dict(c.metadata)
        meta.update(metadata or {})
        return c.replace(weights=w, delays=delays, p_release=p_rel, std_u=std_u, params=params,
                         name=c.name if name is None else name, metadata=meta)

    def copy(self) -> "TrainableNetwork":
        """An independent copy (arrays copied)."""
        return TrainableNetwork(circuit=self.circuit, weights=self.weights.copy(), bias=self.bias.copy(),
                                mask=self.mask.copy(), trainable=self.trainable.copy(), train_bias=self.train_bias,
                                dale=self.dale)


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


def _check_supported(c: Circuit) -> None:
    # Absent entries' release probabilities etc. are ignored: to_circuit() writes 1 and 0 for them.
    present = c.weights > 0
    for arr, bad, why in (
        (c.p_release, present & (c.p_release != 1.0), "has release probability {}; training needs p_release = 1"),
        (c.std_u, present & (c.std_u > 0), "has short-term depression (U = {}); training does not support it"),
    ):
        if bad.any():
            r, k = np.argwhere(bad)[0]
            raise TrainError(f"circuit '{c.name}': synapse {_name(c, r, k)} {why.format(arr[r, k])}")
