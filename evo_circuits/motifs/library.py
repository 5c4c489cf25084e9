"""The motif library: a SQLite database of motifs, their scores and where they came from.

One file (default ``motifs/library.db``; ``EVO_CIRCUITS_LIBRARY`` or an explicit path
override it), created on the first write — never by a read: opening a missing library
gives an in-memory view of the built-in named motifs, which is what a new file would
start with, so ``evo-circuits motifs list`` is useful on a fresh clone. The file is in WAL mode so readers never block the writer. Every write is one
``BEGIN IMMEDIATE`` transaction, and the connection waits (busy timeout) for other
processes' writes instead of failing, so several evolution runs can add motifs to one
library at once. The schema version lives in ``PRAGMA user_version`` and in the ``meta``
table; a database with a newer or unknown schema is refused. Circuits are stored as
circuit JSON text and pass the strict reader on the way in and on the way out — no
pickle anywhere. The schema is documented in ``docs/motifs.md``.

Identity: two circuits are the same motif when :func:`~evo_circuits.motifs.canonical.
canonical_label` matches *and* :func:`~evo_circuits.motifs.canonical.same_motif`
confirms it (the label is a hash). Adding a motif that is already present increments
its occurrence count and records the new provenance/score instead of duplicating it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from ..circuit import Circuit
from ..errors import EvoCircuitsError, FormatError
from ..io import IMPORT_CAPS, MAX_FILE_BYTES, dumps, loads, save
from ..version import __version__
from .entry import MotifEntry

#: Schema version written to ``PRAGMA user_version`` and ``meta.schema_version``.
#: Version 2 added ``scores.fitness`` and ``scores.fitness_hash`` (a version-1 file is
#: upgraded in place when opened).
SCHEMA_VERSION = 2
#: ``PRAGMA application_id`` of a motif library ("EVOC").
APPLICATION_ID = 0x45564F43
#: Environment variable naming the default library.
ENV_VAR = "EVO_CIRCUITS_LIBRARY"

SORT_KEYS = ("occurrences", "score", "size", "id", "name", "created")

_SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE motifs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    label       TEXT NOT NULL,
    name        TEXT,
    circuit     TEXT NOT NULL,
    n_inputs    INTEGER NOT NULL,
    n_outputs   INTEGER NOT NULL,
    n_exc       INTEGER NOT NULL,
    n_inh       INTEGER NOT NULL,
    n_neurons   INTEGER NOT NULL,
    n_synapses  INTEGER NOT NULL,
    occurrences INTEGER NOT NULL DEFAULT 0,
    census      TEXT,
    created     TEXT NOT NULL
);
CREATE INDEX motifs_label ON motifs(label);
CREATE INDEX motifs_name ON motifs(name);
CREATE TABLE scores (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    motif_id INTEGER NOT NULL REFERENCES motifs(id) ON DELETE CASCADE,
    task     TEXT NOT NULL,
    score    REAL,
    run_id   TEXT,
    created  TEXT NOT NULL,
    fitness      TEXT,
    fitness_hash TEXT
);
CREATE INDEX scores_motif ON scores(motif_id, task);
CREATE TABLE provenance (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    motif_id        INTEGER NOT NULL REFERENCES motifs(id) ON DELETE CASCADE,
    source          TEXT NOT NULL,
    run_id          TEXT,
    generation      INTEGER,
    seed            INTEGER,
    config_hash     TEXT,
    package_version TEXT,
    file            TEXT,
    created         TEXT NOT NULL
);
CREATE INDEX provenance_motif ON provenance(motif_id);
"""

#: Columns of a :class:`MotifEntry` summary, in the ``motifs`` table.
_SUMMARY_COLUMNS = "id, label, name, n_inputs, n_outputs, n_exc, n_inh, n_neurons, n_synapses, occurrences, created"

_PROVENANCE_FIELDS = {"run_id": str, "generation": int, "seed": int, "config_hash": str,
                      "package_version": str, "created": str, "source": str, "file": str}


