"""Schedules over a run's steps: the learning rate (warm-up, decay) and the curriculum.

* ``scheduled_lr(config, step)`` — the learning rate of a step under ``warmup_steps`` and
  ``lr_final``; ``schedule_step`` — the step it is given (``restart_schedule``: counted
  from the last restart).
* ``curriculum_task(task, step, steps, generator)`` — the task of a step of a curriculum
  that grows the task's size range from its smallest, on a schedule or (``level``) one
  size at a time; ``curriculum_levels`` says how many sizes it grows through;
  ``check_curriculum`` says whether a task has a range to grow.
* ``levels_met``, ``curriculum_is_full``, ``paced_curriculum_grows``,
  ``curriculum_stalled`` — where a paced curriculum stands, read off a run's ``History``:
  the levels it met, whether it has its full range, whether it grows now, whether it
  has stalled (``TrainConfig.curriculum_patience``).
"""

from __future__ import annotations

from typing import Protocol

import torch

from ntm_nb.records import History
from ntm_nb.tasks import Task

__all__ = [
    "scheduled_lr",
    "schedule_step",
    "check_curriculum",
    "curriculum_levels",
    "curriculum_task",
    "levels_met",
    "curriculum_is_full",
    "paced_curriculum_grows",
    "curriculum_stalled",
]


class LRSchedule(Protocol):
    """The ``TrainConfig`` fields ``scheduled_lr`` reads (train imports this module)."""

    steps: int
    lr: float
    warmup_steps: int
    lr_final: float | None
    restart_schedule: bool


def scheduled_lr(config: LRSchedule, step: int) -> float:
    """The learning rate of training step ``step`` (0-based): a linear warm-up from
    ``lr / warmup_steps`` to ``lr`` over the first ``warmup_steps`` steps, then, with
    ``lr_final``, a linear decay from ``lr`` to ``lr_final`` at step ``steps - 1``."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.lr_final is None:
        return config.lr
    span = max(1, config.steps - 1 - config.warmup_steps)
    frac = min(1.0, (step - config.warmup_steps) / span)
    return config.lr + (config.lr_final - config.lr) * frac


def schedule_step(config: LRSchedule, history: History, step: int) -> int:
    """The step that ``scheduled_lr`` is given at training step ``step``: the step itself,
    or with ``TrainConfig.restart_schedule`` the steps since the run's last restart."""
    if config.restart_schedule and history.restart_step:
        return step - history.restart_step[-1]
    return step


def _size_field(task: Task) -> str:
    return task.size_setting.field if task.size_setting is not None else "size"


def _curriculum_settings(task: Task) -> dict[str, tuple[int, int]]:
    """The size settings a curriculum can grow: field name -> training range."""
    settings = {_size_field(task): task.training_range()}
    if task.extra_setting is not None:
        settings[task.extra_setting.field] = task.extra_training_range()
    return settings


def check_curriculum(task: Task, grows: str = "all") -> None:
    """A ``ValueError`` unless ``task`` has a size range for a curriculum to grow: every
    setting (``grows="all"``) or the one named (``"length"``, ``"repeats"``, ...)."""
    try:
        settings = _curriculum_settings(task)
    except NotImplementedError:
        raise ValueError(
            f"curriculum_steps: task {task.name!r} has no size setting to grow; use 0 (off)"
        ) from None
    if grows != "all" and grows not in settings:
        accepted = ", ".join(repr(k) for k in ("all", *settings))
        raise ValueError(f"curriculum_of: task {task.name!r} can grow {accepted}; got {grows!r}")
    grown = list(settings) if grows == "all" else [grows]
    if all(settings[k][0] == settings[k][1] for k in grown):
        size = settings[_size_field(task)][0] if grows == "all" else f"{grows} {settings[grows][0]}"
        raise ValueError(
            f"curriculum_steps: task {task.name!r} trains at one size ({size}), nothing to "
            "grow; use 0 (off)"
        )


def curriculum_levels(task: Task, grows: str = "all") -> int:
    """How many sizes a paced curriculum grows through: its top starts at level 0 (the
    smallest size) and is the full range at this level (the widest grown setting's
    ``high - low``)."""
    settings = _curriculum_settings(task)
    grown = list(settings) if grows == "all" else [grows]
    return max(settings[k][1] - settings[k][0] for k in grown)


