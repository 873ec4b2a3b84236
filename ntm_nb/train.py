"""Training: the paper's setup (section 4), and a faster one we measured.

* ``train(model, task, config)`` — one loop for the NTM and the LSTM baseline: seeded
  batches, RMSProp with momentum 0.9 (the paper) or Adam, elementwise and/or global-norm
  gradient clipping, a history, periodic evaluation on a fixed held-out set, early stop
  at a target cost, a tqdm progress bar, callbacks, checkpoints, exact resume, and a
  clean stop on KeyboardInterrupt that keeps the model, the history and a checkpoint.

The records a run produces (``History``, ``TrainState``, ``EvalResult``, ``TrainResult``)
live in ``ntm_nb.records``; the optimizers in ``ntm_nb.optim``; the loss and ``evaluate``
in ``ntm_nb.evaluation``; the learning-rate and curriculum schedules in
``ntm_nb.schedules``; the presets (``preset``) in ``ntm_nb.presets`` (all re-exported
here).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ntm_nb._checks import check_choice, check_positive_int
from ntm_nb.checkpoint import save, weights_folder
from ntm_nb.evaluation import (
    check_task_and_model,
    eval_batches,
    evaluate,
    evaluate_batches,
    masked_loss,
)
from ntm_nb.model import is_ntm, warn_compile_failed
from ntm_nb.optim import OPTIMIZERS, make_optimizer
from ntm_nb.presets import KINDS, PRESETS, preset
from ntm_nb.records import BestState, EvalResult, History, TrainResult, TrainState
from ntm_nb.schedules import (
    check_curriculum,
    curriculum_is_full,
    curriculum_stalled,
    curriculum_task,
    levels_met,
    paced_curriculum_grows,
    schedule_step,
    scheduled_lr,
)
from ntm_nb.tasks import Task, bit_errors
from ntm_nb.tasks.base import check_seed, output_weights

__all__ = [
    "TrainConfig",
    "PACE_UNITS",
    "preset",
    "PRESETS",
    "KINDS",
    "masked_loss",
    "bit_errors",
    "evaluate",
    "train",
    "check_writable",
    "check_curriculum",
    "scheduled_lr",
    "curriculum_task",
    "make_optimizer",
    "OPTIMIZERS",
    "EvalResult",
    "History",
    "TrainResult",
    "TrainState",
]


# ----------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------
#: What ``TrainConfig.curriculum_pace`` counts wrong bits per: an output bit or a sequence.
PACE_UNITS = ("bit", "sequence")


def _check_number(
    config: Any, name: str, accepted: str, ok: Callable[[float], bool], none: bool
) -> None:
    """``config.name`` must be a finite real number passing ``ok`` (or None where allowed)."""
    value = getattr(config, name)
    if value is None and none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected {accepted}, got {value!r}")
    if not (math.isfinite(value) and ok(value)):
        raise ValueError(f"{name}: must be {accepted}, got {value!r}")
    if not isinstance(value, (int, float)):
        setattr(config, name, float(value))  # numpy numbers become plain floats (for JSON)


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
    target_cost: float | None = None  # stop early once the held-out measure <= this
    compile: bool = True  # use the compiled NTM step (falls back to eager if unavailable)
    fast_start: bool = False  # train eagerly while the step compiles in the background
    unroll: int = 1  # compiled steps per call (2: ~10-20% faster steps, a longer compile)
    threads: int | None = None  # torch CPU threads for this run (None: leave as is)
    checkpoint_every: int | None = None  # save a checkpoint every this many steps
    max_seconds: float | None = None  # stop cleanly after this much training time
    curriculum_steps: int = 0  # grow the task's size range from its smallest over N steps (0: off)
    curriculum_of: str = "all"  # the settings it grows: all, or one by name ("repeats", ...)
    # a paced curriculum: the top grows one size whenever the training error rate (wrong
    # bits per output bit over the last log_every steps) is below this, and is the full
    # range from step curriculum_steps at the latest (None: the schedule alone)
    curriculum_pace: float | None = None
    # what curriculum_pace counts: "bit", wrong bits per output bit (an error rate), or
    # "sequence", wrong bits per sequence (a number > 0), in which a sequence's rare steps
    # (repeat copy's end marker: 9 bits of up to 809) weigh as much as its long stretches
    curriculum_pace_per: str = "bit"
    # with a paced curriculum: train on the task's first lesson (Task.first_lesson; repeat
    # copy: no end marker to predict) at the smallest size until the pace is first met
    curriculum_lesson: bool = False
    warmup_steps: int = 0  # raise the lr linearly to lr over the first N steps (0: off)
    lr_final: float | None = None  # then lower it linearly to this at the last step (None: off)
    # when a held-out evaluation is worse than the best so far by more than this many bits
    # per sequence (the task's measure), go back to the best one's weights and optimizer
    # state and multiply the lr by rollback_lr_factor
    rollback: float | None = None
    # the factor a rollback multiplies the lr by (0.5: halved, the default; 1: kept)
    rollback_lr_factor: float = 0.5
    # the factor for a repeated rollback, one back to the same best as the last rollback
    # (the run collapsed again from there: its lr is too high there); None: rollback_lr_factor
    rollback_repeat_lr_factor: float | None = None
    # True: the rollback keeps no best and never rolls back until the curriculum has its
    # full range (a paced one: every level met), while the held-out cost, always the full
    # range, says little about a run that trains on the small sizes
    rollback_after_curriculum: bool = False
    # when the run has not reached target_cost this many steps after its start (or its last
    # restart), start again from new initial weights and a new optimizer (0: off)
    restart_after: int = 0
    # with a paced curriculum: when it has met no level for this many steps (since the
    # run's start, its last level or its last restart), below its full range, start
    # again from new initial weights and a new optimizer, as restart_after does (0: off)
    curriculum_patience: int = 0
    # with curriculum_lesson: the same restart when the lesson is not met this many steps
    # after the run's start or its last restart, however long curriculum_patience is (a
    # slow lesson foretells a stall later: notebook 12 measures it; 0: off)
    curriculum_lesson_patience: int = 0
    # True: a restart also starts the lr's warm-up and decay again, from its step, as a
    # fresh run would (False: the schedule runs on over the run's steps)
    restart_schedule: bool = False

    def __post_init__(self) -> None:
        check_positive_int("steps", self.steps, 0)
        for name in ("batch_size", "log_every", "eval_every", "eval_sequences", "unroll"):
            check_positive_int(name, getattr(self, name))
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("curriculum_pace_per", self.curriculum_pace_per, PACE_UNITS)
        per_sequence = self.curriculum_pace_per == "sequence"
        self.seed = check_seed("seed", self.seed)
        self.eval_seed = check_seed("eval_seed", self.eval_seed)
        # (field, the accepted values in words, the test, None allowed): finite numbers only
        for name, accepted, ok, none in (
            ("lr", "a number in (0, 1)", lambda v: 0 < v < 1, False),
            ("momentum", "a number in [0, 1)", lambda v: 0 <= v < 1, False),
            ("clip_value", "a finite number > 0, or None (no clipping)", lambda v: v > 0, True),
            ("clip_norm", "a finite number > 0, or None (no clipping)", lambda v: v > 0, True),
            (
                "target_cost",
                "a finite number >= 0, or None (no early stop)",
                lambda v: v >= 0,
                True,
            ),
            ("max_seconds", "a finite number > 0, or None (no time limit)", lambda v: v > 0, True),
            ("lr_final", "a number in (0, 1), or None (no decay)", lambda v: 0 < v < 1, True),
            ("rollback", "a finite number > 0, or None (no rollback)", lambda v: v > 0, True),
            ("rollback_lr_factor", "a number in (0, 1]", lambda v: 0 < v <= 1, False),
            (
                "rollback_repeat_lr_factor",
                "a number in (0, 1], or None (rollback_lr_factor)",
                lambda v: 0 < v <= 1,
                True,
            ),
            (
                "curriculum_pace",
                "a number of wrong bits per sequence > 0, or None (the schedule alone)"
                if per_sequence
                else "an error rate in (0, 1), or None (the schedule alone)",
                (lambda v: v > 0) if per_sequence else (lambda v: 0 < v < 1),
                True,
            ),
        ):
            _check_number(self, name, accepted, ok, none)
        for name in ("compile", "fast_start", "curriculum_lesson", "rollback_after_curriculum",
                     "restart_schedule"):  # fmt: skip
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}: expected True or False, got {getattr(self, name)!r}")
        if self.threads is not None:
            check_positive_int("threads", self.threads)
        if self.checkpoint_every is not None:
            check_positive_int("checkpoint_every", self.checkpoint_every)
        check_positive_int("curriculum_steps", self.curriculum_steps, 0)
        if not isinstance(self.curriculum_of, str) or not self.curriculum_of:
            raise TypeError(
                "curriculum_of: expected 'all' or a task's size setting by name (e.g. "
                f"'length', 'repeats'), got {self.curriculum_of!r}"
            )
        if self.curriculum_pace is not None and not self.curriculum_steps:
            raise ValueError(
                "curriculum_pace: a paced curriculum needs curriculum_steps (the step by which "
                "it is the full range at the latest); set curriculum_steps > 0, or "
                "curriculum_pace=None (off)"
            )
        if self.curriculum_lesson and self.curriculum_pace is None:
            raise ValueError(
                "curriculum_lesson: the first lesson ends when the pace is met; set "
                "curriculum_pace (and curriculum_steps), or curriculum_lesson=False (off)"
            )
        check_positive_int("curriculum_patience", self.curriculum_patience, 0)
        if self.curriculum_patience and self.curriculum_pace is None:
            raise ValueError(
                "curriculum_patience: counts the steps since a paced curriculum's last level; "
                "set curriculum_pace (and curriculum_steps), or curriculum_patience=0 (off)"
            )
        check_positive_int("curriculum_lesson_patience", self.curriculum_lesson_patience, 0)
        if self.curriculum_lesson_patience and not self.curriculum_lesson:
            raise ValueError(
                "curriculum_lesson_patience: counts the steps of a paced curriculum's first "
                "lesson; set curriculum_lesson=True (with curriculum_pace), or "
                "curriculum_lesson_patience=0 (off)"
            )
        check_positive_int("warmup_steps", self.warmup_steps, 0)
        check_positive_int("restart_after", self.restart_after, 0)
        if self.restart_after and self.target_cost is None:
            raise ValueError(
                "restart_after: a restart needs target_cost (the run restarts when it has not "
                "reached it); set target_cost, or use restart_after=0 (off)"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _keep_best_or_roll_back(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    state: TrainState,
    cost: float,
    config: TrainConfig,
) -> None:
    """``TrainConfig.rollback`` after an evaluation of held-out ``cost``: keep a copy of the
    run at a new best; where the cost is worse than the best by more than
    ``config.rollback``, restore the best's weights and optimizer state and multiply the
    learning rate by ``config.rollback_lr_factor`` (0.5, halved, by default), or by
    ``config.rollback_repeat_lr_factor`` where the last rollback went back to the same best
    (no new best since: the run collapsed again from there). The batches drawn since are
    not drawn again: the run goes on with new data, and its steps count towards
    ``config.steps``."""
    best, rollbacks = state.best, state.history.rollback_step
    if best is None or cost < best.cost:
        weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        state.best = BestState(state.step, cost, weights, copy.deepcopy(opt.state_dict()))
    elif cost > best.cost + config.rollback:  # type: ignore[operator]
        repeat = bool(rollbacks) and best.step < rollbacks[-1]  # no new best since the last
        factor = config.rollback_lr_factor
        if repeat and config.rollback_repeat_lr_factor is not None:
            factor = config.rollback_repeat_lr_factor
        model.load_state_dict(best.model)
        opt.load_state_dict(copy.deepcopy(best.optimizer))  # the optimizer steps in place
        state.lr_scale *= factor
        rollbacks.append(state.step)


def _restart(model: nn.Module, state: TrainState, config: TrainConfig) -> None:
    """``TrainConfig.restart_after``: new initial weights (drawn from a seed derived from
    ``config.seed`` and the restart's number, so a resumed run draws the same), a new
    optimizer, no best copy, the full learning rate; the batches go on."""
    number = len(state.history.restart_step) + 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed((config.seed + 1_000_003 * number) % 2**63)
        fresh = type(model)(model.config)  # type: ignore[operator]
    model.load_state_dict(fresh.state_dict())
    state.optimizer = make_optimizer(model, config)
    state.best, state.lr_scale = None, 1.0
    state.history.restart_step.append(state.step)


def _backward(loss: Tensor) -> None:
    loss.backward()


def _is_compile_error(err: BaseException) -> bool:
    """True for errors raised by torch.compile's machinery (dynamo, inductor, AOT autograd)."""
    module = type(err).__module__ or ""
    return module.startswith(("torch._inductor", "torch._dynamo", "torch._functorch"))


Callback = Callable[[dict[str, Any]], Any]
_TRAIN_ARGUMENTS = ("config", "state", "callbacks", "checkpoint_dir", "progress", "command")


def _train_config(config: object, overrides: dict[str, Any]) -> TrainConfig:
    """``config`` (None: the defaults) with ``overrides``, each checked."""
    if config is None:
        config = TrainConfig()
    elif not isinstance(config, TrainConfig):
        raise TypeError(
            f"config: expected a TrainConfig (or None: the defaults), got {type(config).__name__}"
        )
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise TypeError(
            f"train: unknown keyword argument(s) {', '.join(unknown)}; accepted: the TrainConfig "
            f"fields {', '.join(fields)}, and {', '.join(_TRAIN_ARGUMENTS)}"
        )
    return dataclasses.replace(config, **overrides) if overrides else config


def check_writable(folder: Path, name: str) -> None:
    """A ``ValueError`` naming ``name`` unless files can be written into ``folder``."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{name}: {str(folder)!r} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ValueError(f"{name}: cannot write into {str(folder)!r}: {err.strerror}") from None


def _check_train_arguments(
    state: object, callbacks: object, checkpoint_dir: object, progress: object, command: object
) -> tuple[Callback, ...]:
    """Check ``train``'s other arguments before any work; returns the callbacks as a tuple."""
    if state is not None and not isinstance(state, TrainState):
        raise TypeError(
            "state: expected a TrainState (from ntm_nb.checkpoint.load_train_state) or None, "
            f"got {type(state).__name__}"
        )
    if (
        callable(callbacks)
        or not isinstance(callbacks, (list, tuple))
        or not all(callable(cb) for cb in callbacks)
    ):
        raise TypeError(
            "callbacks: expected a list or tuple of functions, each called with a dict "
            f"(one function goes in a list: callbacks=[f]), got {callbacks!r}"
        )
    if not isinstance(progress, bool):
        raise TypeError(f"progress: expected True or False, got {progress!r}")
    if command is not None and not isinstance(command, str):
        raise TypeError(f"command: expected a str or None, got {type(command).__name__}")
    if checkpoint_dir is not None:
        if not isinstance(checkpoint_dir, (str, os.PathLike)):
            raise TypeError(
                "checkpoint_dir: expected a folder (a str or pathlib.Path) or None, got "
                f"{type(checkpoint_dir).__name__}"
            )
        # before the first step: a run is never lost at its end
        check_writable(weights_folder(checkpoint_dir), "checkpoint_dir")
    return tuple(callbacks)


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
    config = _train_config(config, overrides)
    check_task_and_model(model, task)
    if config.curriculum_steps:
        check_curriculum(task, config.curriculum_of)
    lesson = task.first_lesson() if config.curriculum_lesson else None
    if config.curriculum_lesson and lesson is None:
        raise ValueError(
            f"curriculum_lesson: task {task.name!r} has no first lesson (Task.first_lesson); "
            "use curriculum_lesson=False (off)"
        )
    for name in ("restart_after", "curriculum_patience", "curriculum_lesson_patience"):
        if getattr(config, name) and not hasattr(model, "config"):
            raise TypeError(f"{name}: needs a model built from a config (an NTM or LSTMBaseline)")
    callbacks = _check_train_arguments(state, callbacks, checkpoint_dir, progress, command)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    if config.compile and is_ntm(model) and not (model.is_compiled or model.is_compiling):
        model.compile_step(unroll=config.unroll, background=config.fast_start)
    device = next(model.parameters()).device
    if state is None:
        state = TrainState(
            step=0,
            optimizer=make_optimizer(model, config),
            generator=torch.Generator().manual_seed(config.seed),
            history=History(),
        )
    opt, gen, history = state.optimizer, state.generator, state.history
    held_out = eval_batches(
        task, config.eval_sequences, min(config.eval_sequences, 256), config.eval_seed
    )
    params = [p for p in model.parameters() if p.requires_grad]

    def save_checkpoint() -> None:
        if checkpoint_dir is not None:
            save(
                model,
                checkpoint_dir,
                task=task,
                history=history,
                train_config=config,
                train_state=state,
                command=command,
            )

    def notify(event: str, **extra: Any) -> bool:
        info = {"event": event, "step": state.step, "history": history, "model": model, **extra}
        return any(bool(cb(info)) for cb in callbacks)

    result = TrainResult(model=model, history=history, step=state.step)
    model.train()
    bar = tqdm(
        total=config.steps,
        initial=state.step,
        disable=not progress,
        desc=f"train {task.name}",
        unit="batch",
    )
    run_loss, run_bits, run_n, run_seqs = 0.0, 0.0, 0, 0
    start = time.perf_counter() - state.seconds
    gen_before: Tensor | None = None
    try:
        while state.step < config.steps:
            # An interrupt (Ctrl-C) before this step's update must leave the batch undrawn,
            # so that a resumed run sees the same data as an uninterrupted one.
            gen_before = gen.get_state()
            source = task
            if state.step < config.curriculum_steps:
                level = None
                if config.curriculum_pace is not None:  # paced: the levels reached so far
                    level = levels_met(history)
                    if lesson is not None:  # level 0 is the lesson, then the task's sizes
                        source, level = (lesson, 0) if level == 0 else (task, level - 1)
                source = curriculum_task(
                    source, state.step, config.curriculum_steps, gen, config.curriculum_of, level
                )
            x, y, mask = (t.to(device) for t in source.sample(config.batch_size, gen))
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
            if config.warmup_steps or config.lr_final is not None or state.lr_scale != 1.0:
                lr = scheduled_lr(config, schedule_step(config, history, state.step))
                for group in opt.param_groups:
                    group["lr"] = lr * state.lr_scale
            opt.step()
            state.step += 1
            gen_before = None  # the batch is used: a later interrupt keeps the generator as is
            if result.compiled_at_step is None and getattr(model, "is_compiled", False):
                result.compiled_at_step = state.step - 1  # steps run before the compiled one
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"training loss became {value} at step {state.step}; try a lower lr "
                    f"(now {config.lr}) or clipping (clip_norm={config.clip_norm})"
                )
            run_loss += value
            wrong = bit_errors(logits.detach(), y, mask)
            run_bits += float(wrong.mean())
            if config.curriculum_pace is not None:
                window = state.pace_window
                if config.curriculum_pace_per == "bit":
                    out = float((output_weights(mask, y) > 0).sum())
                else:
                    out = float(x.shape[0])
                state.pace_window = (window[0] + float(wrong.sum()), window[1] + out)
            run_n += 1
            run_seqs += x.shape[0]
            bar.update(1)
            stop = False
            out_of_time = (
                config.max_seconds is not None and time.perf_counter() - start >= config.max_seconds
            )
            last = state.step == config.steps or out_of_time  # record and evaluate the last step
            if state.step % config.log_every == 0 or last:
                state.seconds = time.perf_counter() - start
                seen = (history.sequences[-1] if history.sequences else 0) + run_seqs
                history.record_training(
                    state.step, seen, state.seconds, run_loss / run_n, run_bits / run_n
                )
                bar.set_postfix(loss=f"{run_loss / run_n:.4f}", bits=f"{run_bits / run_n:.2f}")
                if state.step % config.log_every == 0:  # a regular record: judge the pace
                    if paced_curriculum_grows(config, task, history, *state.pace_window):
                        history.curriculum_step.append(state.step)
                    elif not last and curriculum_stalled(config, task, history, state.step):
                        _restart(model, state, config)
                        opt = state.optimizer
                    state.pace_window = (0.0, 0.0)
                run_loss, run_bits, run_n, run_seqs = 0.0, 0.0, 0, 0
                stop = notify("log")
            if state.step % config.eval_every == 0 or last:
                result.final_eval = ev = evaluate_batches(model, task, held_out)
                state.seconds = time.perf_counter() - start
                # sequences seen so far: those recorded, plus those since the last record
                seen = (history.sequences[-1] if history.sequences else 0) + run_seqs
                history.record_eval(state.step, seen, state.seconds, ev)
                stop = notify("eval", eval=ev) or stop
                cost = getattr(ev, task.measure)  # the task's measure (N-grams: cross-entropy)
                if config.target_cost is not None and cost <= config.target_cost:
                    result.reached_target = True
                    stop = True
                elif not last:
                    started = history.restart_step[-1] if history.restart_step else 0
                    if config.restart_after and state.step - started >= config.restart_after:
                        _restart(model, state, config)
                        opt = state.optimizer
                    elif config.rollback is not None and (
                        not config.rollback_after_curriculum
                        or curriculum_is_full(config, task, history, state.step)
                    ):
                        _keep_best_or_roll_back(model, opt, state, cost, config)
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
