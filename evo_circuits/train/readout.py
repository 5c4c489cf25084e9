"""Readout of output neurons into class scores, and the cross-entropy loss.

Output neuron ``k`` (``circuit.outputs[k]``) gives an activity ``r_k`` over the readout
window (steps ``window[0] <= t < window[1]``, default the whole trial):

* ``"count"``: its spike count (in the backward pass each spike's derivative is the
  surrogate);
* ``"membrane"``: the mean over the window of ``p - v_rest``, ``p`` the membrane
  potential after each step's update (before the threshold and reset);
* ``"li"``: the outputs are *non-spiking leaky integrators* (no threshold, no reset; their
  membrane time constant optionally set to ``tau_ms``), read out by the ``mean`` or
  ``max`` over the window of ``p - v_rest``. :func:`li_outputs` makes the circuit's
  output neurons so (threshold :data:`LI_THRESHOLD_MV`, never reached), so the trained
  circuit simulates exactly as it was trained.

Logits are ``gain * r_k``. With ``none_class`` an extra last class means "no output is
active": its logit is the constant ``gain * theta``. That makes tasks whose correct answer
may be silence (coincidence, XOR, gating, memory) classification problems read out the way
the task suite scores them: with ``theta = 0.5`` and count readout, a single output
answers "class 0" when it fires at least once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..model import PARAM_INDEX
from .network import TrainError

READOUTS = ("count", "membrane", "li")
REDUCTIONS = ("mean", "max")

#: Threshold of a leaky-integrator output (mV): far beyond any membrane potential, so the
#: neuron never fires (a JSON-representable stand-in for "no threshold").
LI_THRESHOLD_MV = 1e9


@dataclass(frozen=True)
class Readout:
    """How output activity becomes logits.

    Parameters
    ----------
    kind : {"count", "membrane", "li"}
    gain : float
        Logit per spike (count) or per mV (membrane, li).
    window : (int, int), optional
        Steps ``[start, stop)`` read out; default the whole trial.
    none_class : bool
        Add a last class "no output active" with the constant logit ``gain * theta``.
    theta : float
        Activity at which an output ties with the none class.
    reduce : {"mean", "max"}
        ``li`` only: mean or maximum of the membrane over the window.
    tau_ms : float, optional
        ``li`` only: membrane time constant of the outputs (default: theirs).
    """

    kind: str = "count"
    gain: float = 1.0
    window: tuple[int, int] | None = None
    none_class: bool = False
    theta: float = 0.5
    reduce: str = "mean"
    tau_ms: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in READOUTS:
            raise TrainError(f"readout: expected one of {', '.join(READOUTS)}, got {self.kind!r}")
        if self.reduce not in REDUCTIONS:
            raise TrainError(f"readout reduce: expected one of {', '.join(REDUCTIONS)}, got {self.reduce!r}")
        if self.reduce != "mean" and self.kind != "li":
            raise TrainError(f"readout reduce {self.reduce!r}: only the 'li' readout takes a reduction")
        if self.tau_ms is not None and (self.kind != "li" or not (np.isfinite(self.tau_ms) and self.tau_ms > 0)):
            raise TrainError(f"readout tau_ms: expected a positive time constant (ms) with the 'li' readout, "
                             f"got {self.tau_ms} with {self.kind!r}")
        if not (np.isfinite(self.gain) and self.gain > 0):
            raise TrainError(f"readout gain: expected a positive number, got {self.gain}")
        if self.window is not None and not (0 <= self.window[0] < self.window[1]):
            raise TrainError(f"readout window: expected 0 <= start < stop, got {self.window}")

    def n_classes(self, n_outputs: int) -> int:
        """Number of classes for a circuit with ``n_outputs`` output neurons."""
        return n_outputs + int(self.none_class)

    def span(self, n_steps: int) -> tuple[int, int]:
        """The readout window clipped to the trial."""
        lo, hi = self.window if self.window is not None else (0, n_steps)
        return min(lo, n_steps), min(hi, n_steps)

    def activity(self, spikes: np.ndarray, p: np.ndarray, v_rest: np.ndarray, n_steps: int) -> np.ndarray:
        """Activity of the outputs, shape (B, K).

        Parameters
        ----------
        spikes, p : ndarray (B, T_window, K)
            Spikes (0/1) and membrane of the outputs inside the window.
        v_rest : ndarray (K,)
        """
        if self.kind == "count":
            return spikes.sum(axis=1, dtype=np.float64)
        if self.reduce == "max":
            return (p - v_rest).max(axis=1, initial=-np.inf).astype(np.float64)
        lo, hi = self.span(n_steps)
        return (p - v_rest).sum(axis=1, dtype=np.float64) / max(hi - lo, 1)

    def membrane_grad(self, d_act: np.ndarray, p: np.ndarray, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Where dL/d(activity) of a membrane readout lands.

        Returns ``(per_step, at_steps)``: with ``mean``, the gradient w.r.t. ``p`` at every
        step of the window, (B, K), and an empty ``at_steps``; with ``max``, an empty
        ``per_step`` and ``at_steps`` (B, T_window, K) holding ``d_act`` at each output's
        maximum.
        """
        if self.reduce == "max":
            at = np.zeros(p.shape)
            b, k = np.indices(d_act.shape)
            at[b, p.argmax(axis=1), k] = d_act
            return np.zeros((0, 0)), at
        lo, hi = self.span(n_steps)
        return d_act / max(hi - lo, 1), np.zeros((0, 0, 0))

    def logits(self, activity: np.ndarray) -> np.ndarray:
        """Class logits, shape (B, n_classes)."""
        z = self.gain * np.asarray(activity, np.float64)
        if self.none_class:
            z = np.concatenate([z, np.full((len(z), 1), self.gain * self.theta)], axis=1)
        return z

    def activity_grad(self, d_logits: np.ndarray) -> np.ndarray:
        """dL/d(activity) from dL/d(logits)."""
        k = d_logits.shape[1] - int(self.none_class)
        return self.gain * d_logits[:, :k]