class MotifNotFound(EvoCircuitsError, LookupError):
    """No library entry has the requested id or name."""


def default_library_path() -> Path:
    """``$EVO_CIRCUITS_LIBRARY`` if set, else ``motifs/library.db`` (relative to the cwd)."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env) if env else Path("motifs") / "library.db"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _package_version() -> str:

    return __version__


class MotifLibrary:
    """A motif library stored in one SQLite file.

    Parameters
    ----------
    path : str or PathLike, optional
        Database file; default :func:`default_library_path`. Opening never creates
        anything: a missing file reads as a new library would (the named motifs, held in
        memory), and the file (with its folder) is created, seeded with the named motifs,
        by the first write (:meth:`add`, :meth:`remove`, :meth:`set_census`,
        :meth:`seed_named`).
    timeout : float
        Seconds to wait for another process's write before giving up.

    Raises
    ------
    FormatError
        If the file is not a motif library or has a newer/unknown schema.

    Examples
    --------
    >>> lib = MotifLibrary("motifs/library.db")          # doctest: +SKIP
    >>> mid, is_new = lib.add(circuit, task="coincidence", score=0.93,
    ...                       provenance={"run_id": "r1", "generation": 40, "seed": 3})
    >>> [e.id for e in lib.list(task="coincidence", min_score=0.9)]
    """

    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 60.0) -> None:
        self.path = Path(path) if path is not None else default_library_path()
        self.timeout = float(timeout)
        self._in_memory = not self.path.exists()
        self._read_only = False
        self._connect()

    # ------------------------------------------------------------------ lifecycle
    @property
    def exists(self) -> bool:
        """Whether the library file exists (False until the first write to a new library)."""
        return not self._in_memory

    def _connect(self) -> None:
        """Open the file, or (missing file) an in-memory library seeded like a new file."""
        if not self._in_memory and self.path.exists():  # (missing: a first write creates it)
            if not self.path.is_file():
                raise FormatError(f"{self.path}: not a file (expected a motif library database)")
            head = self._head()
            if head != _SQLITE_MAGIC:
                raise FormatError(f"{self.path}: not a motif library (" + (
                    "an empty file; delete it to start a new library)" if not head else "not an SQLite database)"))
        # A library we may not write (a shared, read-only file or folder) is opened read
        # only, so browsing works; without write access to the folder SQLite cannot make
        # its -shm/-wal files either, so it reads the file as immutable.
        on_disk = not self._in_memory and self.path.exists()  # (else: a first write is creating it)
        self._read_only = on_disk and not os.access(self.path, os.W_OK)
        folder_ro = on_disk and not os.access(self.path.parent, os.W_OK | os.X_OK)
        target = ":memory:"
        if not self._in_memory:
            target = str(self.path)
            if self._read_only or folder_ro:
                self._read_only = True
                target = f"{self.path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if folder_ro else "")
        try:
            self._con = sqlite3.connect(target, timeout=self.timeout, isolation_level=None, uri=target.startswith("file:"))
        except sqlite3.Error as exc:
            raise FormatError(f"{self.path}: cannot open the motif library ({exc})") from None
        try:
            self._con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            self._con.execute("PRAGMA foreign_keys = ON")
            self._open()
        except sqlite3.DatabaseError as exc:
            self._con.close()
            raise FormatError(f"{self.path}: not a usable motif library ({exc})") from None
        except BaseException:
            self._con.close()
            raise

    def _head(self) -> bytes:
        """The file's first 16 bytes. A library another process is creating is empty for
        a moment (SQLite writes its header with the first transaction): wait that out, so
        only a file that stays empty is refused (and never silently re-created)."""
        deadline = time.monotonic() + 2.0
        while True:
            with open(self.path, "rb") as fh:
                head = fh.read(16)
            if head or time.monotonic() > deadline:
                return head
            time.sleep(0.05)

    def _create_file(self) -> None:
        """First write to a missing library: create the file (and folder) and switch to it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FormatError(f"{self.path}: cannot create the motif library ({exc.strerror})") from None
        self._con.close()
        self._in_memory = False  # another process may have created it meanwhile: _open handles both
        self._connect()

    def _pragma(self, name: str) -> Any:
        return self._con.execute(f"PRAGMA {name}").fetchone()[0]

    def _check_identity(self) -> int:
        """Return the schema version, refusing foreign or newer databases."""
        version, app_id = self._pragma("user_version"), self._pragma("application_id")
        if app_id not in (0, APPLICATION_ID):
            raise FormatError(f"{self.path}: not a motif library (SQLite application id {app_id:#x})")
        if version > SCHEMA_VERSION:
            raise FormatError(f"{self.path}: library schema version {version} is newer than this evo-circuits "
                              f"understands ({SCHEMA_VERSION}); upgrade evo-circuits")
        if version == 0:
            tables = self._con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise FormatError(f"{self.path}: not a motif library (an SQLite database without a schema version)")
        elif app_id != APPLICATION_ID:
            raise FormatError(f"{self.path}: not a motif library (unknown schema, version {version})")
        return version

    def _open(self) -> None:
        version = self._check_identity()
        if not self._in_memory and not self._read_only:  # in memory: no WAL needed; read only: cannot switch
            self._set_wal()
        if version == 0 and self._read_only:
            raise FormatError(f"{self.path}: not a motif library (an empty SQLite database, read-only)")
        if version == 0:
            self._create()
        elif version < SCHEMA_VERSION:
            self._upgrade()
        row = self._con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None or row[0] != str(SCHEMA_VERSION):
            raise FormatError(f"{self.path}: unknown library schema (meta.schema_version = "
                              f"{row[0] if row else None!r}, expected {SCHEMA_VERSION})")
        self._relabel_if_needed()

    def _set_wal(self) -> None:
        # Switching to WAL needs a moment of exclusive access; several processes opening
        # a new library at once retry instead of failing.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                mode = self._con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if str(mode).lower() != "wal":
            raise FormatError(f"{self.path}: cannot switch the library to WAL mode (got {mode!r}); "
                              "is it on a network file system?")
        self._con.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable against crashes

    def _create(self) -> None:
        from .canonical import LABEL_SCHEME

        seeds = self._named_rows()
        with self._transaction() as cur:
            if self._pragma("user_version") != 0:  # another process created it meanwhile
                return
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    cur.execute(stmt)
            now = _now()
            cur.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                            [("schema_version", str(SCHEMA_VERSION)), ("label_scheme", LABEL_SCHEME),
                             ("created", now), ("package_version", _package_version())])
            for name, text, label, c in seeds:
                mid = self._insert(cur, c, text, label, name, occurrences=0, now=now)
                cur.execute("INSERT INTO provenance(motif_id, source, package_version, created) VALUES (?, ?, ?, ?)",
                            (mid, "named", _package_version(), now))
            cur.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            cur.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _upgrade(self) -> None:
        """Version 1 -> 2: scores record the fitness spec (name and hash), not only the task."""
        with self._transaction() as cur:
            if self._pragma("user_version") != 1:  # another process upgraded it meanwhile
                return
            cur.execute("ALTER TABLE scores ADD COLUMN fitness TEXT")
            cur.execute("ALTER TABLE scores ADD COLUMN fitness_hash TEXT")
            cur.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
            cur.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _named_rows(self) -> list[tuple[str, str, str, Circuit]]:
        from .canonical import canonical_label
        from .named import named_motifs

        rows = []
        for name, c in sorted(named_motifs().items()):
            text, c = self._validated(c)
            rows.append((name, text, canonical_label(c), c))
        return rows

    def _relabel_if_needed(self) -> None:
        """Labels are derived data: recompute them if the labelling scheme changed."""
        from .canonical import LABEL_SCHEME, canonical_label

        row = self._con.execute("SELECT value FROM meta WHERE key = 'label_scheme'").fetchone()
        if row is not None and row[0] == LABEL_SCHEME or self._read_only:  # read only: old labels still read
            return
        with self._transaction() as cur:
            row = cur.execute("SELECT value FROM meta WHERE key = 'label_scheme'").fetchone()
            if row is not None and row[0] == LABEL_SCHEME:
                return
            for mid, text in cur.execute("SELECT id, circuit FROM motifs").fetchall():
                cur.execute("UPDATE motifs SET label = ? WHERE id = ?",
                            (canonical_label(self._parse(text, mid)), mid))
            cur.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('label_scheme', ?)", (LABEL_SCHEME,))

    def close(self) -> None:
        """Close the database connection."""
        self._con.close()

    def __enter__(self) -> "MotifLibrary":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MotifLibrary({str(self.path)!r})"

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Cursor]:
        """A write by the user: creates the file first if it is missing."""
        if self._read_only:
            raise FormatError(f"{self.path}: the motif library is read-only here (no write permission on the "
                              "file or its folder); browsing works, adding needs write access")
        if self._in_memory:
            self._create_file()
        return self._transaction()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction: ``BEGIN IMMEDIATE`` takes the write lock up front, so
        the read-check-insert of :meth:`add` cannot race with another process."""
        cur = self._con.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Cursor]:
        """A read transaction: several SELECTs see one snapshot."""
        cur = self._con.cursor()
        cur.execute("BEGIN")
        try:
            yield cur
        finally:
            self._con.execute("COMMIT")

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _validated(circuit: Circuit) -> tuple[str, Circuit]:
        """Circuit JSON text and the circuit read back from it by the strict reader."""
        if not isinstance(circuit, Circuit):
            raise FormatError(f"expected a Circuit, got {type(circuit).__name__}")
        try:
            text = dumps(circuit)
        except (TypeError, ValueError) as exc:  # non-JSON metadata, NaN in metadata
            raise FormatError(f"circuit: cannot be written as circuit JSON ({exc})") from None
        if len(text) > MAX_FILE_BYTES:
            raise FormatError("circuit: too large for the motif library")
        return text, loads(text, where="circuit", **IMPORT_CAPS)

    def _parse(self, text: str, mid: int) -> Circuit:
        return loads(text, where=f"library entry {mid}", **IMPORT_CAPS)

    @staticmethod
    def _insert(cur: sqlite3.Cursor, c: Circuit, text: str, label: str, name: str | None, *,
                occurrences: int, now: str) -> int:
        cur.execute(
            "INSERT INTO motifs(label, name, circuit, n_inputs, n_outputs, n_exc, n_inh, n_neurons, n_synapses, "
            "occurrences, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (label, name, text, c.n_inputs, len(c.outputs), c.n_exc, c.n_inh, c.n_neurons, c.n_synapses,
             occurrences, now))
        return int(cur.lastrowid)

    def _resolve(self, cur: sqlite3.Cursor, id_or_name: int | str) -> int:
        if isinstance(id_or_name, bool):
            raise MotifNotFound(f"no motif {id_or_name!r}")
        if isinstance(id_or_name, int) or (isinstance(id_or_name, str) and id_or_name.strip().isdigit()):
            mid = int(id_or_name)
            if cur.execute("SELECT 1 FROM motifs WHERE id = ?", (mid,)).fetchone() is None:
                raise MotifNotFound(f"{self.path}: no motif with id {mid}")
            return mid
        rows = cur.execute("SELECT id FROM motifs WHERE name = ? ORDER BY id", (str(id_or_name),)).fetchall()
        if not rows:
            raise MotifNotFound(f"{self.path}: no motif named {id_or_name!r} (`evo-circuits motifs list` shows them)")
        return int(rows[0][0])

    # ------------------------------------------------------------------ writing
    def add(self, circuit: Circuit, *, task: str | None = None, score: float | None = None,
            provenance: dict | None = None, census: dict | None = None, fitness: str | None = None,
            fitness_hash: str | None = None) -> tuple[int, bool]:
        """Add a motif, or count one more occurrence of an isomorphic entry.

        Parameters
        ----------
        circuit : Circuit
        task : str, optional
            Task the motif was found on; recorded with ``score``.
        score : float, optional
            Score on ``task`` (requires ``task``).
        provenance : dict, optional
            ``run_id``, ``generation``, ``seed``, ``config_hash``, ``package_version``
            (default: this package's), ``created`` (default: now, UTC), ``source``
            (default ``"run"`` with a run id, else ``"api"``), ``file``.
        census : dict, optional
            Census figures (JSON-serialisable, finite), replacing the stored ones.
        fitness, fitness_hash : str, optional
            Name and :meth:`~evo_circuits.tasks.FitnessSpec.hash` of the fitness spec the
            score was measured with (with ``task``), so variants of one task stay apart.

        Returns
        -------
        (int, bool)
            Entry id and whether a new entry was created. Adds from runs are idempotent:
            a circuit whose provenance names a run (``run_id``, ``seed``, ``config_hash``)
            and file that this entry already counted changes nothing.
        """
        from .canonical import canonical_label, same_motif

        text, c = self._validated(circuit)
        label = canonical_label(c)
        prov = _check_provenance(provenance)
        task, score = _check_score(task, score)
        for key, val in (("fitness", fitness), ("fitness_hash", fitness_hash)):
            if val is not None and (task is None or not isinstance(val, str) or not val):
                raise FormatError(f"{key}: expected a non-empty string with a task, got {val!r}")
        census_text = _census_text(census)
        name = _named_match(c)
        now = _now()
        with self._write() as cur:
            mid = None
            for cand, cand_text in cur.execute("SELECT id, circuit FROM motifs WHERE label = ? ORDER BY id",
                                               (label,)).fetchall():
                if same_motif(c, self._parse(cand_text, cand)):
                    mid = int(cand)
                    break
            is_new = mid is None
            if is_new:
                mid = self._insert(cur, c, text, label, name, occurrences=1, now=now)
            elif _seen_from_run(cur, mid, prov):
                return mid, False  # the same run's circuit again (e.g. a resumed run): counted once
            else:
                cur.execute("UPDATE motifs SET occurrences = occurrences + 1 WHERE id = ?", (mid,))
            cur.execute(
                "INSERT INTO provenance(motif_id, source, run_id, generation, seed, config_hash, package_version, "
                "file, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (mid, prov.get("source") or ("run" if prov.get("run_id") else "api"), prov.get("run_id"),
                 prov.get("generation"), prov.get("seed"), prov.get("config_hash"),
                 prov.get("package_version") or _package_version(), prov.get("file"), prov.get("created") or now))
            if task is not None:
                cur.execute("INSERT INTO scores(motif_id, task, score, run_id, created, fitness, fitness_hash) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)", (mid, task, score, prov.get("run_id"), now, fitness,
                                                             fitness_hash))
            if census_text is not None:
                cur.execute("UPDATE motifs SET census = ? WHERE id = ?", (census_text, mid))
        return mid, is_new

    def set_census(self, id_or_name: int | str, figures: dict) -> None:
        """Store census figures (a JSON-serialisable dict) on an entry."""
        text = _census_text(figures)
        with self._write() as cur:
            cur.execute("UPDATE motifs SET census = ? WHERE id = ?", (text, self._resolve(cur, id_or_name)))

    def remove(self, id_or_name: int | str) -> None:
        """Delete an entry with its scores and provenance."""
        with self._write() as cur:
            cur.execute("DELETE FROM motifs WHERE id = ?", (self._resolve(cur, id_or_name),))

    def seed_named(self) -> int:
        """Add the named motifs that are missing (by isomorphism); return how many were added."""
        from .canonical import same_motif

        added = 0
        for name, text, label, c in self._named_rows():
            now = _now()
            with self._write() as cur:
                rows = cur.execute("SELECT id, circuit, name FROM motifs WHERE label = ?", (label,)).fetchall()
                match = next((r for r in rows if same_motif(c, self._parse(r[1], r[0]))), None)
                if match is not None:
                    if match[2] is None:
                        cur.execute("UPDATE motifs SET name = ? WHERE id = ?", (name, match[0]))
                    continue
                mid = self._insert(cur, c, text, label, name, occurrences=0, now=now)
                cur.execute("INSERT INTO provenance(motif_id, source, package_version, created) VALUES (?, ?, ?, ?)",
                            (mid, "named", _package_version(), now))
                added += 1
        return added

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return int(self._con.execute("SELECT count(*) FROM motifs").fetchone()[0])

    def __contains__(self, id_or_name: object) -> bool:
        try:
            with self._read() as cur:
                self._resolve(cur, id_or_name)  # type: ignore[arg-type]
            return True
        except MotifNotFound:
            return False

    def get(self, id_or_name: int | str) -> Circuit:
        """The circuit of an entry (by id or motif name), read by the strict reader."""
        with self._read() as cur:
            mid = self._resolve(cur, id_or_name)
            text = cur.execute("SELECT circuit FROM motifs WHERE id = ?", (mid,)).fetchone()[0]
        return self._parse(text, mid)

    def resolve(self, id_or_name: int | str) -> int:
        """Entry id of an id or motif name."""
        with self._read() as cur:
            return self._resolve(cur, id_or_name)

    def entry(self, id_or_name: int | str) -> MotifEntry:
        """Everything stored about one entry (by id or motif name), details included.

        Returns
        -------
        MotifEntry
            With ``circuit``, ``census``, ``scores`` and ``provenance`` filled.
        """
        with self._read() as cur:
            mid = self._resolve(cur, id_or_name)
            cur.row_factory = sqlite3.Row
            row = dict(cur.execute(f"SELECT {_SUMMARY_COLUMNS}, circuit, census FROM motifs WHERE id = ?",
                                   (mid,)).fetchone())
            scores = tuple(dict(r) for r in cur.execute(
                "SELECT task, score, run_id, created, fitness, fitness_hash FROM scores WHERE motif_id = ? ORDER BY id",
                (mid,)))
            prov = tuple(dict(r) for r in cur.execute(
                "SELECT source, run_id, generation, seed, config_hash, package_version, file, created "
                "FROM provenance WHERE motif_id = ? ORDER BY id", (mid,)))
        tasks = _best_by_task(scores)
        return MotifEntry(**{**row, "circuit": self._parse(row["circuit"], mid),
                             "census": json.loads(row["census"]) if row["census"] else None},
                          tasks=tasks, best_score=_best(tasks.values()), scores=scores, provenance=prov)

    def list(self, task: str | None = None, min_score: float | None = None,
             contains: str | Circuit | None = None, max_neurons: int | None = None,
             sort: str = "occurrences", within: str | None = None, near: str | None = None,
             distance: int = 1) -> list[MotifEntry]:
        """Entries matching all the given filters.

        Parameters
        ----------
        task : str, optional
            Only motifs with a score row for this task family or fitness spec name.
        min_score : float, optional
            Best score (on ``task`` if given, else on any task) at least this.
        contains : str or Circuit, optional
            A named motif's name, or a pattern circuit: only motifs containing it as a
            typed subgraph (:func:`~evo_circuits.motifs.canonical.contains`).
        max_neurons : int, optional
        within : str, optional
            A named motif: only motifs that are it or a part of it (it with neurons,
            inputs or synapses missing; :func:`~evo_circuits.motifs.similarity.within`).
        near, distance : str, int
            A named motif and an edit distance: only motifs within ``distance`` of it on
            the coloured graph (:func:`~evo_circuits.motifs.similarity.near`).
        sort : {"occurrences", "score", "size", "id", "name", "created"}
            Occurrences and score sort descending, the others ascending.

        Returns
        -------
        list of MotifEntry
            Without details (see :class:`MotifEntry`); ``best_score`` is on ``task`` if
            given. ``[e.to_dict() for e in ...]`` gives JSON-ready dicts.
        """
        if sort not in SORT_KEYS:
            raise FormatError(f"sort: expected one of {', '.join(SORT_KEYS)}, got {sort!r}")
        if min_score is not None and not (isinstance(min_score, (int, float)) and math.isfinite(min_score)):
            raise FormatError(f"min_score: expected a finite number, got {min_score!r}")
        pattern = _pattern(contains)
        similar = _similarity_filter(within, near, distance)
        where, args = [], []
        if task is not None:
            where.append("EXISTS (SELECT 1 FROM scores s WHERE s.motif_id = m.id AND (s.task = ? OR s.fitness = ?))")
            args += [task, task]
        if max_neurons is not None:
            where.append("m.n_neurons <= ?")
            args.append(int(max_neurons))
        parse = pattern is not None or similar is not None
        sql = f"SELECT {_SUMMARY_COLUMNS}{', circuit' if parse else ''} FROM motifs m"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._read() as cur:
            cur.row_factory = sqlite3.Row
            rows = [dict(r) for r in cur.execute(sql, args)]
            best: dict[int, dict[str, float | None]] = {}
            for r in cur.execute("SELECT motif_id, task, max(score) AS best FROM scores GROUP BY motif_id, task"):
                best.setdefault(r["motif_id"], {})[r["task"]] = r["best"]
            # The best score on ``task`` as the filter reads it: a family or a fitness spec's name.
            on_task = {} if task is None else {r["motif_id"]: r["best"] for r in cur.execute(
                "SELECT motif_id, max(score) AS best FROM scores WHERE task = ? OR fitness = ? GROUP BY motif_id",
                (task, task))}
        out = []
        for r in rows:
            tasks = best.get(r["id"], {})
            score = on_task.get(r["id"]) if task is not None else _best(tasks.values())
            if min_score is not None and (score is None or score < min_score):
                continue
            if parse:
                from .canonical import contains as has_subgraph

                c = self._parse(r.pop("circuit"), r["id"])
                if pattern is not None and (pattern.n_neurons > c.n_neurons or not has_subgraph(c, pattern)):
                    continue
                if similar is not None and not similar(c):
                    continue
            out.append(MotifEntry(**r, tasks=tasks, best_score=score))
        keys = {
            "occurrences": lambda e: (-e.occurrences, e.id),
            "score": lambda e: (e.best_score is None, -(e.best_score or 0.0), e.id),
            "size": lambda e: (e.n_neurons, e.n_synapses, e.id),
            "id": lambda e: e.id,
            "name": lambda e: (e.name is None, e.name or "", e.id),
            "created": lambda e: (e.created, e.id),
        }
        return sorted(out, key=keys[sort])

    def ids(self) -> list[int]:
        """All entry ids, ascending."""
        return [int(r[0]) for r in self._con.execute("SELECT id FROM motifs ORDER BY id")]

    def export(self, id_or_name: int | str, path: str | os.PathLike, fmt: str | None = None,
               **options: Any) -> Path:
        """Write an entry's circuit to a file: json | graphml | npz | nir (:func:`evo_circuits.io.save`).

        The library's verbs: :meth:`get` reads a circuit, :meth:`export` writes one to a
        file, :meth:`add` stores one; importing a file is loading it then adding it
        (``lib.add(evo_circuits.load(path), provenance={"source": "import", "file": path})``).
        ``options`` go to the writer (e.g. NIR's ``flavour``).
        """
        return save(self.get(id_or_name), path, fmt, **options)


# ---------------------------------------------------------------------------- validation
def _named_match(c: Circuit) -> str | None:
    from .named import match_named

    return match_named(c)


def _pattern(contains: str | Circuit | None) -> Circuit | None:
    if contains is None or isinstance(contains, Circuit):
        return contains
    from .named import named_motifs

    motifs = named_motifs()
    if contains not in motifs:
        raise FormatError(f"contains: unknown named motif {contains!r} (known: {', '.join(sorted(motifs))})")
    return motifs[contains]


def _similarity_filter(within: str | None, near: str | None, distance: int) -> Callable[[Circuit], bool] | None:
    """A predicate for ``list(within=...)`` / ``list(near=..., distance=...)``, or None."""
    from . import similarity
    from .named import named_motifs

    known = named_motifs()
    for key, name in (("within", within), ("near", near)):
        if name is not None and name not in known:
            raise FormatError(f"{key}: unknown named motif {name!r} (known: {', '.join(sorted(known))})")
    if isinstance(distance, bool) or not isinstance(distance, int) or distance < 0:
        raise FormatError(f"distance: expected a whole number >= 0, got {distance!r}")
    if within is None and near is None:
        return None

    def keep(c: Circuit) -> bool:
        if within is not None and not similarity.within(c, within):
            return False
        return near is None or similarity.near(c, near, distance) is not None

    return keep


def _check_provenance(prov: dict | None) -> dict:
    if prov is None:
        return {}
    if not isinstance(prov, dict):
        raise FormatError(f"provenance: expected a dict, got {type(prov).__name__}")
    out = {}
    for key, value in prov.items():
        if key not in _PROVENANCE_FIELDS:
            raise FormatError(f"provenance.{key}: unknown field (allowed: {', '.join(sorted(_PROVENANCE_FIELDS))})")
        if value is None:
            continue
        kind = _PROVENANCE_FIELDS[key]
        if kind is int and hasattr(value, "__index__") and not isinstance(value, bool):
            value = int(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise FormatError(f"provenance.{key}: expected {kind.__name__}, got {value!r}")
        out[key] = value
    return out


def _check_score(task: str | None, score: float | None) -> tuple[str | None, float | None]:
    if task is None:
        if score is not None:
            raise FormatError("score: give the task it was measured on (task=...)")
        return None, None
    if not isinstance(task, str) or not task.strip():
        raise FormatError(f"task: expected a non-empty string, got {task!r}")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(float(score)):
            raise FormatError(f"score: expected a finite number, got {score!r}")
        score = float(score)
    return task, score


def _census_text(census: dict | None) -> str | None:
    if census is None:
        return None
    if not isinstance(census, dict):
        raise FormatError(f"census: expected a dict, got {type(census).__name__}")
    try:
        return json.dumps(census, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"census: not JSON-serialisable with finite numbers ({exc})") from None


def _best_by_task(scores: list[dict]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for s in scores:
        cur = out.get(s["task"])
        if s["task"] not in out or (s["score"] is not None and (cur is None or s["score"] > cur)):
            out[s["task"]] = s["score"]
    return out


def _best(values: Any) -> float | None:
    vals = [v for v in values if v is not None]
    return max(vals) if vals else None


def _seen_from_run(cur: sqlite3.Cursor, motif_id: int, prov: dict) -> bool:
    """Whether ``motif_id`` already counts this run's file (same run id, seed, config and file name)."""
    if not prov.get("run_id"):
        return False
    rows = cur.execute("SELECT file FROM provenance WHERE motif_id = ? AND run_id = ? AND seed IS ? "
                       "AND config_hash IS ?", (motif_id, prov["run_id"], prov.get("seed"),
                                                prov.get("config_hash"))).fetchall()
    name = Path(prov["file"]).name if prov.get("file") else None
    return any((Path(f).name if f else None) == name for (f,) in rows)
