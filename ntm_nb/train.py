"""Training and evaluation: the paper's setup (section 4), and a faster one we measured.

* ``evaluate(model, task)`` — bits per sequence (the paper's cost: wrongly thresholded
  output bits, masked steps only, summed over a sequence, averaged over sequences), the
  loss, and the cross-entropy in bits per sequence (the N-grams cost).
* ``train(model, task, config)`` — one loop for the NTM and the LSTM baseline: seeded
  batches, RMSProp with momentum 0.9 (the paper) or Adam, elementwise and/or global-norm
  gradient clipping, a history, periodic evaluation on a fixed held-out set, early stop
  at a target cost, a tqdm progress bar, callbacks, checkpoints, exact resume, and a
  clean stop on KeyboardInterrupt that keeps the model, the history and a checkpoint.
* ``PRESETS`` — per task, the paper's settings and our measured fast settings.

The paper trains with RMSProp in the form of Graves (2013): centred, decay 0.95,
momentum 0.9, epsilon 1e-4; ``torch.optim.RMSprop(centered=True)`` adds epsilon outside
the square root instead of inside — a small DEPARTURE.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ntm_nb._checks import check_choice, check_positive_int
from ntm_nb.model import warn_compile_failed
from ntm_nb.tasks import NGramsTask, Task, make_task

OPTIMIZERS = ("rmsprop", "adam")


# ----------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    """How to train; the defaults are the paper's (batch 1, RMSProp 1e-4, clip +-10)."""

    steps: int = 10_000  # optimizer steps (batches) in this run, counted from step 0
    batch_size: int = 1  # sequences per batch (the paper: 1)
    optimizer: str = "rmsprop"  # "rmsprop" (the paper) or "adam"
    lr: float = 1e-4  # learning rate
    momentum: float = 0.9  # RMSProp momentum (the paper: 0.9)
    clip_value: float | None = 10.0  # clip each gradient element to +-clip_value (paper)
    clip_norm: float | None = None  # clip the global gradient norm (Collier & Beel: 50)
    seed: int = 0  # seeds the model's batches (and, in the CLI, its initial weights)
    log_every: int = 50  # record training loss and bits every this many steps
    eval_every: int = 500  # evaluate on the held-out set every this many steps
    eval_sequences: int = 256  # held-out sequences per evaluation
    eval_seed: int = 12345  # seed of the held-out set (fixed: the same set every time)
    target_cost: float | None = None  # stop early once held-out bits/sequence <= this
    compile: bool = True  # use the compiled NTM step (falls back to eager if unavailable)
    unroll: int = 1  # compiled steps per call (2: ~10-20% faster steps, a longer compile)
    threads: int | None = None  # torch CPU threads for this run (None: leave as is)
    checkpoint_every: int | None = None  # save a checkpoint every this many steps
    max_seconds: float | None = None  # stop cleanly after this much training time

    def __post_init__(self) -> None:
        check_positive_int("steps", self.steps, 0)
        for name in ("batch_size", "log_every", "eval_every", "eval_sequences", "unroll"):
            check_positive_int(name, getattr(self, name))
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        for name in ("lr", "momentum", "clip_value", "clip_norm", "target_cost"):
            value = getattr(self, name)
            if (value is not None or name in ("lr", "momentum")) and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                raise TypeError(f"{name}: expected a number, got {value!r}")
        if not 0 < self.lr < 1:
            raise ValueError(f"lr: must be a number in (0, 1), got {self.lr!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum: must lie in [0, 1), got {self.momentum!r}")
        for name in ("clip_value", "clip_norm"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name}: must be > 0 or None, got {value!r}")
        if self.threads is not None:
            check_positive_int("threads", self.threads)
        if self.checkpoint_every is not None:
            check_positive_int("checkpoint_every", self.checkpoint_every)
        if self.max_seconds is not None and not (isinstance(self.max_seconds, (int, float)) and self.max_seconds > 0):
            raise ValueError(f"max_seconds: must be a number > 0 or None, got {self.max_seconds!r}")
        if self.target_cost is not None and self.target_cost < 0:
            raise ValueError(f"target_cost: must be >= 0 or None, got {self.target_cost!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Per task: the model (NTM, LSTM controller) and how to train it. "paper" is section 4 as
# written; "fast" is what we measured to converge quickest here (benchmarks/README.md).
# Heads: the paper's "1 head" means one read and one write head.
_PAPER_LR = {"copy": 1e-4, "repeat_copy": 1e-4, "associative_recall": 1e-4, "ngrams": 3e-5, "priority_sort": 3e-5}
_PAPER_MODEL: dict[str, dict[str, Any]] = {
    "copy": {},
    "repeat_copy": {},
    "associative_recall": {},
    "ngrams": {},
    "priority_sort": {"num_read_heads": 5, "num_write_heads": 5, "controller_layers": 2},
}
# The paper's LSTM baselines: 3 layers of these sizes, and their learning rates.
_PAPER_LSTM = {
    "copy": (256, 3e-5),
    "repeat_copy": (512, 3e-5),
    "associative_recall": (256, 1e-4),
    "ngrams": (128, 1e-4),
    "priority_sort": (128, 3e-5),
}
# DEPARTURE from the paper for the default ("fast") preset: Adam with batches of 32 and a
# global-norm clip, as Collier & Beel recommend. Per sequence it learns about as fast as
# the paper's RMSProp at batch 1, but a batch of 32 costs little more than one sequence
# on a CPU, so it converges many times sooner in wall-clock time.
_FAST_TRAIN = {
    "batch_size": 32,
    "optimizer": "adam",
    "lr": 2e-3,
    "clip_value": None,
    "clip_norm": 50.0,
}
# Steps (batches of 32) and evaluation interval of the fast preset's default run.
_FAST_RUN: dict[str, dict[str, Any]] = {
    "copy": {"steps": 3000, "eval_every": 100},
    "repeat_copy": {"steps": 20000, "eval_every": 500},
    "associative_recall": {"steps": 20000, "eval_every": 500},
    "ngrams": {"steps": 10000, "eval_every": 500},
    "priority_sort": {"steps": 20000, "eval_every": 500},
}
_FAST_TASK = {"copy": {"same_length": True}, "repeat_copy": {"same_length": True}, "associative_recall": {"same_length": True}}


def preset(task: str, name: str = "fast", kind: str = "ntm") -> dict[str, dict[str, Any]]:
    """Settings for ``task``: ``{"model": ..., "train": ..., "task": ...}`` overrides.

    ``name`` is "fast" (the default: measured here) or "paper" (section 4 as written);
    ``kind`` is "ntm" or "lstm" (the paper's 3-layer baseline).
    """
    check_choice("task", task, tuple(_PAPER_LR))
    check_choice("preset", name, ("fast", "paper"))
    check_choice("kind", kind, ("ntm", "lstm"))
    if kind == "ntm":
        model = dict(_PAPER_MODEL[task])
        lr = _PAPER_LR[task]
    else:
        hidden, lr = _PAPER_LSTM[task]
        model = {"hidden_size": hidden, "num_layers": 3}
    if name == "paper":
        train: dict[str, Any] = {"batch_size": 1, "optimizer": "rmsprop", "lr": lr, "clip_value": 10.0}
        return {"model": model, "train": train, "task": {}}
    train = {**_FAST_TRAIN, **_FAST_RUN[task]}
    if kind == "lstm" or task != "copy":
        train["lr"] = 1e-3  # 2e-3 is fastest for copy; the longer tasks are steadier at 1e-3
    return {"model": model, "train": train, "task": dict(_FAST_TASK.get(task, {}))}


PRESETS = ("fast", "paper")


# ----------------------------------------------------------------------------------------
# Loss and evaluation
# ----------------------------------------------------------------------------------------
def masked_loss(logits: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    """Mean binary cross-entropy (nats) over the output bits of the masked steps."""
    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")  # (B, T, out)
    weight = mask.unsqueeze(-1)
    return (bce * weight).sum() / (weight.sum() * y.shape[-1]).clamp_min(1)


def bit_errors(logits: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    """Wrongly thresholded output bits per sequence, masked steps only: (B,)."""
    wrong = ((logits > 0).to(y.dtype) != y).to(y.dtype) * mask.unsqueeze(-1)
    return wrong.sum(dim=(1, 2))


@dataclass
class EvalResult:
    """Held-out performance, averaged over ``num_sequences`` sequences."""

    bits_per_sequence: float  # wrongly thresholded output bits (the paper's cost)
    loss: float  # mean binary cross-entropy per masked output bit, in nats
    cost_bits: float  # cross-entropy in bits per sequence (the paper's N-grams cost)
    num_sequences: int
    optimal_cost_bits: float | None = None  # N-grams only: the Bayes-optimal estimator

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _eval_batches(task: Task, num_sequences: int, batch_size: int, seed: int) -> list[tuple[Tensor, Tensor, Tensor]]:
    if getattr(task, "same_length", False) and dataclasses.is_dataclass(task):
        # held-out sequences are drawn independently: with same_length a whole batch of
        # them would share one length, and the cost would be that length's
        task = dataclasses.replace(task, same_length=False)
    generator = torch.Generator().manual_seed(seed)
    batches, left = [], num_sequences
    while left > 0:
        b = min(batch_size, left)
        batches.append(task.sample(b, generator))
        left -= b
    return batches


@torch.no_grad()
def _evaluate_batches(model: nn.Module, task: Task, batches: list[tuple[Tensor, Tensor, Tensor]]) -> EvalResult:
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    n, bits, nats, masked_bits = 0, 0.0, 0.0, 0.0
    for x, y, mask in batches:
        x, y, mask = x.to(device), y.to(device), mask.to(device)
        logits = model(x)
        bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none") * mask.unsqueeze(-1)
        nats += float(bce.sum())
        masked_bits += float(mask.sum()) * y.shape[-1]
        bits += float(bit_errors(logits, y, mask).sum())
        n += x.shape[0]
    optimal = None
    if isinstance(task, NGramsTask):
        from ntm_nb.tasks import ngram_optimal_cost

        total = sum(ngram_optimal_cost(x, y, m, n=task.n) * x.shape[0] for x, y, m in batches)
        optimal = total / n
    model.train(was_training)
    return EvalResult(
        bits_per_sequence=bits / n,
        loss=nats / max(masked_bits, 1.0),
        cost_bits=nats / math.log(2) / n,
        num_sequences=n,
        optimal_cost_bits=optimal,
    )


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
    """
    check_positive_int("num_sequences", num_sequences)
    check_positive_int("batch_size", batch_size)
    if not isinstance(task, Task):
        raise TypeError(f"task: expected a Task (see ntm_nb.tasks.TASKS), got {type(task).__name__}")
    return _evaluate_batches(model, task, _eval_batches(task, num_sequences, batch_size, seed))


# ----------------------------------------------------------------------------------------
# History
# ----------------------------------------------------------------------------------------
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

    def to_dict(self) -> dict[str, list]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, list]) -> "History":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: list(v) for k, v in data.items() if k in names})


@dataclass
class TrainResult:
    model: nn.Module
    history: History
    step: int  # optimizer steps done in total (including resumed ones)
    interrupted: bool = False  # stopped by KeyboardInterrupt or a callback
    reached_target: bool = False  # stopped early at target_cost
    out_of_time: bool = False  # stopped at max_seconds
    final_eval: EvalResult | None = None


@dataclass
class TrainState:
    """Everything needed to continue a run exactly: kept in checkpoints."""

    step: int
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    history: History
    seconds: float = 0.0


def _backward(loss: Tensor) -> None:
    loss.backward()


def _is_compile_error(err: BaseException) -> bool:
    """True for errors raised by torch.compile's machinery (dynamo, inductor, AOT autograd)."""
    module = type(err).__module__ or ""
    return module.startswith(("torch._inductor", "torch._dynamo", "torch._functorch"))


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    # Graves (2013): centred RMSProp, decay 0.95, momentum 0.9, epsilon 1e-4.
    return torch.optim.RMSprop(
        params, lr=config.lr, alpha=0.95, eps=1e-4, momentum=config.momentum, centered=True
    )


Callback = Callable[[dict[str, Any]], Any]


def train(
    model: nn.Module,
    task: Task,
    config: TrainConfig | None = None,
    *,
    state: TrainState | None = None,
    callbacks: tuple[Callback, ...] | list[Callback] = (),
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
    command: str | None = None,
    **overrides: Any,
) -> TrainResult:
    """Train ``model`` on batches of ``task``; returns the model, its history and more.

    Args:
        model: an ``NTM`` or ``LSTMBaseline`` (trained in place).
        task: a task from ``ntm_nb.tasks``.
        config: a ``TrainConfig``; keyword ``overrides`` replace its fields.
        state: a ``TrainState`` to continue from (``checkpoint.load_train_state``): the
            optimizer, the batch generator, the step and the history. A resumed run ends
            at ``config.steps`` in total and is identical to an uninterrupted one.
        callbacks: functions called with a dict (``event`` = "log", "eval" or "end",
            plus ``step``, ``history``, ``model``) at every record; one that returns
            ``True`` stops training cleanly (as KeyboardInterrupt does).
        checkpoint_dir: where to save checkpoints (every ``checkpoint_every`` steps, on
            interrupt and at the end); ``None`` saves nothing.
        progress: show a tqdm progress bar (a widget in Jupyter, text in a terminal).
        command: the command line recorded in checkpoints (default: ``sys.argv``).
    """
    from tqdm.auto import tqdm

    from ntm_nb.checkpoint import save

    config = config or TrainConfig()
    if overrides:
        config = dataclasses.replace(config, **overrides)
    if not isinstance(task, Task):
        raise TypeError(f"task: expected a Task (see ntm_nb.tasks.TASKS), got {type(task).__name__}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an NTM or LSTMBaseline, got {type(model).__name__}")
    if getattr(model.config, "input_size", None) != task.input_size or getattr(
        model.config, "output_size", None
    ) != task.output_size:
        raise ValueError(
            f"model: input/output sizes ({model.config.input_size}, {model.config.output_size}) "
            f"do not match task {task.name!r} ({task.input_size}, {task.output_size})"
        )
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    if config.compile and hasattr(model, "compile_step") and not getattr(model, "is_compiled", True):
        model.compile_step(unroll=config.unroll)
    device = next(model.parameters()).device
    if state is None:
        state = TrainState(
            step=0,
            optimizer=make_optimizer(model, config),
            generator=torch.Generator().manual_seed(config.seed),
            history=History(),
        )
    opt, gen, history = state.optimizer, state.generator, state.history
    eval_batches = _eval_batches(task, config.eval_sequences, min(config.eval_sequences, 256), config.eval_seed)
    params = [p for p in model.parameters() if p.requires_grad]

    def save_checkpoint() -> None:
        if checkpoint_dir is not None:
            save(model, checkpoint_dir, task=task, history=history, train_config=config, train_state=state, command=command)

    def notify(event: str, **extra: Any) -> bool:
        info = {"event": event, "step": state.step, "history": history, "model": model, **extra}
        return any(bool(cb(info)) for cb in callbacks)

    result = TrainResult(model=model, history=history, step=state.step)
    model.train()
    bar = tqdm(total=config.steps, initial=state.step, disable=not progress, desc=f"train {task.name}", unit="batch")
    run_loss, run_bits, run_n, run_seqs = 0.0, 0.0, 0, 0
    start = time.perf_counter() - state.seconds
    gen_before: Tensor | None = None
    try:
        while state.step < config.steps:
            # An interrupt (Ctrl-C) before this step's update must leave the batch undrawn,
            # so that a resumed run sees the same data as an uninterrupted one.
            gen_before = gen.get_state()
            x, y, mask = (t.to(device) for t in task.sample(config.batch_size, gen))
            logits = model(x)
            loss = masked_loss(logits, y, mask)
            opt.zero_grad(set_to_none=True)
            try:
                _backward(loss)
            except Exception as err:
                # torch compiles the backward of the compiled step lazily, at the first
                # backward; if that fails (a broken GPU toolchain, say), train on eagerly.
                if not getattr(model, "is_compiled", False) or not _is_compile_error(err):
                    raise
                warn_compile_failed(err, " in the backward pass")
                model.compile_step(False)
                opt.zero_grad(set_to_none=True)
                logits = model(x)
                loss = masked_loss(logits, y, mask)
                _backward(loss)
            if config.clip_value is not None:
                torch.nn.utils.clip_grad_value_(params, config.clip_value)
            if config.clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, config.clip_norm)
            opt.step()
            state.step += 1
            gen_before = None  # the batch is used: a later interrupt keeps the generator as is
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"training loss became {value} at step {state.step}; try a lower lr "
                    f"(now {config.lr}) or clipping (clip_norm={config.clip_norm})"
                )
            run_loss += value
            run_bits += float(bit_errors(logits.detach(), y, mask).mean())
            run_n += 1
            run_seqs += x.shape[0]
            bar.update(1)
            stop = False
            out_of_time = config.max_seconds is not None and time.perf_counter() - start >= config.max_seconds
            last = state.step == config.steps or out_of_time  # record and evaluate the last step
            if state.step % config.log_every == 0 or last:
                state.seconds = time.perf_counter() - start
                history.step.append(state.step)
                history.sequences.append((history.sequences[-1] if history.sequences else 0) + run_seqs)
                history.seconds.append(round(state.seconds, 3))
                history.loss.append(run_loss / run_n)
                history.bits.append(run_bits / run_n)
                bar.set_postfix(loss=f"{run_loss / run_n:.4f}", bits=f"{run_bits / run_n:.2f}")
                run_loss, run_bits, run_n, run_seqs = 0.0, 0.0, 0, 0
                stop = notify("log")
            if state.step % config.eval_every == 0 or last:
                result.final_eval = ev = _evaluate_batches(model, task, eval_batches)
                state.seconds = time.perf_counter() - start
                history.eval_step.append(state.step)
                # sequences seen so far: those recorded, plus those since the last record
                history.eval_sequences.append((history.sequences[-1] if history.sequences else 0) + run_seqs)
                history.eval_seconds.append(round(state.seconds, 3))
                history.eval_bits.append(ev.bits_per_sequence)
                history.eval_loss.append(ev.loss)
                history.eval_cost_bits.append(ev.cost_bits)
                stop = notify("eval", eval=ev) or stop
                if config.target_cost is not None and ev.bits_per_sequence <= config.target_cost:
                    result.reached_target = True
                    stop = True
            if config.checkpoint_every and state.step % config.checkpoint_every == 0:
                save_checkpoint()
            if stop:
                result.interrupted = not result.reached_target
                break
            if out_of_time:
                result.out_of_time = True
                break
    except KeyboardInterrupt:
        result.interrupted = True
        if gen_before is not None:
            gen.set_state(gen_before)
    finally:
        bar.close()
        state.seconds = time.perf_counter() - start
        model.eval()
    result.step = state.step
    save_checkpoint()
    notify("end")
    return result
