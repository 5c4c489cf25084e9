"""EICircuit: a current-based Circuit as a trainable ``torch.nn.Module``.

The module runs the simulator's model and schedule (``docs/model.md``) on batches of
input spike trains. One step ``t`` of every neuron, with the coefficients of
:func:`evo_circuits.dynamics.propagators` and the step functions of
:mod:`evo_circuits.dynamics.lif` (their plain-Python ``py_func`` on tensors)::

    integ = t - last >= ref_steps                                    integrates()
    p     = current_update(v, I_e, I_i, ...) where integ, else v     exact propagator
    I_e, I_i <- de I_e, di I_i                                       decay
    s     = spike(p, v_th, integ)                                    threshold (surrogate gradient)
    I_e  += deliveries due at t (input channels, E neurons)          delay 0 now, d > 0 via a ring
    I_i  += deliveries due at t (I neurons)
    v     = p (1 - s) + v_reset s;  last = t where s                 reset (detached by default)

Gradients are those of the numba trainer (:mod:`evo_circuits.train.kernels`): the
refractory clamp ``integ`` is a constant, ``ds/dp`` is the fast sigmoid of
:mod:`evo_circuits.train.surrogate`, the reset is detached unless ``reset_grad``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from ..circuit import Circuit
from ..dynamics import current_update, integrates, propagators
from ..train.network import TrainableNetwork, TrainError
from ..train.readout import Readout, check_li_outputs, li_outputs
from ..train.surrogate import DEFAULT_SLOPE
from .layers import spike

#: "Long ago": the step of the last spike before the first step (as the kernels use).
_NEVER = -(1 << 40)


class EIRecord(NamedTuple):
    """What :meth:`EICircuit.forward` records with ``record=True``: per step and neuron,
    all in the layout of the input (time-first ``(T, B, n)`` or batch-first ``(B, T, n)``).

    Attributes
    ----------
    spikes : Tensor
        Spikes of every neuron (0/1, with the surrogate gradient).
    membrane : Tensor
        ``p``: the membrane potential after each step's update, before threshold and reset
        (what the threshold and the membrane readout see; the simulator's ``record_v`` is
        ``v_reset`` after a spike, else ``p``, one step later).
    integrating : Tensor of bool
        Where the neuron integrated (was not held by the refractory clamp).
    current_e, current_i : Tensor
        ``I_e``, ``I_i`` at the end of each step (after decay and deliveries).
    """

    spikes: torch.Tensor
    membrane: torch.Tensor
    integrating: torch.Tensor
    current_e: torch.Tensor
    current_i: torch.Tensor


class _Route(NamedTuple):
    """Synapses of one delay ``d`` feeding one synaptic variable (``inh``: I_i, else I_e)."""

    delay: int
    inh: bool
    rows: tuple[int, ...]  # source rows with such synapses, ascending (the simulator's order)
    has_inputs: bool
    has_neurons: bool


class EICircuit(nn.Module):
    """A current-based :class:`~evo_circuits.Circuit` as a layer: input spikes in, output spikes out.

    Parameters
    ----------
    circuit : Circuit or TrainableNetwork
        Current-based, release probability 1, no short-term depression (delays are fine),
        as :meth:`TrainableNetwork.from_circuit` accepts; a TrainableNetwork brings its
        own weights and masks (the remaining structure arguments are then ignored).
    mask, trainable : ndarray of bool, optional
        Which synapses exist and which train (shape of ``circuit.weights``), e.g. from
        :func:`evo_circuits.assemble.assemble` (or use :meth:`from_assembly`).
    delays, train_inputs, train_bias, grow
        As in :meth:`TrainableNetwork.from_circuit` (``delays``: of the mask's entries).
    slope : float
        Slope of the fast-sigmoid surrogate (1/mV), as the numba trainer's ``slope``.
    reset_grad : bool
        Let the gradient flow through the reset (default: detached, as the numba trainer).
    exact : bool
        Deliver spikes one source at a time in the simulator's order (input channels, then
        neurons, ascending; then the delayed deliveries due now): in float64 the spikes and
        potentials are :func:`evo_circuits.simulate`'s bit for bit. Default False: one
        matrix product per delay and synaptic variable (same model, sums in another order,
        far fewer operations).
    batch_first : bool
        Inputs and outputs are ``(B, T, C)`` instead of ``(T, B, C)``.
    dtype : torch.dtype, optional
        Float type of parameters and buffers (default ``torch.get_default_dtype()``). Build
        with ``torch.float64`` for bit-identity: ``.double()`` after a float32 build keeps
        the float32-rounded constants.
    device : torch.device or str, optional
    readout : Readout, optional
        Default readout of :meth:`logits`. ``Readout("li", ...)`` makes the outputs
        non-spiking leaky integrators (as the numba trainer does, see
        :func:`evo_circuits.train.readout.li_outputs`).

    Attributes
    ----------
    weight : Parameter, shape (n_inputs + n, n)
        Weight magnitudes (mV), rows: sources (input channels, then neurons), columns:
        postsynaptic neurons. Use :meth:`magnitudes` for the values the forward pass uses.
    bias : Parameter or buffer, shape (n,)
        ``i_bias`` of every neuron (mV); a Parameter with ``train_bias``.
    sign : buffer, shape (n_inputs + n,)
        +1 for excitatory sources (input channels included), -1 for inhibitory ones.
    mask, trainable, structure : bool buffers, shape of ``weight``
        Synapses that exist, that train, and that may be non-zero (``mask | trainable``).
    delay : int64 buffer, shape of ``weight``
        Synaptic delays in steps.

    Notes
    -----
    **Dale's law by construction.** A weight is a magnitude; its sign is the source row's
    fixed type (``sign``): an excitatory source's spikes add to ``I_e``, an inhibitory
    one's to ``I_i``, which the membrane update subtracts. Magnitudes are kept ``>= 0`` by
    *projection*, as the numba trainer does: :meth:`project_` (or :func:`project_` on a
    whole model) after every optimiser step clips negative magnitudes to 0 and restores
    frozen entries; the forward pass also reads ``weight.clamp(min=0)``, so Dale's law
    holds even if a step was not projected. A reparametrisation (``softplus``, ``exp``,
    ``abs``) would multiply every gradient by its derivative and take another optimisation
    path; with projection the gradient is the numba trainer's exactly (clamp's gradient
    is 1 at 0, so a synapse projected to 0 keeps receiving gradient and may grow back).
    Absent synapses (outside ``structure``) never carry weight; frozen entries
    (``~trainable``) get no gradient.
    """

    def __init__(self, circuit: Circuit | TrainableNetwork, mask: np.ndarray | None = None,
                 trainable: np.ndarray | None = None, *, delays: np.ndarray | None = None,
                 train_inputs: bool = True, train_bias: bool = False,
                 grow: bool = False, slope: float = DEFAULT_SLOPE, reset_grad: bool = False, exact: bool = False,
                 batch_first: bool = False, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None, readout: Readout | None = None):
        super().__init__()
        self.readout = readout or Readout()
        if self.readout.kind == "li" and isinstance(circuit, Circuit):
            # Non-spiking leaky-integrator outputs, as the numba trainer makes them.
            circuit = li_outputs(circuit, self.readout.tau_ms)
        if isinstance(circuit, TrainableNetwork):
            check_li_outputs(circuit.circuit, self.readout)
            net = circuit.copy()
        else:
            net = TrainableNetwork.from_circuit(circuit, mask, trainable, delays=delays, train_inputs=train_inputs,
                                                train_bias=train_bias, grow=grow)
        if not (np.isfinite(slope) and slope > 0):
            raise TrainError(f"slope: expected a positive number (1/mV), got {slope}")
        self._net = net  # structure, validation and to_circuit(); weights live in self.weight
        self.slope, self.reset_grad, self.exact = float(slope), bool(reset_grad), bool(exact)
        self.batch_first = bool(batch_first)
        c = net.circuit
        self.n_inputs, self.n_neurons, self.dt_ms = c.n_inputs, c.n_neurons, c.dt_ms
        fk = dict(dtype=dtype or torch.get_default_dtype(), device=device)
        ik = dict(dtype=torch.int64, device=device)
        bk = dict(dtype=torch.bool, device=device)

        self.weight = nn.Parameter(torch.tensor(net.weights, **fk))
        bias = torch.as_tensor(net.bias, **fk).clone()
        if net.train_bias:
            self.bias = nn.Parameter(bias)
        else:
            self.register_buffer("bias", bias)
        self.register_buffer("sign", torch.as_tensor(c.source_signs.astype(np.float64), **fk))
        self.register_buffer("mask", torch.tensor(net.mask, **bk))
        self.register_buffer("trainable", torch.tensor(net.trainable, **bk))
        self.register_buffer("structure", torch.tensor(net.structure, **bk))
        self.register_buffer("delay", torch.tensor(net.delay, **ik))
        # Values of the entries the optimiser must not change (0 outside the structure).
        self.register_buffer("frozen", torch.as_tensor(np.where(net.trainable, 0.0, net.weights), **fk))
        self.register_buffer("outputs", torch.as_tensor(net.outputs, **ik))
        prop = propagators(c.params, c.dt_ms)
        for name in ("em", "de", "di", "ke", "ki", "v_th", "v_reset", "v_init"):
            self.register_buffer(name, torch.as_tensor(getattr(prop, name), **fk))
        # v_inf = v_rest + i_bias is formed in forward() (the bias may train), as propagators() does.
        self.register_buffer("v_rest", torch.as_tensor(c.param("v_rest"), **fk))
        self.register_buffer("ref_steps", torch.as_tensor(prop.ref_steps, **ik))
        self._n_ring = net.n_ring
        self._routes = _routes(net)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_assembly(cls, assembly: Any, **kwargs: Any) -> "EICircuit":
        """The network of :func:`evo_circuits.assemble.assemble` with its mask, trainable
        entries and the delays of growth entries (``kwargs`` as in the constructor)."""
        return cls(assembly.circuit, assembly.mask, assembly.trainable, delays=assembly.delays, **kwargs)

    # ------------------------------------------------------------------ parameters
    def magnitudes(self) -> torch.Tensor:
        """Weight magnitudes the forward pass uses, ``>= 0``: trained entries from
        :attr:`weight` (clamped at 0), frozen ones fixed, absent ones 0."""
        return torch.where(self.trainable, self.weight.clamp(min=0.0), self.frozen)

    def signed_weight(self) -> torch.Tensor:
        """Weights with Dale's signs applied (``sign[:, None] * magnitudes()``)."""
        return self.sign[:, None] * self.magnitudes()

    @torch.no_grad()
    def project_(self) -> "EICircuit":
        """Restore the constraints after an optimiser step (in place): magnitudes ``>= 0``,
        frozen entries at their values, absent entries 0 — the numba trainer's projection."""
        self.weight.copy_(self.magnitudes())
        return self

    def to_network(self) -> TrainableNetwork:
        """The current state as a :class:`TrainableNetwork` (float64, for the numba trainer)."""
        net = self._net.copy()
        net.weights = self.magnitudes().detach().to("cpu", torch.float64).numpy()
        net.bias[...] = self.bias.detach().to("cpu", torch.float64).numpy()
        return net

    def to_circuit(self, name: str | None = None, metadata: dict | None = None) -> Circuit:
        """The trained network as a :class:`~evo_circuits.Circuit` (magnitudes, biases);
        synapses at weight 0 are absent, as :meth:`TrainableNetwork.to_circuit` says."""
        return self.to_network().to_circuit(name, metadata)

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor, record: bool = False):
        """Run the circuit on input spikes, from rest.

        Parameters
        ----------
        x : Tensor, (T, B, C) or (B, T, C) with ``batch_first``
            Input spikes (0/1; other values scale the input weights, and gradients flow
            into ``x``), ``C <= n_inputs`` channels.
        record : bool
            Also return an :class:`EIRecord` of every neuron's state.

        Returns
        -------
        Tensor, (T, B, K) or (B, T, K)
            Spikes of the output neurons (``circuit.outputs``, in port order).
        EIRecord
            Only with ``record=True``.
        """
        x = self._time_first(x)
        n_steps, b, n_ch = x.shape
        n_in, n, n_ring = self.n_inputs, self.n_neurons, self._n_ring
        w = self.magnitudes()
        weights = [w * self._route_mask(r) for r in self._routes]
        # Fast path: the input channels' contributions of all steps, one product per route.
        pre = [x @ wr[:n_ch] if (r.has_inputs and not self.exact) else None for r, wr in zip(self._routes, weights)]
        v_inf = self.v_rest + self.bias
        v = self.v_init.expand(b, n)
        x_e = torch.zeros(b, n, dtype=v.dtype, device=v.device)
        x_i = torch.zeros_like(x_e)
        last = torch.full((b, n), _NEVER, dtype=torch.int64, device=v.device)
        ring: list[list[torch.Tensor | None]] = [[None] * n_ring, [None] * n_ring]  # [I_e, I_i] per arrival slot
        out: dict[str, list] = {k: [] for k in EIRecord._fields}
        for t in range(n_steps):
            # (1) update, (2) threshold: the dynamics package's step on tensors.
            integ = integrates.py_func(t, last, self.ref_steps)
            p = torch.where(integ, current_update.py_func(v, x_e, x_i, v_inf, self.em, self.ke, self.ki), v)
            x_e, x_i = x_e * self.de, x_i * self.di
            s = spike(p, self.v_th, integ, self.slope)
            # (3) deliveries of step t: delay 0 now, later ones into the ring slot of their arrival.
            for r, wr, pr in zip(self._routes, weights, pre):
                if r.delay == 0:
                    if r.inh:
                        x_i = self._deliver(x_i, r, wr, pr, x, t, s)
                    else:
                        x_e = self._deliver(x_e, r, wr, pr, x, t, s)
                else:
                    slot = (t + r.delay) % n_ring
                    ring[r.inh][slot] = self._deliver(ring[r.inh][slot], r, wr, pr, x, t, s)
            slot = t % n_ring
            if ring[0][slot] is not None:
                x_e, ring[0][slot] = x_e + ring[0][slot], None
            if ring[1][slot] is not None:
                x_i, ring[1][slot] = x_i + ring[1][slot], None
            # (4) reset (s is 0 or 1: p (1 - s) + v_reset s is exactly p or v_reset).
            sr = s if self.reset_grad else s.detach()
            v = p * (1.0 - sr) + self.v_reset * sr
            last = torch.where(s.detach() > 0, t, last)
            out["spikes"].append(s)
            if record:
                for k, val in (("membrane", p), ("integrating", integ), ("current_e", x_e), ("current_i", x_i)):
                    out[k].append(val)
        dim = 1 if self.batch_first else 0
        stack = lambda xs: torch.stack(xs, dim)  # noqa: E731
        spikes = stack(out["spikes"])
        outputs = spikes[..., self.outputs]
        if not record:
            return outputs
        return outputs, EIRecord(spikes, *(stack(out[k]) for k in EIRecord._fields[1:]))

    def _deliver(self, acc: torch.Tensor | None, r: _Route, w: torch.Tensor, pre: torch.Tensor | None,
                 x: torch.Tensor, t: int, s: torch.Tensor) -> torch.Tensor:
        """``acc`` (None: nothing yet) plus the deliveries of step ``t`` through route ``r``
        with weights ``w``; ``pre``: the inputs' part precomputed for every step (fast path)."""
        n_in = self.n_inputs
        if self.exact:  # one source at a time, ascending: the simulator's order of additions
            for row in r.rows:
                if row < n_in:
                    if row >= x.shape[2]:
                        continue
                    a = x[t, :, row]
                else:
                    a = s[:, row - n_in]
                term = a[:, None] * w[row]
                acc = term if acc is None else acc + term
            return acc
        parts = ([pre[t]] if pre is not None else []) + ([s @ w[n_in:]] if r.has_neurons else [])
        total = parts[0] if len(parts) == 1 else parts[0] + parts[1]
        return total if acc is None else acc + total

    def _route_mask(self, r: _Route) -> torch.Tensor:
        rows = (self.sign < 0) if r.inh else (self.sign > 0)
        return self.structure & (self.delay == r.delay) & rows[:, None]

    def _time_first(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x)
        if x.ndim != 3:
            layout = "(batch, steps, channels)" if self.batch_first else "(steps, batch, channels)"
            raise TrainError(f"input: expected a tensor {layout}, got shape {tuple(x.shape)}")
        if self.batch_first:
            x = x.transpose(0, 1)
        if x.shape[0] == 0:
            raise TrainError("input: expected at least one time step, got 0")
        if x.shape[2] > self.n_inputs:
            raise TrainError(f"input: {x.shape[2]} channels, but the circuit has {self.n_inputs} inputs")
        return x.to(device=self.em.device, dtype=self.em.dtype)

    # ------------------------------------------------------------------ readout
    def logits(self, record: EIRecord, readout: Readout | None = None) -> torch.Tensor:
        """Class logits ``(B, n_classes)`` of the output neurons, as the numba trainer's
        :class:`~evo_circuits.train.Readout` defines them (count, or mean/max of ``p - v_rest``
        over the window, times ``gain``; the optional none class). Default: the module's
        ``readout``."""
        readout = readout or self.readout
        dim = 1 if self.batch_first else 0
        n_steps = record.spikes.shape[dim]
        lo, hi = readout.span(n_steps)
        idx = torch.arange(lo, hi, device=self.outputs.device)
        if readout.kind == "count":
            act = record.spikes[..., self.outputs].index_select(dim, idx).sum(dim)
        else:
            p = record.membrane[..., self.outputs].index_select(dim, idx) - self.v_rest[self.outputs]
            act = p.amax(dim) if readout.reduce == "max" else p.sum(dim) / max(hi - lo, 1)
        z = readout.gain * act
        if readout.none_class:
            z = torch.cat([z, z.new_full((z.shape[0], 1), readout.gain * readout.theta)], dim=1)
        return z

    def extra_repr(self) -> str:
        c = self._net.circuit
        return (f"'{c.name}', n_inputs={self.n_inputs}, n_neurons={self.n_neurons}, outputs={list(c.outputs)}, "
                f"synapses={int(self.structure.sum())}, trainable={int(self.trainable.sum())}, dt_ms={self.dt_ms}, "
                f"exact={self.exact}, batch_first={self.batch_first}")


def project_(model: nn.Module) -> nn.Module:
    """:meth:`EICircuit.project_` on every EICircuit inside ``model`` (after each optimiser step)."""
    for m in model.modules():
        if isinstance(m, EICircuit):
            m.project_()
    return model


def _routes(net: TrainableNetwork) -> list[_Route]:
    """The (delay, synaptic variable) groups of a network's synapses, with their source rows."""
    structure, n_in = net.structure, net.n_inputs
    routes = []
    for d in np.unique(net.delay[structure]):
        for inh in (False, True):
            sel = structure & (net.delay == d) & (net.inh_row == inh)[:, None]
            rows = np.flatnonzero(sel.any(axis=1))
            if len(rows):
                routes.append(_Route(int(d), inh, tuple(int(r) for r in rows), bool(rows[0] < n_in),
                                     bool(rows[-1] >= n_in)))
    return routes
