"""Neuron and synapse model: parameter names, per-type defaults and units.

Units throughout evo-circuits: time in ms, voltage in mV, weights in mV (the jump of a
synaptic variable; in conductance mode a conductance relative to the leak).

Current-based mode (default), per neuron::

    tau_m dv/dt   = (v_rest - v) + I_e - I_i + i_bias
    tau_e dI_e/dt = -I_e
    tau_i dI_i/dt = -I_i

Conductance mode (shunting inhibition)::

    tau_m dv/dt = (v_rest - v) + g_e (e_e - v) + g_i (e_i - v) + i_bias

A neuron spikes when ``v > v_th`` and it is not refractory; it is then reset to
``v_reset`` and held there for ``t_ref``. The exact step-by-step schedule is documented
in ``docs/model.md`` and implemented in :mod:`evo_circuits.simulate.kernel`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

#: Neuron type codes stored in ``Circuit.types``.
EXCITATORY = 1
INHIBITORY = -1
TYPE_CODES: Mapping[str, int] = MappingProxyType({"E": EXCITATORY, "I": INHIBITORY})
TYPE_NAMES: Mapping[int, str] = MappingProxyType({EXCITATORY: "E", INHIBITORY: "I"})

#: Per-neuron parameters, in the column order of ``Circuit.params``.
NEURON_PARAMS: tuple[str, ...] = (
    "tau_m", "tau_e", "tau_i", "v_rest", "v_th", "v_reset", "t_ref", "i_bias", "e_e", "e_i",
)
PARAM_INDEX: Mapping[str, int] = MappingProxyType({k: i for i, k in enumerate(NEURON_PARAMS)})

#: Parameters that must be strictly positive (time constants) or non-negative (t_ref).
POSITIVE_PARAMS = ("tau_m", "tau_e", "tau_i")
NON_NEGATIVE_PARAMS = ("t_ref",)

SYNAPSE_MODELS = ("current", "conductance")

DEFAULT_DT_MS = 0.1

#: Ranges every circuit is checked against (ms, mV), wide enough for any sensible model
#: and narrow enough that steps, propagators and refractory counts stay finite integers
#: and floats: a file cannot turn refractoriness off with ``t_ref = 1e308`` or make a
#: task allocate ``duration / dt`` steps with ``dt_ms = 1e-300``.
DT_RANGE_MS = (1e-3, 100.0)
#: Time constants (tau_m, tau_e, tau_i, tau_rec) in ms.
TAU_RANGE_MS = (1e-3, 1e6)
#: Longest refractory period in ms.
MAX_T_REF_MS = 1e6
#: Largest magnitude of a voltage, bias or weight (mV, or relative conductance); large
#: enough for a "never fires" threshold stand-in (1e9 mV), far from overflow.
MAX_ABS_MV = 1e12


@dataclass(frozen=True)
class NeuronParams:
    """Parameters of one leaky integrate-and-fire neuron (ms, mV).

    Attributes
    ----------
    tau_m, tau_e, tau_i : float
        Membrane, excitatory and inhibitory synaptic time constants (ms), all > 0.
    v_rest, v_th, v_reset : float
        Resting, threshold and reset potentials (mV).
    t_ref : float
        Absolute refractory period (ms), >= 0; rounded to whole steps of ``dt``.
    i_bias : float
        Constant bias drive (mV): the shift of the resting potential it causes.
    e_e, e_i : float
        Reversal potentials (mV), used in conductance mode only.
    """

    tau_m: float = 20.0
    tau_e: float = 5.0
    tau_i: float = 10.0
    v_rest: float = -65.0
    v_th: float = -50.0
    v_reset: float = -65.0
    t_ref: float = 2.0
    i_bias: float = 0.0
    e_e: float = 0.0
    e_i: float = -80.0

    def __post_init__(self) -> None:
        for name in NEURON_PARAMS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value != value:
                raise ValueError(f"neuron parameter '{name}' must be a finite number, got {value!r}")
        for name in POSITIVE_PARAMS:
            if getattr(self, name) <= 0:
                raise ValueError(f"neuron parameter '{name}' must be > 0 ms, got {getattr(self, name)}")
        if self.t_ref < 0:
            raise ValueError(f"neuron parameter 't_ref' must be >= 0 ms, got {self.t_ref}")

    def as_tuple(self) -> tuple[float, ...]:
        """Values in the order of :data:`NEURON_PARAMS`."""
        return tuple(float(getattr(self, k)) for k in NEURON_PARAMS)


#: Defaults per neuron type. Both types share the same defaults today; keeping them per
#: type lets a fitness spec or a motif change one without touching the other.
TYPE_DEFAULTS: Mapping[str, NeuronParams] = MappingProxyType(
    {"E": NeuronParams(), "I": NeuronParams()}
)


@dataclass(frozen=True)
class STDParams:
    """Tsodyks–Markram short-term depression of one synapse.

    Each delivery transmits ``w * U * x`` and then sets ``x <- x - U * x``; between
    deliveries ``x`` recovers exactly: ``x <- 1 - (1 - x) exp(-Δt / tau_rec)``.

    Attributes
    ----------
    U : float
        Utilisation fraction in (0, 1].
    tau_rec : float
        Recovery time constant (ms), > 0.
    """

    U: float = 0.5
    tau_rec: float = 200.0

    def __post_init__(self) -> None:
        if not (0.0 < self.U <= 1.0):
            raise ValueError(f"std 'U' must be in (0, 1], got {self.U}")
        if not (self.tau_rec > 0.0):
            raise ValueError(f"std 'tau_rec' must be > 0 ms, got {self.tau_rec}")
