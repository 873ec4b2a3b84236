"""The command line: ``python -m ntm_nb`` or ``ntm-nb``.

    ntm-nb train copy --out runs/copy            # the fast preset: solves copy in ~1 min
    ntm-nb train copy --preset paper --out runs/copy-paper
    ntm-nb eval runs/copy --min-len 50 --max-len 50
    ntm-nb plot runs/copy
    ntm-nb train reverse_copy --task-module my_tasks   # a task of your own (ntm_nb.tasks)

The options are tables: the training flags map to ``TrainConfig`` fields, the model flags to
``NTMConfig`` / ``LSTMConfig`` fields, and the task flags are made from the fields of every
registered task, so a task of your own gets its flags once ``--task-module`` imports it.

Errors (unknown task, bad number, missing or broken checkpoint, an unwritable ``--out``)
print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import torch

from ntm_nb import viz
from ntm_nb.baseline import LSTMBaseline, LSTMConfig
from ntm_nb.checkpoint import (
    CheckpointError,
    load,
    load_record,
    load_train_state,
    task_from_record,
    weights_folder,
)
from ntm_nb.cli_parser import (
    _LSTM_FLAGS,
    _NTM_FLAGS,
    _OFF_AT_ZERO_FLAGS,
    _RESUME_FIELDS,
    _TRAIN_FLAGS,
    _from_table,
    _import_task_modules,
    _task_overrides,
    build_parser,
)
from ntm_nb.model import NTM, NTMConfig, is_ntm
from ntm_nb.records import History
from ntm_nb.sweep import sweep_main
from ntm_nb.tasks import MEASURES, make_task
from ntm_nb.tasks.base import check_seed
from ntm_nb.train import (
    TrainConfig,
    check_writable,
    evaluate,
    preset,
    train,
)


# ----------------------------------------------------------------------------------------
# Checks done before any work, so that a run is never lost at its end (and check_writable,
# from ntm_nb.train, for --out and --out-dir)
# ----------------------------------------------------------------------------------------
def _device(text: str) -> torch.device:
    try:
        device = torch.device(text)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"--device: unknown device {text!r}; accepted: cpu, cuda, cuda:N, mps"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device: {text!r} asked for, but torch sees no CUDA GPU here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device: {text!r} asked for, but MPS is not available here")
    return device


# ----------------------------------------------------------------------------------------
# The commands
# ----------------------------------------------------------------------------------------
def _compile_fields(args: argparse.Namespace) -> dict[str, bool]:
    return {"compile": not args.no_compile, "fast_start": args.fast_start}


def _new_model(args: argparse.Namespace, settings: dict[str, Any], task: Any) -> torch.nn.Module:
    sizes = {"input_size": task.input_size, "output_size": task.output_size}
    torch.manual_seed(args.seed)
    if args.model == "ntm":
        return NTM(NTMConfig(**{**settings["model"], **sizes, **_from_table(args, _NTM_FLAGS)}))
    return LSTMBaseline(
        LSTMConfig(**{**settings["model"], **sizes, **_from_table(args, _LSTM_FLAGS)})
    )


def cmd_train(args: argparse.Namespace) -> int:
    out = args.out or Path("runs") / f"{args.task}-{args.model}"
    device = _device(args.device)
    if args.max_minutes is not None and not 0 < args.max_minutes < math.inf:
        raise ValueError(
            f"--max-minutes: must be a finite number > 0 (leave it out: no time limit), "
            f"got {args.max_minutes}"
        )
    if args.steps is not None and args.steps < 1:
        raise ValueError(
            f"--steps: must be an integer >= 1 (optimizer steps in all), got {args.steps}"
        )
    settings = preset(args.task, args.preset, args.model)
    train_kw: dict[str, Any] = {**settings["train"], "seed": args.seed}
    train_kw.update(_from_table(args, _TRAIN_FLAGS))
    if args.optimizer is not None:
        train_kw["optimizer"] = args.optimizer
    for _, field, _ in _OFF_AT_ZERO_FLAGS:
        if getattr(args, field) is not None:
            train_kw[field] = getattr(args, field) or None
    train_kw.update(_compile_fields(args))
    if args.max_minutes is not None:
        train_kw["max_seconds"] = args.max_minutes * 60
    argv = getattr(args, "argv", None) or sys.argv[1:]
    command = "ntm-nb " + " ".join(shlex.quote(a) for a in argv) if argv else None

    if args.resume:
        if not out.exists():
            raise ValueError(f"--out: no run to resume in {str(out)!r} (no such folder or file)")
        record = load_record(out)
        model = load(out, device=device)
        saved_cfg = dict(record.get("train_config") or {})
        # only the flags given override the saved run (not the preset: a resume without
        # --steps trains to the saved run's total, not to the preset's)
        given = {**_from_table(args, _TRAIN_FLAGS), **_compile_fields(args)}
        saved_cfg.update({k: v for k, v in given.items() if k in _RESUME_FIELDS})
        if args.lr is not None:  # a new learning rate from here on (e.g. a final, lower phase)
            saved_cfg["lr"] = args.lr
        config = TrainConfig(**saved_cfg)
        fields = dict(record.get("task") or {})
        task = make_task(fields.pop("name", args.task), **fields)
        state = load_train_state(out, model, config)
        if state.step >= config.steps:
            raise ValueError(
                f"--steps: the run in {str(out)!r} is at step {state.step} of {config.steps}; "
                f"to train on, give --steps > {state.step} (steps in all)"
            )
        # A time budget belongs to the invocation that sets it: the saved one is dropped (it
        # would end at once a run that was stopped by it), and --max-minutes counts from now.
        budget = None if args.max_minutes is None else state.seconds + args.max_minutes * 60
        config = dataclasses.replace(config, max_seconds=budget)
        for group in state.optimizer.param_groups:
            group["lr"] = config.lr
        model.train()
    else:
        config = TrainConfig(**train_kw)
        task = make_task(args.task, **{**settings["task"], **_task_overrides(args)})
        model = _new_model(args, settings, task).to(device)
        state = None
    check_writable(out, "--out")  # before the first step: a run is never lost at its end
    kind = "ntm" if is_ntm(model) else "lstm"  # on --resume: the saved model's
    print(
        f"training {kind} on {task.name}: {sum(p.numel() for p in model.parameters()):,} "
        f"parameters, {config.steps} steps of batch {config.batch_size}, {config.optimizer} "
        f"lr {config.lr} -> {out}"
    )
    result = train(
        model,
        task,
        config,
        state=state,
        checkpoint_dir=out,
        progress=not args.no_progress,
        command=command,
    )
    ev = result.final_eval
    status = (
        "interrupted"
        if result.interrupted
        else "reached target"
        if result.reached_target
        else "time budget used"
        if result.out_of_time
        else "done"
    )
    held_out = f": held-out {MEASURES[task.measure]} {getattr(ev, task.measure):.3f}" if ev else ""
    print(f"{status} at step {result.step}{held_out}")
    print(f"checkpoint: {out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    model = load(args.checkpoint)
    task = task_from_record(model.checkpoint, _task_overrides(args))
    result = evaluate(
        model, task, num_sequences=args.num_sequences, batch_size=args.batch_size, seed=args.seed
    )
    if args.json:
        print(json.dumps({"task": {"name": task.name, **task.to_dict()}, **result.to_dict()}))
        return 0
    settings = ", ".join(f"{k}={v}" for k, v in task.to_dict().items())
    print(f"{task.name} ({settings}) on {result.num_sequences} sequences")
    print(f"bits per sequence: {result.bits_per_sequence:.4f}")
    print(f"cost (cross-entropy, bits per sequence): {result.cost_bits:.4f}")
    if result.optimal_cost_bits is not None:
        print(f"optimal Bayesian estimator cost: {result.optimal_cost_bits:.4f}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    seed = check_seed("seed", args.seed)
    matplotlib.use("Agg")
    model = load(args.checkpoint)
    record = model.checkpoint
    out_dir = args.out_dir or weights_folder(args.checkpoint)
    check_writable(out_dir, "--out-dir")
    task = task_from_record(record, _task_overrides(args))
    written = []
    if record.get("history"):
        title = str((record.get("task") or {}).get("name", ""))
        fig = viz.plot_learning_curve(History.from_dict(record["history"]), title=title)
        fig.savefig(out_dir / "learning_curve.png", dpi=100)
        written.append(out_dir / "learning_curve.png")
    x, y, mask = task.sample(1, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        logits, trace = model(x, return_trace=True) if is_ntm(model) else (model(x), None)
    fig = viz.plot_example(x[0], y[0], torch.sigmoid(logits[0]), mask[0], trace=trace)
    fig.savefig(out_dir / "example.png", dpi=100)
    written.append(out_dir / "example.png")
    for path in written:
        print(path)
    return 0


_COMMANDS = {"train": cmd_train, "eval": cmd_eval, "plot": cmd_plot}


# ----------------------------------------------------------------------------------------
# Errors name the flag the user gave, not the config field it set
# ----------------------------------------------------------------------------------------
def _given_flags(args: argparse.Namespace) -> dict[str, str]:
    """{config or task field: the flag that set it} for the flags given on this command line."""
    given: dict[str, str] = {}
    rows = [(flag, field) for flag, field, *_ in (*_TRAIN_FLAGS, *_NTM_FLAGS, *_LSTM_FLAGS)]
    rows += [(flag, field) for flag, field, _ in _OFF_AT_ZERO_FLAGS]
    rows += [("--optimizer", "optimizer"), ("--num-sequences", "num_sequences")]
    for flag, field in rows:
        if getattr(args, field, None) is not None:
            given[field] = flag
    if args.command == "eval":
        given["batch_size"] = "--batch-size"
    given["seed"] = "--seed"  # its only source (the default is 0)
    for key, value in vars(args).items():
        if key.startswith("task__") and value is not None:
            given[key[len("task__") :]] = "--" + key[len("task__") :].replace("_", "-")
    for item in getattr(args, "task_option", None) or []:
        key = item.partition("=")[0].strip()
        given[key] = f"--task-option {key}"
    return given


def name_the_flag(message: str, given: dict[str, str]) -> str:
    """``message`` (a config's "field: ..." error) led by the flag the user gave.

    "M: must be ..." becomes "--memory-width (M): must be ..."; a message about a field the
    user did not set but that names one they did ("shift_range: ... exceed N = 2 rows" after
    ``--memory-rows 2``) is led by that flag: "--memory-rows (N): shift_range: ...".
    """
    head, sep, rest = message.partition(": ")
    if not sep or message.startswith("--"):
        return message  # already names its flag (or is no "field: ..." message)
    field = head.rsplit(".", 1)[-1]  # CopyTask.bits -> bits
    if field in given:
        return f"{given[field]} ({head}): {rest}"
    problem = message.split("accepted:", 1)[0]  # not the list of accepted values
    found = [re.search(rf"(?<![\w.-]){re.escape(f)}(?![\w-])", problem) for f in given]
    mentioned = sorted((m.start(), m.group()) for m in found if m)
    if mentioned:
        field = mentioned[0][1]  # the first one the message names
        return f"{given[field]} ({field}): {message}"
    return message


_ERRORS = (ValueError, TypeError, CheckpointError, FileNotFoundError, FloatingPointError)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(argv) if argv is not None else sys.argv[1:]
    try:
        _import_task_modules(argv)  # before the parser: its task choices and flags
    except ValueError as err:
        print(f"ntm-nb: error: {err}", file=sys.stderr)
        return 2
    if argv and argv[0] == "sweep":  # its own parser: every train flag passes through
        return sweep_main(argv[1:], validate=build_parser().parse_args)
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded in checkpoints
    try:
        return _COMMANDS[args.command](args)
    except _ERRORS as err:
        message = str(err)
        if isinstance(err, (ValueError, TypeError)) and not isinstance(err, CheckpointError):
            message = name_the_flag(message, _given_flags(args))
        print(f"ntm-nb {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
