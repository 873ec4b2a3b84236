"""Dynamic n-grams (section 4.4), and the optimal Bayesian predictor to compare with."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from ntm_nb._checks import check_positive_int
from ntm_nb.tasks.base import (
    Batch,
    SizeSetting,
    Task,
    TaskPresets,
    check_batch_size,
    check_generator,
    register,
)

__all__ = ["NGramsTask", "ngram_optimal_predictions", "ngram_optimal_cost"]


# ----------------------------------------------------------------------------------------
# Dynamic n-grams (section 4.4)
# ----------------------------------------------------------------------------------------
def _context_ids(bits: Tensor, n: int) -> Tensor:
    """The n-1 bits ending at each step t >= n-2, as an integer. (B, T) -> (B, T - n + 2)

    The oldest bit is the most significant: bits b_{t-n+2} .. b_t read as a binary number.
    """
    weights = 2 ** torch.arange(n - 2, -1, -1)  # (n-1,)
    return (bits.long().unfold(1, n - 1, 1) * weights).sum(-1)


@register
@dataclass(frozen=True)
class NGramsTask(Task):
    """Dynamic n-grams (section 4.4): predict the next bit of a sequence from a random n-gram model.

    Each sequence draws its own table of 2**(n-1) probabilities p[c] ~ Beta(1/2, 1/2), one
    per context c of n-1 bits; its first n-1 bits are fair coins and every later bit is 1
    with probability p[context of the previous n-1 bits]. Beta(1/2, 1/2) is sampled by its
    inverse CDF, p = sin^2(pi u / 2) with u uniform, so that ``generator`` alone drives it.

    Layout: one input channel and one output channel, T = length - 1 steps, all counted:

    =========  ============  ================  ====
    step t     x             y                 mask
    =========  ============  ================  ====
    0 .. T-1   bit t         bit t+1 (next)    1
    =========  ============  ================  ====

    Choice: every prediction counts, including the first n-2, whose bits are fair coins
    (1 bit each for any predictor, the optimal one included), so the optimum of
    ``ngram_optimal_cost`` is directly comparable to a model's cost on the same mask.
    """

    name: ClassVar[str] = "ngrams"
    size_setting: ClassVar[SizeSetting] = SizeSetting("length", 10, 400, 60, 200)
    measure: ClassVar[str] = "cost_bits"  # judged by cross-entropy against the optimum
    presets: ClassVar[TaskPresets] = TaskPresets(
        paper_lr=3e-5, lstm_hidden=128, lstm_lr=1e-4, fast_steps=10000, fast_eval_every=500
    )
    n: int = 6  # n-gram order: each bit depends on the previous n-1 = 5 bits
    length: int = 200  # bits per sequence (paper: 200), giving length-1 predictions

    def __post_init__(self) -> None:
        # n <= 20: the table holds 2**(n-1) probabilities per sequence
        self._check_int("n", 2, 20)
        self._check_int("length", self.n, low_is="n")

    @property
    def input_size(self) -> int:
        return 1

    def training_range(self) -> tuple[int, int]:
        return self.length, self.length

    def sized(self, size: int, extra: int | None = None) -> NGramsTask:
        """Sequences of ``size`` bits."""
        return dataclasses.replace(self, length=size)

    def optimal_cost(self, x: Tensor, y: Tensor, mask: Tensor) -> float:
        """The optimal Bayesian estimator's cost on the batch (``ngram_optimal_cost``)."""
        return ngram_optimal_cost(x, y, mask, n=self.n)

    @property
    def output_size(self) -> int:
        return 1

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        B = check_batch_size(batch_size)
        check_generator(generator)
        n, C = self.n, 2 ** (self.n - 1)
        table = torch.sin(0.5 * math.pi * torch.rand(B, C, generator=generator)) ** 2  # Beta(½,½)
        coins = torch.rand(B, self.length, generator=generator)  # one uniform per bit
        bits = torch.zeros(B, self.length)
        bits[:, : n - 1] = (coins[:, : n - 1] < 0.5).float()  # the first n-1 bits: fair coins
        context = _context_ids(bits[:, : n - 1], n)[:, 0]  # (B,)
        for t in range(n - 1, self.length):
            p = table.gather(1, context[:, None]).squeeze(1)  # p[context], (B,)
            bit = coins[:, t] < p
            bits[:, t] = bit.float()
            context = ((context << 1) | bit.long()) & (C - 1)  # drop the oldest bit
        x = bits[:, :-1, None].contiguous()  # (B, T, 1)
        y = bits[:, 1:, None].contiguous()  # (B, T, 1)
        mask = torch.ones(B, self.length - 1)
        return x, y, mask


