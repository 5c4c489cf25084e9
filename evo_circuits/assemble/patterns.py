"""Connection patterns: which (source, target) unit pairs a connection proposes.

A *unit* is a neuron, or one input port of one copy of a motif. An endpoint resolves to
one group of units per selected copy (:func:`select`); a pattern pairs the groups
(:func:`candidates`):

- ``one-to-one``: the i-th source unit to the i-th target unit; sizes must be equal;
- ``all-to-all``: every source unit to every target unit;
- ``copy-to-copy``: copy c of the source to copy c of the target, all-to-all within the
  pair; equal numbers of copies;
- ``recurrent``: ``copy-to-copy`` from a module to itself (connections inside each copy);
- ``lateral``: copy a of the source to copy b != a of the target, optionally only ring
  neighbours ``min(|a - b|, k - |a - b|) <= neighbours``.

Sampling among the candidates (``p``, ``fan_in``) is the builder's
(:mod:`evo_circuits.assemble.build`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .resolve import ResolvedModule
from .spec import INPUTS, Endpoint
from .validate import AssemblyError, index_list

__all__ = ["Selection", "candidates", "select"]


@dataclass
class Selection:
    """An endpoint resolved against the network: its units, one group per selected copy."""

    text: str
    module: ResolvedModule | None  # None: the network inputs
    port: str
    groups: list[list[int]]  # per selected copy: members (source rows, neuron indices or in-port ids)
    copies: list[int]


def select(ep: Endpoint, where: str, modules: dict[str, ResolvedModule], n_inputs: int) -> Selection:
    """The units an endpoint names (its module and port exist: the spec checked them)."""
    if ep.module == INPUTS:
        rows = index_list(ep.index, n_inputs, where, "input")
        return Selection(ep.text, None, "all", [rows], [0])
    mod = modules[ep.module]
    port = ep.port or "all"
    members = mod.port_members(port)
    if not members:
        kind = "input ports" if port == "in" else ("output ports" if port == "out" else f"{port} neurons")
        raise AssemblyError(f"{where}: module {ep.module!r} has no {kind}")
    what = {"in": "input port", "out": "output port"}.get(port, f"{port!r} neuron" if port != "all" else "neuron")
    sel = [members[i] for i in index_list(ep.index, len(members), where, what)]
    copy_ids = index_list(ep.copies, mod.copies, f"{where}.copies", "copy")
    groups = []
    for c in copy_ids:
        if port == "in" and mod.kind == "motif":
            groups.append([c * len(mod.in_ports) + i for i in sel])  # in-port ids
        else:
            base = mod.offset + c * mod.size
            groups.append([base + i for i in sel])
    return Selection(ep.text, mod, port, groups, copy_ids)


def candidates(pattern: str, src: Selection, tgt: Selection, where: str,
               neighbours: int | None) -> list[tuple[int, int, int]]:
    """(source row or neuron, target copy position, target unit) triples, in a fixed order."""
    out: list[tuple[int, int, int]] = []
    if pattern == "one-to-one":
        s = [u for g in src.groups for u in g]
        t = [(k, u) for k, g in enumerate(tgt.groups) for u in g]
        if len(s) != len(t):
            raise AssemblyError(f"{where}.pattern: one-to-one needs equal sizes, but from = {src.text!r} has "
                                f"{len(s)} and to = {tgt.text!r} has {len(t)}")
        return [(a, k, b) for a, (k, b) in zip(s, t)]
    if pattern == "all-to-all":
        s = [u for g in src.groups for u in g]
        for k, g in enumerate(tgt.groups):
            for b in g:
                out.extend((a, k, b) for a in s)
        return out
    if len(src.groups) != len(tgt.groups):
        raise AssemblyError(f"{where}.pattern: {pattern} pairs copies, but from = {src.text!r} has "
                            f"{len(src.groups)} cop{'y' if len(src.groups) == 1 else 'ies'} and to = {tgt.text!r} "
                            f"has {len(tgt.groups)}")
    k = len(src.groups)
    if pattern in ("copy-to-copy", "recurrent"):
        for c in range(k):
            for b in tgt.groups[c]:
                out.extend((a, c, b) for a in src.groups[c])
        return out
    # lateral: copy a -> copy b != a, optionally only ring neighbours
    if k < 2:
        raise AssemblyError(f"{where}.pattern: lateral connects different copies, but {src.text!r} has one copy")
    for cb in range(k):
        for ca in range(k):
            if ca == cb:
                continue
            if neighbours is not None and min(abs(ca - cb), k - abs(ca - cb)) > neighbours:
                continue
            for b in tgt.groups[cb]:
                out.extend((a, cb, b) for a in src.groups[ca])
    return out
