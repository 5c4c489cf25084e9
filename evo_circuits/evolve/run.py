"""A run: evolve circuits on a fitness spec, checkpointing, resumable, with outputs.

Run directory (``runs/<run-id>/`` by default)::

    config.toml            the config as given          config.resolved.json  every setting
    fitness.resolved.json  the fitness spec, resolved    status.json           running|finished|interrupted
    checkpoint.json        latest checkpoint (+ checkpoints/gen_NNNNN.json, last 3)
    logbook.csv            one row per generation        champion.json         best circuit so far
    hall_of_fame/*.json    best distinct circuits        plots/*.png           fitness curves, champion

A run killed at any point (even SIGKILL) and resumed with :func:`resume` ends
bit-identical to the uninterrupted run: every generation depends only on the checkpointed
state. The logbook's timing columns (``wall_s``, ``evals_per_s``) are measurements and
are the only values that differ.

:func:`evolve` and :func:`resume` return an :class:`~.result.EvolutionResult`. Besides
the run directory they have no side effects unless asked: ``progress=True`` shows
progress on stderr, ``plots=True`` draws ``plots/*.png``, ``library=`` offers the pruned
champion to a motif library (the CLI turns all three on, the library as the config's
``[motifs]`` table says).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from ..circuit import Circuit
from ..errors import EvoCircuitsError, Interrupted
from ..io import save
from ..io.atomic import write_text
from ..motifs.discover import harvest_run
from ..motifs.library import MotifLibrary
from ..tasks import FitnessSpec, load_fitness
from .algorithms import GENERATIONS, POPULATION_VALIDATION, archive_insert, n_cells
from .backends import Evaluator
from .checkpoint import TIMING_COLUMNS, EvoState, read_checkpoint, state_from_json, write_checkpoint  # noqa: F401
from .config import ConfigError, RunConfig, config_from_dict, load_config
from .progress import GenerationProgress
from .runs import read_run_json, read_status
from .seeds import training_seed, validation_seed
from .result import EvolutionResult
from .toolbox import Individual, fitness_class, make_toolbox, rank_key

HALL_OF_FAME_SIZE = 10
#: A generation-0 best at least this is worth a note: random circuits solve the task.
SOLVED_AT_START = 0.9


def objective_names(spec: FitnessSpec) -> list[str]:
    """Objectives in fitness order: score (maximised) then the spec's costs (minimised)."""
    return ["score"] + list(spec.minimize)


