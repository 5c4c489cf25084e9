"""Assemble motifs into one larger circuit from a declarative spec.

A spec — an :class:`AssemblySpec` of small validated dataclasses
(:mod:`evo_circuits.assemble.spec`), or its dict/TOML form — places **modules** —
``copies`` copies of a named motif, a library motif (by id or name, looked up in the
``library=`` given to :func:`assemble`), a motif file, a :class:`~evo_circuits.circuit.Circuit`
object, or a plain population of LIF neurons — and wires them with **connection
patterns** between **endpoints** (ports of modules, or the network's input channels).
:func:`assemble` returns an :class:`Assembly`: one :class:`~evo_circuits.circuit.Circuit`
plus its structure (which synapses exist or may grow, which are trainable, which module
and copy every neuron belongs to). The format is documented in ``docs/assemble.md``;
a minimal spec::

    name = "digits-wta"
    dt_ms = 1.0
    inputs = 64

    [modules.wta]
    motif = "winner-take-all"      # a named motif, a library id/name, or file = "x.json"
    copies = 24
    weight_scale = 0.02            # scales the motif's own weights

    [modules.readout]
    neurons = 10                   # a population (type "E" unless told)

    [[connections]]
    from = "inputs"
    to = "wta.in"                  # the motif's input ports (fan out like its input channel)
    pattern = "all-to-all"
    p = 0.25
    weight = {dist = "uniform", low = 0.5, high = 1.5}

    [[connections]]
    from = "wta.out"
    to = "readout"
    pattern = "all-to-all"
    weight = 0.5

    readout = "readout"            # optional: this is the default when a module is called so

Structure semantics
-------------------
- Every synapse that exists has weight > 0 (the Circuit convention); nothing is created
  with weight 0. The structure is a table (``Assembly.entries``: memory grows with the
  synapses, so networks of 10^5 neurons assemble without (n_inputs + n) x n matrices);
  the dense ``mask``, ``trainable``, ``delays``, ``p_release`` of small networks are
  built from it. ``mask`` is ``weights > 0`` **or** an allowed-growth entry: a connection
  with ``grow = true`` marks every candidate synapse of its pattern that the sampling
  (``p``/``fan_in``) did not create; a trainer may grow those and nothing else.
- ``trainable`` is a subset of ``mask``: synapses of a module with ``trainable = false``
  (the motif's internal synapses) and of a connection with ``trainable = false`` are
  frozen; growth entries are trainable.
- Dale's law holds by construction: a synapse's sign is its presynaptic neuron's type
  (inputs are excitatory), so a pattern from an I port is inhibitory.
- Two synapses landing on the same (pre, post) entry — e.g. a source connected to two
  input ports of one motif that both target the motif's interneuron — merge: weights add;
  their delays must agree.
- Weights of pattern synapses are drawn from the connection's own random stream
  (``SeedSequence([seed, connection index])``), so adding a connection at the end of a
  spec does not change the earlier ones.
"""

from .build import assemble
from .resolve import psp_peak_per_mv, top_motifs
from .spec import (
    DISTRIBUTIONS,
    INPUTS,
    PATTERNS,
    PORTS,
    AssemblySpec,
    Connection,
    Constant,
    Endpoint,
    LogNormal,
    Module,
    Normal,
    Uniform,
    WeightDistribution,
    load_spec,
)
from .structure import Assembly, load_structure, module_membership
from .validate import AssemblyError

__all__ = [
    "DISTRIBUTIONS",
    "INPUTS",
    "PATTERNS",
    "PORTS",
    "Assembly",
    "AssemblyError",
    "AssemblySpec",
    "Connection",
    "Constant",
    "Endpoint",
    "LogNormal",
    "Module",
    "Normal",
    "Uniform",
    "WeightDistribution",
    "assemble",
    "load_spec",
    "load_structure",
    "module_membership",
    "psp_peak_per_mv",
    "top_motifs",
]
