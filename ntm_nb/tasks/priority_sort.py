"""Priority sort (section 4.5)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch

from ntm_nb.tasks.base import (
    Batch,
    SizeSetting,
    Task,
    TaskPresets,
    check_batch_size,
    check_generator,
    random_bits,
    register,
)

__all__ = ["PrioritySortTask"]


# ----------------------------------------------------------------------------------------
# Priority sort (section 4.5)
# ----------------------------------------------------------------------------------------
@register
@dataclass(frozen=True)
class PrioritySortTask(Task):
    """Priority sort (section 4.5): output the highest-priority vectors, sorted by priority.

    Channels of ``x``: ``[bits data | priority | delimiter]``; ``y`` has the ``bits`` data
    bits. T = num_inputs + 1 + num_outputs steps:

    ===============================  ===========================  ===================  ====
    steps                            x                            y                    mask
    ===============================  ===========================  ===================  ====
    0 .. num_inputs-1                a random vector, and its     0                    0
                                     priority, uniform in [-1,1]
    num_inputs                       delimiter = 1                0                    0
    the next num_outputs steps       0 (no input)                 the num_outputs      1
                                                                  highest-priority
                                                                  vectors, highest
                                                                  first
    ===============================  ===========================  ===================  ====

    Equal priorities (rare with float32) keep their input order.
    """

    name: ClassVar[str] = "priority_sort"
    size_setting: ClassVar[SizeSetting] = SizeSetting("inputs", 2, 40, 20, 20)
    presets: ClassVar[TaskPresets] = TaskPresets(
        paper_lr=3e-5,
        paper_model={"num_read_heads": 5, "num_write_heads": 5, "controller_layers": 2},
        lstm_hidden=128,
        lstm_lr=3e-5,
        fast_steps=12000,
        fast_eval_every=500,
        # the shipped model's recipe: the feed-forward NTM with 8 read and 8 write heads and
        # a learned initial memory, Adam 1e-3 at batch 128 (it then trained 2,000 more steps
        # at 3e-4: ntm_nb/pretrained/README.md); 20 to 30 minutes on a GPU, hours on a CPU
        fast_model={
            "controller": "feedforward",
            "controller_size": 512,
            "num_read_heads": 8,
            "num_write_heads": 8,
            "memory_init": "learned",
        },
        fast_batch_size=128,
    )
    bits: int = 8  # width of each random binary vector
    num_inputs: int = 20  # vectors presented (paper: 20)
    num_outputs: int = 16  # highest-priority vectors to output, sorted (paper: 16)

    def __post_init__(self) -> None:
        self._check_int("bits", 1)
        self._check_int("num_inputs", 1)
        self._check_int("num_outputs", 1, self.num_inputs, high_is="num_inputs")

    @property
    def input_size(self) -> int:
        return self.bits + 2  # data bits + priority + delimiter

    def training_range(self) -> tuple[int, int]:
        return self.num_inputs, self.num_inputs

    def sized(self, size: int, extra: int | None = None) -> PrioritySortTask:
        """``size`` inputs, of which the ``min(num_outputs, size)`` highest are output."""
        return dataclasses.replace(self, num_inputs=size, num_outputs=min(self.num_outputs, size))

    @property
    def output_size(self) -> int:
        return self.bits

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        B = check_batch_size(batch_size)
        check_generator(generator)
        n_in, n_out, bits = self.num_inputs, self.num_outputs, self.bits
        data = random_bits((B, n_in, bits), generator)  # (B, n_in, bits)
        priority = torch.rand(B, n_in, generator=generator) * 2 - 1  # uniform in [-1, 1)
        order = priority.argsort(dim=1, descending=True, stable=True)[:, :n_out]  # (B, n_out)
        ranked = data.gather(1, order[..., None].expand(-1, -1, bits))  # (B, n_out, bits)

        T = n_in + 1 + n_out
        x = data.new_zeros(B, T, self.input_size)
        y = data.new_zeros(B, T, self.output_size)
        mask = data.new_zeros(B, T)
        x[:, :n_in, :bits] = data
        x[:, :n_in, bits] = priority
        x[:, n_in, bits + 1] = 1.0  # delimiter
        y[:, n_in + 1 :] = ranked
        mask[:, n_in + 1 :] = 1.0
        return x, y, mask
