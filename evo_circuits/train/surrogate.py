"""Fast-sigmoid surrogate gradient of the spike nonlinearity.

The forward pass keeps the true threshold, ``s = H(v - v_th)``; the backward pass
replaces the Heaviside's derivative (a Dirac impulse, zero almost everywhere) by the
derivative of a fast sigmoid (SuperSpike, Zenke & Ganguli 2018; snnTorch's
``fast_sigmoid``)::

    ds/dv  ~=  1 / (1 + slope * |v - v_th|) ** 2          (height 1 at threshold)

``v - v_th`` is in mV, so ``slope`` is in 1/mV: the surrogate is half its height
``(sqrt(2) - 1) / slope`` mV from threshold.

Gradient checks (tests/test_train_gradients.py) compare the kernels with finite
differences where the surrogate vanishes (a steep surrogate: the exact gradient of the
model with its spikes held), and with PyTorch autograd through :mod:`evo_circuits.torch`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Default slope of the fast sigmoid (1/mV), tuned on the digits workload.
DEFAULT_SLOPE = 1.0


# The kernels pass ``one`` (1 in their float type): a float literal would promote float32
# arithmetic to float64 and halve the vector width.
@njit(cache=True, inline="always")
def surrogate_grad(x: float, slope: float, one: float) -> float:
    """Fast-sigmoid surrogate of dH/dx at ``x = v - v_th`` (mV)."""
    a = one + slope * abs(x)
    return one / (a * a)


def surrogate_grad_np(x: np.ndarray, slope: float) -> np.ndarray:
    """NumPy version of :func:`surrogate_grad` (for plots and independent checks)."""
    return 1.0 / (1.0 + slope * np.abs(x)) ** 2