def curriculum_task(
    task: Task,
    step: int,
    steps: int,
    generator: torch.Generator,
    grows: str = "all",
    level: int | None = None,
) -> Task:
    """The task of training step ``step`` (0-based) of a curriculum over ``steps`` steps.

    The size (sequence length, items, ...; and repeat copy's repeat count) of the whole
    batch is drawn uniformly, with ``generator``, from the low end of the task's training
    range up to a top that grows linearly to the range's high end at step ``steps - 1``;
    from then on the task is the task. So early batches are short and easy, and a run
    sees the full range, one size per batch, for the rest of its steps. ``grows`` names
    the one setting to grow (repeat copy: ``"length"`` or ``"repeats"``); the other is then
    drawn from its whole range from the start (also one per batch).

    ``level`` (a paced curriculum, ``TrainConfig.curriculum_pace``): the top is the low end
    plus ``level`` instead of the schedule's, up to each setting's high end; the task is
    the task from step ``steps`` on, or once ``level`` reaches ``curriculum_levels``.
    """
    if step >= steps or (level is not None and level >= curriculum_levels(task, grows)):
        return task
    frac = (step + 1) / steps

    def draw(lo: int, hi: int, field: str) -> int:
        if grows not in ("all", field):
            top = hi
        elif level is not None:
            top = min(hi, lo + level)
        else:
            top = lo + round((hi - lo) * frac)
        return int(torch.randint(lo, top + 1, (1,), generator=generator))

    size = draw(*task.training_range(), _size_field(task))
    extra = None
    if task.extra_setting is not None:
        extra = draw(*task.extra_training_range(), task.extra_setting.field)
    return task.sized(size, extra)


# ----------------------------------------------------------------------------------------
# A paced curriculum's state, read off a run's history (train calls these at its records)
# ----------------------------------------------------------------------------------------
class CurriculumSchedule(Protocol):
    """The ``TrainConfig`` fields of the curriculum that the functions below read."""

    curriculum_steps: int
    curriculum_of: str
    curriculum_pace: float | None
    curriculum_lesson: bool
    curriculum_patience: int
    curriculum_lesson_patience: int


def paced_curriculum_grows(
    config: CurriculumSchedule, task: Task, history: History, wrong: float, out: float
) -> bool:
    """``TrainConfig.curriculum_pace``: whether the curriculum's top grows by one size now,
    at a regular training record (every ``log_every`` steps, so that a run split at any
    step decides as an unsplit one): the error rate since the last one (``wrong`` bits of
    ``out``, output bits or sequences by ``curriculum_pace_per``) is below the pace and the
    curriculum is still on, below its full range."""
    if config.curriculum_pace is None or out == 0:
        return False
    full = curriculum_is_full(config, task, history, history.step[-1])
    return not full and wrong / out < config.curriculum_pace


def levels_met(history: History) -> int:
    """The paced curriculum's levels met since the run's start or its last restart (a
    restarted run, new weights, starts the paced curriculum again at level 0)."""
    since = history.restart_step[-1] if history.restart_step else 0
    return sum(1 for step in history.curriculum_step if step > since)


def curriculum_is_full(config: CurriculumSchedule, task: Task, history: History, step: int) -> bool:
    """Whether the curriculum (if any) trains on the full range after step ``step``: from
    step ``curriculum_steps`` on, or once a paced curriculum has met every level."""
    if not config.curriculum_steps or step >= config.curriculum_steps:
        return True
    if config.curriculum_pace is None:
        return False
    levels = curriculum_levels(task, config.curriculum_of) + int(config.curriculum_lesson)
    return levels_met(history) >= levels


def curriculum_stalled(config: CurriculumSchedule, task: Task, history: History, step: int) -> bool:
    """``TrainConfig.curriculum_patience``: whether a paced curriculum below its full range
    has met no level for ``curriculum_patience`` steps up to ``step``, counted from the
    run's start, its last level met or its last restart, whichever is latest; or
    (``curriculum_lesson_patience``) has not met its first lesson for that many steps."""
    patience, lesson = config.curriculum_patience, config.curriculum_lesson_patience
    if not (patience or lesson) or curriculum_is_full(config, task, history, step):
        return False
    waited = step - max([0, *history.restart_step[-1:], *history.curriculum_step[-1:]])
    if lesson and config.curriculum_lesson and levels_met(history) == 0 and waited >= lesson:
        return True
    return bool(patience) and waited >= patience
