"""Hardened readers of the non-circuit files: text, JSON, TOML and NPZ.

Every file a command reads besides circuits (fitness specs, run configs, assembly
specs, run folders, checkpoints, spike and structure NPZ) goes through one of these, so
one place turns the ways a file can be wrong into a one-line
:class:`~evo_circuits.errors.FormatError` naming the file: missing, not a regular file,
larger than its cap, not UTF-8, not valid JSON/TOML, nested too deeply, a number with
too many digits, an NPZ that is truncated, not a ZIP, holds pickled objects, or whose
array headers or ZIP entries claim more memory than the cap (checked before anything
is allocated, so a 1 KB file claiming 8 TB or a ZIP bomb is refused, not attempted).
The caps are in :mod:`.caps` and can be raised with environment variables.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EvoCircuitsError, FormatError
from .caps import cap, check_file


def read_text(path: str | os.PathLike, what: str = "file", *, max_bytes: int | None = None) -> str:
    """The UTF-8 text of a regular file no larger than ``max_bytes`` (default: the text cap).

    Parameters
    ----------
    path : str or PathLike
    what : str
        What the file should be ("run config"), for the messages.
    max_bytes : int, optional

    Raises
    ------
    FormatError
    """
    size_cap = cap("text_bytes") if max_bytes is None else max_bytes
    if Path(path).is_dir():
        raise FormatError(f"{path}: is a directory, expected a {what}")
    try:
        check_file(path, size_cap)
    except FormatError as exc:
        if "no such file" in str(exc):
            raise FormatError(f"{path}: no such {what}") from None
        raise
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text at byte {exc.start} (expected a {what})") from None


def parse_json(text: str, where: str) -> Any:
    """``json.loads`` that refuses NaN/Infinity and turns every parse failure into one line.

    Parameters
    ----------
    text : str
    where : str
        Prefix of the messages (a path, ``"checkpoint.json"``).
    """
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise FormatError(f"{where}: JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers with too many digits
        raise FormatError(f"{where}: not valid JSON ({str(exc).splitlines()[0]})") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(path: str | os.PathLike, what: str = "JSON file", *, max_bytes: int | None = None) -> Any:
    """Decoded JSON of a file read by :func:`read_text`."""
    return parse_json(read_text(path, what, max_bytes=max_bytes), str(path))


def read_toml(path: str | os.PathLike, what: str = "TOML file", *, max_bytes: int | None = None,
              error: type[EvoCircuitsError] = FormatError) -> dict:
    """Decoded TOML of a file read by :func:`read_text`.

    TOML allows ``inf`` and ``nan``; the schema checks of each file kind refuse them
    where a number must be finite.

    Parameters
    ----------
    error : type
        The :class:`~evo_circuits.errors.EvoCircuitsError` subclass raised (the file
        kind's own, e.g. ``ConfigError``).
    """
    try:
        text = read_text(path, what, max_bytes=max_bytes)
    except FormatError as exc:
        raise error(str(exc)) from None
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise error(f"{path}: TOML nested too deeply") from None
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise error(f"{path}: not valid TOML ({str(exc).splitlines()[0]})") from None


def finite(value: Any) -> bool:
    """Whether ``value`` is a real number (not bool) that is finite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def load_npz(path: str | os.PathLike, what: str = "NPZ file", *, max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """Every array of an NPZ file, refusing hostile archives before allocating.

    Parameters
    ----------
    path : str or PathLike
    what : str
        What the file should be, for the messages.
    max_bytes : int, optional
        Most bytes all arrays may take together once decompressed (default: the NPZ cap,
        ``EVO_CIRCUITS_MAX_NPZ_BYTES``).

    Returns
    -------
    dict of ndarray
        Keyed by array name (``.npy`` suffix removed).

    Raises
    ------
    FormatError
        Missing or special file, not a ZIP, truncated or corrupt data, an entry that is
        not a ``.npy`` array, object arrays (pickles are never loaded), or arrays
        claiming more than ``max_bytes``.
    """
    budget = cap("npz_bytes") if max_bytes is None else max_bytes
    check_file(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            claimed = sum(i.file_size for i in infos)
            if claimed > budget:
                raise FormatError(f"{path}: its arrays take {claimed:,} bytes once decompressed, more than the cap "
                                  f"of {budget:,} (raise EVO_CIRCUITS_MAX_NPZ_BYTES to allow it)")
            out = {}
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise FormatError(f"{path}: entry {info.filename!r} is not a NumPy array (expected a {what})")
                with zf.open(info) as fh:
                    out[info.filename[:-4]] = _read_npy(fh, info, path)
            return out
    except FormatError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError, RuntimeError) as exc:
        raise FormatError(f"{path}: not a valid {what} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'truncated'})") from None


def _read_npy(fh, info: zipfile.ZipInfo, path) -> np.ndarray:
    """One ``.npy`` entry whose header is checked against the entry's real size first."""
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ValueError(f"unknown .npy version {version}")
    reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, fortran, dtype = reader(fh, max_header_size=10_000)
    if dtype.hasobject:
        raise FormatError(f"{path}: array {info.filename[:-4]!r} holds Python objects; pickles are never loaded")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > info.file_size:  # the header claims more data than the entry holds
        raise FormatError(f"{path}: array {info.filename[:-4]!r} claims shape {shape} ({nbytes:,} bytes) "
                          f"but its entry holds {info.file_size:,} bytes")
    count = math.prod(shape)
    data = fh.read(nbytes)
    if len(data) != nbytes:
        raise EOFError(f"array {info.filename[:-4]!r} is truncated")
    arr = np.frombuffer(data, dtype=dtype, count=count) if count else np.empty(0, dtype)
    arr = arr.reshape(shape, order="F" if fortran else "C")
    return arr.copy()  # writable, owning its memory (np.load gives the same)
