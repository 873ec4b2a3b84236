"""The command line's flags (``ntm_nb.cli`` runs the commands): tables of flags that map to
``TrainConfig``, ``NTMConfig`` and ``LSTMConfig`` fields, the task flags made from the fields
of every registered task, ``--task-module`` imports, and ``build_parser``."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ntm_nb.controller import CONTROLLERS
from ntm_nb.model import MEMORY_INITS
from ntm_nb.optim import OPTIMIZERS
from ntm_nb.tasks import TASKS
from ntm_nb.train import (
    KINDS,
    PRESETS,
)


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _parse_bool(text: str) -> bool:
    value = _parse_value(text.lower())
    if not isinstance(value, bool):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


# ----------------------------------------------------------------------------------------
# The tables
# ----------------------------------------------------------------------------------------
# (flag, TrainConfig field, type, help): each given flag overrides the preset's value.
_TRAIN_FLAGS: tuple[tuple[str, str, Any, str], ...] = (
    ("--steps", "steps", int, "total optimizer steps (batches) to train for"),
    ("--batch-size", "batch_size", int, "sequences per batch"),
    ("--lr", "lr", float, "learning rate"),
    ("--eval-every", "eval_every", int, "evaluate on the held-out set every N steps"),
    ("--eval-sequences", "eval_sequences", int, "held-out sequences per evaluation"),
    ("--target-cost", "target_cost", float, "stop once the held-out cost <= this (N-grams: CE)"),
    ("--checkpoint-every", "checkpoint_every", int, "save a checkpoint every N steps"),
    ("--threads", "threads", int, "torch CPU threads"),
    ("--warmup-steps", "warmup_steps", int, "raise the learning rate linearly over N steps"),
    (
        "--rollback-lr-factor",
        "rollback_lr_factor",
        float,
        "with --rollback: multiply the lr by this at each rollback (default 0.5; 1 keeps it)",
    ),
    (
        "--rollback-repeat-lr-factor",
        "rollback_repeat_lr_factor",
        float,
        "with --rollback: the factor instead for a rollback to the same best as the last "
        "one (no new best since; default: --rollback-lr-factor)",
    ),
    (
        "--restart-after",
        "restart_after",
        int,
        "start again from new initial weights when the target is not reached N steps after "
        "the start (or the last restart); within the same --steps",
    ),
    (
        "--curriculum-steps",
        "curriculum_steps",
        int,
        "grow the task's size range from its smallest to its full over the first N steps",
    ),
    (
        "--curriculum-of",
        "curriculum_of",
        str,
        "the setting the curriculum grows: all (default) or one by name, e.g. repeats "
        "(repeat copy; its lengths then span their range from the start)",
    ),
    (
        "--curriculum-pace-per",
        "curriculum_pace_per",
        str,
        "what --curriculum-pace counts: bit (default; wrong bits per output bit, an error "
        "rate) or sequence (wrong bits per sequence)",
    ),
    (
        "--curriculum-patience",
        "curriculum_patience",
        int,
        "with --curriculum-pace: start again from new initial weights when the curriculum "
        "has met no level for N steps (since the start, its last level or the last restart)",
    ),
    (
        "--curriculum-lesson-patience",
        "curriculum_lesson_patience",
        int,
        "with --curriculum-lesson true: start again from new initial weights when the lesson "
        "is not met N steps after the start (or the last restart)",
    ),
    (
        "--restart-schedule",
        "restart_schedule",
        _parse_bool,
        "true: a restart (--restart-after, --curriculum-patience, --curriculum-lesson-patience) "
        "also starts the lr's warm-up and decay again, as a fresh run would",
    ),
    (
        "--curriculum-lesson",
        "curriculum_lesson",
        _parse_bool,
        "true: a paced curriculum (--curriculum-pace) starts with the task's first lesson "
        "(repeat copy: one repeat, no end marker to predict) until the pace is met",
    ),
    (
        "--rollback-after-curriculum",
        "rollback_after_curriculum",
        _parse_bool,
        "true: the rollback (--rollback) waits until the curriculum has its full range",
    ),
    (
        "--unroll",
        "unroll",
        int,
        "compiled steps per call (default 1; 2 trains ~10-20%% faster after a longer compile)",
    ),
)
# Flags whose value 0 means "off" (None in the config): a preset's value can be turned off.
_OFF_AT_ZERO_FLAGS = (
    ("--clip-value", "clip_value", "clip each gradient element to +-VALUE (0 disables)"),
    ("--clip-norm", "clip_norm", "clip the global gradient norm (0 disables)"),
    ("--lr-final", "lr_final", "then lower the lr linearly to this at the last step (0 disables)"),
    (
        "--rollback",
        "rollback",
        "go back to the best evaluation (weights, optimizer state) and halve the lr "
        "(--rollback-lr-factor) when one is worse than it by more than this many bits per "
        "sequence (0 disables)",
    ),
    (
        "--curriculum-pace",
        "curriculum_pace",
        "with --curriculum-steps: grow the size range one size whenever the training error "
        "is below this, in wrong bits per output bit (or per sequence, with "
        "--curriculum-pace-per sequence), full by --curriculum-steps at the latest (0 disables)",
    ),
)
FAST_START_HELP = "train eagerly while the compiled step builds in the background (not bit-exact)"
# The flags a --resume honours; the other settings are the saved run's.
_RESUME_FIELDS = ("steps", "threads", "compile", "fast_start", "unroll", "checkpoint_every")
# (flag, config field, choices or type, help) of the NTM and of the LSTM baseline.
_NTM_FLAGS: tuple[tuple[str, str, Any, str], ...] = (
    ("--controller", "controller", tuple(CONTROLLERS), "NTM controller"),
    ("--controller-size", "controller_size", int, "units per controller layer"),
    ("--controller-layers", "controller_layers", int, "controller layers"),
    ("--read-heads", "num_read_heads", int, "read heads"),
    ("--write-heads", "num_write_heads", int, "write heads"),
    ("--memory-rows", "N", int, "N, memory locations"),
    ("--memory-width", "M", int, "M, memory word width"),
    ("--shift-range", "shift_range", int, "shifts over offsets -R..R (default 1)"),
    ("--memory-init", "memory_init", MEMORY_INITS, "initial memory"),
)
_LSTM_FLAGS: tuple[tuple[str, str, Any, str], ...] = (
    ("--hidden-size", "hidden_size", int, "LSTM baseline: units per layer"),
    ("--layers", "num_layers", int, "LSTM baseline: layers"),
)


def _task_fields() -> dict[str, tuple[Callable[[str], Any], list[str]]]:
    """Every field of every registered (dataclass) task: its parser, and the tasks having it."""
    fields: dict[str, tuple[Callable[[str], Any], list[str]]] = {}
    for name, cls in TASKS.items():
        if not dataclasses.is_dataclass(cls):
            continue
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            default = f.default
            parse = (
                _parse_bool
                if isinstance(default, bool)
                else type(default)
                if isinstance(default, (int, float))
                else _parse_value
            )
            fields.setdefault(f.name, (parse, []))[1].append(name)
    return fields


def _add_task_flags(p: argparse.ArgumentParser) -> None:
    """``--FIELD`` for every task field (unless another flag has that name), and
    ``--task-option KEY=VALUE`` for any field, e.g. one of a task without its own flag."""
    g = p.add_argument_group("task options (override the task's defaults)")
    taken = set(p._option_string_actions)
    for field, (parse, tasks) in _task_fields().items():
        flag = "--" + field.replace("_", "-")
        if flag in taken:
            continue
        g.add_argument(
            flag, dest=f"task__{field}", type=parse, metavar=field.upper(), help=", ".join(tasks)
        )
    g.add_argument(
        "--task-option",
        action="append",
        metavar="KEY=VALUE",
        help="any task field, e.g. bits=6 (repeatable)",
    )


def _task_overrides(args: argparse.Namespace) -> dict[str, Any]:
    out = {
        key[len("task__") :]: value
        for key, value in vars(args).items()
        if key.startswith("task__") and value is not None
    }
    for item in getattr(args, "task_option", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"--task-option: expected KEY=VALUE (KEY a task field), got {item!r}")
        out[key.strip()] = _parse_value(value)
    return out


def _add_table(g: Any, table: Sequence[tuple[str, str, Any, str]]) -> None:
    for flag, field, kind, text in table:
        if isinstance(kind, tuple):
            g.add_argument(flag, dest=field, choices=kind, help=text)
        else:
            g.add_argument(flag, dest=field, type=kind, help=text)


def _from_table(args: argparse.Namespace, table: Sequence[tuple]) -> dict[str, Any]:
    return {row[1]: getattr(args, row[1]) for row in table if getattr(args, row[1]) is not None}


# ----------------------------------------------------------------------------------------
# Tasks of your own: --task-module
# ----------------------------------------------------------------------------------------
def import_task_module(name: str) -> None:
    """Import the module ``name`` (or the file ``name.py``) that registers a task.

    A module name is looked up from the current folder first, as ``python -m`` would.
    """
    try:
        if name.endswith(".py") or os.sep in name:
            path = Path(name)
            if not path.is_file():
                raise ValueError(f"--task-module: no such file {name!r}")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            importlib.import_module(name)
    except ValueError:
        raise
    except ImportError as err:
        raise ValueError(f"--task-module: cannot import {name!r}: {err}") from None


def _import_task_modules(argv: Sequence[str]) -> None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--task-module", action="append", default=[])
    known, _ = pre.parse_known_args(argv)
    for name in known.task_module:
        import_task_module(name)


# ----------------------------------------------------------------------------------------
# The parser
# ----------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (plus a pointer to --help), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_task_module(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--task-module",
        action="append",
        metavar="MODULE",
        help="import MODULE (or a .py file) first: it registers a task of your own",
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser, with the tasks registered now (import a task module before)."""
    tasks = ", ".join(TASKS)
    parser = _Parser(prog="ntm-nb", description="Train, evaluate and plot Neural Turing Machines.")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="{train,eval,plot,sweep}", parser_class=_Parser
    )

    t = sub.add_parser(
        "train",
        help="train a model on one of the paper's tasks (or a task of your own)",
        description="Train an NTM (or the paper's LSTM baseline) on a task and save a checkpoint.",
    )
    t.add_argument("task", choices=list(TASKS), metavar="TASK", help=f"one of: {tasks}")
    t.add_argument(
        "--model",
        choices=KINDS,
        default="ntm",
        help="the NTM or the paper's 3-layer LSTM baseline (default: ntm)",
    )
    t.add_argument(
        "--preset",
        choices=PRESETS,
        default="fast",
        help="'fast' (default: Adam, "
        "batch 32, measured here) or 'paper' (RMSProp, batch 1, as in section 4)",
    )
    t.add_argument("--out", type=Path, help="checkpoint folder (default: runs/TASK-MODEL)")
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue the run saved in --out "
        "(optimizer and data stream included); --steps, --lr, --max-minutes, "
        "--device, --unroll, --threads and --checkpoint-every apply, other settings "
        "are the saved run's",
    )
    t.add_argument("--optimizer", choices=OPTIMIZERS, help="optimizer")
    t.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for the initial weights and the batches (default 0)",
    )
    t.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    t.add_argument(
        "--no-compile",
        action="store_true",
        help="run the eager step instead of the torch.compile'd one",
    )
    t.add_argument("--fast-start", action="store_true", help=FAST_START_HELP)
    t.add_argument(
        "--max-minutes",
        type=float,
        help="stop cleanly after this many minutes of "
        "training (a time budget; with --resume, minutes from now)",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    for flag, field, kind, text in _TRAIN_FLAGS:
        t.add_argument(flag, dest=field, type=kind, help=text)
    for flag, field, text in _OFF_AT_ZERO_FLAGS:
        t.add_argument(flag, dest=field, type=float, help=text)
    _add_task_module(t)
    _add_table(t.add_argument_group("model options (override the preset)"), _NTM_FLAGS)
    _add_table(t.add_argument_group("LSTM baseline options"), _LSTM_FLAGS)
    _add_task_flags(t)

    e = sub.add_parser(
        "eval",
        help="evaluate a checkpoint",
        description="Print held-out bits "
        "per sequence of a checkpoint, optionally on changed task settings "
        "(generalisation).",
    )
    e.add_argument(
        "checkpoint",
        type=Path,
        metavar="CHECKPOINT",
        help="a checkpoint folder (train's --out) or .safetensors file",
    )
    e.add_argument(
        "--num-sequences", type=int, default=1000, help="sequences to evaluate (default 1000)"
    )
    e.add_argument("--batch-size", type=int, default=100, help="sequences per batch (default 100)")
    e.add_argument(
        "--seed", type=int, default=0, help="seed of the evaluation sequences (default 0)"
    )
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_task_module(e)
    _add_task_flags(e)

    pl = sub.add_parser(
        "plot",
        help="plot a checkpoint's learning curve and an example",
        description="Write learning_curve.png and example.png (input, target, "
        "output, weightings, memory).",
    )
    pl.add_argument(
        "checkpoint",
        type=Path,
        metavar="CHECKPOINT",
        help="a checkpoint folder or .safetensors file",
    )
    pl.add_argument(
        "--out-dir", type=Path, help="where to write the PNGs (default: the checkpoint's folder)"
    )
    pl.add_argument("--seed", type=int, default=0, help="seed of the example sequence")
    _add_task_module(pl)
    _add_task_flags(pl)
    # parsed by ntm_nb.sweep.sweep_main (main dispatches to it); listed here for --help
    sub.add_parser("sweep", add_help=False, help="train many seeds (and settings) with Ray Tune")
    return parser
