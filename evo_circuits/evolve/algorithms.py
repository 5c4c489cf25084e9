"""Evolutionary algorithms as plain functions over the toolbox and the run state (DEAP style).

Each ``*_generation`` function advances the state by one generation: it breeds
offspring with the toolbox, evaluates them with ``evaluate(individuals)``, and selects
the next population. All randomness comes from ``state.rng``.

* :func:`mu_plus_lambda_generation` — (μ+λ): tournament parent selection, crossover
  with probability ``cxpb`` then mutation; survivors of parents + offspring are the
  ``elite`` best plus tournament winners on score (elitist: the best is never lost).
* :func:`nsga2_generation` — NSGA-II on (score, −costs): binary tournament on Pareto
  rank and crowding distance, survival by ``deap.tools.selNSGA2``.
* :func:`map_elites_generation` — MAP-Elites: parents drawn uniformly from the archive
  of elites, one elite per descriptor cell (numbers of E and I neurons, synapse density).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from deap import tools

from ..circuit import Circuit
from .config import RunConfig
from .toolbox import Individual, rank_key, tournament

Evaluate = Callable[[Sequence[Individual]], None]


def breed(parents: Sequence[Individual], n: int, cfg: RunConfig, toolbox, rng: np.random.Generator,
          pick: Callable[[], Individual], new_individual: Callable[[Circuit], Individual]) -> list[Individual]:
    """``n`` offspring: crossover of two picks with probability ``cxpb``, then mutation."""
    out = []
    for _ in range(n):
        if rng.random() < cfg.cxpb:
            child = toolbox.mate(pick().circuit, pick().circuit)
            child = toolbox.mutate(child)
        else:
            child = toolbox.mutate(pick().circuit)
        out.append(new_individual(child))
    return out


def survivors(union: list[Individual], mu: int, elite: int, k: int, rng: np.random.Generator) -> list[Individual]:
    """The ``elite`` best (lexicographic: score, then costs) plus tournament winners on score.

    Tournaments compare the score only, ties going to the first drawn (random): costs
    must not pull the whole population onto the smallest circuit of a score plateau, or
    evolution loses the neutral diversity it needs to leave the plateau.
    """
    ranked = sorted(union, key=rank_key)
    chosen, rest = ranked[:elite], ranked[elite:]
    while len(chosen) < mu and rest:
        picks = rng.choice(len(rest), size=min(k, len(rest)), replace=False)
        best = max(picks, key=lambda i: rest[int(i)].fitness.values[0])  # max keeps the first of ties
        chosen.append(rest.pop(int(best)))
    return sorted(chosen, key=rank_key)


#: Logbook column of the best validation score among the current population (runs that
#: validate and draw fresh training trials).
POPULATION_VALIDATION = "validation_population"


def progress_column(logbook: list[dict]) -> str:
    """The logbook column that measures a population's progress.

    The population's best validation score when the run validates and draws fresh
    training trials (``resample_every``; the run then logs that column), else its best
    training score. With fresh trials the training best jumps with each trial set: one
    lucky set would hold a bar that steady progress does not clear (a restart wiped an
    oscillator population still rising on validation); validation scores are fixed per
    individual. On fixed trials the training best is steady and stays the measure, so
    those runs restart exactly as before.
    """
    return POPULATION_VALIDATION if logbook and POPULATION_VALIDATION in logbook[-1] else "score_best"


def stagnating(logbook: list[dict], patience: int) -> bool:
    """True if the population's best has not improved, and no restart happened, for ``patience`` generations.

    The best is measured by :func:`progress_column`.
    """
    if patience <= 0 or len(logbook) <= patience:
        return False
    recent = logbook[-patience - 1:]
    if any(r.get("restart") for r in recent[1:]):
        return False
    col = progress_column(logbook)
    if any(col not in r for r in recent):  # a run from before the column existed
        col = "score_best"
    return max(r[col] for r in recent[1:]) <= recent[0][col]


def mu_plus_lambda_generation(state, cfg: RunConfig, toolbox, evaluate: Evaluate) -> list[Individual]:
    """One (μ+λ) generation; returns the offspring (evaluated).

    With ``restart_after`` > 0, a population whose best score has stalled that many
    generations is replaced by new random circuits (a random restart): a deceptive score
    plateau (e.g. "A and not B" on XOR) is left faster by a fresh, independent start than
    by drifting on it, and keeping the stalled elites would let their lineage take over
    again. The hall of fame (and so ``champion.json``) keeps the best across restarts.
    A population whose best score reaches ``restart_below`` is solved and never
    restarted: it goes on polishing (costs) instead. Both "best" are on validation when
    the run validates (:func:`progress_column`).
    """
    pop = state.population
    if stagnating(state.logbook, cfg.restart_after) and _population_best(state) < cfg.restart_below:
        fresh = [state.new_individual(toolbox.random_circuit()) for _ in range(cfg.population)]
        evaluate(fresh)
        pop = state.population = sorted(fresh, key=rank_key)
        state.restarted = True
    offspring = breed(pop, cfg.n_offspring, cfg, toolbox, state.rng,
                      lambda: tournament(pop, cfg.tournament, state.rng), state.new_individual)
    evaluate(offspring)
    state.population = survivors(pop + offspring, cfg.population, cfg.elite, cfg.tournament, state.rng)
    return offspring


def _population_best(state) -> float:
    """The population's best score as :func:`progress_column` measures it (last logbook row)."""
    if state.logbook and progress_column(state.logbook) == POPULATION_VALIDATION:
        return state.logbook[-1][POPULATION_VALIDATION]
    return state.population[0].fitness.values[0]