class Run:
    """One evolution run bound to a directory.

    Parameters
    ----------
    cfg : RunConfig
    run_dir : Path
    spec : FitnessSpec, optional
        Loaded from ``cfg`` when omitted.
    """

    def __init__(self, cfg: RunConfig, run_dir: Path, spec: FitnessSpec | None = None):
        self.cfg = cfg
        self.dir = Path(run_dir)
        self.spec = spec or load_fitness(cfg.fitness_path())
        self.objectives = objective_names(self.spec)
        self.fitness_cls = fitness_class(len(self.objectives))
        self._stop = False

    # ------------------------------------------------------------------ setup
    def fresh_state(self) -> EvoState:
        """Generation 0: a random population, evaluated."""
        rng = np.random.default_rng(self.cfg.seed)
        state = EvoState(fitness_cls=self.fitness_cls, rng=rng)
        tb = self._toolbox(state)
        state.population = [state.new_individual(tb.random_circuit()) for _ in range(self.cfg.population)]
        return state

    def _toolbox(self, state: EvoState):
        return make_toolbox(self.cfg, state.rng, self.spec.task.n_inputs, self.spec.task.n_outputs)

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self, evaluator: Evaluator, state: EvoState, inds: Sequence[Individual]) -> None:
        if not inds:
            return
        seed = training_seed(self.cfg.seed, state.generation, self.cfg.resample_every)
        out = evaluator.evaluate([i.circuit for i in inds], [i.uid for i in inds], seed=seed)
        costs = {"spikes": out["spikes_per_trial"], "size": np.array([i.circuit.n_neurons for i in inds], float),
                 "synapses": np.array([i.circuit.n_synapses for i in inds], float)}
        for k, ind in enumerate(inds):
            ind.fitness.values = (float(out["score"][k]),) + tuple(float(costs[m][k]) for m in self.spec.minimize)
            ind.extras = {"silent": bool(out["silent"][k]), "runaway": bool(out["runaway"][k])}
        state.evaluations += len(inds)

    def _resample(self, evaluator: Evaluator, state: EvoState) -> None:
        """Fresh training trials: re-score the population on them (``resample_every``).

        The survivors become new Individual objects (same id and circuit), so the hall of
        fame keeps the scores it was ranked on — as it does after a resume.
        """
        fresh = []
        for ind in state.population:
            new = Individual(ind.circuit, self.fitness_cls(), ind.uid)
            new.extras = {k: v for k, v in ind.extras.items() if k == "validation"}
            fresh.append(new)
        self._evaluate(evaluator, state, fresh)
        state.population = sorted(fresh, key=rank_key)
        if self.cfg.algorithm == "map_elites":
            state.archive.clear()
            archive_insert(state.archive, state.population, self.cfg)

    def _validate(self, evaluator: Evaluator, state: EvoState) -> None:
        """Score the best not-yet-validated individuals on the held-out validation trials."""
        cfg = self.cfg
        if cfg.validation_trials <= 0:
            return
        todo = [i for i in state.population if "validation" not in i.extras][:cfg.validation_top]
        if not todo:
            return
        out = evaluator.evaluate([i.circuit for i in todo], [i.uid for i in todo], seed=validation_seed(cfg.seed),
                                 n_trials=cfg.validation_trials)
        for ind, score in zip(todo, out["score"]):
            ind.extras["validation"] = float(score)
        state.evaluations += len(todo)

    def champion_score(self, state: EvoState) -> float:
        """The champion's score: on the validation trials if the run validates, else on training."""
        if not state.hall_of_fame:
            return float("-inf")
        champ = state.hall_of_fame[0]
        return champ.extras["validation"] if self.cfg.validation_trials > 0 else champ.fitness.values[0]

    def solved(self, state: EvoState) -> bool:
        """Whether the champion reached ``stop_score`` (never, with ``stop_score = 0``)."""
        return self.cfg.stop_score > 0 and self.champion_score(state) >= self.cfg.stop_score

    # ------------------------------------------------------------------ main loop
    def run(self, state: EvoState, generations: int, evaluator: Evaluator,
            progress: GenerationProgress | None = None) -> EvoState:
        """Advance ``state`` to ``generations`` completed generations, checkpointing."""
        cfg = self.cfg
        tb = self._toolbox(state)
        step = GENERATIONS[cfg.algorithm]
        old_handlers = self._install_signal_handlers()
        try:
            if not state.logbook:  # generation 0 not evaluated yet
                t0 = time.perf_counter()
                self._evaluate(evaluator, state, state.population)
                if cfg.algorithm == "map_elites":
                    archive_insert(state.archive, state.population, cfg)
                    state.population = sorted((state.archive[k] for k in sorted(state.archive)), key=rank_key)
                else:
                    state.population.sort(key=rank_key)
                self._validate(evaluator, state)
                self._update_hall_of_fame(state)
                self._record(state, len(state.population), time.perf_counter() - t0)
                self._after_generation(state, progress, generations)
            while state.generation < generations and not self.solved(state):
                if self._stop:
                    raise Interrupted("interrupted")
                t0 = time.perf_counter()
                n_evals = state.evaluations
                if cfg.resample_every and state.generation % cfg.resample_every == 0:
                    self._resample(evaluator, state)
                step(state, cfg, tb, lambda inds: self._evaluate(evaluator, state, inds))
                state.generation += 1
                self._validate(evaluator, state)
                self._update_hall_of_fame(state)
                self._record(state, state.evaluations - n_evals, time.perf_counter() - t0)
                self._after_generation(state, progress, generations)
            self._write_outputs(state, "finished", checkpoint=True)
            return state
        except (Interrupted, KeyboardInterrupt):
            self._write_outputs(state, "interrupted", checkpoint=True)
            raise Interrupted(f"interrupted at generation {state.generation}; "
                              f"continue with: evo-circuits resume {self.dir}") from None
        finally:
            for sig, h in old_handlers.items():
                signal.signal(sig, h)

    def _install_signal_handlers(self) -> dict:
        def handler(signum, frame):  # finish the generation, checkpoint, then stop
            if self._stop:  # second Ctrl-C: stop now (state is still the last checkpointed one)
                raise KeyboardInterrupt
            self._stop = True

        old = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                old[sig] = signal.signal(sig, handler)
        except ValueError:  # not in the main thread (e.g. a Dask worker): no handlers
            pass
        return old

    def _after_generation(self, state: EvoState, progress: GenerationProgress | None, total: int) -> None:
        final = state.generation >= total or self.solved(state)
        ck = final or state.generation % self.cfg.checkpoint_every == 0 or self._stop
        self._write_outputs(state, "running" if not final else "finished", checkpoint=ck)
        if progress is not None:
            progress.update(state.generation, state.logbook[-1])

    def _record(self, state: EvoState, n_evals: int, wall: float) -> None:
        values = np.array([i.fitness.values for i in state.population])
        row: dict = {"generation": state.generation, "evaluations": state.evaluations}
        for k, name in enumerate(self.objectives):
            col = values[:, k]
            best = col.max() if k == 0 else col.min()
            row.update({f"{name}_best": float(best), f"{name}_mean": float(col.mean()), f"{name}_std": float(col.std())})
        if self.cfg.algorithm == "map_elites":
            row["archive_coverage"] = len(state.archive) / n_cells(self.cfg)
        if self.cfg.restart_after > 0:
            row["restart"] = int(state.restarted)
            state.restarted = False
        if self.cfg.validation_trials > 0:
            row["validation_best"] = self.champion_score(state)
            if self.cfg.resample_every > 0:  # restarts then judge progress on it (algorithms.progress_column)
                validated = [i.extras["validation"] for i in state.population if "validation" in i.extras]
                row[POPULATION_VALIDATION] = max(validated, default=0.0)
        row["wall_s"] = wall
        row["evals_per_s"] = n_evals / wall if wall > 0 else 0.0
        state.logbook.append(row)

    def _update_hall_of_fame(self, state: EvoState) -> None:
        """Best distinct circuits so far; with validation, validated ones ranked on it."""
        validating = self.cfg.validation_trials > 0
        hof = list(state.hall_of_fame)
        for ind in state.population:
            if validating and "validation" not in ind.extras:
                continue
            if not any(h.uid == ind.uid or h.circuit == ind.circuit for h in hof):
                hof.append(ind)
        key = (lambda i: (-i.extras["validation"],) + rank_key(i)) if validating else rank_key
        state.hall_of_fame = sorted(hof, key=key)[:HALL_OF_FAME_SIZE]

    # ------------------------------------------------------------------ outputs
    def _champion(self, state: EvoState) -> Individual:
        return state.hall_of_fame[0] if state.hall_of_fame else state.population[0]

    def _named_circuits(self, state: EvoState) -> tuple[Circuit, list[Circuit]]:
        """Champion and hall of fame as written to the run directory (name + metadata)."""
        d, champ = self.dir, self._champion(state)
        meta = {"run": d.name, "generation": state.generation, "uid": champ.uid, "seed": self.cfg.seed,
                "config_hash": self.cfg.hash(), "task": self.spec.task.name, "fitness": self.spec.name,
                "fitness_hash": self.spec.hash(), "objectives": dict(zip(self.objectives, champ.fitness.values))}
        if "validation" in champ.extras:
            meta["validation_score"] = champ.extras["validation"]
        hof = []
        for r, ind in enumerate(state.hall_of_fame, 1):
            m = {**meta, "uid": ind.uid, "objectives": dict(zip(self.objectives, ind.fitness.values))}
            m.pop("validation_score", None)
            if "validation" in ind.extras:
                m["validation_score"] = ind.extras["validation"]
            hof.append(ind.circuit.replace(name=f"{d.name}-hof{r:02d}", metadata=m))
        return champ.circuit.replace(name=f"{d.name}-champion", metadata=meta), hof

    def result(self, state: EvoState, status: str = "finished", new_generations: int = 0) -> EvolutionResult:
        """The run's outcome as an object (what the run directory holds)."""
        champion, hof = self._named_circuits(state)
        champ = self._champion(state)
        return EvolutionResult(run_dir=self.dir, status=status, generations=state.generation, champion=champion,
                               hall_of_fame=tuple(hof), logbook=tuple(dict(r) for r in state.logbook),
                               objectives=tuple(self.objectives), best_score=champ.fitness.values[0],
                               validation_score=champ.extras.get("validation"), config=self.cfg, fitness=self.spec,
                               new_generations=new_generations)

    def _write_outputs(self, state: EvoState, status: str, checkpoint: bool) -> None:
        d = self.dir
        (d / "hall_of_fame").mkdir(parents=True, exist_ok=True)
        if checkpoint:
            write_checkpoint(d, state, self.cfg.hash(), fitness_sha256=self.spec.hash())
        write_text(d / "logbook.csv", logbook_csv(state.logbook))
        champ = self._champion(state)
        champion, hof = self._named_circuits(state)
        save(champion, d / "champion.json")
        for r, c in enumerate(hof, 1):
            save(c, d / "hall_of_fame" / f"rank_{r:02d}.json")
        write_text(d / "status.json", json.dumps({
            "status": status, "generation": state.generation, "generations": self.cfg.generations,
            "best_score": champ.fitness.values[0], "evaluations": state.evaluations,
            **({"validation_score": champ.extras["validation"]} if "validation" in champ.extras else {}),
            "algorithm": self.cfg.algorithm, "task": self.spec.task.name, "seed": self.cfg.seed,
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds")}, indent=2) + "\n")


def logbook_csv(rows: list[dict]) -> str:
    """Logbook rows as CSV text (columns in first-seen order)."""
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def new_run_dir(cfg: RunConfig, out: str | Path | None) -> Path:
    """``out`` if given, else ``runs/<name>-s<seed>-<UTC time>``.

    The config checked the name is one plain folder name (``RUN_NAME``), so the run
    stays inside ``runs/``; ``--out`` is the user's choice and is taken as given.
    """
    if out is not None:
        return Path(out)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{cfg.name}-s{cfg.seed}-{stamp}"
    path, k = base, 1
    while path.exists():
        path, k = Path(f"{base}-{k}"), k + 1
    return path


def evolve(config: str | Path | RunConfig, *, fitness: FitnessSpec | str | Path | None = None,
           out: str | Path | None = None, seed: int | None = None, generations: int | None = None,
           workers: int | None = None, dask: str | None = None, backend: str | None = None,
           progress: bool = False, plots: bool = False,
           library: str | os.PathLike | MotifLibrary | None = None) -> EvolutionResult:
    """Start a run.

    Parameters
    ----------
    config : path or RunConfig
        Run config (TOML file, or one built in Python).
    fitness : FitnessSpec or path, optional
        Fitness spec to evolve on, instead of the config's ``run.fitness``. A spec built
        in Python is saved in the run (``fitness.resolved.json``), which :func:`resume`
        then reads.
    out : path, optional
        Run directory (default ``runs/<name>-s<seed>-<time>``); must be new or empty.
    seed, generations, workers, dask, backend : optional overrides of the config
    progress : bool
        Show progress on stderr (a live bar on a terminal, one line per generation
        otherwise).
    plots : bool
        Draw ``plots/*.png`` at the end.
    library : path or MotifLibrary, optional
        Prune the finished run's champion and add its core to this motif library (with
        the config's ``[motifs]`` epsilon and minimum score). Default: no library write.

    Returns
    -------
    EvolutionResult

    Raises
    ------
    Interrupted
        On Ctrl-C/SIGTERM, after checkpointing (continue with :func:`resume`).
    """
    cfg = load_config(config) if not isinstance(config, RunConfig) else config
    changes = {k: v for k, v in (("seed", seed), ("generations", generations), ("workers", workers),
                                 ("dask", dask), ("backend", backend)) if v is not None}
    if dask is not None:
        changes["backend"] = "dask"
    elif workers is not None and backend is None and cfg.backend in ("local", "serial"):
        changes["backend"] = "processes"
    if changes:
        d = cfg.to_dict()
        d.update(changes)
        cfg = _from_resolved(d, cfg.source)
    run_dir = new_run_dir(cfg, out)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise EvoCircuitsError(f"{run_dir}: exists and is not empty (use `evo-circuits resume {run_dir}`)")
    cfg, spec = _bind_fitness(cfg, fitness, run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if cfg.source:
        shutil.copyfile(cfg.source, run_dir / "config.toml")
    write_text(run_dir / "config.resolved.json", json.dumps(cfg.to_dict(), indent=2) + "\n")
    write_text(run_dir / "fitness.resolved.json", json.dumps(spec.to_dict(), indent=2) + "\n")
    run = Run(cfg, run_dir, spec)
    return _drive(run, run.fresh_state(), cfg.generations, progress, plots, library)


def _bind_fitness(cfg: RunConfig, fitness: FitnessSpec | str | Path | None,
                  run_dir: Path) -> tuple[RunConfig, FitnessSpec]:
    """The spec a new run evolves on, and the config pointing at a file that gives it back.

    The config's ``fitness`` must name a file that reproduces the spec, because
    :func:`resume` and the worker processes read the spec from it: the spec's own TOML
    when it still gives the same resolved spec (a plugin task needs its TOML), else the
    run's ``fitness.resolved.json``.
    """
    if fitness is None:
        if not cfg.fitness:
            raise ConfigError("run.fitness: missing (a fitness spec path in the config, or evolve(..., fitness=spec))")
        return cfg, load_fitness(cfg.fitness_path())
    if not isinstance(fitness, FitnessSpec):
        return replace(cfg, fitness=str(Path(fitness).resolve())), load_fitness(fitness)
    source = Path(fitness.source) if fitness.source else None
    if source is None or not source.is_file() or load_fitness(source).to_dict() != fitness.to_dict():
        source = run_dir / "fitness.resolved.json"
    return replace(cfg, fitness=str(source.resolve())), fitness


def read_run_config(run_dir: str | Path) -> RunConfig:
    """The resolved config of a run directory (``config.resolved.json``), checked."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.resolved.json").is_file():
        raise EvoCircuitsError(f"{run_dir}: not a run directory (no config.resolved.json)")
    return _from_resolved(read_run_json(run_dir, "config.resolved.json"), "",
                          where=str(run_dir / "config.resolved.json"))


def resume(run_dir: str | Path, *, generations: int | None = None, progress: bool = False, plots: bool = False,
           library: str | os.PathLike | MotifLibrary | None = None, workers: int | None = None,
           backend: str | None = None, dask: str | None = None, trust_plugins: bool = False) -> EvolutionResult:
    """Continue a run from its latest checkpoint (optionally to more generations).

    Every file the run depends on is checked before anything is written: the resolved
    config, the checkpoint (content hash, config and fitness-spec hashes, consistency)
    and the fitness spec. A finished run asked for no more generations is left as it is
    (the result then has ``new_generations == 0``).

    Parameters
    ----------
    trust_plugins : bool
        Let the run's fitness spec load a task plugin. A run folder may come from
        someone else, so its plugin code runs only when asked (``--trust-plugins``).
    generations, progress, plots, library, workers, backend, dask
        As :func:`evolve`; ``generations`` is the total to reach.

    Returns
    -------
    EvolutionResult
        Bit-identical (timing columns aside) to what the uninterrupted run gives.
    """
    run_dir = Path(run_dir)
    changes = {k: v for k, v in (("generations", generations), ("workers", workers), ("backend", backend),
                                 ("dask", dask)) if v is not None}
    if dask is not None:
        changes["backend"] = "dask"
    cfg = read_run_config(run_dir)
    if changes:
        cfg = _from_resolved({**cfg.to_dict(), **changes}, "", where=str(run_dir / "config.resolved.json"))
    run = Run(cfg, run_dir, load_fitness(cfg.fitness_path(), trust_plugins=trust_plugins))
    try:
        ck = read_checkpoint(run_dir)
    except EvoCircuitsError:
        if (run_dir / "checkpoint.json").exists():
            raise
        # Killed before the first checkpoint: start generation 0 again (same seed, same result).
        return _drive(run, run.fresh_state(), cfg.generations, progress, plots, library)
    state = state_from_json(ck, run.fitness_cls, cfg.hash(), fitness_sha256=run.spec.hash(),
                            where=str(run_dir / "checkpoint.json"))
    if state.generation >= cfg.generations and read_status(run_dir).get("status") == "finished":
        return run.result(state)  # nothing to do
    # Both resolved files describe the run as it continues now (plots and `motifs add` read them).
    write_text(run_dir / "config.resolved.json", json.dumps(cfg.to_dict(), indent=2) + "\n")
    write_text(run_dir / "fitness.resolved.json", json.dumps(run.spec.to_dict(), indent=2) + "\n")
    return _drive(run, state, cfg.generations, progress, plots, library)


def _from_resolved(d: dict, source: str, where: str = "resolved config") -> RunConfig:
    """Rebuild a RunConfig from :meth:`RunConfig.to_dict` output (one line naming what is wrong)."""
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    try:
        d = dict(d)
        lim = d.pop("limits")
        table = {
            "run": {k: d[k] for k in ("name", "fitness", "algorithm", "seed", "generations", "population",
                                      "checkpoint_every", "stop_score") if k in d},
            "evaluation": {k: d[k] for k in ("backend", "workers", "dask", "resample_every", "validation_trials",
                                             "validation_top") if k in d},
            "init": {"n_exc": list(d["init_exc"]), "n_inh": list(d["init_inh"]),
                     **{k: list(v) for k, v in d["init_params"].items()}},
            "limits": {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in lim.items()},
            "variation": {k: d[k] for k in ("cxpb", "tournament", "elite", "offspring", "restart_after",
                                            "restart_below") if k in d},
            "mutation": d["mutation"],
            "map_elites": {k: list(d[k]) for k in ("bins_exc", "bins_inh", "bins_density")},
            "motifs": {"add_to_library": d["add_to_library"], "library": d["library"],
                       "prune_epsilon": d["prune_epsilon"], "min_score": d["library_min_score"]},
        }
    except KeyError as exc:
        raise ConfigError(f"{where}: missing key {exc.args[0]!r}") from None
    except (TypeError, AttributeError):
        raise ConfigError(f"{where}: a setting has the wrong type (not written by evo-circuits?)") from None
    try:
        return config_from_dict(table, source=source)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _drive(run: Run, state: EvoState, generations: int, progress: bool, plots: bool,
           library: str | os.PathLike | MotifLibrary | None) -> EvolutionResult:
    cfg = run.cfg
    evaluator = Evaluator(cfg.fitness_path(), cfg.backend, cfg.workers, cfg.dask, spec=run.spec)
    start = state.generation
    prog = GenerationProgress(generations, run.objectives, start=start) if progress else None
    try:
        run.run(state, generations, evaluator, prog)
    finally:
        evaluator.close()
        if prog is not None:
            prog.close()
    result = run.result(state, new_generations=state.generation - start)
    if plots:
        from .plots import run_plots  # matplotlib: only when drawing

        result = replace(result, plots=tuple(run_plots(run.dir)))
    if library is not None:
        path, harvested = _store_champion(run, library)
        result = replace(result, library=path, motifs=tuple(harvested))
    return result


def _store_champion(run: Run, library: str | os.PathLike | MotifLibrary) -> tuple[Path, list]:
    """Prune the champion and add its core to ``library`` (``[motifs]`` settings)."""
    own = not isinstance(library, MotifLibrary)
    lib = MotifLibrary(library) if own else library
    try:
        return lib.path, harvest_run(run.dir, lib, epsilon=run.cfg.prune_epsilon, min_score=run.cfg.library_min_score,
                                     trust_plugins=True)  # the run's own spec: its plugin is loaded
    finally:
        if own:
            lib.close()
