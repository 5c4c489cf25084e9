"""One motif-library entry as an object: what :meth:`MotifLibrary.list` and
:meth:`MotifLibrary.entry` return (one result type for both)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..circuit import Circuit
from ..io import to_dict

#: Fields filled only by :meth:`MotifLibrary.entry`.
DETAILS = ("circuit", "census", "scores", "provenance")


@dataclass(frozen=True)
class MotifEntry:
    """A library entry: its identity, size, scores and (from :meth:`MotifLibrary.entry`)
    its details.

    Attributes
    ----------
    id : int
        Entry id in the library.
    label : str
        Canonical label (a hash of the typed graph).
    name : str or None
        Named-motif name, if it is one.
    n_inputs, n_outputs, n_exc, n_inh, n_neurons, n_synapses : int
    occurrences : int
        How often evolution (or an import) found it; 0 for an unseen named motif.
    created : str
        UTC time the entry was added (ISO 8601).
    tasks : dict
        ``{task: best score or None}``.
    best_score : float or None
        Best score (on the ``task`` of :meth:`MotifLibrary.list` if one was given).
    circuit : Circuit or None
        The stored circuit. Details (``circuit``, ``census``, ``scores``, ``provenance``)
        are filled by :meth:`MotifLibrary.entry`; :meth:`MotifLibrary.list` leaves them
        ``None`` so listing a large library parses no circuit.
    census : dict or None
        Stored census figures.
    scores : tuple of dict or None
        Every score row: ``task``, ``score``, ``run_id``, ``created``.
    provenance : tuple of dict or None
        Every provenance row: ``source``, ``run_id``, ``generation``, ``seed``,
        ``config_hash``, ``package_version``, ``file``, ``created``.
    """

    id: int
    label: str
    name: str | None
    n_inputs: int
    n_outputs: int
    n_exc: int
    n_inh: int
    n_neurons: int
    n_synapses: int
    occurrences: int
    created: str
    tasks: dict[str, float | None]
    best_score: float | None
    circuit: Circuit | None = None
    census: dict | None = None
    scores: tuple[dict, ...] | None = None
    provenance: tuple[dict, ...] | None = None

    @property
    def has_details(self) -> bool:
        """Whether this entry came from :meth:`MotifLibrary.entry` (details filled)."""
        return self.circuit is not None

    @property
    def circuit_name(self) -> str | None:
        """The stored circuit's own ``name`` (details only)."""
        return self.circuit.name if self.circuit is not None else None

    @property
    def runs(self) -> int:
        """Distinct runs in the provenance (details only; 0 without)."""
        return len({p["run_id"] for p in self.provenance or () if p["run_id"]})

    @property
    def seeds(self) -> int:
        """Distinct (run, seed) pairs in the provenance (details only; 0 without)."""
        return len({(p["run_id"], p["seed"]) for p in self.provenance or () if p["seed"] is not None})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``motifs list --json`` / ``motifs show --json``).

        Summary fields always; with details also ``census``, ``scores``,
        ``provenance``, ``runs``, ``seeds``, ``circuit_name`` and ``circuit`` (the
        circuit-JSON dict).
        """
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in DETAILS}
        out["tasks"] = dict(self.tasks)
        if self.has_details:
            out.update(census=self.census, scores=[dict(s) for s in self.scores or ()],
                       provenance=[dict(p) for p in self.provenance or ()], runs=self.runs, seeds=self.seeds,
                       circuit_name=self.circuit_name, circuit=to_dict(self.circuit))
        return out

