"""The Task contract, the registry of tasks and the helpers every task shares.

See the ``ntm_nb.tasks`` docstring for the contract a task (yours or a built-in one) follows.
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
import numbers
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import torch
from torch import Tensor

from ntm_nb._checks import check_positive_int

__all__ = [
    "Batch",
    "SizeSetting",
    "TaskPresets",
    "Task",
    "TASKS",
    "register",
    "task_class",
    "make_task",
    "bit_errors",
    "check_fits",
    "check_batch_size",
    "check_generator",
    "check_seed",
    "MEASURES",
]

Batch = tuple[Tensor, Tensor, Tensor]  # (x, y, mask)

#: A task's measure: the ``EvalResult`` field its results are judged by, and its label.
MEASURES = {
    "bits_per_sequence": "wrong bits per sequence",
    "cost_bits": "cross-entropy, bits per sequence",
}


# ----------------------------------------------------------------------------------------
# Shared helpers
# ----------------------------------------------------------------------------------------
def random_bits(shape: tuple[int, ...], generator: torch.Generator | None) -> Tensor:
    """Independent fair coin flips, as float32 0/1."""
    return torch.randint(0, 2, shape, generator=generator, dtype=torch.float32)


def draw_counts(
    low: int, high: int, batch_size: int, same: bool, generator: torch.Generator | None
) -> Tensor:
    """Integers uniform in [low, high]: one per sequence, or one shared by the batch. (B,)"""
    size = (1,) if same else (batch_size,)
    return torch.randint(low, high + 1, size, generator=generator).expand(batch_size)


def check_batch_size(batch_size: int) -> int:
    return check_positive_int("batch_size", batch_size)


def check_generator(generator: object) -> torch.Generator | None:
    """``generator`` must be ``None`` (the global RNG) or a CPU ``torch.Generator``."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            "generator: expected a torch.Generator (e.g. torch.Generator().manual_seed(0)) "
            f"or None (the global RNG), got {type(generator).__name__} {generator!r}"
        )
    if generator is not None and generator.device.type != "cpu":
        raise ValueError(
            "generator: expected a CPU torch.Generator (tasks make their tensors on the CPU), "
            f"got one on {generator.device}"
        )
    return generator


#: Seeds accepted everywhere (``torch.Generator.manual_seed`` takes up to 64 bits).
SEED_RANGE = (0, 2**64 - 1)


def check_seed(name: str, seed: object) -> int:
    """``seed`` must be an integer in [0, 2**64 - 1]; returns it as a plain ``int``."""
    accepted = "an integer in [0, 2**64 - 1]"
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name}: expected {accepted}, got {seed!r}")
    if not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
        raise ValueError(f"{name}: must be {accepted}, got {seed}")
    return int(seed)


def output_weights(mask: Tensor, y: Tensor) -> Tensor:
    """The weight of every output bit, (B, T, out): a step mask (B, T) spread over the
    channels, or a mask that already has one weight a channel (B, T, out), as a task's
    lesson may (repeat copy without its end marker)."""
    return mask.unsqueeze(-1).expand_as(y) if mask.dim() == 2 else mask


