"""The spike nonlinearity with its surrogate gradient, and two small layers around circuits.

:func:`spike` is the threshold of the LIF step (:func:`evo_circuits.dynamics.spikes`) in
the forward pass and the fast-sigmoid surrogate of the numba trainer
(:func:`evo_circuits.train.surrogate.surrogate_grad`, same ``slope`` in 1/mV) in the
backward pass, so an :class:`~.module.EICircuit` computes the trainer's gradients.
"""

from __future__ import annotations

import torch
from torch import nn

from ..dynamics import spikes as _spikes
from ..train.surrogate import DEFAULT_SLOPE, surrogate_grad as _surrogate_grad


class _Spike(torch.autograd.Function):
    """``s = (p > v_th) & integ`` forward; ``ds/dp = integ / (1 + slope |p - v_th|)^2`` backward."""

    @staticmethod
    def forward(ctx, p: torch.Tensor, v_th: torch.Tensor, integ: torch.Tensor, slope: float) -> torch.Tensor:
        ctx.save_for_backward(p, v_th, integ)
        ctx.slope = slope
        return _spikes.py_func(p, v_th, integ).to(p.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        p, v_th, integ = ctx.saved_tensors
        # integ is constant (it depends on earlier spikes only), as in the numba backward pass.
        return grad * integ * _surrogate_grad.py_func(p - v_th, ctx.slope, 1.0), None, None, None


def spike(p: torch.Tensor, v_th: torch.Tensor | float = 0.0, integ: torch.Tensor | bool = True,
          slope: float = DEFAULT_SLOPE) -> torch.Tensor:
    """Spikes (0/1 in ``p``'s dtype) of potentials ``p`` with a surrogate gradient.

    Parameters
    ----------
    p : Tensor
        Membrane potentials (mV) or any pre-activation.
    v_th : Tensor or float
        Threshold(s), broadcast against ``p``; a spike needs ``p > v_th``.
    integ : Tensor of bool or bool
        Where spiking is allowed (not refractory); treated as a constant.
    slope : float
        Slope of the fast sigmoid (1/mV): ``ds/dp ~= 1 / (1 + slope |p - v_th|)^2``.

    Returns
    -------
    Tensor
    """
    v_th = torch.as_tensor(v_th, dtype=p.dtype, device=p.device)
    integ = torch.as_tensor(integ, dtype=torch.bool, device=p.device)
    return _Spike.apply(p, v_th, integ, float(slope))


class SurrogateSpike(nn.Module):
    """Analog values to spikes: ``x > threshold``, with the fast-sigmoid surrogate gradient.

    Put it between an encoder (e.g. ``nn.Linear`` applied at every time step) and an
    :class:`~.module.EICircuit`, whose input channels take spikes.

    Parameters
    ----------
    threshold : float
    slope : float
        Slope of the surrogate (1/unit of ``x``).
    """

    def __init__(self, threshold: float = 0.0, slope: float = DEFAULT_SLOPE):
        super().__init__()
        self.threshold, self.slope = float(threshold), float(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spike(x, self.threshold, True, self.slope)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, slope={self.slope}"


class SpikeCount(nn.Module):
    """Spike counts: the sum over the time dimension ``dim`` (0 for time-first tensors)."""

    def __init__(self, dim: int = 0):
        super().__init__()
        self.dim = int(dim)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        return spikes.sum(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
