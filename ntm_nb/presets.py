"""Presets: per task, the paper's training settings and our measured fast ones.

* ``preset(task, name, kind)`` — ``{"model": ..., "train": ..., "task": ...}`` overrides
  for the NTM or the paper's LSTM baseline, read from the task's ``presets``
  (``ntm_nb.tasks.TaskPresets``); ``PRESETS`` names the presets, ``KINDS`` the models.
"""

from __future__ import annotations

from ntm_nb._checks import check_choice
from ntm_nb.tasks import TASKS, Task, task_class

__all__ = ["preset", "PRESETS", "KINDS"]


# DEPARTURE from the paper for the default ("fast") preset: Adam with batches of 32 and a
# global-norm clip, as Collier & Beel recommend. Per sequence it learns about as fast as
# the paper's RMSProp at batch 1, but a batch of 32 costs little more than one sequence
# on a CPU, so it converges many times sooner in wall-clock time. Per task, the steps,
# rates and task fields come from the task's ``presets``.
_FAST_TRAIN = {"batch_size": 32, "optimizer": "adam", "clip_value": None, "clip_norm": 50.0}
PRESETS = ("fast", "paper")
KINDS = ("ntm", "lstm")  # the NTM, or the paper's 3-layer LSTM baseline


def preset(task: str | Task | type[Task], name: str = "fast", kind: str = "ntm") -> dict:
    """Settings for ``task``: ``{"model": ..., "train": ..., "task": ...}`` overrides.

    ``task`` is a name in ``ntm_nb.tasks.TASKS`` (or a task, or its class); ``name`` is
    "fast" (the default: measured here) or "paper" (section 4 as written); ``kind`` is
    "ntm" or "lstm" (the paper's 3-layer baseline). Heads: the paper's "1 head" means one
    read and one write head.
    """
    if isinstance(task, str):
        cls = task_class(task)
    elif isinstance(task, Task) or (isinstance(task, type) and issubclass(task, Task)):
        cls = task if isinstance(task, type) else type(task)
    else:
        raise TypeError(f"task: expected a task name ({', '.join(TASKS)}), got {task!r}")
    check_choice("preset", name, PRESETS)
    check_choice("kind", kind, KINDS)
    p = cls.presets
    if kind == "ntm":
        model, lr = dict(p.paper_model), p.paper_lr
    else:
        model, lr = {"hidden_size": p.lstm_hidden, "num_layers": 3}, p.lstm_lr
    if name == "paper":
        train = {"batch_size": 1, "optimizer": "rmsprop", "lr": lr, "clip_value": 10.0}
        return {"model": model, "train": train, "task": {}}
    if kind == "ntm" and p.fast_model is not None:
        model = dict(p.fast_model)
    train = {
        **_FAST_TRAIN,
        "batch_size": p.fast_batch_size,
        "lr": p.fast_lr if kind == "ntm" else p.fast_lstm_lr,
        "steps": p.fast_steps,
        "eval_every": p.fast_eval_every,
    }
    if kind == "ntm":
        train.update(p.fast_train)
        if p.fast_train.get("restart_after"):
            train.setdefault("target_cost", p.target_cost)
    return {"model": model, "train": train, "task": dict(p.fast_task)}
