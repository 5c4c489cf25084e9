"""Readout of output neurons into class scores, and the cross-entropy loss.

Output neuron ``k`` (``circuit.outputs[k]``) gives an activity ``r_k`` over the readout
window (steps ``window[0] <= t < window[1]``, default the whole trial):

* ``"count"``: its spike count (in the backward pass each spike's derivative is the
  surrogate);
* ``"membrane"``: the mean over the window of ``p - v_rest``, ``p`` the membrane
  potential after each step's update (before the threshold and reset).

Logits are ``gain * r_k``. With ``none_class`` an extra last class means "no output is
active": its logit is the constant ``gain * theta``. That makes tasks whose correct answer
may be silence (coincidence, XOR, gating, memory) classification problems read out the way
the task suite scores them: with ``theta = 0.5`` and count readout, a single output
answers "class 0" when it fires at least once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import TrainError

READOUTS = ("count", "membrane")


@dataclass(frozen=True)
class Readout:
    """How output activity becomes logits.

    Parameters
    ----------
    kind : {"count", "membrane"}
    gain : float
        Logit per spike (count) or per mV (membrane).
    window : (int, int), optional
        Steps ``[start, stop)`` read out; default the whole trial.
    none_class : bool
        Add a last class "no output active" with the constant logit ``gain * theta``.
    theta : float
        Activity at which an output ties with the none class.
    """

    kind: str = "count"
    gain: float = 1.0
    window: tuple[int, int] | None = None
    none_class: bool = False
    theta: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in READOUTS:
            raise TrainError(f"readout: expected one of {', '.join(READOUTS)}, got {self.kind!r}")
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
        lo, hi = self.span(n_steps)
        return (p - v_rest).sum(axis=1, dtype=np.float64) / max(hi - lo, 1)

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
