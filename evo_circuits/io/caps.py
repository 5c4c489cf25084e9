"""Size caps of the file readers, checked before anything is allocated.

A circuit's memory grows with its neurons, input channels and synapses (the synapse
table, about 44 bytes a synapse), so a few bytes of a hostile file (``"n_inputs": 1e9``)
could otherwise claim gigabytes. Every circuit reader takes ``max_neurons``,
``max_inputs``, ``max_synapses`` and ``max_bytes`` (``None``: no cap). The motif library and ``motifs import`` read with :data:`IMPORT_CAPS`; the
other commands read circuits with :func:`file_caps`; loading a circuit by path in Python
(``evo_circuits.load``) is uncapped unless the caller asks.

The caps of the command line (:data:`DEFAULT_CAPS`) can be raised for one command with
environment variables, e.g. ``EVO_CIRCUITS_MAX_NEURONS=20000`` or
``EVO_CIRCUITS_MAX_NPZ_BYTES=8e9`` (``docs/formats.md``, "Limits").
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import FormatError

#: Import caps (motifs are small circuits).
MAX_NEURONS = 1000
MAX_INPUTS = 1000
MAX_SYNAPSES = 2_000_000
MAX_FILE_BYTES = 32 * 2**20
#: Most numeric values read from one NIR file (all datasets together).
MAX_NIR_VALUES = 8_000_000

#: Keyword arguments of every reader for the motif library's caps.
IMPORT_CAPS: dict[str, int] = {"max_neurons": MAX_NEURONS, "max_inputs": MAX_INPUTS, "max_synapses": MAX_SYNAPSES,
                               "max_bytes": MAX_FILE_BYTES}

#: Caps of the command line, by name; ``EVO_CIRCUITS_MAX_<NAME>`` overrides one.
DEFAULT_CAPS: dict[str, int] = {
    "neurons": 100_000,          # circuits given to simulate/validate/convert/score/train/assemble
    "inputs": 100_000,
    "synapses": 2**25,           # ~1.5 GB of synapse table (44 bytes a synapse)
    "circuit_bytes": 256 * 2**20,
    "text_bytes": 256 * 2**20,   # TOML/JSON configs, specs, run-folder files, checkpoints
    "npz_bytes": 2 * 2**30,      # all arrays of one NPZ, decompressed
    "input_steps": 2**28,        # trials x steps (x individuals) of an input spikes NPZ
    "spikes": 50_000_000,        # spikes one simulate may record (~1.2 GB as three int64 arrays)
}


def cap(name: str) -> int:
    """The cap ``name`` of :data:`DEFAULT_CAPS`, or ``$EVO_CIRCUITS_MAX_<NAME>`` if set.

    Raises
    ------
    FormatError
        If the environment variable is not a number >= 0.
    """
    var = f"EVO_CIRCUITS_MAX_{name.upper()}"
    raw = os.environ.get(var, "").strip()
    if not raw:
        return DEFAULT_CAPS[name]
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < 2**62:
        raise FormatError(f"{var}: expected a number of {name.replace('_', ' ')} >= 0, got {raw!r}")
    return int(value)


def file_caps() -> dict[str, int]:
    """Keyword arguments of the circuit readers for a circuit named on the command line."""
    return {"max_neurons": cap("neurons"), "max_inputs": cap("inputs"), "max_synapses": cap("synapses"),
            "max_bytes": cap("circuit_bytes")}


def check_size(n_neurons: int, n_inputs: int, where: str = "circuit", *,
               max_neurons: int | None = MAX_NEURONS, max_inputs: int | None = MAX_INPUTS,
               n_synapses: int = 0, max_synapses: int | None = None) -> None:
    """Refuse a circuit larger than the caps before anything is allocated.

    Parameters
    ----------
    n_neurons, n_inputs : int
        The sizes the file claims.
    n_synapses : int
        The number of synapses the file claims (0 if not known yet).
    where : str
        Prefix of the error message (file or field); empty for none.
    max_neurons, max_inputs, max_synapses : int or None
        Caps; ``None`` checks nothing.

    Raises
    ------
    FormatError
    """
    prefix = f"{where}: " if where else ""
    if max_neurons is not None and n_neurons > max_neurons:
        raise FormatError(f"{prefix}{n_neurons:,} neurons is more than the cap of {max_neurons:,} "
                          "(docs/formats.md, Limits)")
    if max_inputs is not None and n_inputs > max_inputs:
        raise FormatError(f"{prefix}{n_inputs:,} input channels is more than the cap of {max_inputs:,} "
                          "(docs/formats.md, Limits)")
    if max_synapses is not None and n_synapses > max_synapses:
        raise FormatError(f"{prefix}{n_synapses:,} synapses is more than the cap of {max_synapses:,} "
                          "(docs/formats.md, Limits)")


def check_file(path: str | os.PathLike, max_bytes: int | None = None) -> int:
    """Size of a regular file, refusing a missing, special or oversized one.

    Raises
    ------
    FormatError
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise FormatError(f"{path}: no such file") from None
    if not p.is_file():
        raise FormatError(f"{path}: not a regular file")
    if max_bytes is not None and size > max_bytes:
        raise FormatError(f"{path}: {size:,} bytes is larger than the cap of {max_bytes:,} bytes")
    return size


def read_bytes(path: str | os.PathLike, max_bytes: int | None = None) -> bytes:
    """The bytes of a file checked by :func:`check_file`."""
    check_file(path, max_bytes)
    return Path(path).read_bytes()
