"""The LIF neuron's step, written once (numba ``inline="always"``).

One step ``n`` of a neuron (Brian2's default schedule, ``docs/model.md``)::

    integ = n - last >= ref_steps                      (1) refractory clamp
    v     = current_update(v, I_e, I_i, ...) if integ else v
    I_e, I_i <- de I_e, di I_i                         synaptic decay
    spike = integ and v > v_th                         (2) threshold
    I_e/I_i += deliveries due at n                     (3) (kernel-specific: event lists)
    v <- v_reset, last <- n   where spike               (4) reset

The functions work on scalars inside the kernels' neuron loops (inlined by numba, so a
loop calling them vectorises as if written out). Their plain-Python versions (the
dispatcher's ``.py_func``) evaluate the same expressions, in the same order, on NumPy
arrays or torch tensors: in float64 every implementation computes bit-identical values.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, inline="always")
def current_update(v, x_e, x_i, v_inf, em, ke, ki):
    """Membrane potential after one step, current mode (exact propagator).

    ``v_inf + (v - v_inf) em + ke I_e - ki I_i`` with the synaptic currents ``x_e``,
    ``x_i`` from before the step's decay (:mod:`.propagators` derives the coefficients).
    """
    return v_inf + (v - v_inf) * em + ke * x_e - ki * x_i


@njit(cache=True, inline="always")
def conductance_update(v, g_e, g_i, v_inf, tau_m, e_e, e_i, dt):
    """Membrane potential after one step, conductance mode (exponential Euler).

    ``tau_m dv/dt = (v_inf - v) + g_e (e_e - v) + g_i (e_i - v)`` with the conductances
    held at their start-of-step values: ``v' = -B/A + (v + B/A) exp(A dt)`` where
    ``A = -(1 + g_e + g_i)/tau_m`` and ``B = (v_inf + g_e e_e + g_i e_i)/tau_m``.
    """
    b = -(1.0 + g_e + g_i) / tau_m
    ba = (v_inf + g_e * e_e + g_i * e_i) / tau_m / b
    return -ba + (ba + v) * math.exp(b * dt)


@njit(cache=True, inline="always")
def integrates(step, last, ref_steps):
    """Whether a neuron whose last spike was at step ``last`` integrates at ``step``
    (is not clamped by refractoriness): ``step - last >= ref_steps``."""
    return step - last >= ref_steps


@njit(cache=True, inline="always")
def spikes(v, v_th, integ):
    """Threshold: a neuron that integrated this step spikes if ``v > v_th``."""
    return (v > v_th) & integ
