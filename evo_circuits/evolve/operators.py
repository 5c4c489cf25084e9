"""Variation operators on circuits: mutations and a port-aligned crossover.

Every operator is a pure function ``op(circuit, rng, limits) -> Circuit`` that returns a
new, valid circuit (Dale's law holds by construction: weights stay magnitudes and the
sign follows the presynaptic type) within the size limits. They are registered by name
on the DEAP toolbox (:mod:`evo_circuits.evolve.toolbox`) so each can be used alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..circuit import MAX_DELAY_STEPS, Circuit, default_params
from ..model import EXCITATORY, INHIBITORY, PARAM_INDEX


@dataclass(frozen=True)
class Limits:
    """Bounds that variation respects.

    Attributes
    ----------
    max_neurons, min_neurons : int
        Size bounds (outputs always survive, so ``min_neurons`` >= number of outputs).
    max_synapses : int
    max_delay_steps : int
    w_exc, w_inh, w_input : (low, high)
        Ranges new synapse weights are drawn from (log-uniform), by source kind.
    w_max : float
        Hard cap on any weight magnitude.
    weight_sigma : float
        Log-normal sigma of multiplicative weight perturbations.
    delay_sigma : float
        Standard deviation (steps) of delay perturbations.
    p_inhibitory : float
        Probability that an added neuron is inhibitory.
    self_loops : bool
    excitatory_outputs : bool
        Output neurons are excitatory and stay so (projection neurons): random circuits
        get E outputs and ``flip_type`` leaves outputs alone.
    """

    max_neurons: int = 16
    min_neurons: int = 1
    max_synapses: int = 120
    max_delay_steps: int = 50
    w_exc: tuple[float, float] = (10.0, 300.0)
    w_inh: tuple[float, float] = (10.0, 300.0)
    w_input: tuple[float, float] = (30.0, 600.0)
    w_max: float = 3000.0
    weight_sigma: float = 0.3
    delay_sigma: float = 5.0
    p_inhibitory: float = 0.3
    self_loops: bool = False
    excitatory_outputs: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.max_delay_steps <= MAX_DELAY_STEPS:
            raise ValueError(f"limits.max_delay_steps must be in [0, {MAX_DELAY_STEPS}]")
        if self.min_neurons < 1 or self.max_neurons < self.min_neurons:
            raise ValueError("limits: need 1 <= min_neurons <= max_neurons")


#: Neuron parameters mutation may change, with (low, high) bounds and kind of step.
#: tau_m reaches down to 0.3 ms like the synaptic taus: sub-millisecond membranes are the
#: coincidence detectors ITD needs (runs/itd.toml starts them at 0.3 ms), and a bound at
#: 2 ms would snap such a neuron to 2 ms the first time its tau_m mutated.
EVOLVABLE_PARAMS: dict[str, tuple[float, float]] = {
    "tau_m": (0.3, 100.0), "tau_e": (0.3, 30.0), "tau_i": (0.3, 50.0),
    "v_th": (-60.0, -40.0), "t_ref": (0.0, 10.0), "i_bias": (-20.0, 20.0),
}


def _draw_weight(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _weight_bounds(c: Circuit, row: int, limits: Limits) -> tuple[float, float]:
    if row < c.n_inputs:
        return limits.w_input
    return limits.w_exc if c.types[row - c.n_inputs] == EXCITATORY else limits.w_inh


def _candidate_pairs(c: Circuit, limits: Limits, present: bool) -> np.ndarray:
    """(row, col) of present or absent synapse slots allowed by the limits."""
    mask = (c.weights > 0) if present else (c.weights == 0)
    if not limits.self_loops and c.n_neurons:
        idx = np.arange(c.n_neurons)
        mask = mask.copy()
        mask[c.n_inputs + idx, idx] = False
    return np.argwhere(mask)


def add_synapse(c: Circuit, rng: np.random.Generator, limits: Limits) -> Circuit:
    """Add one synapse between a random unconnected (source, neuron) pair."""
    if c.n_synapses >= limits.max_synapses:
        return c
    pairs = _candidate_pairs(c, limits, present=False)
    if len(pairs) == 0:
        return c
    r, k = pairs[rng.integers(len(pairs))]
    w, d = c.weights.copy(), c.delays.copy()
    w[r, k] = _draw_weight(rng, _weight_bounds(c, int(r), limits))
    d[r, k] = rng.integers(0, min(limits.max_delay_steps, 20) + 1)
    return c.replace(weights=w, delays=d)


def remove_synapse(c: Circuit, rng: np.random.Generator, limits: Limits) -> Circuit:
    """Remove one random synapse."""
    pairs = _candidate_pairs(c, limits, present=True)
    if len(pairs) == 0:
        return c
    r, k = pairs[rng.integers(len(pairs))]
    w = c.weights.copy()
    w[r, k] = 0.0
    return _clean(c.replace(weights=w))


def perturb_weight(c: Circuit, rng: np.random.Generator, limits: Limits) -> Circuit:
    """Multiply a random subset of weights (each with p = 0.3, at least one) by log-normal noise."""
    pairs = np.argwhere(c.weights > 0)
    if len(pairs) == 0:
        return c
    pick = rng.random(len(pairs)) < 0.3
    pick[rng.integers(len(pairs))] = True
    w = c.weights.copy()
    r, k = pairs[pick].T
    w[r, k] = np.clip(w[r, k] * np.exp(rng.normal(0.0, limits.weight_sigma, len(r))), 1e-3, limits.w_max)
    return c.replace(weights=w)


def perturb_delay(c: Circuit, rng: np.random.Generator, limits: Limits) -> Circuit:
    """Shift the delay of one random synapse by Gaussian noise (whole steps, clipped)."""
    pairs = np.argwhere(c.weights > 0)
    if len(pairs) == 0:
        return c
    r, k = pairs[rng.integers(len(pairs))]
    d = c.delays.copy()
    step = int(np.rint(rng.normal(0.0, limits.delay_sigma))) or int(rng.choice([-1, 1]))
    d[r, k] = int(np.clip(d[r, k] + step, 0, limits.max_delay_steps))
    return c.replace(delays=d)


def flip_type(c: Circuit, rng: np.random.Generator, limits: Limits) -> Circuit:
    """Flip one neuron between E and I (its outgoing synapses change sign with it).

    With ``limits.excitatory_outputs`` only hidden neurons flip.
    """
    candidates = np.arange(c.n_neurons)
    if limits.excitatory_outputs:
        candidates = np.setdiff1d(candidates, c.outputs)
    if len(candidates) == 0:
        return c
    i = int(candidates[rng.integers(len(candidates))])
    types = c.types.copy()
    types[i] = -types[i]
    return c.replace(types=types)


def perturb_param(c: Circuit, rng: np.random.Generator, limits: Limits) -> Circuit:
    """Perturb one evolvable parameter of one neuron within its bounds."""
    if c.n_neurons == 0:
        return c
    i = int(rng.integers(c.n_neurons))
    name = list(EVOLVABLE_PARAMS)[int(rng.integers(len(EVOLVABLE_PARAMS)))]
    lo, hi = EVOLVABLE_PARAMS[name]
    p = c.params.copy()
    j = PARAM_INDEX[name]
    if name.startswith("tau"):
        p[i, j] *= float(np.exp(rng.normal(0.0, 0.3)))
    else:
        p[i, j] += float(rng.normal(0.0, 0.1 * (hi - lo)))
    p[i, j] = float(np.clip(p[i, j], lo, hi))
    if name == "t_ref":  # keep whole steps, so the file round-trips exactly
        p[i, j] = round(p[i, j] / c.dt_ms) * c.dt_ms
    return c.replace(params=p)


def add_neuron(c: Circuit, rng: np.random.Generator, limits: Limits) -> Circuit:
    """Add a neuron (inhibitory with p = ``limits.p_inhibitory``) with one input and one target."""
    if c.n_neurons >= limits.max_neurons or c.n_synapses + 2 > limits.max_synapses:
        return c
    t = INHIBITORY if rng.random() < limits.p_inhibitory else EXCITATORY
    grown = c.with_neurons([t])
    new = grown.n_neurons - 1
    w, d = grown.weights.copy(), grown.delays.copy()
    src = int(rng.integers(grown.n_inputs + c.n_neurons))  # any existing source
    w[src, new] = _draw_weight(rng, _weight_bounds(grown, src, limits))
    d[src, new] = rng.integers(0, min(limits.max_delay_steps, 20) + 1)
    if c.n_neurons:
        dst = int(rng.integers(c.n_neurons))
        w[grown.n_inputs + new, dst] = _draw_weight(rng, limits.w_exc if t == EXCITATORY else limits.w_inh)
        d[grown.n_inputs + new, dst] = rng.integers(0, min(limits.max_delay_steps, 20) + 1)
    return grown.replace(weights=w, delays=d)


def remove_neuron(c: Circuit, rng: np.random.Generator, limits: Limits) -> Circuit:
    """Remove one random hidden (non-output) neuron with its synapses."""
    hidden = np.setdiff1d(np.arange(c.n_neurons), c.outputs)
    if len(hidden) == 0 or c.n_neurons <= limits.min_neurons:
        return c
    return c.without_neurons([int(rng.choice(hidden))])


MUTATIONS = {
    "add_neuron": add_neuron, "remove_neuron": remove_neuron, "add_synapse": add_synapse,
    "remove_synapse": remove_synapse, "perturb_weight": perturb_weight, "perturb_delay": perturb_delay,
    "flip_type": flip_type, "perturb_param": perturb_param,
}


def mutate(c: Circuit, rng: np.random.Generator, limits: Limits, probs: dict[str, float]) -> Circuit:
    """Apply each mutation independently with its probability (at least one is applied).

    Parameters
    ----------
    probs : dict
        Operator name → probability of applying it; unknown names are rejected.
    """
    names = list(probs)
    applied = False
    for name in names:
        if rng.random() < probs[name]:
            c = MUTATIONS[name](c, rng, limits)
            applied = True
    if not applied:
        weights = np.array([probs[n] for n in names], float)
        name = names[int(rng.choice(len(names), p=weights / weights.sum()))] if weights.sum() > 0 else "perturb_weight"
        c = MUTATIONS[name](c, rng, limits)
    return c


def crossover(a: Circuit, b: Circuit, rng: np.random.Generator, limits: Limits) -> Circuit:
    """Recombine two circuits aligned by their ports, exchanging hidden sub-graphs.

    The child keeps the output ports (port k from parent A or B at random, with its type
    and parameters) and input channels; each hidden neuron of either parent is kept with
    probability 1/2. Synapses of each parent among kept neurons are copied; where both
    parents have a synapse on the same (source, neuron) pair — only possible between
    ports — the parent copied last (chosen by a coin) wins. Hidden neurons beyond
    ``max_neurons`` and synapses beyond ``max_synapses`` are dropped at random.
    """
    n_in = max(a.n_inputs, b.n_inputs)
    n_out = min(len(a.outputs), len(b.outputs))
    if n_out == 0 or a.dt_ms != b.dt_ms or a.synapse_model != b.synapse_model:
        return a
    from_b = rng.random(n_out) < 0.5
    hid_a = [int(i) for i in np.setdiff1d(np.arange(a.n_neurons), a.outputs[:n_out]) if rng.random() < 0.5]
    hid_b = [int(i) for i in np.setdiff1d(np.arange(b.n_neurons), b.outputs[:n_out]) if rng.random() < 0.5]
    room = limits.max_neurons - n_out
    while len(hid_a) + len(hid_b) > room:
        pool = hid_a if (len(hid_a) >= len(hid_b)) else hid_b
        pool.pop(int(rng.integers(len(pool))))
    n = n_out + len(hid_a) + len(hid_b)
    # child index of each parent neuron (-1: not inherited)
    maps = []
    for parent, hidden, offset in ((a, hid_a, n_out), (b, hid_b, n_out + len(hid_a))):
        m = np.full(parent.n_neurons, -1, np.int64)
        m[parent.outputs[:n_out]] = np.arange(n_out)
        m[hidden] = offset + np.arange(len(hidden))
        maps.append(m)
    types = np.zeros(n, np.int8)
    params = default_params(np.ones(n, np.int8))
    for k in range(n_out):
        src = b if from_b[k] else a
        o = int(src.outputs[k])
        types[k], params[k] = src.types[o], src.params[o]
    for parent, hidden, m in ((a, hid_a, maps[0]), (b, hid_b, maps[1])):
        types[m[hidden]] = parent.types[hidden]
        params[m[hidden]] = parent.params[hidden]
    shape = (n_in + n, n)
    arrays = {"weights": np.zeros(shape), "delays": np.zeros(shape, np.int64), "p_release": np.ones(shape),
              "std_u": np.zeros(shape), "std_tau_rec": np.zeros(shape)}
    order = [(b, maps[1]), (a, maps[0])] if rng.random() < 0.5 else [(a, maps[0]), (b, maps[1])]
    for parent, m in order:
        rows = np.concatenate([np.arange(parent.n_inputs), n_in + np.where(m >= 0, m, -10**9)])
        for r, k in np.argwhere(parent.weights > 0):
            cr, ck = rows[r], m[k]
            if cr < 0 or ck < 0:
                continue
            for key, arr in arrays.items():
                arr[cr, ck] = getattr(parent, key)[r, k]
    child = Circuit(types=types, n_inputs=n_in, params=params, outputs=list(range(n_out)), dt_ms=a.dt_ms,
                    synapse_model=a.synapse_model, **arrays)
    return _trim_synapses(child, rng, limits)


def _trim_synapses(c: Circuit, rng: np.random.Generator, limits: Limits) -> Circuit:
    excess = c.n_synapses - limits.max_synapses
    if excess <= 0:
        return c
    pairs = np.argwhere(c.weights > 0)
    drop = pairs[rng.choice(len(pairs), excess, replace=False)]
    w = c.weights.copy()
    w[drop[:, 0], drop[:, 1]] = 0.0
    return _clean(c.replace(weights=w))


def _clean(c: Circuit) -> Circuit:
    """Reset per-synapse attributes of absent synapses, so equal genomes compare equal."""
    absent = c.weights == 0
    if not absent.any():
        return c
    return c.replace(delays=np.where(absent, 0, c.delays), p_release=np.where(absent, 1.0, c.p_release),
                     std_u=np.where(absent, 0.0, c.std_u), std_tau_rec=np.where(absent, 0.0, c.std_tau_rec))
