"""The loss and the held-out evaluation: what ``train`` optimises and how a run is judged.

* ``masked_loss(logits, y, mask)`` — the training loss: mean binary cross-entropy over the
  output bits of the masked steps.
* ``evaluate(model, task)`` — bits per sequence (the paper's cost: wrongly thresholded
  output bits, masked steps only, summed over a sequence, averaged over sequences), the
  loss, and the cross-entropy in bits per sequence (the N-grams cost), on fresh sequences.
* ``eval_batches`` / ``evaluate_batches`` — the same on a fixed held-out set, which
  ``train`` draws once and reuses at every evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ntm_nb._checks import check_positive_int
from ntm_nb.records import EvalResult
from ntm_nb.tasks import Batch, Task, bit_errors, check_fits
from ntm_nb.tasks.base import check_seed, output_weights

__all__ = [
    "masked_loss",
    "evaluate",
    "eval_stream",
    "eval_batches",
    "evaluate_batches",
    "check_task_and_model",
]


def masked_loss(logits: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    """Mean binary cross-entropy (nats) over the output bits of the masked steps."""
    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")  # (B, T, out)
    weight = output_weights(mask, y)
    return (bce * weight).sum() / weight.sum().clamp_min(1)


def eval_stream(task: Task, num_sequences: int, batch_size: int, seed: int) -> Iterator[Batch]:
    """The held-out batches, drawn one at a time from a generator seeded with ``seed``."""
    # held-out sequences are drawn independently: with same_length a whole batch of
    # them would share one length, and the cost would be that length's
    task = task.for_evaluation()
    generator = torch.Generator().manual_seed(seed)
    left = num_sequences
    while left > 0:
        b = min(batch_size, left)
        yield task.sample(b, generator)
        left -= b


def eval_batches(task: Task, num_sequences: int, batch_size: int, seed: int) -> list[Batch]:
    """The held-out batches, all at once (``train``'s small set, reused at every evaluation)."""
    return list(eval_stream(task, num_sequences, batch_size, seed))


@torch.no_grad()
def evaluate_batches(model: nn.Module, task: Task, batches: Iterable[Batch]) -> EvalResult:
    """Evaluate on ``batches``, one at a time: a stream is never held in memory at once."""
    was_training = model.training
    model.eval()
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    n, bits, nats, masked_bits = 0, 0.0, 0.0, 0.0
    optimal: float | None = 0.0  # the sum of the batches' optimal costs, each times its size
    try:
        for x, y, mask in batches:
            cost = task.optimal_cost(x, y, mask) if optimal is not None else None
            optimal = None if cost is None else optimal + cost * x.shape[0]
            x, y, mask = x.to(device), y.to(device), mask.to(device)
            logits = model(x)
            bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
            weight = output_weights(mask, y)
            nats += float((bce * weight).sum())
            masked_bits += float(weight.sum())
            bits += float(bit_errors(logits, y, mask).sum())
            n += x.shape[0]
    finally:
        model.train(was_training)
    return EvalResult(
        bits_per_sequence=bits / n,
        loss=nats / max(masked_bits, 1.0),
        cost_bits=nats / math.log(2) / n,
        num_sequences=n,
        optimal_cost_bits=None if optimal is None else optimal / n,
    )


def check_task_and_model(model: object, task: object) -> None:
    if not isinstance(task, Task):
        raise TypeError(
            f"task: expected a Task (see ntm_nb.tasks.TASKS), got {type(task).__name__}"
        )
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model: expected an NTM or LSTMBaseline (a torch.nn.Module), got "
            f"{type(model).__name__}"
        )
    check_fits(model, task)


def evaluate(
    model: nn.Module,
    task: Task,
    num_sequences: int = 1000,
    batch_size: int = 100,
    seed: int = 0,
) -> EvalResult:
    """Evaluate ``model`` on ``num_sequences`` fresh sequences of ``task`` drawn from ``seed``.

    Runs without gradients and in eval mode (the model's mode is restored afterwards).
    Every sequence is drawn independently: a task's ``same_length`` is set to ``False``.
    The batches are drawn one at a time, so memory does not grow with ``num_sequences``.
    """
    check_positive_int("num_sequences", num_sequences)
    check_positive_int("batch_size", batch_size)
    seed = check_seed("seed", seed)
    check_task_and_model(model, task)
    return evaluate_batches(model, task, eval_stream(task, num_sequences, batch_size, seed))