def bit_errors(logits: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    """The paper's cost for binary tasks: wrongly thresholded output bits per sequence.

    ``logits`` (B, T, out) are thresholded at 0 (probability 0.5); only the steps where
    ``mask`` (B, T) is above 0 count (or the bits where a (B, T, out) mask is), each once:
    a mask's weights (repeat copy's ``end_weight``) weigh the loss, not the count. Returns (B,).
    """
    counted = (output_weights(mask, y) > 0).to(y.dtype)
    wrong = ((logits > 0).to(y.dtype) != y).to(y.dtype) * counted
    return wrong.sum(dim=(1, 2))


def check_fits(model: Any, task: Task, what: str = "model") -> None:
    """A ``ValueError`` unless ``model``'s input/output sizes are ``task``'s."""
    config = getattr(model, "config", None)
    sizes = (getattr(config, "input_size", "?"), getattr(config, "output_size", "?"))
    if sizes != (task.input_size, task.output_size):
        raise ValueError(
            f"{what}: input/output sizes ({sizes[0]}, {sizes[1]}) do not match task "
            f"{task.name!r} ({task.input_size}, {task.output_size})"
        )


# ----------------------------------------------------------------------------------------
# What a task tells the rest of the package
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SizeSetting:
    """A setting of a task that the explorers vary (a slider), and the slider's range."""

    field: str  # the slider's label: "length", "items", "inputs", "repeats", ...
    low: int  # the slider's range, which may go beyond the training range
    high: int
    trace_default: int  # TraceExplorer's first value (short: readable traces)
    generalization_default: int  # GeneralizationExplorer's first value (beyond training)


@dataclass(frozen=True)
class TaskPresets:
    """How to train a task: what ``ntm_nb.preset(task, "paper" | "fast", kind)`` returns.

    "paper" is section 4 as written (RMSProp, batch 1); "fast" is Adam at batch 32 with a
    global-norm clip, which we measured to converge sooner (``ntm_nb.train``).
    """

    paper_lr: float = 1e-4  # the paper's NTM learning rate (RMSProp, batch 1)
    paper_model: dict[str, Any] = field(default_factory=dict)  # NTMConfig fields of the paper's
    lstm_hidden: int = 256  # the paper's 3-layer LSTM baseline: units per layer
    lstm_lr: float = 3e-5  # ... and its learning rate
    fast_steps: int = 3000  # steps (batches of 32) of the fast preset's run
    fast_eval_every: int = 500  # its evaluation interval
    fast_lr: float = 1e-3  # the fast preset's NTM learning rate (Adam)
    fast_lstm_lr: float = 1e-3  # ... and the LSTM baseline's
    fast_task: dict[str, Any] = field(default_factory=dict)  # task fields the fast preset sets
    fast_model: dict[str, Any] | None = None  # NTMConfig fields of the fast preset (None: paper's)
    fast_batch_size: int = 32  # the fast preset's batch
    target_cost: float | None = None  # "solved": held-out cost <= this (sweeps stop there)
    #: ``TrainConfig`` fields of the fast NTM preset beyond the common ones: the levers a
    #: sweep found to help (``restart_after``, ``rollback``, ``curriculum_steps``, ...).
    #: With ``restart_after`` the preset also stops at ``target_cost``, which a restart needs.
    fast_train: dict[str, Any] = field(default_factory=dict)


class Task(abc.ABC):
    """What every task provides; see the ``ntm_nb.tasks`` docstring for the contract."""

    name: ClassVar[str]  # the key in ``TASKS``
    #: the setting the explorers vary (None: the task has none, the slider is hidden)
    size_setting: ClassVar[SizeSetting | None] = None
    #: a second setting (repeat copy's repeat count), or None
    extra_setting: ClassVar[SizeSetting | None] = None
    #: the ``EvalResult`` field the task is judged by: a key of ``MEASURES``
    measure: ClassVar[str] = "bits_per_sequence"
    #: how to train it (``ntm_nb.preset``)
    presets: ClassVar[TaskPresets] = TaskPresets()

    @property
    @abc.abstractmethod
    def input_size(self) -> int:
        """Channels of ``x``."""

    @property
    @abc.abstractmethod
    def output_size(self) -> int:
        """Channels of ``y``."""

    @abc.abstractmethod
    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        """One batch ``(x, y, mask)``: shapes (B, T, input_size), (B, T, output_size), (B, T)."""

    def to_dict(self) -> dict[str, Any]:
        """The task's fields, for saving next to a model; ``make_task`` reverses it."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    # -- optional: override where the task has the setting -------------------------------
    def training_range(self) -> tuple[int, int]:
        """The range of ``size_setting`` this task draws from."""
        raise NotImplementedError(f"{type(self).__name__} has no size setting")

    def extra_training_range(self) -> tuple[int, int]:
        """The range of ``extra_setting`` this task draws from."""
        raise NotImplementedError(f"{type(self).__name__} has no extra setting")

    def sized(self, size: int, extra: int | None = None) -> Task:
        """This task with its size setting fixed at ``size`` (and the extra one at ``extra``):
        every sequence then has that length, item count, ..."""
        raise NotImplementedError(f"{type(self).__name__} has no size setting")

    def for_evaluation(self) -> Task:
        """The task with every sequence drawn independently (``same_length`` off)."""
        if dataclasses.is_dataclass(self) and getattr(self, "same_length", False):
            return dataclasses.replace(self, same_length=False)  # type: ignore[type-var]
        return self

    def first_lesson(self) -> Task | None:
        """An easier task of the same shapes that a paced curriculum may train on first
        (``TrainConfig.curriculum_lesson``), or None: the task has none."""
        return None

    def optimal_cost(self, x: Tensor, y: Tensor, mask: Tensor) -> float | None:
        """The optimal predictor's cost on a batch, in bits per sequence, where it is known."""
        return None

    # -- checks used by the __post_init__ of the dataclasses -------------------------------
    def _check_int(
        self, field: str, low: int, high: int | None = None, *, low_is: str = "", high_is: str = ""
    ) -> None:
        """``field`` must be an integer in [low, high]; ``low_is``/``high_is`` name a bound."""
        value = getattr(self, field)
        where = f"{type(self).__name__}.{field}"
        lo = f"{low_is} = {low}" if low_is else str(low)
        hi = "" if high is None else (f"{high_is} = {high}" if high_is else str(high))
        accepted = f"an integer >= {lo}" if high is None else f"an integer in [{lo}, {hi}]"
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{where}: expected {accepted}, got {value!r}")
        if value < low or (high is not None and value > high):
            raise ValueError(f"{where}: must be {accepted}, got {value}")
        object.__setattr__(self, field, int(value))  # numpy integers become plain ints

    def _check_bool(self, field: str) -> None:
        value = getattr(self, field)
        if not isinstance(value, bool):
            raise TypeError(f"{type(self).__name__}.{field}: expected True or False, got {value!r}")


# ----------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------
#: Every task by name: the five built-in ones and those added with ``register``.
TASKS: dict[str, type[Task]] = {}

T = TypeVar("T", bound=type)


def register(cls: T) -> T:
    """Add a task class to ``TASKS`` under its ``name``; usable as a class decorator.

    After ``register(MyTask)`` the task works wherever a built-in one does: ``make_task``,
    ``train``, ``evaluate``, ``preset``, the explorers, the dashboard, checkpoints and the
    command line (``--task-module``). Registering a class again under its name (a notebook
    cell run twice) replaces it; another class may not take a name already in use.
    """
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TypeError(f"register: expected a subclass of ntm_nb.tasks.Task, got {cls!r}")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"register: {cls.__name__}.name must be a Python identifier (a class attribute "
            f"such as name = 'reverse_copy'), got {name!r}"
        )
    if cls.measure not in MEASURES:
        raise ValueError(
            f"register: {cls.__name__}.measure must be one of {', '.join(map(repr, MEASURES))}, "
            f"got {cls.measure!r}"
        )
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise TypeError(
            f"register: {cls.__name__} does not define {missing} (see the Task contract)"
        )
    old = TASKS.get(name)
    if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(
            f"register: the name {name!r} is taken by {old.__module__}.{old.__qualname__}; "
            "give your task another name"
        )
    TASKS[name] = cls
    return cls


def task_class(name: str) -> type[Task]:
    """The task class registered as ``name``; a ``ValueError`` naming the accepted ones."""
    if not isinstance(name, str):
        raise TypeError(
            f"task: expected a task name, one of {', '.join(map(repr, TASKS))}; got {name!r}"
        )
    if name not in TASKS:
        raise ValueError(
            f"unknown task {name!r}; accepted: {', '.join(map(repr, TASKS))} (a task of your "
            "own is known once the module that registers it is imported: --task-module MODULE)"
        )
    return TASKS[name]


def make_task(name: str, **overrides: Any) -> Task:
    """Build the task called ``name`` (a key of ``TASKS``) with some fields changed.

    Raises ``ValueError`` for an unknown task name or an invalid value, and ``TypeError``
    for an unknown field or a value of the wrong type; the messages say what is accepted.
    """
    cls = task_class(name)
    if dataclasses.is_dataclass(cls):
        accepted = [f.name for f in dataclasses.fields(cls) if f.init]
        unknown = sorted(set(overrides) - set(accepted))
        if unknown:
            raise TypeError(
                f"{name}: unknown field(s) {', '.join(unknown)}; accepted: {', '.join(accepted)}"
            )
    return cls(**overrides)