def li_outputs(circuit, tau_ms: float | None = None):
    """The circuit with its output neurons made non-spiking leaky integrators.

    Their threshold becomes :data:`LI_THRESHOLD_MV` (never reached, so no spike and no
    reset), and their ``tau_m`` ``tau_ms`` if given. Everything else is unchanged.
    """
    params = circuit.params.copy()
    outs = np.asarray(circuit.outputs, np.int64)
    fan_out = circuit.weights[circuit.n_inputs + outs].sum() > 0
    if fan_out:
        warnings.warn(f"circuit '{circuit.name}': its outputs project to other neurons; as leaky integrators "
                      "they no longer spike, so those synapses go silent", stacklevel=2)
    params[outs, PARAM_INDEX["v_th"]] = LI_THRESHOLD_MV
    if tau_ms is not None:
        params[outs, PARAM_INDEX["tau_m"]] = tau_ms
    return circuit.replace(params=params)


def check_li_outputs(circuit, readout: Readout) -> None:
    """With an ``li`` readout, the circuit's outputs must already be leaky integrators
    (:func:`li_outputs`): refuse, in one line, a network whose outputs would still spike."""
    outs = np.asarray(circuit.outputs, np.int64)
    if readout.kind == "li" and (circuit.param("v_th")[outs] < LI_THRESHOLD_MV).any():
        raise TrainError(f"readout li: the outputs of '{circuit.name}' can still spike; pass the Circuit "
                         "(training makes them leaky integrators) or build the network from li_outputs(circuit)")


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) and its gradient w.r.t. the logits.

    Parameters
    ----------
    logits : ndarray (B, C)
    labels : ndarray of int (B,)

    Returns
    -------
    loss : float
    d_logits : ndarray (B, C)
    """
    z = logits - logits.max(axis=1, keepdims=True)  # stable softmax
    ez = np.exp(z)
    tot = ez.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = float(np.mean(np.log(tot[:, 0]) - z[rows, labels]))
    grad = ez / tot
    grad[rows, labels] -= 1.0
    return loss, grad / len(labels)
