"""Exact-integration coefficients of one time step of the current-based LIF neuron.

Between spikes the current-based model is linear::

    tau_m dv/dt   = (v_inf - v) + I_e - I_i        v_inf = v_rest + i_bias
    tau_e dI_e/dt = -I_e          tau_i dI_i/dt = -I_i

so one step of length ``dt`` is an exact linear map (NEST ``iaf_psc_exp``, Brian2
``method='exact'``)::

    v'   = v_inf + (v - v_inf) em + ke I_e - ki I_i
    I_e' = de I_e                 I_i' = di I_i

    em = exp(-dt/tau_m)   de = exp(-dt/tau_e)   di = exp(-dt/tau_i)
    ke = tau_e/(tau_e - tau_m) (de - em)         (limit dt/tau_m em when tau_e = tau_m)
    ki = tau_i/(tau_i - tau_m) (di - em)

The update of ``v`` uses the synaptic currents from *before* the step's decay, as Brian2's
generated code does. Conductance mode integrates ``v`` by exponential Euler instead
(:func:`evo_circuits.dynamics.lif.conductance_update`), with the same ``de``/``di``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..model import PARAM_INDEX


class Propagators(NamedTuple):
    """Per-neuron constants of one step (arrays of shape ``(n,)``, float64 unless cast).

    Attributes
    ----------
    em, de, di : ndarray
        Decay factors of ``v``, ``I_e``, ``I_i`` over ``dt``.
    ke, ki : ndarray
        Contribution of ``I_e``/``I_i`` at the start of a step to ``v`` at its end.
    v_inf : ndarray
        Fixed point of ``v`` without input, ``v_rest + i_bias`` (mV).
    v_th, v_reset, v_init : ndarray
        Threshold, reset and initial (``v_rest``) potentials (mV).
    ref_steps : ndarray of int64
        Refractory period in steps, ``round(t_ref / dt)``.
    tau_m, e_e, e_i : ndarray
        Membrane time constant (ms) and reversal potentials (mV), for conductance mode.
    """

    em: np.ndarray
    de: np.ndarray
    di: np.ndarray
    ke: np.ndarray
    ki: np.ndarray
    v_inf: np.ndarray
    v_th: np.ndarray
    v_reset: np.ndarray
    v_init: np.ndarray
    ref_steps: np.ndarray
    tau_m: np.ndarray
    e_e: np.ndarray
    e_i: np.ndarray

    def astype(self, dtype) -> "Propagators":
        """The float fields as contiguous arrays of ``dtype`` (``ref_steps`` stays int64)."""
        return Propagators(*(np.ascontiguousarray(a, np.int64 if k == "ref_steps" else dtype)
                             for k, a in zip(self._fields, self)))


def psc_coefficient(tau_s: np.ndarray, tau_m: np.ndarray, dt: float) -> np.ndarray:
    """Exact contribution of a synaptic current at the start of a step to ``v`` at its end.

    ``tau_s/(tau_s - tau_m) * (exp(-dt/tau_s) - exp(-dt/tau_m))``, with the limit
    ``dt/tau_m * exp(-dt/tau_m)`` when the time constants are equal (to 1e-9 relative).
    """
    tau_s, tau_m = np.asarray(tau_s, np.float64), np.asarray(tau_m, np.float64)
    em, es = np.exp(-dt / tau_m), np.exp(-dt / tau_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.asarray(tau_s / (tau_s - tau_m) * (es - em))
    close = np.isclose(tau_s, tau_m, rtol=1e-9, atol=0.0)
    k[close] = (dt / tau_m * em)[close]
    return k


def propagators(params: np.ndarray, dt: float) -> Propagators:
    """Coefficients of one step for neurons with parameters ``params``.

    Parameters
    ----------
    params : ndarray, shape (n, len(NEURON_PARAMS))
        Per-neuron parameters in the column order of :data:`evo_circuits.model.NEURON_PARAMS`
        (``Circuit.params``; rows of several circuits may be stacked).
    dt : float
        Time step (ms).

    Returns
    -------
    Propagators
    """
    params = np.asarray(params, np.float64)
    col = {name: params[:, k] for name, k in PARAM_INDEX.items()}
    tau_m, tau_e, tau_i = col["tau_m"], col["tau_e"], col["tau_i"]
    return Propagators(
        em=np.exp(-dt / tau_m), de=np.exp(-dt / tau_e), di=np.exp(-dt / tau_i),
        ke=psc_coefficient(tau_e, tau_m, dt), ki=psc_coefficient(tau_i, tau_m, dt),
        v_inf=col["v_rest"] + col["i_bias"], v_th=col["v_th"].copy(), v_reset=col["v_reset"].copy(),
        v_init=col["v_rest"].copy(), ref_steps=np.rint(col["t_ref"] / dt).astype(np.int64),
        tau_m=tau_m.copy(), e_e=col["e_e"].copy(), e_i=col["e_i"].copy(),
    )
