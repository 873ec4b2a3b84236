"""What training produces and keeps: the records shared by ``train`` and ``checkpoint``.

This module imports nothing from the package, so ``train``, ``checkpoint``, ``viz`` and the
widgets can all use these classes without importing each other.

===============  ==========================================================================
class            holds
===============  ==========================================================================
``EvalResult``   held-out performance: wrong bits, loss, cross-entropy (and the optimum)
``History``      learning curves: training records and held-out evaluations over steps
``TrainState``   what a run needs to continue exactly: step, optimizer, batch generator
``BestState``    the best evaluation's weights and optimizer state (``rollback``)
``TrainResult``  what ``train`` returns: the model, its history, how the run ended
===============  ==========================================================================
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

__all__ = ["EvalResult", "History", "BestState", "TrainState", "TrainResult"]


@dataclass
class EvalResult:
    """Held-out performance, averaged over ``num_sequences`` sequences."""

    bits_per_sequence: float  # wrongly thresholded output bits (the paper's cost)
    loss: float  # mean binary cross-entropy per masked output bit, in nats
    cost_bits: float  # cross-entropy in bits per sequence (the paper's N-grams cost)
    num_sequences: int
    optimal_cost_bits: float | None = None  # where the task knows it: the optimal predictor's

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class History:
    """Learning curves. ``step`` counts optimizer steps, ``sequences`` training sequences."""

    step: list[int] = field(default_factory=list)
    sequences: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # wall-clock training time so far
    loss: list[float] = field(default_factory=list)  # mean training loss since last record
    bits: list[float] = field(default_factory=list)  # training bits/sequence since last record
    eval_step: list[int] = field(default_factory=list)
    eval_sequences: list[int] = field(default_factory=list)
    eval_seconds: list[float] = field(default_factory=list)
    eval_bits: list[float] = field(default_factory=list)  # held-out bits per sequence
    eval_loss: list[float] = field(default_factory=list)
    eval_cost_bits: list[float] = field(default_factory=list)
    rollback_step: list[int] = field(default_factory=list)  # where a rollback restored the best
    restart_step: list[int] = field(default_factory=list)  # where a restart re-initialised
    # where a paced curriculum (curriculum_pace) grew its top by one size
    curriculum_step: list[int] = field(default_factory=list)

    def record_training(
        self, step: int, sequences: int, seconds: float, loss: float, bits: float
    ) -> None:
        """One training record: the mean loss and bits since the previous one."""
        self.step.append(step)
        self.sequences.append(sequences)
        self.seconds.append(round(seconds, 3))
        self.loss.append(loss)
        self.bits.append(bits)

    def record_eval(self, step: int, sequences: int, seconds: float, ev: EvalResult) -> None:
        """One held-out evaluation, ``ev``, after ``sequences`` training sequences."""
        self.eval_step.append(step)
        self.eval_sequences.append(sequences)
        self.eval_seconds.append(round(seconds, 3))
        self.eval_bits.append(ev.bits_per_sequence)
        self.eval_loss.append(ev.loss)
        self.eval_cost_bits.append(ev.cost_bits)

    def to_dict(self) -> dict[str, list]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, list]) -> History:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: list(v) for k, v in data.items() if k in names})


@dataclass
class BestState:
    """The run at its best held-out evaluation so far: where a rollback returns to."""

    step: int
    cost: float  # held-out bits per sequence there
    model: dict[str, torch.Tensor]  # the model's state_dict (copies)
    optimizer: dict[str, Any]  # the optimizer's state_dict (copies)


@dataclass
class TrainState:
    """Everything needed to continue a run exactly: kept in checkpoints."""

    step: int
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    history: History
    seconds: float = 0.0
    best: BestState | None = None  # with TrainConfig.rollback: the best evaluation so far
    lr_scale: float = 1.0  # the lr's factor after rollbacks (times their factor at each)
    # with TrainConfig.curriculum_pace: (wrong bits, output bits or sequences as
    # curriculum_pace_per says) since the last regular training record, the window the
    # pace is judged on
    pace_window: tuple[float, float] = (0.0, 0.0)


@dataclass
class TrainResult:
    """What ``train`` returns."""

    model: nn.Module
    history: History
    step: int  # optimizer steps done in total (including resumed ones)
    interrupted: bool = False  # stopped by KeyboardInterrupt or a callback
    reached_target: bool = False  # stopped early at target_cost
    out_of_time: bool = False  # stopped at max_seconds
    final_eval: EvalResult | None = None
    compiled_at_step: int | None = None  # steps this run trained eagerly before the compiled step
