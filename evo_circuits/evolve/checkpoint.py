"""Run state and its checkpoints: JSON only (no pickle), written atomically.

A checkpoint holds everything the next generation depends on — population (circuit
JSON + fitness + id), MAP-Elites archive, hall of fame, logbook, the id counter and the
numpy Generator state — so a run resumed from it continues exactly as if it had never
stopped. Floats are written with ``repr`` precision and read back bit for bit.

Integrity: ``content_sha256`` is the SHA-256 of the checkpoint's canonical JSON
(sorted keys, without that field), and ``fitness_sha256`` the fitness spec's
:meth:`~evo_circuits.tasks.FitnessSpec.hash` (what it scores); ``config_hash`` names the run config. A resume
refuses, in one line, a checkpoint whose content no longer matches its hash (an edited
fitness, weight, generator state, generation or logbook), one written for another
config or fitness spec, or one whose parts disagree (uids, objectives, generation and
logbook length). The hash detects edits and corruption; it is not a signature.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..io import from_dict, to_dict
from ..io.caps import file_caps
from ..io.atomic import write_text
from ..io.files import read_json
from .toolbox import Individual

FORMAT = "evo-circuits/checkpoint"
VERSION = 1


@dataclass
class EvoState:
    """Everything that evolves during a run."""

    fitness_cls: type
    rng: np.random.Generator
    generation: int = 0
    next_uid: int = 0
    population: list = field(default_factory=list)
    archive: dict = field(default_factory=dict)
    hall_of_fame: list = field(default_factory=list)
    logbook: list = field(default_factory=list)
    evaluations: int = 0
    restarted: bool = False  # set by a generation that restarted; recorded in the logbook

    def new_individual(self, circuit) -> Individual:
        """Wrap a circuit with a fresh id and an empty fitness."""
        ind = Individual(circuit, self.fitness_cls(), self.next_uid)
        self.next_uid += 1
        return ind


def _ind_to_json(ind: Individual) -> dict:
    return {"uid": ind.uid, "fitness": list(ind.fitness.values),
            "extras": {k: v for k, v in ind.extras.items() if k not in ("rank", "crowding")},
            "circuit": to_dict(ind.circuit)}


def _ind_from_json(d: dict, fitness_cls: type, where: str) -> Individual:
    if not isinstance(d, dict) or not isinstance(d.get("circuit"), dict):
        raise FormatError(f"{where}: expected an object with a circuit")
    caps = file_caps()
    try:
        circuit = from_dict(d["circuit"], max_neurons=caps["max_neurons"], max_inputs=caps["max_inputs"])
    except FormatError as exc:
        raise FormatError(f"{where}.circuit: {exc}") from None
    ind = Individual(circuit, fitness_cls(), _int(d.get("uid"), f"{where}.uid"))
    values = d.get("fitness")
    if not isinstance(values, list) or len(values) != len(fitness_cls.weights):
        raise FormatError(f"{where}.fitness: expected {len(fitness_cls.weights)} objective values")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise FormatError(f"{where}.fitness: expected finite numbers")
    ind.fitness.values = tuple(float(v) for v in values)
    extras = d.get("extras", {})
    if not isinstance(extras, dict):
        raise FormatError(f"{where}.extras: expected an object")
    ind.extras = dict(extras)
    return ind


def _int(value: Any, where: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise FormatError(f"{where}: expected an integer >= {low}, got {str(value)[:40]!r}")
    return value


#: Logbook columns that are measurements (they differ between identical runs and no
#: generation depends on them): left out of the content hash.
TIMING_COLUMNS = ("wall_s", "evals_per_s")


def content_hash(d: dict) -> str:
    """SHA-256 of a checkpoint dict's canonical JSON, ``content_sha256`` and the logbook's
    timing columns left out (so identical runs have identical hashes)."""
    body = {k: v for k, v in d.items() if k != "content_sha256"}
    if isinstance(body.get("logbook"), list):
        body["logbook"] = [{c: v for c, v in r.items() if c not in TIMING_COLUMNS} if isinstance(r, dict) else r
                           for r in body["logbook"]]
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def state_to_json(state: EvoState, config_hash: str, fitness_sha256: str | None = None) -> dict:
    """The state as a JSON-ready dict, with its content hash."""
    d = {
        "format": FORMAT, "version": VERSION, "config_hash": config_hash,
        "generation": state.generation, "next_uid": state.next_uid, "evaluations": state.evaluations,
        "rng": state.rng.bit_generator.state,
        "population": [_ind_to_json(i) for i in state.population],
        "archive": [{"cell": list(k), "individual": _ind_to_json(v)} for k, v in sorted(state.archive.items())],
        "hall_of_fame": [_ind_to_json(i) for i in state.hall_of_fame],
        "logbook": state.logbook,
    }
    if fitness_sha256 is not None:
        d["fitness_sha256"] = fitness_sha256
    d["content_sha256"] = content_hash(d)
    return d


def state_from_json(d: Any, fitness_cls: type, config_hash: str | None = None, *,
                    fitness_sha256: str | None = None, where: str = "checkpoint") -> EvoState:
    """Rebuild a state, refusing tampered, foreign or inconsistent checkpoints.

    Parameters
    ----------
    d : dict
        Decoded checkpoint JSON.
    fitness_cls : type
        The run's DEAP fitness class (its number of objectives is checked).
    config_hash, fitness_sha256 : str, optional
        If given, the checkpoint must have been written for this config / fitness spec.
    where : str
        Prefix of the messages (the file).

    Raises
    ------
    FormatError
        One line naming what is wrong.
    """
    if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("version") != VERSION:
        raise FormatError(f"{where}: expected format {FORMAT!r} version {VERSION}")
    if "content_sha256" in d:
        if d["content_sha256"] != content_hash(d):
            raise FormatError(f"{where}: content does not match its content_sha256 (edited or corrupt); "
                              "resume from an intact checkpoint (checkpoints/gen_*.json)")
    else:  # written before checkpoints carried hashes: nothing to verify against
        print(f"note: {where} has no content hash (an older evo-circuits wrote it); not verified", file=sys.stderr)
    if config_hash is not None and d.get("config_hash") != config_hash:
        raise FormatError(f"{where}: written by a different config (hash {d.get('config_hash')}, "
                          f"now {config_hash}); resume with the run's own config.resolved.json")
    if fitness_sha256 is not None and d.get("fitness_sha256", fitness_sha256) != fitness_sha256:
        raise FormatError(f"{where}: the run's fitness spec changed since this checkpoint (hash "
                          f"{d.get('fitness_sha256')}, now {fitness_sha256}); restore it to resume")
    rng = d.get("rng")
    if not isinstance(rng, dict) or rng.get("bit_generator") != "PCG64":
        raise FormatError(f"{where}: rng: expected the state of a PCG64 generator")
    try:
        bitgen = np.random.PCG64()
        bitgen.state = rng
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise FormatError(f"{where}: rng: not a valid PCG64 state ({exc})") from None
    generation = _int(d.get("generation"), f"{where}: generation")
    for key in ("population", "archive", "hall_of_fame", "logbook"):
        if not isinstance(d.get(key), list):
            raise FormatError(f"{where}: {key}: expected a list")
    try:
        archive = {}
        for j, a in enumerate(d["archive"]):
            cell = a.get("cell") if isinstance(a, dict) else None
            if not isinstance(cell, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in cell):
                raise FormatError(f"{where}: archive[{j}].cell: expected a list of integers")
            archive[tuple(cell)] = _ind_from_json(a.get("individual"), fitness_cls, f"{where}: archive[{j}]")
        state = EvoState(
            fitness_cls=fitness_cls, rng=np.random.Generator(bitgen), generation=generation,
            next_uid=_int(d.get("next_uid"), f"{where}: next_uid"),
            evaluations=_int(d.get("evaluations", 0), f"{where}: evaluations"),
            population=[_ind_from_json(i, fitness_cls, f"{where}: population[{j}]")
                        for j, i in enumerate(d["population"])],
            archive=archive,
            hall_of_fame=[_ind_from_json(i, fitness_cls, f"{where}: hall_of_fame[{j}]")
                          for j, i in enumerate(d["hall_of_fame"])],
            logbook=list(d["logbook"]),
        )
    except FormatError as exc:
        if str(exc).startswith(where):
            raise
        raise FormatError(f"{where}: {exc}") from None
    _check_consistent(state, where)
    return state


def _check_consistent(state: EvoState, where: str) -> None:
    """Parts of a checkpoint that must agree with each other."""
    if not state.population:
        raise FormatError(f"{where}: population: empty")
    uids = [i.uid for i in state.population + state.hall_of_fame + list(state.archive.values())]
    if max(uids) >= state.next_uid:
        raise FormatError(f"{where}: next_uid {state.next_uid} is not above every individual's uid ({max(uids)})")
    if len(state.logbook) != state.generation + 1 or not all(isinstance(r, dict) for r in state.logbook):
        raise FormatError(f"{where}: logbook has {len(state.logbook)} rows for generation {state.generation} "
                          f"(expected {state.generation + 1})")
    if [r.get("generation") for r in state.logbook] != list(range(state.generation + 1)):
        raise FormatError(f"{where}: logbook generations are not 0..{state.generation}")


def write_checkpoint(run_dir: Path, state: EvoState, config_hash: str, keep: int = 3,
                     fitness_sha256: str | None = None) -> Path:
    """Write ``checkpoints/gen_NNNNN.json`` and ``checkpoint.json`` atomically; prune old ones."""
    text = json.dumps(state_to_json(state, config_hash, fitness_sha256))
    ck_dir = run_dir / "checkpoints"
    ck_dir.mkdir(parents=True, exist_ok=True)
    path = ck_dir / f"gen_{state.generation:05d}.json"
    write_text(path, text)
    write_text(run_dir / "checkpoint.json", text)
    for old in sorted(ck_dir.glob("gen_*.json"))[:-keep]:
        old.unlink(missing_ok=True)
    return path


def read_checkpoint(run_dir: str | os.PathLike) -> dict:
    """The latest checkpoint of a run directory, as a dict (checked by :func:`state_from_json`)."""
    path = Path(run_dir) / "checkpoint.json"
    if not path.exists():
        raise FormatError(f"{run_dir}: no checkpoint.json (not a run directory, or it never checkpointed)")
    return read_json(path, "checkpoint")