def _nsga_pick(pop: Sequence[Individual], rng: np.random.Generator) -> Individual:
    a, b = (pop[int(i)] for i in rng.integers(len(pop), size=2))
    ra, rb = a.extras["rank"], b.extras["rank"]
    if ra != rb:
        return a if ra < rb else b
    return a if a.extras["crowding"] >= b.extras["crowding"] else b


def assign_rank_and_crowding(pop: Sequence[Individual]) -> None:
    """Pareto rank (0 = non-dominated) and crowding distance of each individual."""
    fronts = tools.sortNondominated(list(pop), len(pop))
    for r, front in enumerate(fronts):
        tools.emo.assignCrowdingDist(front)
        for ind in front:
            ind.extras["rank"] = r
            ind.extras["crowding"] = float(ind.fitness.crowding_dist)


def nsga2_generation(state, cfg: RunConfig, toolbox, evaluate: Evaluate) -> list[Individual]:
    """One NSGA-II generation; returns the offspring (evaluated)."""
    pop = state.population
    assign_rank_and_crowding(pop)
    offspring = breed(pop, cfg.n_offspring, cfg, toolbox, state.rng, lambda: _nsga_pick(pop, state.rng),
                      state.new_individual)
    evaluate(offspring)
    union = sorted(pop + offspring, key=lambda ind: ind.uid)  # fixed order: selNSGA2 breaks ties by position
    state.population = sorted(tools.selNSGA2(union, cfg.population), key=rank_key)
    return offspring


def descriptor(c: Circuit, cfg: RunConfig) -> tuple[int, int, int]:
    """MAP-Elites cell of a circuit: bins of #E, #I and synapse density."""
    n = c.n_neurons
    density = c.n_synapses / max(1, (c.n_inputs + n) * n)
    return (int(np.digitize(c.n_exc, cfg.bins_exc)), int(np.digitize(c.n_inh, cfg.bins_inh)),
            int(np.digitize(density, cfg.bins_density)))


def n_cells(cfg: RunConfig) -> int:
    """Number of descriptor cells (including the under/overflow bins of digitize)."""
    return (len(cfg.bins_exc) + 1) * (len(cfg.bins_inh) + 1) * (len(cfg.bins_density) + 1)


def archive_insert(archive: dict, individuals: Sequence[Individual], cfg: RunConfig) -> int:
    """Insert each individual if its cell is empty or it beats the elite; returns insertions."""
    added = 0
    for ind in individuals:
        key = descriptor(ind.circuit, cfg)
        cur = archive.get(key)
        if cur is None or rank_key(ind) < rank_key(cur):
            archive[key] = ind
            added += 1
    return added


def map_elites_generation(state, cfg: RunConfig, toolbox, evaluate: Evaluate) -> list[Individual]:
    """One MAP-Elites batch of ``offspring`` evaluations; returns the offspring."""
    elites = [state.archive[k] for k in sorted(state.archive)]
    offspring = breed(elites, cfg.n_offspring, cfg, toolbox, state.rng,
                      lambda: elites[int(state.rng.integers(len(elites)))], state.new_individual)
    evaluate(offspring)
    archive_insert(state.archive, offspring, cfg)
    state.population = sorted((state.archive[k] for k in sorted(state.archive)), key=rank_key)
    return offspring


GENERATIONS = {"mu_plus_lambda": mu_plus_lambda_generation, "nsga2": nsga2_generation,
               "map_elites": map_elites_generation}
