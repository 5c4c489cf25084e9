"""Circuit arrays (NPZ): every value of a circuit resolved to plain NumPy arrays.

Nothing in an NPZ needs interpreting (no defaults, delays in steps, signs applied),
which makes it the form for other tools. Three layouts, all read with
``np.load(path, allow_pickle=False)`` (``docs/formats.md``):

- ``evo-circuits/arrays``: one circuit as dense ``(n_inputs + n, n)`` matrices;
- ``evo-circuits/arrays-sparse``: one circuit with one entry per synapse (``syn_*``
  arrays), for circuits too large for dense matrices;
- ``evo-circuits/arrays-population``: several circuits sharing ``dt_ms`` and the synapse
  model, circuit ``k``'s arrays (either layout) under the prefix ``"<k>/"`` plus its
  neurons' ``refractory_steps`` (:func:`population_arrays`). The Brian2 reference script
  reads it, so it never re-implements the circuit format's defaults.

:func:`load` reads both single-circuit layouts back (hardened: :func:`.files.load_npz`).
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..circuit import DENSE_MAX_ENTRIES, Circuit, Synapses
from ..errors import CircuitError, FormatError
from ..model import NEURON_PARAMS, SYNAPSE_MODELS
from .atomic import save_npz
from .caps import check_file, check_size
from .files import load_npz

ARRAYS_FORMAT = "evo-circuits/arrays"
ARRAYS_VERSION = 1
SPARSE_FORMAT = "evo-circuits/arrays-sparse"
SPARSE_VERSION = 1
LAYOUTS = ("dense", "sparse")
POPULATION_FORMAT = "evo-circuits/arrays-population"
POPULATION_VERSION = 1


def to_arrays(circuit: Circuit, layout: str | None = None) -> dict[str, np.ndarray]:
    """The circuit as plain NumPy arrays (what ``--format npz`` writes).

    Parameters
    ----------
    circuit : Circuit
    layout : {"dense", "sparse"}, optional
        Default: dense if the circuit has dense views (at most
        :data:`~evo_circuits.circuit.DENSE_MAX_ENTRIES` matrix entries), else sparse.

    Returns
    -------
    dict of ndarray
        Both layouts: ``types`` (+1 E / -1 I), ``outputs`` (neuron indices, port order),
        ``params`` (n x 10) with their ``param_names``, and scalars ``n_inputs``,
        ``dt_ms``, ``synapse_model``, ``format``, ``version``. Dense
        (``evo-circuits/arrays``): ``weights`` (signed by Dale's law, shape
        ``(n_inputs + n, n)``, rows = sources: inputs first, then neurons; columns =
        postsynaptic neurons; mV), ``delays`` (int steps), ``delays_ms``, ``p_release``,
        ``std_u``, ``std_tau_rec`` (same shape). Sparse (``evo-circuits/arrays-sparse``):
        one entry per synapse, sorted by (source row, post): ``syn_pre`` (source row),
        ``syn_post``, ``syn_weight`` (signed), ``syn_delay`` (steps), ``syn_delay_ms``,
        ``syn_p_release``, ``syn_std_u``, ``syn_std_tau_rec``. No object arrays, so
        ``np.load(..., allow_pickle=False)`` reads it.
    """
    rows, cols = circuit.dense_shape
    layout = layout or ("dense" if rows * cols <= DENSE_MAX_ENTRIES else "sparse")
    if layout not in LAYOUTS:
        raise FormatError(f"NPZ layout: expected one of {', '.join(LAYOUTS)}, got {layout!r}")
    common = {
        "types": circuit.types.astype(np.int8),
        "outputs": np.asarray(circuit.outputs, np.int64),
        "n_inputs": np.array(circuit.n_inputs, np.int64),
        "dt_ms": np.array(circuit.dt_ms),
        "synapse_model": np.array(circuit.synapse_model),
        "params": circuit.params.copy(),
        "param_names": np.array(NEURON_PARAMS),
    }
    if layout == "sparse":
        s = circuit.synapses
        return {
            "format": np.array(SPARSE_FORMAT),
            "version": np.array(SPARSE_VERSION, np.int64),
            "syn_pre": s.pre.copy(), "syn_post": s.post.copy(),
            "syn_weight": circuit.signed_synapse_weights.astype(np.float64),
            "syn_delay": s.delay.astype(np.int64), "syn_delay_ms": s.delay * circuit.dt_ms,
            "syn_p_release": s.p_release.copy(), "syn_std_u": s.std_u.copy(),
            "syn_std_tau_rec": s.std_tau_rec.copy(),
            **common,
        }
    return {
        "format": np.array(ARRAYS_FORMAT),
        "version": np.array(ARRAYS_VERSION, np.int64),
        "weights": circuit.signed_weights.astype(np.float64),
        "delays": circuit.delays.astype(np.int64),
        "delays_ms": circuit.delays * circuit.dt_ms,
        "p_release": circuit.p_release.copy(),
        "std_u": circuit.std_u.copy(),
        "std_tau_rec": circuit.std_tau_rec.copy(),
        **common,
    }


def from_arrays(arrays: dict[str, np.ndarray], *, max_neurons: int | None = None, max_inputs: int | None = None,
                max_synapses: int | None = None) -> Circuit:
    """The circuit of a dict written by :func:`to_arrays` (either layout).

    Raises
    ------
    FormatError
        Naming the array that is missing or wrong; Dale's law is checked (a weight's
        sign must be its source's).
    """
    fmt = _scalar(arrays, "format", str)
    if fmt not in (ARRAYS_FORMAT, SPARSE_FORMAT):
        raise FormatError(f"format: expected {ARRAYS_FORMAT!r} or {SPARSE_FORMAT!r}, got {fmt!r}"
                          + (" (a population holds several circuits: read it with np.load)"
                             if fmt == POPULATION_FORMAT else ""))
    version = _scalar(arrays, "version", int)
    if version != 1:
        raise FormatError(f"version: unsupported version {version} (this reader knows 1)")
    n_in = _scalar(arrays, "n_inputs", int)
    types = _array(arrays, "types", 1)
    sparse = fmt == SPARSE_FORMAT
    n_syn = int(np.size(arrays.get("syn_pre", ()))) if sparse else 0
    check_size(len(types), n_in, "", max_neurons=max_neurons, max_inputs=max_inputs, n_synapses=n_syn,
               max_synapses=max_synapses)
    if n_in < 0:
        raise FormatError(f"n_inputs: expected an integer >= 0, got {n_in}")
    names = [str(x) for x in _array(arrays, "param_names", 1)]
    if names != list(NEURON_PARAMS):
        raise FormatError(f"param_names: expected {', '.join(NEURON_PARAMS)}")
    model = _scalar(arrays, "synapse_model", str)
    if model not in SYNAPSE_MODELS:
        raise FormatError(f"synapse_model: expected one of {', '.join(SYNAPSE_MODELS)}, got {model!r}")
    fields = dict(types=types, n_inputs=n_in, params=_array(arrays, "params", 2), outputs=_array(arrays, "outputs", 1),
                  dt_ms=_scalar(arrays, "dt_ms", float), synapse_model=model)
    try:
        fields["types"] = np.asarray(types, np.int64)
        signs = np.concatenate([np.ones(n_in, np.int64), np.sign(fields["types"])])
        if sparse:
            cols = [_array(arrays, f"syn_{k}", 1) for k in ("pre", "post", "weight", "delay", "p_release", "std_u",
                                                            "std_tau_rec")]
            pre, weight = cols[0], cols[2]
            if len(pre) and (pre.dtype.kind not in "iu" or pre.min() < 0 or pre.max() >= len(signs)):
                raise FormatError(f"syn_pre: source rows must be integers in [0, {len(signs)})")
            _check_dale(weight, signs[pre.astype(np.int64)] if len(pre) else signs[:0], "syn_weight")
            cols[2] = np.abs(weight)
            return Circuit(**fields, synapses=Synapses(*cols))
        weights = _array(arrays, "weights", 2)
        if weights.shape[0] != len(signs):
            raise FormatError(f"weights: expected {len(signs)} rows (inputs + neurons), got {weights.shape[0]}")
        _check_dale(weights, signs[:, None], "weights")
        return Circuit(**fields, weights=np.abs(weights), delays=_array(arrays, "delays", 2),
                       **{k: _array(arrays, k, 2) for k in ("p_release", "std_u", "std_tau_rec")})
    except CircuitError as exc:
        raise FormatError(str(exc)) from None


def load(path: str | os.PathLike, *, max_neurons: int | None = None, max_inputs: int | None = None,
         max_synapses: int | None = None, max_bytes: int | None = None) -> Circuit:
    """Read a circuit NPZ written by :func:`save` (dense or sparse layout).

    ``max_bytes`` caps the file's size; its arrays once decompressed are capped by
    ``EVO_CIRCUITS_MAX_NPZ_BYTES`` (:func:`.files.load_npz`).

    Raises
    ------
    FormatError
        One line starting with the path.
    """
    check_file(path, max_bytes)
    arrays = load_npz(path, "circuit NPZ")
    try:
        return from_arrays(arrays, max_neurons=max_neurons, max_inputs=max_inputs, max_synapses=max_synapses)
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from None


def _scalar(arrays: dict, key: str, kind: type):
    if key not in arrays:
        raise FormatError(f"{key}: missing (not an evo-circuits circuit NPZ)")
    a = np.asarray(arrays[key])
    ok = a.ndim == 0 and {str: "U", int: "iu", float: "fiu"}[kind].find(a.dtype.kind) >= 0
    if not ok:
        raise FormatError(f"{key}: expected a {kind.__name__} scalar, got dtype {a.dtype} shape {a.shape}")
    return kind(a)


def _array(arrays: dict, key: str, ndim: int) -> np.ndarray:
    if key not in arrays:
        raise FormatError(f"{key}: missing")
    a = np.asarray(arrays[key])
    if a.ndim != ndim:
        raise FormatError(f"{key}: expected a {ndim}-d array, got shape {a.shape}")
    return a


def _check_dale(signed: np.ndarray, signs: np.ndarray, key: str) -> None:
    if signed.dtype.kind not in "fiu":
        raise FormatError(f"{key}: expected numbers, got dtype {signed.dtype}")
    bad = signed * signs < 0
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise FormatError(f"{key}[{', '.join(map(str, idx))}]: sign breaks Dale's law (the source's type)")


def save(circuit: Circuit, path: str | os.PathLike, layout: str | None = None) -> None:
    """Write :func:`to_arrays` of ``circuit`` to ``path`` (compressed NPZ), atomically."""
    save_npz(path, **to_arrays(circuit, layout))


def population_arrays(circuits: Sequence[Circuit], layout: str | None = None) -> dict[str, np.ndarray]:
    """Several circuits as one ``evo-circuits/arrays-population`` dict of arrays.

    Parameters
    ----------
    circuits : sequence of Circuit
        At least one; all with the same ``dt_ms`` and ``synapse_model``.
    layout : {"dense", "sparse"}, optional
        Of every circuit (see :func:`to_arrays`).

    Returns
    -------
    dict of ndarray
        ``format``, ``version``, ``n_circuits``, the shared ``dt_ms`` and
        ``synapse_model``, and for circuit ``k`` the arrays of :func:`to_arrays` under
        ``"<k>/"`` plus ``"<k>/refractory_steps"`` (int, per neuron:
        ``round(t_ref / dt)``, the model's refractory period in whole steps).

    Raises
    ------
    FormatError
        If the list is empty or the circuits do not share ``dt_ms`` / ``synapse_model``.
    """
    if not circuits:
        raise FormatError("population: no circuits")
    first = circuits[0]
    out = {
        "format": np.array(POPULATION_FORMAT),
        "version": np.array(POPULATION_VERSION, np.int64),
        "n_circuits": np.array(len(circuits), np.int64),
        "dt_ms": np.array(first.dt_ms),
        "synapse_model": np.array(first.synapse_model),
    }
    for k, c in enumerate(circuits):
        if (c.dt_ms, c.synapse_model) != (first.dt_ms, first.synapse_model):
            raise FormatError(f"population: circuit {k} has dt_ms/synapse_model ({c.dt_ms}, {c.synapse_model!r}), "
                              f"circuit 0 has ({first.dt_ms}, {first.synapse_model!r}); all must share them")
        out.update({f"{k}/{name}": value for name, value in to_arrays(c, layout).items()})
        out[f"{k}/refractory_steps"] = c.refractory_steps()
    return out


def save_population(circuits: Sequence[Circuit], path: str | os.PathLike, layout: str | None = None) -> None:
    """Write :func:`population_arrays` to ``path`` (compressed NPZ), atomically."""
    save_npz(path, **population_arrays(circuits, layout))
