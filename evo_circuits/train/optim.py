"""Adam and gradient clipping over a list of NumPy parameter arrays (updated in place)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def clip_grad_norm(grads: Sequence[np.ndarray], max_norm: float | None) -> float:
    """Scale gradients in place so that their global L2 norm is at most ``max_norm``.

    Returns the norm before clipping (``max_norm=None``: no clipping).
    """
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    if max_norm is not None and norm > max_norm > 0:
        scale = max_norm / (norm + 1e-12)
        for g in grads:
            g *= scale
    return norm


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction, as ``torch.optim.Adam``.

    Parameters
    ----------
    params : sequence of ndarray
        Updated in place by :meth:`step`.
    lr, betas, eps : float
        The usual hyper-parameters.
    masks : sequence of (ndarray of bool or None), optional
        Per parameter, entries that may change (others are left untouched).
    """

    def __init__(self, params: Sequence[np.ndarray], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, masks: Sequence[np.ndarray | None] | None = None):
        if not lr > 0:
            raise ValueError(f"lr: expected a positive learning rate, got {lr}")
        self.params = list(params)
        self.lr, self.b1, self.b2, self.eps = float(lr), float(betas[0]), float(betas[1]), float(eps)
        self.masks = list(masks) if masks is not None else [None] * len(self.params)
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Apply one update from the gradients (same order as ``params``)."""
        self.t += 1
        c1 = 1.0 - self.b1 ** self.t
        c2 = 1.0 - self.b2 ** self.t
        for p, g, m, v, mask in zip(self.params, grads, self.m, self.v, self.masks):
            m *= self.b1
            m += (1.0 - self.b1) * g
            v *= self.b2
            v += (1.0 - self.b2) * g * g
            update = (self.lr / c1) * m / (np.sqrt(v / c2) + self.eps)
            if mask is not None:
                update[~mask] = 0.0
            p -= update
