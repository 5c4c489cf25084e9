"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success fsync it and ``os.replace`` it.

    The file gets the permissions a plain ``open`` would give (``0o666`` less the
    umask), not ``mkstemp``'s private ``0o600``. Temporary files that a killed writer
    left next to ``path`` (their process is gone) are removed first.

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
    directory = path.parent or Path(".")
    _remove_orphans(directory, path.name)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.tmp-{os.getpid()}-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process umask: from /proc on Linux (no race with other threads), else by
    setting and restoring it (there is no getter)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/self/status") as fh:
            return int(next(line for line in fh if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_orphans(directory: Path, name: str) -> None:
    """Delete ``.<name>.tmp-<pid>-*.tmp`` files whose writing process no longer exists."""
    for tmp in directory.glob(f".{glob.escape(name)}.tmp-*-*.tmp"):
        pid = tmp.name[len(name) + 6:].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                tmp.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


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
