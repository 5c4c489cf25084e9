"""Checks shared by the spec dataclasses and the builder; every error names its key.

Each check takes ``where`` — the key being checked, as a user would find it in the spec
(``connections[2].p``) — and raises :class:`AssemblyError` with a message starting with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..circuit import MAX_DELAY_STEPS
from ..errors import EvoCircuitsError

__all__ = [
    "AssemblyError",
    "check_bool",
    "check_int",
    "check_num",
    "check_selector",
    "check_table",
    "check_unknown",
    "index_list",
    "is_int",
    "is_num",
    "join",
    "whole_steps",
]

#: Top-level keys of a spec (named in the hint of a misplaced key).
TOP_KEYS = ("name", "description", "dt_ms", "synapse_model", "seed", "inputs", "modules", "connections", "readout")


class AssemblyError(EvoCircuitsError, ValueError):
    """An assembly spec is invalid; the message starts with the offending key."""


def join(where: str, key: str) -> str:
    """``where.key``, or ``key`` at the top level (``where`` empty)."""
    return f"{where}.{key}" if where else key


def is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def is_num(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def check_unknown(obj: dict, allowed: Sequence[str], where: str) -> None:
    """Refuse keys of a table that are not in ``allowed``."""
    for k in obj:
        if k not in allowed:
            prefix = join(where, str(k))
            hint = (" — in TOML, top-level keys must come before the first [table]"
                    if where and k in TOP_KEYS and k not in allowed else "")
            raise AssemblyError(f"{prefix}: unknown key (expected one of: {', '.join(allowed)}){hint}")


def check_int(v: Any, where: str, lo: int | None = None, default: Any = None, hi: int | None = None) -> int:
    """An integer (>= ``lo``, <= ``hi``); ``None`` gives ``default`` or, without one, "missing"."""
    if v is None:
        if default is None:
            raise AssemblyError(f"{where}: missing (expected an integer)")
        return default
    if not is_int(v) or (lo is not None and v < lo):
        raise AssemblyError(f"{where}: expected an integer{f' >= {lo}' if lo is not None else ''}, got {v!r}")
    if hi is not None and v > hi:
        raise AssemblyError(f"{where}: {v:,} is more than the cap of {hi:,} (docs/formats.md, Limits)")
    return int(v)


def check_num(v: Any, where: str, *, positive: bool = False, nonneg: bool = False) -> float:
    """A finite number (> 0 with ``positive``, >= 0 with ``nonneg``) as a float."""
    if not is_num(v) or not math.isfinite(float(v)):
        raise AssemblyError(f"{where}: expected a number, got {v!r}")
    v = float(v)
    if positive and not v > 0:
        raise AssemblyError(f"{where}: expected a number > 0, got {v:g}")
    if nonneg and not v >= 0:
        raise AssemblyError(f"{where}: expected a number >= 0, got {v:g}")
    return v


def check_bool(v: Any, where: str, default: bool) -> bool:
    """``true``/``false``; ``None`` gives ``default``."""
    if v is None:
        return default
    if not isinstance(v, bool):
        raise AssemblyError(f"{where}: expected true or false, got {v!r}")
    return v


def check_table(v: Any, where: str) -> dict:
    """A table (dict)."""
    if not isinstance(v, dict):
        raise AssemblyError(f"{where}: expected a table, got {type(v).__name__}")
    return v


def whole_steps(delay_ms: float, dt: float, where: str) -> int:
    """A delay in ms as whole steps of ``dt`` (refused if it is not one, or too long)."""
    x = delay_ms / dt
    r = round(x)
    if abs(x - r) > 1e-6 * max(1.0, abs(x)):
        raise AssemblyError(f"{where}: {delay_ms:g} ms is not a whole number of steps of dt_ms = {dt:g}")
    if not 0 <= r <= MAX_DELAY_STEPS:
        raise AssemblyError(f"{where}: {delay_ms:g} ms is outside [0, {MAX_DELAY_STEPS * dt:g}] ms")
    return r


def check_selector(raw: Any, where: str) -> None:
    """Refuse an index selector of the wrong kind (its values are checked by :func:`index_list`)."""
    if raw is None or is_int(raw) or isinstance(raw, (str, list, tuple)):
        return
    raise AssemblyError(f"{where}: expected an index, a list of indices or a slice string, got {raw!r}")


def index_list(raw: Any, size: int, where: str, what: str) -> list[int]:
    """Resolve an index selector (int, list of int, "a:b[:c]", "i,j,k" or "" for all)."""
    if raw is None or (isinstance(raw, str) and raw.strip() in ("", ":")):
        return list(range(size))
    if is_int(raw):
        items: list[int] = [int(raw)]
    elif isinstance(raw, (list, tuple)):
        if not all(is_int(x) for x in raw):
            raise AssemblyError(f"{where}: expected integer {what} indices, got {raw!r}")
        items = [int(x) for x in raw]
    elif isinstance(raw, str):
        text = raw.strip()
        if ":" in text:
            parts = text.split(":")
            if len(parts) > 3:
                raise AssemblyError(f"{where}: bad slice {raw!r} (expected start:stop[:step])")
            try:
                vals = [int(p) if p.strip() else None for p in parts]
            except ValueError:
                raise AssemblyError(f"{where}: bad slice {raw!r} (expected start:stop[:step])") from None
            if len(vals) == 3 and vals[2] == 0:
                raise AssemblyError(f"{where}: slice step must not be 0")
            return list(range(size))[slice(*vals)]
        try:
            items = [int(p) for p in text.split(",")]
        except ValueError:
            raise AssemblyError(f"{where}: bad index {raw!r} (expected i, i,j,k or start:stop)") from None
    else:
        raise AssemblyError(f"{where}: expected an index, a list of indices or a slice string, got {raw!r}")
    out = []
    for i in items:
        if not -size <= i < size:
            raise AssemblyError(f"{where}: {what} index {i} out of range (there are {size})")
        out.append(i % size)
    if len(set(out)) != len(out):
        raise AssemblyError(f"{where}: {what} index listed twice in {raw!r}")
    return out
