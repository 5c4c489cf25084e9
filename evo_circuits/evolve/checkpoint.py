"""Run state and its checkpoints: JSON only (no pickle), written atomically.

A checkpoint holds everything the next generation depends on — population (circuit
JSON + fitness + id), MAP-Elites archive, hall of fame, logbook, the id counter and the
numpy Generator state — so a run resumed from it continues exactly as if it had never
stopped. Floats are written with ``repr`` precision and read back bit for bit.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..io import from_dict, to_dict
from ..io.atomic import write_text
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


def _ind_from_json(d: dict, fitness_cls: type) -> Individual:
    ind = Individual(from_dict(d["circuit"]), fitness_cls(), int(d["uid"]))
    ind.fitness.values = tuple(float(v) for v in d["fitness"])
    ind.extras = dict(d.get("extras", {}))
    return ind


def state_to_json(state: EvoState, config_hash: str) -> dict:
    """The state as a JSON-ready dict."""
    return {
        "format": FORMAT, "version": VERSION, "config_hash": config_hash,
        "generation": state.generation, "next_uid": state.next_uid, "evaluations": state.evaluations,
        "rng": state.rng.bit_generator.state,
        "population": [_ind_to_json(i) for i in state.population],
        "archive": [{"cell": list(k), "individual": _ind_to_json(v)} for k, v in sorted(state.archive.items())],
        "hall_of_fame": [_ind_to_json(i) for i in state.hall_of_fame],
        "logbook": state.logbook,
    }


def state_from_json(d: Any, fitness_cls: type, config_hash: str | None = None) -> EvoState:
    """Rebuild a state; rejects other formats and (if given) a different config hash."""
    if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("version") != VERSION:
        raise FormatError(f"checkpoint: expected format {FORMAT!r} version {VERSION}")
    if config_hash is not None and d.get("config_hash") != config_hash:
        raise FormatError(f"checkpoint: written by a different config (hash {d.get('config_hash')}, "
                          f"now {config_hash}); resume with the run's own config.resolved.json")
    bitgen = getattr(np.random, d["rng"]["bit_generator"])()
    bitgen.state = d["rng"]
    return EvoState(
        fitness_cls=fitness_cls, rng=np.random.Generator(bitgen), generation=int(d["generation"]),
        next_uid=int(d["next_uid"]), evaluations=int(d.get("evaluations", 0)),
        population=[_ind_from_json(i, fitness_cls) for i in d["population"]],
        archive={tuple(a["cell"]): _ind_from_json(a["individual"], fitness_cls) for a in d["archive"]},
        hall_of_fame=[_ind_from_json(i, fitness_cls) for i in d["hall_of_fame"]],
        logbook=list(d["logbook"]),
    )


def write_checkpoint(run_dir: Path, state: EvoState, config_hash: str, keep: int = 3) -> Path:
    """Write ``checkpoints/gen_NNNNN.json`` and ``checkpoint.json`` atomically; prune old ones."""
    text = json.dumps(state_to_json(state, config_hash))
    ck_dir = run_dir / "checkpoints"
    ck_dir.mkdir(parents=True, exist_ok=True)
    path = ck_dir / f"gen_{state.generation:05d}.json"
    write_text(path, text)
    write_text(run_dir / "checkpoint.json", text)
    for old in sorted(ck_dir.glob("gen_*.json"))[:-keep]:
        old.unlink(missing_ok=True)
    return path


def read_checkpoint(run_dir: str | os.PathLike) -> dict:
    """The latest checkpoint of a run directory, as a dict."""
    path = Path(run_dir) / "checkpoint.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError(f"{run_dir}: no checkpoint.json (not a run directory, or it never checkpointed)") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: corrupt checkpoint ({exc})") from None
