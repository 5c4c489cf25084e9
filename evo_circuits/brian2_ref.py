"""Brian2 reference simulator for evo-circuits (standalone script).

Runs a population of circuits on shared input spikes in Brian2 2.9, with the
neuron model of DESIGN.md "Neuron model (fixed semantics)", so tests and
benchmarks can check the numba simulator spike for spike. It imports only the
standard library, numpy and brian2 (never ``evo_circuits`` or numba) because it
runs in its own virtualenv (Brian2 needs numpy<2)::

    bash mk/brian2-venv.sh
    .venv-brian2/bin/python evo_circuits/brian2_ref.py \\
        --circuits C.npz --inputs IN.npz --out OUT.npz \\
        [--mode runtime|cpp_standalone] [--timing T.json] [--build-dir DIR]

It reads numbers only: ``C.npz`` is the fully resolved ``evo-circuits/arrays-population``
form (``docs/formats.md``; each circuit in the dense or the sparse layout) that :mod:`evo_circuits.brian2_bridge` writes with
:func:`evo_circuits.io.npz.save_population` — every neuron parameter explicit, delays
and refractory periods in whole steps, signed weights — so no default or rounding rule
of the circuit format is repeated here. ``IN.npz`` is the input-spike NPZ.

All (circuit, trial) copies are merged into one network: neurons live in one
NeuronGroup as consecutive blocks (circuit-major, then trial), per-neuron
parameters are group variables, synapses are block-diagonal Synapses objects
(one per source group x target group x sign x depression; homogeneous delays
become a scalar delay), and the input spikes come from one SpikeGeneratorGroup
with one source per (trial, channel). Default Brian2 schedule and clock.

Brian2 details this relies on (checked against Brian2 2.9's generated code):

- ``exact`` accepts per-neuron ``(constant)`` time constants. When a group's
  time constants are all equal they are declared ``(constant, shared)`` so
  the exp() calls are hoisted out of the neuron loop (same formula).
- The ``exact`` solution divides by ``tau_e - tau_m`` and ``tau_i - tau_m``:
  neurons with ``tau_m == tau_e`` or ``tau_m == tau_i`` (current mode) get a
  NeuronGroup of their own (see ``_neuron_equations``).
- Brian2's refractory test is ``int(t_ref/dt + 1e-3)`` steps; DESIGN.md says
  ``round(t_ref/dt)``, so t_ref is given to Brian2 as the file's whole
  ``refractory_steps`` times dt.
- ``(unless refractory)`` leaves v untouched (exactly v_reset) while
  refractory; the synaptic variables keep decaying.

Exit status: 0 on success, 2 with a one-line message on stderr for bad input.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

POPULATION_FORMAT = "evo-circuits/arrays-population"
POPULATION_VERSION = 1
MODES = ("runtime", "cpp_standalone")


class RefInputError(ValueError):
    """Bad user input; reported as one line on stderr with exit status 2."""


# --------------------------------------------------------------------------
# Reading the resolved circuits (pure numpy)
# --------------------------------------------------------------------------


@dataclass
class SynapseTable:
    """One circuit's synapses of one kind, as parallel arrays.

    Attributes
    ----------
    src : numpy.ndarray
        int64, presynaptic neuron index (recurrent) or input channel (input).
    post : numpy.ndarray
        int64, postsynaptic neuron index.
    weight : numpy.ndarray
        float64 magnitudes >= 0 (mV, or conductance relative to leak).
    delay : numpy.ndarray
        int64 delays in steps.
    std_u : numpy.ndarray
        float64 Tsodyks-Markram U; NaN where the synapse has no depression.
    std_tau_rec : numpy.ndarray
        float64 recovery time constant in ms (NaN without depression).
    """

    src: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    std_u: np.ndarray
    std_tau_rec: np.ndarray

    @classmethod
    def from_rows(cls, arrays: dict[str, np.ndarray], rows: slice) -> "SynapseTable":
        """The synapses of some source rows of a circuit's dense matrices, row-major."""
        weight = arrays["weights"][rows]
        src, post = np.nonzero(weight)
        u = arrays["std_u"][rows][src, post]
        depressed = u > 0
        return cls(src.astype(np.int64), post.astype(np.int64), np.abs(weight[src, post]),
                   arrays["delays"][rows][src, post].astype(np.int64),
                   np.where(depressed, u, np.nan),
                   np.where(depressed, arrays["std_tau_rec"][rows][src, post], np.nan))

    @classmethod
    def from_sparse(cls, arrays: dict[str, np.ndarray], rows: slice) -> "SynapseTable":
        """The synapses of some source rows of a circuit's sparse (``syn_*``) arrays.

        The table is sorted by (source row, post), so the order is that of
        :meth:`from_rows` on the same circuit's dense matrices.
        """
        pre = arrays["syn_pre"].astype(np.int64)
        lo = rows.start or 0
        m = (pre >= lo) & (pre < (np.inf if rows.stop is None else rows.stop))
        u = arrays["syn_std_u"][m]
        depressed = u > 0
        return cls(pre[m] - lo, arrays["syn_post"][m].astype(np.int64), np.abs(arrays["syn_weight"][m]),
                   arrays["syn_delay"][m].astype(np.int64), np.where(depressed, u, np.nan),
                   np.where(depressed, arrays["syn_std_tau_rec"][m], np.nan))

    @property
    def has_std(self) -> np.ndarray:
        """Boolean mask of synapses with short-term depression."""
        return ~np.isnan(self.std_u)


