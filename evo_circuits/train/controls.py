"""Control networks that separate what motifs contribute from how the network is wired.

``evo-circuits compare`` trains an assembled network next to controls built from it
(``docs/science.md``):

* the **random twin** (:func:`~.builders.random_like`): the same synapses scattered over
  all neurons, readout included — layering and motifs both gone;
* :func:`layered_like` — the **layered control**: the same modules (populations), neurons,
  E/I ratio, and the same number of synapses in every block (source module or the inputs
  → target module, per source type), but each block wired at random: the layering stays,
  the motifs go;
* :func:`plain_like` — a **plain Dale network**: inputs → one hidden E/I layer → the
  readout, with the same neurons and as many trainable synapses as the assembly (what a
  modeller would build without motifs);
* :func:`frozen_prior` — the assembly with its motifs' own synapses frozen (the motif as
  a fixed prior, against the default "motif as initialisation"): those inside each copy
  and, given the assembly's ``motif_synapses``, those made through its input ports at
  the port's weight (a Jeffress line's motif *is* its delayed input synapses).

Every control keeps Dale's law by construction (a synapse's sign is its source's type).
"""

from __future__ import annotations

import numpy as np

from ..assemble import module_membership
from ..circuit import Circuit
from ..model import PARAM_INDEX
from .builders import balance_inhibition, depolarisation_gain

__all__ = ["frozen_prior", "layered_like", "motif_internal", "plain_like"]


def _source_classes(circuit: Circuit) -> tuple[np.ndarray, ...]:
    """Row selectors of the three source classes: input channels, E neurons, I neurons."""
    rows = np.arange(circuit.n_inputs + circuit.n_neurons)
    signs = circuit.source_signs
    n_in = circuit.n_inputs
    return rows < n_in, (rows >= n_in) & (signs > 0), (rows >= n_in) & (signs < 0)


def layered_like(circuit: Circuit, mask: np.ndarray | None = None, trainable: np.ndarray | None = None,
                 seed: int = 0) -> tuple[Circuit, np.ndarray, np.ndarray]:
    """The layered control of an assembled network: random wiring inside every block.

    A *block* is (source, target module, source class): the source is the input channels
    or one module, the class input/E/I. Within each block the mask entries (existing and
    growth) are placed uniformly at random over the block's (source, target) pairs
    without self-loops, each carrying one of the block's synapses — weight, delay and
    trainable flag together, shuffled. So every module keeps its neurons, and every pair
    of modules the number, weights and delays of the synapses between them; what is lost
    is the motif: which neuron of a copy talks to which.

    Parameters
    ----------
    circuit : Circuit
        An assembled network (module membership read from its metadata,
        :func:`~evo_circuits.assemble.module_membership`; a circuit without it is one
        module, and the control is then its random twin with delays kept).
    mask, trainable : ndarray of bool, optional
        Structure (default ``weights > 0``) and trainable set (default ``mask``).
    seed : int

    Returns
    -------
    circuit, mask, trainable
    """
    rng = np.random.default_rng([seed, 0x1A7E])
    mask = circuit.weights > 0 if mask is None else np.asarray(mask, bool)
    trainable = mask if trainable is None else np.asarray(trainable, bool) & mask
    n_in, n = circuit.n_inputs, circuit.n_neurons
    module, _, names = module_membership(circuit)
    row_group = np.concatenate([np.full(n_in, -1), module])
    allowed = np.ones(mask.shape, bool)
    allowed[n_in + np.arange(n), np.arange(n)] = False  # no self-loops
    w_new = np.zeros(mask.shape)
    d_new = np.zeros(mask.shape, np.int64)
    m_new = np.zeros(mask.shape, bool)
    t_new = np.zeros(mask.shape, bool)
    for cls in _source_classes(circuit):
        for src in np.unique(row_group[cls]):
            rows = cls & (row_group == src)
            for tgt in range(len(names)):
                block = rows[:, None] & (module == tgt)[None, :]
                sel = mask & block
                k = int(sel.sum())
                if k == 0:
                    continue
                cand = np.flatnonzero((block & allowed).ravel())
                if k > len(cand):  # a block full but for its self-loops: allow them
                    cand = np.flatnonzero(block.ravel())
                pick = rng.choice(cand, size=k, replace=False)
                order = rng.permutation(k)
                w_new.flat[pick] = circuit.weights[sel][order]
                d_new.flat[pick] = circuit.delays[sel][order]
                t_new.flat[pick] = trainable[sel][order]
                m_new.flat[pick] = True
    control = circuit.replace(weights=w_new, delays=np.where(m_new, d_new, 0),
                              p_release=np.ones_like(circuit.p_release), std_u=np.zeros_like(circuit.std_u),
                              name=f"layered-like-{circuit.name or 'circuit'}-s{seed}",
                              metadata={**circuit.metadata, "layered_like": circuit.name, "seed": seed})
    return control, m_new, t_new


