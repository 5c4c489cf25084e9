"""Networks to train: layered E/I networks, random Dale-constrained twins, E/I balance.

* :func:`feedforward_circuit` — inputs → hidden E/I layer → output layer, all-to-all
  between layers (workload G: 64 → 128 (80 % E) → 10). Dale's law: hidden E neurons
  excite the outputs, hidden I neurons inhibit them; inputs are excitatory.
* :func:`balance_inhibition` — scale inhibitory synapses so that, per postsynaptic
  neuron, inhibition cancels excitation from neurons at equal rates. Dale-constrained
  networks are sensitive to initialisation (DESIGN.md, training notes): without it the
  outputs saturate or stay silent from the start and some seeds never learn.
* :func:`random_like` — a random network with the same neurons (types, parameters,
  outputs), the same number of synapses from inputs, from E and from I neurons (so the
  same E/I ratio and synapse count), the same multiset of weights per source class and the
  same number of trainable synapses: the null model of ``evo-circuits compare``.
"""

from __future__ import annotations

import numpy as np

from ..circuit import Circuit, default_params
from ..model import PARAM_INDEX
from ..dynamics.propagators import psc_coefficient

#: Neuron parameters of the digits workload (dt = 1 ms, 32 steps per sample): membrane and
#: synapses fast enough for a 32-ms presentation; t_ref = 1 step, so no clamp.
DIGITS_NEURON = {"tau_m": 10.0, "tau_e": 2.0, "tau_i": 4.0, "t_ref": 1.0}


def balance_inhibition(weights: np.ndarray, source_signs: np.ndarray, params: np.ndarray, n_inputs: int,
                       ratio: float = 1.0) -> np.ndarray:
    """Scale inhibitory synapses so that inhibition balances excitation from neurons.

    For each postsynaptic neuron ``j`` the charge a spike injects is ``w * tau_s(j)``
    (the integral of the synaptic current), so inhibitory weights are scaled to
    ``sum_I w tau_i = ratio * sum_E w tau_e`` over presynaptic *neurons* (input channels
    fire at their own rates and are left out). Columns without E or I neuron synapses
    are left unchanged.

    Returns
    -------
    ndarray
        A scaled copy of ``weights``.
    """
    w = np.array(weights, float)
    rows_e = np.zeros(len(w), bool)
    rows_i = np.zeros(len(w), bool)
    rows_e[n_inputs:] = source_signs[n_inputs:] > 0
    rows_i[n_inputs:] = source_signs[n_inputs:] < 0
    tau_e, tau_i = params[:, PARAM_INDEX["tau_e"]], params[:, PARAM_INDEX["tau_i"]]
    exc = w[rows_e].sum(axis=0) * tau_e
    inh = w[rows_i].sum(axis=0) * tau_i
    scale = np.where((exc > 0) & (inh > 0), ratio * exc / np.where(inh > 0, inh, 1.0), 1.0)
    w[rows_i] *= scale
    return w


def depolarisation_gain(params: np.ndarray, dt_ms: float) -> np.ndarray:
    """Mean steady-state depolarisation (mV) per unit of summed rate x weight, per neuron.

    A synapse of weight ``w`` receiving a spike with probability ``r`` per step adds
    ``gain * r * w`` to the mean of ``v - v_rest``: ``ke / ((1 - de)(1 - em))`` with the
    exact propagator's coefficient ``ke`` and the per-step decays of ``I_e`` and ``v``.
    """
    tau_m, tau_e = params[:, PARAM_INDEX["tau_m"]], params[:, PARAM_INDEX["tau_e"]]
    ke = psc_coefficient(tau_e, tau_m, dt_ms)
    return ke / ((1 - np.exp(-dt_ms / tau_e)) * (1 - np.exp(-dt_ms / tau_m)))