@dataclass
class Circuit:
    """One circuit of the population file.

    Attributes
    ----------
    n_inputs : int
        Number of input channels.
    is_exc : numpy.ndarray
        bool per neuron, True for E.
    params : dict of str to numpy.ndarray
        float64 per-neuron parameters (ms, mV) by the file's ``param_names``, plus
        ``refractory_steps``.
    synapses, input_synapses : SynapseTable
        Recurrent and input synapses.
    """

    n_inputs: int
    is_exc: np.ndarray
    params: dict[str, np.ndarray]
    synapses: SynapseTable
    input_synapses: SynapseTable

    @property
    def n_neurons(self) -> int:
        """Number of neurons."""
        return int(self.is_exc.size)


def load_circuits(path: str) -> tuple[list[Circuit], float, str]:
    """Read an ``evo-circuits/arrays-population`` NPZ.

    Parameters
    ----------
    path : str

    Returns
    -------
    circuits : list of Circuit
    dt_ms : float
        Shared by all circuits.
    synapse_model : str
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise RefInputError(f"--circuits: cannot read {path!r} as NPZ: {exc}") from exc
    fmt, version = str(data.get("format", "")), data.get("version")
    if fmt != POPULATION_FORMAT or version is None or int(version) != POPULATION_VERSION:
        raise RefInputError(f"--circuits: expected format {POPULATION_FORMAT!r} version {POPULATION_VERSION}, "
                            f"got {fmt!r} version {version}")
    circuits = []
    for k in range(int(data["n_circuits"])):
        arrays = {name[len(f"{k}/"):]: value for name, value in data.items() if name.startswith(f"{k}/")}
        n_in = int(arrays["n_inputs"])
        params = {str(name): arrays["params"][:, j] for j, name in enumerate(arrays["param_names"])}
        params["refractory_steps"] = arrays["refractory_steps"].astype(np.float64)
        table = SynapseTable.from_sparse if "syn_pre" in arrays else SynapseTable.from_rows
        circuits.append(Circuit(n_in, arrays["types"] > 0, params,
                                table(arrays, slice(n_in, None)), table(arrays, slice(0, n_in))))
    return circuits, float(data["dt_ms"]), str(data["synapse_model"])


@dataclass
class Inputs:
    """Input spikes shared by every circuit (the input NPZ)."""

    trial: np.ndarray
    channel: np.ndarray
    step: np.ndarray
    n_trials: int
    n_steps: int


def load_inputs(path: str) -> Inputs:
    """Read and validate the input-spike NPZ.

    Parameters
    ----------
    path : str
        NPZ with int arrays ``spike_trial``, ``spike_channel``, ``spike_step``
        and int scalars ``n_trials``, ``n_steps``.

    Returns
    -------
    Inputs
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise RefInputError(f"--inputs: cannot read {path!r} as NPZ: {exc}") from exc
    for key in ("spike_trial", "spike_channel", "spike_step", "n_trials", "n_steps"):
        if key not in data:
            raise RefInputError(f"--inputs: missing array '{key}'")
        if data[key].dtype.kind not in "iu":
            raise RefInputError(f"--inputs: '{key}' must be integer, got dtype {data[key].dtype}")
    scal = {}
    for key, lo in (("n_trials", 1), ("n_steps", 0)):
        if data[key].ndim != 0:
            raise RefInputError(f"--inputs: '{key}' must be a scalar, got shape {data[key].shape}")
        scal[key] = int(data[key])
        if scal[key] < lo:
            raise RefInputError(f"--inputs: '{key}' must be >= {lo}, got {scal[key]}")
    arrs = {k: data[k] for k in ("spike_trial", "spike_channel", "spike_step")}
    shapes = {a.shape for a in arrs.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise RefInputError(
            f"--inputs: spike_* must be 1-D arrays of equal length, got shapes "
            f"{[a.shape for a in arrs.values()]}")
    for key, hi in (("spike_trial", scal["n_trials"]), ("spike_step", scal["n_steps"]),
                    ("spike_channel", 2**31)):
        a = arrs[key]
        if a.size and (a.min() < 0 or a.max() >= hi):
            raise RefInputError(f"--inputs: '{key}' values must lie in [0, {hi}), "
                                f"got range [{a.min()}, {a.max()}]")
    return Inputs(arrs["spike_trial"].astype(np.int64), arrs["spike_channel"].astype(np.int64),
                  arrs["spike_step"].astype(np.int64), scal["n_trials"], scal["n_steps"])


# --------------------------------------------------------------------------
# Merged network description (pure numpy; no Brian2 yet)
# --------------------------------------------------------------------------


@dataclass
class GroupSpec:
    """One NeuronGroup: neurons sharing an equation variant.

    Attributes
    ----------
    same_e, same_i : bool
        Whether tau_e == tau_m (resp. tau_i == tau_m) for all its neurons.
    shared_tau : bool
        Whether all its neurons have the same (tau_m, tau_e, tau_i).
    params : dict of str to numpy.ndarray
        Per-neuron parameters (ms, mV).
    individual, trial, neuron : numpy.ndarray
        int64 identity of each member: circuit index, trial, index in circuit.
    """

    same_e: bool
    same_i: bool
    shared_tau: bool
    params: dict[str, np.ndarray]
    individual: np.ndarray
    trial: np.ndarray
    neuron: np.ndarray

    @property
    def size(self) -> int:
        """Number of neurons."""
        return int(self.individual.size)


@dataclass
class PathwaySpec:
    """One Synapses object: same source, target group, sign and STD-ness.

    Attributes
    ----------
    source : int
        Group index, or -1 for the input SpikeGeneratorGroup.
    target : int
        Target group index.
    exc : bool
        Whether deliveries go to the excitatory variable.
    std : bool
        Whether the synapses have Tsodyks-Markram depression.
    i, j : numpy.ndarray
        int64 source/target indices within their Brian2 groups.
    weight, delay, std_u, std_tau_rec : numpy.ndarray
        Per-synapse values (delay in steps, tau_rec in ms).
    """

    source: int
    target: int
    exc: bool
    std: bool
    i: np.ndarray
    j: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    std_u: np.ndarray
    std_tau_rec: np.ndarray


@dataclass
class MergedNetwork:
    """Everything needed to build the Brian2 network."""

    dt_ms: float
    model: str
    n_individuals: int
    n_trials: int
    n_steps: int
    groups: list[GroupSpec]
    pathways: list[PathwaySpec]
    n_sources: int
    input_index: np.ndarray
    input_step: np.ndarray

    @property
    def n_neurons(self) -> int:
        """Total neuron count over all groups."""
        return sum(g.size for g in self.groups)

    @property
    def n_synapses(self) -> int:
        """Total synapse count over all pathways."""
        return sum(int(p.i.size) for p in self.pathways)


def merge(circuits: list[Circuit], inputs: Inputs, dt_ms: float, model: str) -> MergedNetwork:
    """Lay out all (circuit, trial) copies as one block-diagonal network.

    Parameters
    ----------
    circuits : list of Circuit
    inputs : Inputs
    dt_ms : float
    model : {'current', 'conductance'}

    Returns
    -------
    MergedNetwork
    """
    n_tr = inputs.n_trials
    n_ch = max(c.n_inputs for c in circuits)
    # Global neuron order: circuit-major, then trial, then neuron.
    sizes = np.array([c.n_neurons * n_tr for c in circuits], dtype=np.int64)
    bases = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    ind = np.concatenate([np.full(s, k, dtype=np.int64) for k, s in enumerate(sizes)])
    tri = np.concatenate([np.repeat(np.arange(n_tr), c.n_neurons) for c in circuits])
    nrn = np.concatenate([np.tile(np.arange(c.n_neurons), n_tr) for c in circuits])
    exc = np.concatenate([np.tile(c.is_exc, n_tr) for c in circuits])
    par = {k: np.concatenate([np.tile(c.params[k], n_tr) for c in circuits])
           for k in circuits[0].params}
    # Equation variant: bit 0 tau_e == tau_m, bit 1 tau_i == tau_m (only the
    # exact solver of current mode is singular there).
    if model == "current":
        variant = ((par["tau_e"] == par["tau_m"]).astype(np.int64)
                   + 2 * (par["tau_i"] == par["tau_m"]))
    else:
        variant = np.zeros(ind.size, dtype=np.int64)
    group_ids = np.unique(variant)
    group_of = np.searchsorted(group_ids, variant)
    local = np.empty(ind.size, dtype=np.int64)
    groups = []
    for g, v in enumerate(group_ids):
        m = group_of == g
        local[m] = np.arange(int(m.sum()))
        gpar = {k: a[m] for k, a in par.items()}
        shared = all(np.all(gpar[k] == gpar[k][0]) for k in ("tau_m", "tau_e", "tau_i"))
        groups.append(GroupSpec(bool(v & 1), bool(v & 2), shared, gpar, ind[m], tri[m], nrn[m]))

    def tile(c: Circuit, tab: SynapseTable, src_off: np.ndarray, ci: int) -> dict[str, np.ndarray]:
        # Replicate one circuit's synapses into each of its trial blocks.
        blk = bases[ci] + np.arange(n_tr, dtype=np.int64) * c.n_neurons
        return {
            "src": (src_off[:, None] + tab.src[None, :]).ravel(),
            "post": (blk[:, None] + tab.post[None, :]).ravel(),
            "weight": np.tile(tab.weight, n_tr), "delay": np.tile(tab.delay, n_tr),
            "std_u": np.tile(tab.std_u, n_tr), "std_tau_rec": np.tile(tab.std_tau_rec, n_tr),
        }

    def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    trial_src = np.arange(n_tr, dtype=np.int64) * n_ch
    rec = concat([tile(c, c.synapses, bases[k] + np.arange(n_tr) * c.n_neurons, k)
                  for k, c in enumerate(circuits)])
    inp = concat([tile(c, c.input_synapses, trial_src, k) for k, c in enumerate(circuits)])

    pathways = []
    for is_input, tab in ((False, rec), (True, inp)):
        if not tab["src"].size:
            continue
        src_grp = np.full(tab["src"].size, -1) if is_input else group_of[tab["src"]]
        src_loc = tab["src"] if is_input else local[tab["src"]]
        sign = np.ones(tab["src"].size, dtype=bool) if is_input else exc[tab["src"]]
        std = ~np.isnan(tab["std_u"])
        tgt_grp = group_of[tab["post"]]
        # One integer key per (source, target, sign, std) combination.
        n_grp = len(groups)
        key = (((src_grp + 1) * n_grp + tgt_grp) * 2 + sign) * 2 + std
        order = np.argsort(key, kind="stable")  # stable: keep synapse order
        uniq, starts = np.unique(key[order], return_index=True)
        for k, lo, hi in zip(uniq.tolist(), starts, list(starts[1:]) + [key.size]):
            m = order[lo:hi]
            rest, is_std = divmod(k, 2)
            rest, is_exc = divmod(rest, 2)
            src_g, tgt_g = divmod(rest, n_grp)
            pathways.append(PathwaySpec(
                src_g - 1, tgt_g, bool(is_exc), bool(is_std), src_loc[m],
                local[tab["post"][m]], tab["weight"][m], tab["delay"][m],
                tab["std_u"][m], tab["std_tau_rec"][m]))

    # Input spikes: source index trial*n_ch + channel; channels beyond every
    # circuit's n_inputs drive nothing and are dropped.
    keep = inputs.channel < n_ch
    idx = inputs.trial[keep] * n_ch + inputs.channel[keep]
    stp = inputs.step[keep]
    order = np.lexsort((idx, stp))
    idx, stp = idx[order], stp[order]
    dup = (np.diff(idx) == 0) & (np.diff(stp) == 0)
    if dup.any():
        k = int(np.argmax(dup))
        raise RefInputError(
            f"--inputs: duplicate input spike (trial {idx[k] // n_ch}, channel "
            f"{idx[k] % n_ch}, step {stp[k]}); Brian2 allows one spike per source and step")
    return MergedNetwork(dt_ms, model, len(circuits), n_tr, inputs.n_steps, groups,
                         pathways, n_tr * n_ch, idx, stp)


# --------------------------------------------------------------------------
# Brian2
# --------------------------------------------------------------------------


def _neuron_equations(model: str, same_e: bool, same_i: bool, shared_tau: bool
                      ) -> tuple[str, str]:
    """Brian2 equations and integration method for one group variant.

    Voltages, currents and conductances are dimensionless numbers (mV or
    relative conductance) so that no unit scaling enters the arithmetic; times
    are Brian2 times.

    Parameters
    ----------
    model : {'current', 'conductance'}
    same_e, same_i : bool
        Use ``tau_m`` as the decay constant of I_e (resp. I_i). Brian2's
        symbolic ``exact`` solution divides by ``tau_e - tau_m`` (resp.
        ``tau_i - tau_m``), so equal values give 0/0. Writing the same symbol
        makes sympy derive the degenerate (t*exp(-t/tau)) solution instead;
        such groups drop ``(unless refractory)`` (whose ``not_refractory``
        factor would make the eigenvalues symbolically distinct again) and
        clamp v with a separate code object (see ``run_brian2``).
    shared_tau : bool
        Declare the time constants ``(constant, shared)``: one scalar for the
        whole group. Brian2 then hoists the propagator's exp() calls out of
        the per-neuron loop (about 8x faster state updates); the formula is
        the same, only evaluated once.

    Returns
    -------
    equations : str
    method : str
    """
    tau_flags = "constant, shared" if shared_tau else "constant"
    params = f"""
        tau_m : second ({tau_flags})
        tau_e : second ({tau_flags})
        tau_i : second ({tau_flags})
        t_ref : second (constant)
        v_rest : 1 (constant)
        v_th : 1 (constant)
        v_reset : 1 (constant)
        i_bias : 1 (constant)
    """
    if model == "conductance":
        return ("""
        dv/dt = ((v_rest - v) + g_e*(e_e - v) + g_i*(e_i - v) + i_bias)/tau_m : 1 (unless refractory)
        dg_e/dt = -g_e/tau_e : 1
        dg_i/dt = -g_i/tau_i : 1
        e_e : 1 (constant)
        e_i : 1 (constant)
        """ + params, "exponential_euler")
    flag = "" if same_e or same_i else " (unless refractory)"
    return (f"""
        dv/dt = ((v_rest - v) + I_e - I_i + i_bias)/tau_m : 1{flag}
        dI_e/dt = -I_e/{'tau_m' if same_e else 'tau_e'} : 1
        dI_i/dt = -I_i/{'tau_m' if same_i else 'tau_i'} : 1
        """ + params, "exact")


def _synapse_code(model: str, exc: bool, std: bool) -> tuple[str, str]:
    """Synapses model and on_pre code for one pathway kind."""
    var = ("I_e" if exc else "I_i") if model == "current" else ("g_e" if exc else "g_i")
    if not std:
        return "w : 1 (constant)", f"{var}_post += w"
    # x recovers exactly since this synapse's previous delivery (x starts at 1,
    # so t_last's initial value is irrelevant), then a fraction U is used.
    return ("""
        w : 1 (constant)
        U : 1 (constant)
        tau_rec : second (constant)
        x : 1
        t_last : second
        """, f"""
        x = 1 - (1 - x)*exp(-(t - t_last)/tau_rec)
        {var}_post += w*U*x
        x -= U*x
        t_last = t
        """)


def run_brian2(net_spec: MergedNetwork, mode: str, build_dir: str | None
               ) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict[str, float]]:
    """Build the merged network in Brian2, run it and collect spikes.

    Parameters
    ----------
    net_spec : MergedNetwork
    mode : {'runtime', 'cpp_standalone'}
        'runtime' runs Cython-generated code from Python; 'cpp_standalone'
        generates, compiles and runs a C++ project.
    build_dir : str or None
        cpp_standalone project directory (kept; reused builds compile
        faster). None uses a temporary directory, deleted afterwards.

    Returns
    -------
    spikes : list of (numpy.ndarray, numpy.ndarray)
        Per group, local neuron indices and integer steps of all spikes.
    timing : dict
        Seconds: ``build_s`` (constructing Brian2 objects), ``run_s``
        (runtime: ``Network.run`` wall time, code generation included;
        cpp_standalone: executing the compiled binary) and
        ``codegen_compile_s`` (cpp_standalone: code generation + compilation;
        runtime: the part of ``run_s`` not spent executing code objects,
        i.e. mostly code generation). Runtime also gives ``exec_s``, the
        time spent executing code objects (Brian2's profiler).
    """
    import brian2 as b2

    b2.prefs.logging.file_log = False
    tmp_dir = None
    if mode == "cpp_standalone":
        if build_dir is None:
            build_dir = tmp_dir = tempfile.mkdtemp(prefix="brian2_ref_")
        b2.set_device("cpp_standalone", build_on_run=False, directory=build_dir)
    else:
        b2.prefs.codegen.target = "cython"
    try:
        t0 = time.perf_counter()
        dt = net_spec.dt_ms * b2.ms
        b2.defaultclock.dt = dt
        objs: list[Any] = []
        groups, monitors = [], []
        for g in net_spec.groups:
            eqs, method = _neuron_equations(net_spec.model, g.same_e, g.same_i, g.shared_tau)
            G = b2.NeuronGroup(g.size, eqs, threshold="v > v_th", reset="v = v_reset",
                               refractory="t_ref", method=method)
            for k in ("v_rest", "v_th", "v_reset", "i_bias") + (
                    ("e_e", "e_i") if net_spec.model == "conductance" else ()):
                setattr(G, k, g.params[k])
            for k in ("tau_m", "tau_e", "tau_i"):
                value = g.params[k][0] if g.shared_tau else g.params[k]
                setattr(G, k, value * b2.ms)
            # Whole steps (the file's round(t_ref/dt)): Brian2 counts
            # int(t_ref/dt + 1e-3), which a whole number of steps passes unchanged.
            G.t_ref = g.params["refractory_steps"] * dt
            G.v = g.params["v_rest"]
            if g.same_e or g.same_i:
                # Refractory clamp replacing (unless refractory): right after
                # the state update, as Brian2 would; 1*v + 0*v_reset == v and
                # 0*v + 1*v_reset == v_reset exactly.
                G.run_regularly("v = int(not_refractory)*v + (1 - int(not_refractory))*v_reset",
                                when="before_thresholds")
            mon = b2.SpikeMonitor(G, record=True)
            groups.append(G)
            monitors.append(mon)
            objs += [G, mon]
        gen = None
        if any(p.source < 0 for p in net_spec.pathways):
            gen = b2.SpikeGeneratorGroup(net_spec.n_sources, net_spec.input_index,
                                         net_spec.input_step * dt)
            objs.append(gen)
        for p in net_spec.pathways:
            model_eqs, on_pre = _synapse_code(net_spec.model, p.exc, p.std)
            src = gen if p.source < 0 else groups[p.source]
            uniform = bool(np.all(p.delay == p.delay[0]))
            # A scalar delay lets Brian2 use its faster homogeneous queue.
            kw = {"delay": int(p.delay[0]) * dt} if uniform else {}
            S = b2.Synapses(src, groups[p.target], model_eqs, on_pre=on_pre, **kw)
            S.connect(i=p.i, j=p.j)
            S.w = p.weight
            if not uniform:
                S.delay = p.delay * dt
            if p.std:
                S.U = p.std_u
                S.tau_rec = p.std_tau_rec * b2.ms
                S.x = 1.0
            objs.append(S)
        net = b2.Network(*objs)
        duration = net_spec.n_steps * dt
        t1 = time.perf_counter()
        timing = {"build_s": t1 - t0}
        if mode == "cpp_standalone":
            net.run(duration, namespace={})  # records the run; generates code
            b2.device.build(directory=build_dir, compile=True, run=False, with_output=False)
            t2 = time.perf_counter()
            b2.device.run(directory=build_dir, with_output=False)
            t3 = time.perf_counter()
            timing.update(codegen_compile_s=t2 - t1, run_s=t3 - t2)
        else:
            # Profiling separates code-object execution from the code
            # generation/compilation that runtime mode does inside run().
            net.run(duration, namespace={}, profile=True)
            t3 = time.perf_counter()
            exec_s = float(sum(float(d) for _, d in net.profiling_info))
            timing.update(codegen_compile_s=max(t3 - t1 - exec_s, 0.0), run_s=t3 - t1,
                          exec_s=exec_s)
            assert int(b2.defaultclock.timestep[:]) == net_spec.n_steps
        dt_s = float(dt)
        spikes = [(np.asarray(m.i[:], dtype=np.int64),
                   np.rint(np.asarray(m.t_[:]) / dt_s).astype(np.int64)) for m in monitors]
        return spikes, timing
    finally:
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)