def plain_like(circuit: Circuit, n_parameters: int, seed: int = 0, input_rate: float = 0.1,
               drive: float = 3.0, hidden_rate: float = 0.1, out_drive: float = 3.0,
               balance: float = 0.5) -> tuple[Circuit, np.ndarray, np.ndarray]:
    """A plain Dale network with the circuit's neurons and ``n_parameters`` trainable synapses.

    Inputs → hidden → readout, where the readout is ``circuit.outputs`` and the hidden
    layer every other neuron (E first, then I; each keeps its parameters). The
    ``n_parameters`` synapses are drawn uniformly among all input → hidden and
    hidden → readout pairs; beyond those (a denser assembly), hidden → hidden pairs are
    added. Weights are initialised as in :func:`~.builders.feedforward_circuit`, per
    neuron for its actual fan-in: uniform in ``[0, 2 w]`` with ``w`` such that the mean
    depolarisation is ``drive`` threshold gaps at ``input_rate`` spikes per channel and
    step (``out_drive`` from the hidden E neurons at ``hidden_rate``); inhibition then
    balances excitation (I/E charge ratio ``balance``).

    Returns
    -------
    circuit, mask, trainable
        Every synapse exists, is trainable and has no delay.
    """
    rng = np.random.default_rng([seed, 0x91A1])
    n_in, n = circuit.n_inputs, circuit.n_neurons
    out = np.asarray(circuit.outputs, np.int64)
    is_out = np.zeros(n, bool)
    is_out[out] = True
    hidden = np.concatenate([np.flatnonzero(~is_out & (circuit.types > 0)), np.flatnonzero(~is_out & (circuit.types < 0))])
    order = np.concatenate([hidden, out])
    types = circuit.types[order]
    params = circuit.params[order]
    n_h = len(hidden)
    h_rows = n_in + np.arange(n_h)
    outs = np.arange(n_h, n)
    ff = np.zeros((n_in + n, n), bool)
    ff[:n_in, :n_h] = True
    ff[np.ix_(h_rows, outs)] = True
    n_par = int(max(0, n_parameters))
    cand = np.flatnonzero(ff.ravel())
    mask = np.zeros_like(ff)
    mask.flat[rng.choice(cand, size=min(n_par, len(cand)), replace=False)] = True
    if n_par > len(cand):  # denser than feed-forward: recurrent hidden synapses too
        rec = np.zeros_like(ff)
        rec[np.ix_(h_rows, np.arange(n_h))] = True
        rec[h_rows, np.arange(n_h)] = False
        cand = np.flatnonzero(rec.ravel())
        mask.flat[rng.choice(cand, size=min(n_par - mask.sum(), len(cand)), replace=False)] = True

    gap = params[:, PARAM_INDEX["v_th"]] - params[:, PARAM_INDEX["v_rest"]]
    gain = depolarisation_gain(params, circuit.dt_ms)
    signs = np.concatenate([np.ones(n_in, np.int8), types])
    w = np.zeros(mask.shape)
    fan_in = mask[:n_in].sum(axis=0)
    w_in = drive * gap / (gain * np.maximum(fan_in, 1) * input_rate)
    w[:n_in] = rng.uniform(0, 2, (n_in, n)) * w_in
    fan_e = (mask[n_in:] & (types > 0)[:, None]).sum(axis=0)
    w_rec = out_drive * gap / (gain * np.maximum(fan_e, 1) * hidden_rate)
    w[n_in:] = rng.uniform(0, 2, (n, n)) * w_rec
    w = balance_inhibition(np.where(mask, w, 0.0), signs, params, n_in, ratio=balance)
    outputs = list(range(n_h, n))
    plain = Circuit(types=types, n_inputs=n_in, weights=w, params=params, outputs=outputs, dt_ms=circuit.dt_ms,
                    name=f"plain-like-{circuit.name or 'circuit'}-s{seed}",
                    metadata={"plain_like": circuit.name, "seed": seed})
    return plain, mask, mask.copy()


def motif_internal(circuit: Circuit) -> np.ndarray:
    """Entries (shape of ``weights``) inside one copy of a motif module of an assembly.

    Neuron → neuron pairs in the same module and copy, where the module is a motif (its
    source in ``metadata["assembly"]["sources"]`` is not ``"population"``).
    """
    module, copy, names = module_membership(circuit)
    meta = circuit.metadata.get("assembly", {}) if isinstance(circuit.metadata, dict) else {}
    sources = meta.get("sources", {}) if isinstance(meta, dict) else {}
    is_motif = np.array([sources.get(nm, "population") != "population" for nm in names], bool)
    inside = (module[:, None] == module[None, :]) & (copy[:, None] == copy[None, :]) & is_motif[module][:, None]
    out = np.zeros((circuit.n_inputs + circuit.n_neurons, circuit.n_neurons), bool)
    out[circuit.n_inputs:] = inside
    return out


def frozen_prior(circuit: Circuit, mask: np.ndarray | None = None, trainable: np.ndarray | None = None,
                 prior: np.ndarray | None = None) -> tuple[Circuit, np.ndarray, np.ndarray]:
    """The assembly with its motifs' own synapses frozen: the motif as a fixed prior.

    Parameters
    ----------
    circuit : Circuit
    mask, trainable : ndarray of bool, optional
    prior : ndarray of bool, optional
        The entries to freeze: an assembly's ``motif_synapses`` (internal and port
        synapses); default :func:`motif_internal` (what the circuit's metadata tells:
        the synapses inside the copies only).

    Returns
    -------
    circuit, mask, trainable
        The same circuit and mask; ``trainable`` without the ``prior`` entries.
    """
    mask = circuit.weights > 0 if mask is None else np.asarray(mask, bool)
    trainable = mask if trainable is None else np.asarray(trainable, bool) & mask
    prior = motif_internal(circuit) if prior is None else np.asarray(prior, bool)
    return circuit, mask, trainable & ~prior
