"""Circuit arrays (NPZ): every value of a circuit resolved to plain NumPy arrays.

Export-only: nothing in an NPZ needs interpreting (no defaults, delays in steps, signs
applied), which makes it the form for other tools. Two layouts, both read with
``np.load(path, allow_pickle=False)`` (``docs/formats.md``):

- ``evo-circuits/arrays``: one circuit (:func:`to_arrays`, ``save``);
- ``evo-circuits/arrays-population``: several circuits sharing ``dt_ms`` and the synapse
  model, circuit ``k``'s arrays under the prefix ``"<k>/"`` plus its neurons'
  ``refractory_steps`` (:func:`population_arrays`). The Brian2 reference script reads it,
  so it never re-implements the circuit format's defaults.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..circuit import Circuit
from ..errors import FormatError
from ..model import NEURON_PARAMS
from .atomic import save_npz

ARRAYS_FORMAT = "evo-circuits/arrays"
ARRAYS_VERSION = 1
POPULATION_FORMAT = "evo-circuits/arrays-population"
POPULATION_VERSION = 1


def to_arrays(circuit: Circuit) -> dict[str, np.ndarray]:
    """The circuit as plain NumPy arrays (what ``--format npz`` writes).

    Parameters
    ----------
    circuit : Circuit

    Returns
    -------
    dict of ndarray
        ``weights`` (signed by Dale's law, shape ``(n_inputs + n, n)``, rows = sources:
        inputs first, then neurons; columns = postsynaptic neurons; mV), ``delays``
        (int steps), ``delays_ms``, ``p_release``, ``std_u``, ``std_tau_rec`` (same
        shape), ``types`` (+1 E / -1 I), ``outputs`` (neuron indices, port order),
        ``params`` (n x 10) with their ``param_names``, and scalars ``n_inputs``,
        ``dt_ms``, ``synapse_model``, ``format``, ``version``. No object arrays, so
        ``np.load(..., allow_pickle=False)`` reads it.
    """
    return {
        "format": np.array(ARRAYS_FORMAT),
        "version": np.array(ARRAYS_VERSION, np.int64),
        "weights": circuit.signed_weights.astype(np.float64),
        "delays": circuit.delays.astype(np.int64),
        "delays_ms": circuit.delays * circuit.dt_ms,
        "p_release": circuit.p_release.copy(),
        "std_u": circuit.std_u.copy(),
        "std_tau_rec": circuit.std_tau_rec.copy(),
        "types": circuit.types.astype(np.int8),
        "outputs": np.asarray(circuit.outputs, np.int64),
        "n_inputs": np.array(circuit.n_inputs, np.int64),
        "dt_ms": np.array(circuit.dt_ms),
        "synapse_model": np.array(circuit.synapse_model),
        "params": circuit.params.copy(),
        "param_names": np.array(NEURON_PARAMS),
    }


def save(circuit: Circuit, path: str | os.PathLike) -> None:
    """Write :func:`to_arrays` of ``circuit`` to ``path`` (compressed NPZ), atomically."""
    save_npz(path, **to_arrays(circuit))


def population_arrays(circuits: Sequence[Circuit]) -> dict[str, np.ndarray]:
    """Several circuits as one ``evo-circuits/arrays-population`` dict of arrays.

    Parameters
    ----------
    circuits : sequence of Circuit
        At least one; all with the same ``dt_ms`` and ``synapse_model``.

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
        out.update({f"{k}/{name}": value for name, value in to_arrays(c).items()})
        out[f"{k}/refractory_steps"] = c.refractory_steps()
    return out


def save_population(circuits: Sequence[Circuit], path: str | os.PathLike) -> None:
    """Write :func:`population_arrays` to ``path`` (compressed NPZ), atomically."""
    save_npz(path, **population_arrays(circuits))