def feedforward_circuit(n_inputs: int = 64, n_hidden: int = 128, n_outputs: int = 10, frac_exc: float = 0.8,
                        seed: int = 0, dt_ms: float = 1.0, neuron: dict | None = None, input_rate: float = 0.3,
                        drive: float = 3.0, hidden_rate: float = 0.1, out_drive: float = 3.0,
                        balance: float = 0.5, name: str = "") -> tuple[Circuit, np.ndarray]:
    """A layered E/I network: inputs → hidden (E and I) → outputs (E), all-to-all.

    Initial weights are uniform in ``[0, 2 w_mean]``, with ``w_mean`` chosen so that the
    mean steady-state depolarisation reaches ``drive`` times the threshold distance
    (inputs → hidden, at ``input_rate`` spikes per channel and step) and ``out_drive``
    times it from the hidden E neurons alone (at ``hidden_rate``); inhibitory weights
    then balance excitation (:func:`balance_inhibition`, ``balance`` = I/E charge ratio).

    Parameters
    ----------
    n_inputs, n_hidden, n_outputs : int
    frac_exc : float
        Fraction of excitatory hidden neurons (the first ones).
    seed : int
    dt_ms : float
    neuron : dict, optional
        Neuron parameters for every neuron (default :data:`DIGITS_NEURON`).
    input_rate, drive, hidden_rate, out_drive, balance : float
        Initialisation scales (see above).
    name : str

    Returns
    -------
    circuit : Circuit
        Neurons ``0 .. n_hidden-1`` hidden, then the outputs.
    mask : ndarray of bool
        The layered structure (every synapse of it exists).
    """
    rng = np.random.default_rng(seed)
    n_exc = int(round(frac_exc * n_hidden))
    types = np.array([1] * n_exc + [-1] * (n_hidden - n_exc) + [1] * n_outputs, np.int8)
    n = len(types)
    params = default_params(types)
    for key, value in {**DIGITS_NEURON, **(neuron or {})}.items():
        params[:, PARAM_INDEX[key]] = value
    mask = np.zeros((n_inputs + n, n), bool)
    mask[:n_inputs, :n_hidden] = True
    mask[n_inputs:n_inputs + n_hidden, n_hidden:] = True

    gain = depolarisation_gain(params, dt_ms)
    gap = params[:, PARAM_INDEX["v_th"]] - params[:, PARAM_INDEX["v_rest"]]
    w = np.zeros(mask.shape)
    w_in = drive * gap[:n_hidden] / (gain[:n_hidden] * n_inputs * input_rate)
    w[:n_inputs, :n_hidden] = rng.uniform(0, 2, (n_inputs, n_hidden)) * w_in
    w_out = out_drive * gap[n_hidden:] / (gain[n_hidden:] * n_exc * hidden_rate)
    w[n_inputs:n_inputs + n_hidden, n_hidden:] = rng.uniform(0, 2, (n_hidden, n_outputs)) * w_out
    signs = np.concatenate([np.ones(n_inputs, np.int8), types])
    w = balance_inhibition(w, signs, params, n_inputs, ratio=balance)
    circuit = Circuit(types=types, n_inputs=n_inputs, weights=w, params=params,
                      outputs=list(range(n_hidden, n)), dt_ms=dt_ms,
                      name=name or f"feedforward-{n_inputs}-{n_hidden}-{n_outputs}")
    return circuit, mask


def random_like(circuit: Circuit, mask: np.ndarray | None = None, trainable: np.ndarray | None = None,
                seed: int = 0) -> tuple[Circuit, np.ndarray, np.ndarray]:
    """A random Dale-constrained twin of a circuit (see module docstring).

    Synapses are placed uniformly at random (no self-loops) separately for the three
    source classes — input channels, E neurons, I neurons — with the circuit's count per
    class; their weights are the circuit's weights of that class, shuffled; as many of
    them as in the circuit are trainable.

    Parameters
    ----------
    circuit : Circuit
    mask, trainable : ndarray of bool, optional
        The circuit's structure (default ``weights > 0``) and trainable set (default ``mask``).
    seed : int

    Returns
    -------
    circuit, mask, trainable
    """
    rng = np.random.default_rng([seed, 0x5EED])
    present = circuit.weights > 0
    mask = present if mask is None else np.asarray(mask, bool)
    trainable = mask if trainable is None else np.asarray(trainable, bool) & mask
    n_in, n = circuit.n_inputs, circuit.n_neurons
    signs = circuit.source_signs
    rows = np.arange(n_in + n)
    allowed = np.ones(mask.shape, bool)
    allowed[n_in + np.arange(n), np.arange(n)] = False  # no self-loops
    classes = (rows < n_in, (rows >= n_in) & (signs > 0), (rows >= n_in) & (signs < 0))
    w_new = np.zeros(mask.shape)
    m_new = np.zeros(mask.shape, bool)
    t_new = np.zeros(mask.shape, bool)
    for cls in classes:
        sel = mask & cls[:, None]
        k = int(sel.sum())
        if k == 0:
            continue
        cand = np.flatnonzero((allowed & cls[:, None]).ravel())
        if k > len(cand):  # more synapses than places without self-loops: allow them
            cand = np.flatnonzero(np.broadcast_to(cls[:, None], mask.shape).ravel())
        pick = rng.choice(cand, size=k, replace=False)
        w_new.flat[pick] = rng.permutation(circuit.weights[sel])
        m_new.flat[pick] = True
        n_train = int((trainable & cls[:, None]).sum())
        t_new.flat[rng.choice(pick, size=n_train, replace=False)] = True
    twin = circuit.replace(weights=w_new, delays=np.zeros_like(circuit.delays),
                           p_release=np.ones_like(circuit.p_release), std_u=np.zeros_like(circuit.std_u),
                           name=f"random-like-{circuit.name or 'circuit'}-s{seed}",
                           metadata={"random_like": circuit.name, "seed": seed})
    return twin, m_new, t_new