def collect(net_spec: MergedNetwork, spikes: list[tuple[np.ndarray, np.ndarray]]
            ) -> dict[str, np.ndarray]:
    """Map per-group spikes to (individual, trial, neuron, step), sorted.

    Parameters
    ----------
    net_spec : MergedNetwork
    spikes : list of (numpy.ndarray, numpy.ndarray)
        Output of ``run_brian2``.

    Returns
    -------
    dict
        The output NPZ's arrays.
    """
    ind, tri, nrn, stp = [], [], [], []
    for g, (idx, step) in zip(net_spec.groups, spikes):
        ind.append(g.individual[idx])
        tri.append(g.trial[idx])
        nrn.append(g.neuron[idx])
        stp.append(step)
    ind, tri, nrn, stp = (np.concatenate(a).astype(np.int64) for a in (ind, tri, nrn, stp))
    order = np.lexsort((nrn, stp, tri, ind))
    return {
        "individual": ind[order], "trial": tri[order], "neuron": nrn[order],
        "step": stp[order], "n_individuals": np.int64(net_spec.n_individuals),
        "n_trials": np.int64(net_spec.n_trials), "n_steps": np.int64(net_spec.n_steps),
    }


def _fail(msg: str) -> NoReturn:
    """Print a one-line error and exit with status 2."""
    print(f"brian2_ref: error: {' '.join(msg.split())}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    t_start = time.perf_counter()
    ap = argparse.ArgumentParser(
        prog="brian2_ref", description="Brian2 reference simulator for evo-circuits.")
    ap.add_argument("--circuits", required=True, help="circuits NPZ (evo-circuits/arrays-population)")
    ap.add_argument("--inputs", required=True, help="input spike NPZ")
    ap.add_argument("--out", required=True, help="output spike NPZ")
    ap.add_argument("--mode", choices=MODES, default="runtime")
    ap.add_argument("--timing", help="write timings as JSON here")
    ap.add_argument("--build-dir", help="cpp_standalone project directory (kept)")
    args = ap.parse_args(argv)
    try:
        circuits, dt_ms, model = load_circuits(args.circuits)
        inputs = load_inputs(args.inputs)
        net_spec = merge(circuits, inputs, dt_ms, model)
    except RefInputError as exc:
        _fail(str(exc))
    spikes, timing = run_brian2(net_spec, args.mode, args.build_dir)
    result = collect(net_spec, spikes)
    try:
        with open(args.out, "wb") as f:  # a file object stops numpy appending ".npz"
            np.savez(f, **result)
    except OSError as exc:
        _fail(f"--out: cannot write {args.out!r}: {exc.strerror}")
    if args.timing:
        import brian2

        timing.update(
            mode=args.mode, total_s=time.perf_counter() - t_start,
            n_neurons=net_spec.n_neurons, n_synapses=net_spec.n_synapses,
            n_spikes=int(result["step"].size), brian2_version=brian2.__version__)
        with open(args.timing, "w", encoding="utf-8") as f:
            json.dump(timing, f, indent=1)


if __name__ == "__main__":
    main()
