"""Associative recall (section 4.3)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from ntm_nb.tasks.base import (
    Batch,
    SizeSetting,
    Task,
    TaskPresets,
    check_batch_size,
    check_generator,
    draw_counts,
    random_bits,
    register,
)

__all__ = ["AssociativeRecallTask"]


# ----------------------------------------------------------------------------------------
# Associative recall (section 4.3)
# ----------------------------------------------------------------------------------------
def _distinct_items(
    batch_size: int, count: int, width: int, generator: torch.Generator | None
) -> Tensor:
    """``count`` random binary items of ``width`` bits per sequence, all different. (B, K, D)

    Draws at random and redraws any item equal to an earlier one until none is; needs
    ``count <= 2**width``. Deterministic given the generator's state.
    """
    items = random_bits((batch_size, count, width), generator)
    earlier = torch.ones(count, count, dtype=torch.bool).tril(-1)  # [i, j]: j < i
    while True:
        equal = (items[:, :, None, :] == items[:, None, :, :]).all(-1)  # (B, K, K)
        repeated = (equal & earlier).any(-1)  # (B, K): equals an earlier item
        n = int(repeated.sum())
        if n == 0:
            return items
        items[repeated] = random_bits((n, width), generator)


@register
@dataclass(frozen=True)
class AssociativeRecallTask(Task):
    """Associative recall (section 4.3): after a list of items, given one, recall the next.

    An *item* is ``item_len`` random ``bits``-wide vectors. Channels of ``x``:
    ``[bits data | item delimiter | query delimiter]``; ``y`` has the ``bits`` data bits.
    With K items (each taking S = item_len + 1 steps) and query index q, one episode takes
    T = K*S + 2*item_len + 2 steps:

    =========================  ==================================  ===========  ====
    steps                      x                                   y            mask
    =========================  ==================================  ===========  ====
    i*S                        item delimiter = 1 (item i starts)  0            0
    i*S+1 .. i*S+item_len      the item_len vectors of item i      0            0
    K*S                        query delimiter = 1                 0            0
    K*S+1 .. K*S+item_len      item q again (the query)            0            0
    K*S+item_len+1             query delimiter = 1                 0            0
    the next item_len steps    0 (no input)                        item q+1     1
    =========================  ==================================  ===========  ====

    for i = 0..K-1. The query q is uniform over 0..K-2 (any item but the last, which
    has no successor), so ``min_items`` must be >= 2.

    Departure: the paper does not say whether items may repeat. Here the items of one
    episode are all different, so that the answer is never ambiguous (with the default
    18-bit items a repeat would happen in about 1 episode in 17,000 anyway); hence
    ``max_items`` may not exceed the 2**(bits*item_len) possible items.
    The paper tests generalisation at 6, 10, 15 and 20 items.
    """

    name: ClassVar[str] = "associative_recall"
    size_setting: ClassVar[SizeSetting] = SizeSetting("items", 2, 20, 4, 12)
    presets: ClassVar[TaskPresets] = TaskPresets(
        paper_lr=1e-4,
        lstm_hidden=256,
        lstm_lr=1e-4,
        fast_steps=20000,
        fast_eval_every=500,
        fast_task={"same_length": True},
        target_cost=0.1,
    )
    bits: int = 6  # width of each vector of an item
    item_len: int = 3  # vectors per item
    min_items: int = 2  # fewest items per episode (paper: 2; the query needs a successor)
    max_items: int = 6  # most items per episode (paper: 6 in training)
    same_length: bool = False  # True: one item count per batch, no padding

    def __post_init__(self) -> None:
        self._check_int("bits", 1)
        self._check_int("item_len", 1)
        self._check_int("min_items", 2)
        possible = 2 ** (self.bits * self.item_len)
        self._check_int(
            "max_items", self.min_items, possible, low_is="min_items", high_is="2**(bits*item_len)"
        )
        self._check_bool("same_length")

    @property
    def input_size(self) -> int:
        return self.bits + 2  # data bits + item delimiter + query delimiter

    def training_range(self) -> tuple[int, int]:
        return self.min_items, self.max_items

    def sized(self, size: int, extra: int | None = None) -> AssociativeRecallTask:
        """Every episode with ``size`` items."""
        return dataclasses.replace(self, min_items=size, max_items=size, same_length=False)

    @property
    def output_size(self) -> int:
        return self.bits

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        B = check_batch_size(batch_size)
        check_generator(generator)
        n_items = draw_counts(self.min_items, self.max_items, B, self.same_length, generator)
        K = int(n_items.max())
        il, S, bits = self.item_len, self.item_len + 1, self.bits
        items = _distinct_items(B, K, il * bits, generator).view(B, K, il, bits)
        # query index uniform in 0..n_items-2 (floor of a uniform draw; clamp guards rounding)
        q = (torch.rand(B, generator=generator) * (n_items - 1)).long()
        q = torch.minimum(q, n_items - 2)  # (B,)

        T = K * S + 2 * il + 2
        x = items.new_zeros(B, T, self.input_size)
        y = items.new_zeros(B, T, self.output_size)
        mask = items.new_zeros(B, T)
        # the item list: K blocks of S steps, the same step positions in every sequence
        blocks = items.new_zeros(B, K, S, self.input_size)
        blocks[:, :, 0, bits] = 1.0  # item delimiter
        blocks[:, :, 1:, :bits] = items
        blocks *= (torch.arange(K) < n_items[:, None])[:, :, None, None]  # drop unused items
        x[:, : K * S] = blocks.view(B, K * S, self.input_size)
        # the query and the answer start where each sequence's list ends
        rows = torch.arange(B)
        start = n_items * S  # (B,)
        j = torch.arange(il)
        x[rows, start, bits + 1] = 1.0  # query delimiter
        x[rows[:, None], start[:, None] + 1 + j, :bits] = items[rows, q]  # (B, il, bits)
        x[rows, start + il + 1, bits + 1] = 1.0  # query delimiter again
        answer = start[:, None] + il + 2 + j  # (B, il)
        y[rows[:, None], answer] = items[rows, q + 1]
        mask[rows[:, None], answer] = 1.0
        return x, y, mask
