"""The optimizers ``train`` can use, built from a training config.

The paper trains with RMSProp in the form of Graves (2013): centred, decay 0.95,
momentum 0.9, epsilon 1e-4; ``torch.optim.RMSprop(centered=True)`` adds epsilon outside
the square root instead of inside — a small DEPARTURE. Adam is the fast presets' choice.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["OPTIMIZERS", "make_optimizer"]

OPTIMIZERS = ("rmsprop", "adam")


def make_optimizer(model: nn.Module, config: Any) -> torch.optim.Optimizer:
    """The optimizer ``config`` names (``.optimizer``, ``.lr``, ``.momentum``), over the
    trainable parameters of ``model``."""
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    # Graves (2013): centred RMSProp, decay 0.95, momentum 0.9, epsilon 1e-4.
    return torch.optim.RMSprop(
        params, lr=config.lr, alpha=0.95, eps=1e-4, momentum=config.momentum, centered=True
    )
