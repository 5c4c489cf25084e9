"""DEAP setup: circuits as individuals, operators registered on a toolbox by name.

Following DEAP's style, every variation operator is registered under its own name
(``toolbox.add_neuron(circuit)``, ``toolbox.mate(a, b)``, ``toolbox.mutate(circuit)``) with
the run's random generator and limits bound in, so users can swap one piece without
subclassing. Randomness comes only from the run's numpy Generator (checkpointed), never
from Python's global ``random`` module.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from deap import base, creator

from ..circuit import Circuit
from ..model import PARAM_INDEX
from ..random_circuit import random_circuit
from .config import RunConfig
from .operators import MUTATIONS, crossover, mutate  # noqa: F401

#: Objective names; the first is maximised, the others minimised.
PRIMARY = "score"


def fitness_class(n_objectives: int) -> type:
    """DEAP Fitness with weights (+1, -1, -1, ...): score up, costs down (lexicographic ties)."""
    name = f"EvoFitness{n_objectives}"
    if not hasattr(creator, name):
        creator.create(name, base.Fitness, weights=(1.0,) + (-1.0,) * (n_objectives - 1))
    return getattr(creator, name)


class Individual:
    """A circuit with a DEAP fitness, a stable id (for random streams) and extra figures."""

    __slots__ = ("circuit", "fitness", "uid", "extras")

    def __init__(self, circuit: Circuit, fitness, uid: int):
        self.circuit = circuit
        self.fitness = fitness
        self.uid = uid
        self.extras: dict = {}

    def __repr__(self) -> str:
        vals = self.fitness.values if self.fitness.valid else "unevaluated"
        return f"Individual(uid={self.uid}, fitness={vals}, {self.circuit!r})"


def random_individual_circuit(cfg: RunConfig, n_inputs: int, n_outputs: int, rng: np.random.Generator) -> Circuit:
    """A random initial circuit for a task (sizes from ``[init]``, weights from ``[limits]``)."""
    lim = cfg.limits
    ne = int(rng.integers(cfg.init_exc[0], cfg.init_exc[1] + 1))
    ni = int(rng.integers(cfg.init_inh[0], cfg.init_inh[1] + 1))
    n = max(ne + ni, n_outputs)
    if lim.excitatory_outputs:  # outputs are the first n_outputs neurons, the E ones come first
        ni = min(ni, n - n_outputs)
    ne = n - ni
    c = random_circuit(ne, ni, n_inputs, p_conn=0.3, w_exc=lim.w_exc, w_inh=lim.w_inh, p_input=0.6,
                       w_input=lim.w_input, max_delay_steps=min(lim.max_delay_steps, 20),
                       self_loops=lim.self_loops, outputs=list(range(n_outputs)), seed=rng)
    # log-uniform weights are closer to what evolution finds useful than uniform ones
    w = c.weights.copy()
    present = w > 0
    kind = np.where(np.arange(w.shape[0]) < n_inputs, 0, np.where(c.source_signs > 0, 1, 2))
    bounds = np.broadcast_to(kind[:, None], w.shape)
    lows = np.array([lim.w_input[0], lim.w_exc[0], lim.w_inh[0]])[bounds]
    highs = np.array([lim.w_input[1], lim.w_exc[1], lim.w_inh[1]])[bounds]
    w[present] = np.exp(rng.uniform(np.log(lows[present]), np.log(highs[present])))
    params = c.params.copy()
    for name, (lo, hi) in cfg.init_params.items():  # diverse time scales from the start
        params[:, PARAM_INDEX[name]] = np.exp(rng.uniform(np.log(lo), np.log(hi), c.n_neurons))
    return c.replace(weights=w, params=params)


def make_toolbox(cfg: RunConfig, rng: np.random.Generator, n_inputs: int, n_outputs: int) -> base.Toolbox:
    """The run's DEAP toolbox.

    Registered: ``random_circuit()``, one entry per mutation operator (e.g.
    ``add_neuron(circuit)``), ``mutate(circuit)`` (the configured mixture), and
    ``mate(a, b)`` (port-aligned crossover). All return new circuits.
    """
    tb = base.Toolbox()
    lim = cfg.limits
    tb.register("random_circuit", random_individual_circuit, cfg, n_inputs, n_outputs, rng)
    for name, op in MUTATIONS.items():
        tb.register(name, op, rng=rng, limits=lim)
    probs = {k: v for k, v in cfg.mutation.items() if v > 0}
    tb.register("mutate", mutate, rng=rng, limits=lim, probs=probs)
    tb.register("mate", crossover, rng=rng, limits=lim)
    return tb


def tournament(pop: Sequence[Individual], k: int, rng: np.random.Generator) -> Individual:
    """Highest score of ``k`` individuals drawn with replacement; ties go to the first drawn."""
    picks = rng.integers(len(pop), size=k)
    best = pop[int(picks[0])]
    for i in picks[1:]:
        if pop[int(i)].fitness.values[0] > best.fitness.values[0]:
            best = pop[int(i)]
    return best


def rank_key(ind: Individual) -> tuple:
    """Sort key: better fitness first, then older (smaller uid) first — deterministic."""
    return tuple(-w for w in ind.fitness.wvalues) + (ind.uid,)