def ngram_optimal_predictions(bits: Tensor, n: int = 6) -> Tensor:
    """The optimal Bayesian estimate of the next bit, at every step (section 4.4).

    ``out[:, t] = P(bit t+1 = 1 | bits 0..t)``, aligned with ``NGramsTask``'s ``x`` and ``y``.
    With c the context of the last n-1 bits (bits t-n+2..t), and N1, N0 the number of
    times c was followed by a 1 or a 0 earlier in the *same* sequence,

        P(next = 1) = (N1 + 1/2) / (N1 + N0 + 1)

    (the posterior mean under the Beta(1/2, 1/2) prior). Before n-1 bits have been seen
    the next bit is a fair coin: 1/2.

    bits: (B, T) or (B, T, 1), entries 0/1. Returns float probabilities of the same shape
    (float32 unless ``bits`` is float64). A loop over time; vectorised over the batch.
    """
    if (
        not isinstance(bits, Tensor)
        or bits.dim() not in (2, 3)
        or (bits.dim() == 3 and bits.shape[-1] != 1)
    ):
        shape = tuple(bits.shape) if isinstance(bits, Tensor) else type(bits).__name__
        raise ValueError(f"bits: expected a tensor of shape (B, T) or (B, T, 1), got {shape}")
    check_positive_int("n", n, 2)
    B, T = bits.shape[:2]
    if bool(((bits != 0) & (bits != 1)).any()):
        raise ValueError("bits: entries must be 0 or 1")
    b = bits.reshape(B, T).long()
    dtype = bits.dtype if bits.dtype == torch.float64 else torch.float32
    out = torch.full((B, T), 0.5, dtype=torch.float64)
    if T >= n - 1:
        contexts = _context_ids(b, n)  # (B, T - n + 2): the context ending at step n-2+s
        counts = torch.zeros(B, 2 ** (n - 1), 2, dtype=torch.float64)  # [context, next bit]
        rows = torch.arange(B)
        for t in range(n - 2, T):
            c = contexts[:, t - (n - 2)]
            n0, n1 = counts[rows, c, 0], counts[rows, c, 1]
            out[:, t] = (n1 + 0.5) / (n1 + n0 + 1)
            if t + 1 < T:
                counts[rows, c, b[:, t + 1]] += 1  # now the next bit is seen
    return out.to(dtype).reshape(bits.shape)


def ngram_optimal_cost(x: Tensor, y: Tensor, mask: Tensor, n: int = 6) -> float:
    """The optimal estimator's cost on a batch, in bits per sequence.

    The cross-entropy in bits, -[y log2 p + (1-y) log2 (1-p)], of
    ``ngram_optimal_predictions(x, n)``, summed over the masked steps and averaged over the
    sequences. x, y: (B, T, 1); mask: (B, T). A model's cost on the same batch is to be
    compared with this. On ``NGramsTask()`` (199 predictions) it averages about 132.7 bits
    (5,000 sequences, standard error 0.5) against the paper's "about 133" for 200-bit
    sequences, which may also count the first bit (a fair coin: +1 bit).
    """
    p = ngram_optimal_predictions(x.double(), n).reshape(mask.shape)
    target = y.double().reshape(mask.shape)
    bits = -(target * torch.log2(p) + (1 - target) * torch.log2(1 - p))  # (B, T)
    return float((bits * mask.double()).sum(1).mean())
