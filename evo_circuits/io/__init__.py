"""Circuit files: one ``load`` / ``save`` pair over every format, atomic writes.

=========  ======  ======  ================================================================
format     save    load    module
=========  ======  ======  ================================================================
json       yes     yes     :mod:`.json`: the lossless native format (``docs/formats.md``)
graphml    yes     yes     :mod:`.graphml`: the networkx view; ``metadata`` is not carried
nir        yes     yes     :mod:`.nir`: NIR graph (HDF5, ``pip install nir``), two flavours
npz        yes     yes     :mod:`.npz`: the arrays of :func:`to_arrays` (dense or sparse layout)
=========  ======  ======  ================================================================

Loading never runs code from a file: the format is told from the content (the suffix
is not trusted; pickles are named and refused), JSON is parsed by :mod:`json`, GraphML
by networkx's XML reader without DTDs, NIR by walking the HDF5 tree. Every reader
refuses bad input with a one-line :class:`~evo_circuits.errors.FormatError` starting
with the path, and checks sizes against the caps (:mod:`.caps`) before allocating.
Every write goes to a temporary file that replaces the target (:mod:`.atomic`).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..circuit import Circuit
from ..errors import FormatError
from . import graphml, json, nir, npz
from .caps import (IMPORT_CAPS, MAX_FILE_BYTES, MAX_INPUTS, MAX_NEURONS, MAX_NIR_VALUES, MAX_SYNAPSES, check_file,
                   check_size)
from .json import dumps, from_dict, loads, to_dict
from .nir import NIRApproximationWarning, from_nir, to_nir
from .npz import population_arrays, to_arrays

#: Formats :func:`save` writes and :func:`load` reads.
SAVE_FORMATS = ("json", "graphml", "npz", "nir")
LOAD_FORMATS = ("json", "graphml", "nir", "npz")

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_READERS = {"json": json.load, "graphml": graphml.load, "nir": nir.load, "npz": npz.load}
_WRITERS = {"json": json.save, "graphml": graphml.save, "npz": npz.save, "nir": nir.save}


def detect_format(path: str | os.PathLike) -> str:
    """Tell a circuit file's format from its first bytes (the suffix is not trusted).

    Returns
    -------
    {"json", "graphml", "nir", "npz"}

    Raises
    ------
    FormatError
        For anything else (pickle files are named as such and never loaded).
    """
    check_file(path)
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.startswith(_HDF5_MAGIC):
        return "nir"
    if head[:1] == b"\x80" or head[:2] in (b"(d", b"(l", b"]q", b"}q", b"(c", b"cc"):
        raise FormatError(f"{path}: looks like a Python pickle; pickle files are never loaded "
                          "(use circuit JSON, GraphML or NIR)")
    if head.startswith(b"PK\x03\x04"):
        return "npz"  # read by the hardened NPZ reader: arrays only, never pickles
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):  # a top-level array is JSON too; the reader names the problem
        return "json"
    if text.startswith(b"<"):
        return "graphml"
    raise FormatError(f"{path}: unrecognised file (expected circuit JSON, GraphML, NIR/HDF5 or NPZ)")


def format_from_suffix(path: str | os.PathLike) -> str:
    """``json``/``graphml``/``npz``/``nir`` from a file name's suffix."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in SAVE_FORMATS:
        return suffix
    raise FormatError(f"{path}: cannot tell the format from the suffix; use one of "
                      f"{', '.join('.' + f for f in SAVE_FORMATS)} or give the format")


def load(path: str | os.PathLike, format: str | None = None, *, max_neurons: int | None = None,
         max_inputs: int | None = None, max_synapses: int | None = None, max_bytes: int | None = None) -> Circuit:
    """Read a circuit from circuit JSON, GraphML, NIR or NPZ, refusing hostile or oversized files.

    Parameters
    ----------
    path : str or PathLike
    format : {"json", "graphml", "nir", "npz"}, optional
        Default: told from the file's content; if given, the content must agree.
    max_neurons, max_inputs, max_synapses, max_bytes : int, optional
        Size caps checked before anything is allocated (default: none; the motif library
        reads with ``**IMPORT_CAPS``).

    Returns
    -------
    Circuit

    Raises
    ------
    FormatError
        With a one-line message naming the file and the problem.
    """
    if format is not None and format not in LOAD_FORMATS:
        raise FormatError(f"load format: expected one of {', '.join(LOAD_FORMATS)}, got {format!r}")
    detected = detect_format(path)
    if format is not None and format != detected:
        raise FormatError(f"{path}: the content looks like {detected}, not {format}")
    return _READERS[detected](path, max_neurons=max_neurons, max_inputs=max_inputs, max_synapses=max_synapses,
                              max_bytes=max_bytes)


def save(circuit: Circuit, path: str | os.PathLike, format: str | None = None, **options) -> Path:
    """Write ``circuit`` as json | graphml | npz | nir, atomically.

    Parameters
    ----------
    circuit : Circuit
    path : str or PathLike
    format : str, optional
        Default: from the suffix of ``path``.
    **options
        NIR only: ``flavour`` (``"cuba"``, the default, or ``"exact"``) and the
        ``allow_...`` keywords of :data:`.nir.NIR_ALLOWANCES` (see :func:`to_nir`).

    Returns
    -------
    Path
    """
    fmt = format or format_from_suffix(path)
    if fmt not in _WRITERS:
        raise FormatError(f"save format: expected one of {', '.join(SAVE_FORMATS)}, got {fmt!r}")
    unknown = sorted(set(options) - {"flavour", *nir.NIR_ALLOWANCES})
    if unknown:
        raise TypeError(f"save: unknown option {unknown[0]!r}")
    if fmt != "nir" and (options.get("flavour") is not None or any(options.get(k) for k in nir.NIR_ALLOWANCES)):
        raise FormatError(f"export: a NIR flavour and the allow_... options apply to the nir format only, not {fmt!r}")
    options = {k: v for k, v in options.items() if v is not None}
    if fmt == "nir":
        nir.save(circuit, path, **options)
    else:
        _WRITERS[fmt](circuit, path)
    return Path(path)


__all__ = [
    "IMPORT_CAPS", "LOAD_FORMATS", "MAX_FILE_BYTES", "MAX_INPUTS", "MAX_NEURONS", "MAX_NIR_VALUES", "MAX_SYNAPSES",
    "NIRApproximationWarning", "SAVE_FORMATS", "check_size", "detect_format", "dumps", "format_from_suffix",
    "from_dict", "from_nir", "load", "loads", "population_arrays", "save",
    "to_arrays", "to_dict", "to_nir",
]
