"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success fsync it and ``os.replace`` it.

    Parameters
    ----------
    path : str or PathLike
        Destination. Its directory must exist.
    mode : {"w", "wb"}
        Text or binary.

    Yields
    ------
    file object
        Write to it; if the block raises, the destination is left untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def save_npz(path: str | os.PathLike, **arrays) -> None:
    """``np.savez_compressed`` to ``path`` atomically (no pickled objects allowed)."""
    import numpy as np

    for k, v in arrays.items():
        if np.asarray(v).dtype == object:
            raise TypeError(f"save_npz: array {k!r} has dtype object; refusing to pickle")
    with atomic_open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
