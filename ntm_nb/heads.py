"""Heads: from the controller's output to each head's addressing and write parameters.

Every head emits (section 3.3): a key k, a key strength beta, an interpolation gate g, a
shift weighting s over offsets -R..R and a sharpening exponent gamma. Write heads also emit
an erase vector e and an add vector a (section 3.2). All heads of an NTM are computed by
one linear layer from the controller output, so H heads cost one matrix product.

Activations (the paper gives the ranges, not the functions; these are the usual choices):

=====  ================  ==============================================================
param  activation        why
=====  ================  ==============================================================
k      tanh              DEPARTURE (the paper leaves k unbounded): bounded keys keep the
                         cosine similarity's inputs in a sane range early in training
beta   softplus          beta >= 0
g      sigmoid           0 <= g <= 1
s      softmax           a distribution over the 2R+1 offsets
gamma  1 + softplus      gamma >= 1
e      sigmoid           0 <= e <= 1
a      tanh              DEPARTURE (the paper leaves a unbounded): memory contents stay
                         within [-1, 1] per write, which keeps training stable
=====  ================  ==============================================================
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class HeadParams(NamedTuple):
    """The parameters emitted for all heads at one step; read heads come first.

    With H = R + W heads (R read, W write), M the word width and 2S+1 shift offsets:
    ``k`` (B, H, M), ``beta`` (B, H, 1), ``g`` (B, H, 1), ``s`` (B, H, 2S+1),
    ``gamma`` (B, H, 1), ``e`` (B, W, M), ``a`` (B, W, M).
    """

    k: Tensor
    beta: Tensor
    g: Tensor
    s: Tensor
    gamma: Tensor
    e: Tensor
    a: Tensor


class Heads(nn.Module):
    """One linear layer that emits the parameters of every read and write head.

    Args:
        controller_size: width of the controller output.
        num_read_heads: R >= 0.
        num_write_heads: W >= 0.
        M: memory word width.
        shift_range: S, the shift weighting covers offsets -S..S.
    """

    def __init__(
        self,
        controller_size: int,
        num_read_heads: int,
        num_write_heads: int,
        M: int,
        shift_range: int,
    ) -> None:
        super().__init__()
        self.num_read_heads = num_read_heads
        self.num_write_heads = num_write_heads
        self.M = M
        self.shift_range = shift_range
        self.num_heads = num_read_heads + num_write_heads
        self.address_size = M + 1 + 1 + (2 * shift_range + 1) + 1  # k, beta, g, s, gamma
        out = self.num_heads * self.address_size + num_write_heads * 2 * M  # + e, a
        self.linear = nn.Linear(controller_size, out)

    def forward(self, h: Tensor) -> HeadParams:
        """h: (B, controller_size) -> HeadParams for all heads."""
        B, M, S = h.shape[0], self.M, 2 * self.shift_range + 1
        raw = self.linear(h)
        n_addr = self.num_heads * self.address_size
        addr = raw[:, :n_addr].reshape(B, self.num_heads, self.address_size)
        k, beta, g, s, gamma = addr.split([M, 1, 1, S, 1], dim=-1)
        write = raw[:, n_addr:].reshape(B, self.num_write_heads, 2 * M)
        e, a = write.split([M, M], dim=-1)
        return HeadParams(
            k=torch.tanh(k),
            beta=F.softplus(beta),
            g=torch.sigmoid(g),
            s=torch.softmax(s, dim=-1),
            gamma=1 + F.softplus(gamma),
            e=torch.sigmoid(e),
            a=torch.tanh(a),
        )
