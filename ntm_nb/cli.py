"""The command line: ``python -m ntm_nb`` or ``ntm-nb``.

    ntm-nb train copy --out runs/copy            # the fast preset: solves copy in ~1 min
    ntm-nb train copy --preset paper --out runs/copy-paper
    ntm-nb eval runs/copy --min-len 50 --max-len 50
    ntm-nb plot runs/copy

Errors (unknown task, bad number, missing or broken checkpoint) print one line and exit
with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

# Task options that get their own flag (all tasks' fields are reachable with --task-option).
_TASK_FLAGS = ("min_len", "max_len", "min_repeats", "max_repeats", "min_items", "max_items", "num_inputs", "num_outputs", "length")


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _task_overrides(args: argparse.Namespace) -> dict[str, Any]:
    out = {name: getattr(args, name) for name in _TASK_FLAGS if getattr(args, name, None) is not None}
    for item in getattr(args, "task_option", None) or []:
        if "=" not in item:
            raise ValueError(f"--task-option: expected KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = _parse_value(value)
    return out


def _add_task_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("task options (override the task's defaults)")
    g.add_argument("--min-len", type=int, help="shortest sequence (copy, repeat_copy)")
    g.add_argument("--max-len", type=int, help="longest sequence (copy, repeat_copy)")
    g.add_argument("--min-repeats", type=int, help="fewest repeats (repeat_copy)")
    g.add_argument("--max-repeats", type=int, help="most repeats (repeat_copy)")
    g.add_argument("--min-items", type=int, help="fewest items (associative_recall)")
    g.add_argument("--max-items", type=int, help="most items (associative_recall)")
    g.add_argument("--num-inputs", type=int, help="vectors to sort (priority_sort)")
    g.add_argument("--num-outputs", type=int, help="sorted vectors to emit (priority_sort)")
    g.add_argument("--length", type=int, help="bits per sequence (ngrams)")
    g.add_argument("--task-option", action="append", metavar="KEY=VALUE", help="any other task field, e.g. bits=6 (repeatable)")


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (plus a pointer to --help), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from ntm_nb.tasks import TASKS

    parser = _Parser(prog="ntm-nb", description="Train, evaluate and plot Neural Turing Machines.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,eval,plot}", parser_class=_Parser)

    t = sub.add_parser("train", help="train a model on one of the paper's tasks", description="Train an NTM (or the paper's LSTM baseline) on a task and save a checkpoint.")
    t.add_argument("task", choices=sorted(TASKS), metavar="TASK", help=f"one of: {', '.join(sorted(TASKS))}")
    t.add_argument("--model", choices=("ntm", "lstm"), default="ntm", help="the NTM or the paper's 3-layer LSTM baseline (default: ntm)")
    t.add_argument("--preset", choices=("fast", "paper"), default="fast", help="'fast' (default: Adam, batch 32, measured here) or 'paper' (RMSProp, batch 1, as in section 4)")
    t.add_argument("--out", type=Path, default=None, help="checkpoint folder (default: runs/TASK-MODEL)")
    t.add_argument("--resume", action="store_true", help="continue the run saved in --out (optimizer and data stream included); --steps, --lr, --max-minutes, --device, --unroll, --threads and --checkpoint-every apply, other settings are the saved run's")
    t.add_argument("--steps", type=int, help="total optimizer steps (batches) to train for")
    t.add_argument("--batch-size", type=int, help="sequences per batch")
    t.add_argument("--optimizer", choices=("rmsprop", "adam"), help="optimizer")
    t.add_argument("--lr", type=float, help="learning rate")
    t.add_argument("--clip-value", type=float, help="clip each gradient element to +-VALUE (0 disables)")
    t.add_argument("--clip-norm", type=float, help="clip the global gradient norm (0 disables)")
    t.add_argument("--seed", type=int, default=0, help="seed for the initial weights and the batches (default 0)")
    t.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    t.add_argument("--threads", type=int, help="torch CPU threads")
    t.add_argument("--no-compile", action="store_true", help="run the eager step instead of the torch.compile'd one")
    t.add_argument("--unroll", type=int, help="compiled steps per call (default 1; 2 trains ~10-20%% faster after a longer compile)")
    t.add_argument("--eval-every", type=int, help="evaluate on the held-out set every N steps")
    t.add_argument("--eval-sequences", type=int, help="held-out sequences per evaluation")
    t.add_argument("--target-cost", type=float, help="stop once held-out bits per sequence <= this")
    t.add_argument("--checkpoint-every", type=int, help="save a checkpoint every N steps")
    t.add_argument("--max-minutes", type=float, help="stop cleanly after this many minutes of training (a time budget; with --resume, minutes from now)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    m = t.add_argument_group("model options (override the preset)")
    m.add_argument("--controller", choices=("lstm", "feedforward"), help="NTM controller")
    m.add_argument("--controller-size", type=int, help="units per controller layer")
    m.add_argument("--controller-layers", type=int, help="controller layers")
    m.add_argument("--read-heads", type=int, help="read heads")
    m.add_argument("--write-heads", type=int, help="write heads")
    m.add_argument("--memory-rows", type=int, help="N, memory locations")
    m.add_argument("--memory-width", type=int, help="M, memory word width")
    m.add_argument("--memory-init", choices=("constant", "learned", "random"), help="initial memory")
    m.add_argument("--hidden-size", type=int, help="LSTM baseline: units per layer")
    m.add_argument("--layers", type=int, help="LSTM baseline: layers")
    _add_task_flags(t)

    e = sub.add_parser("eval", help="evaluate a checkpoint", description="Print held-out bits per sequence of a checkpoint, optionally on changed task settings (generalisation).")
    e.add_argument("checkpoint", type=Path, metavar="CHECKPOINT", help="a checkpoint folder (train's --out) or .safetensors file")
    e.add_argument("--num-sequences", type=int, default=1000, help="sequences to evaluate (default 1000)")
    e.add_argument("--batch-size", type=int, default=100, help="sequences per batch (default 100)")
    e.add_argument("--seed", type=int, default=0, help="seed of the evaluation sequences (default 0)")
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_task_flags(e)

    pl = sub.add_parser("plot", help="plot a checkpoint's learning curve and an example", description="Write learning_curve.png and example.png (input, target, output, weightings, memory).")
    pl.add_argument("checkpoint", type=Path, metavar="CHECKPOINT", help="a checkpoint folder or .safetensors file")
    pl.add_argument("--out-dir", type=Path, help="where to write the PNGs (default: the checkpoint's folder)")
    pl.add_argument("--seed", type=int, default=0, help="seed of the example sequence")
    _add_task_flags(pl)
    return parser


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from ntm_nb.baseline import LSTMBaseline, LSTMConfig
    from ntm_nb.checkpoint import load, load_record, load_train_state
    from ntm_nb.model import NTM, NTMConfig
    from ntm_nb.tasks import make_task
    from ntm_nb.train import TrainConfig, preset, train

    out = args.out or Path("runs") / f"{args.task}-{args.model}"
    settings = preset(args.task, args.preset, args.model)
    train_kw: dict[str, Any] = {**settings["train"], "seed": args.seed}
    flag_map = {"steps": "steps", "batch_size": "batch_size", "optimizer": "optimizer", "lr": "lr", "eval_every": "eval_every", "eval_sequences": "eval_sequences", "target_cost": "target_cost", "checkpoint_every": "checkpoint_every", "threads": "threads", "unroll": "unroll"}
    for flag, name in flag_map.items():
        if getattr(args, flag) is not None:
            train_kw[name] = getattr(args, flag)
    for flag in ("clip_value", "clip_norm"):
        if getattr(args, flag) is not None:
            train_kw[flag] = getattr(args, flag) or None
    train_kw["compile"] = not args.no_compile
    if args.max_minutes is not None:
        train_kw["max_seconds"] = args.max_minutes * 60
    argv = getattr(args, "argv", None) or sys.argv[1:]
    command = "ntm-nb " + " ".join(shlex.quote(a) for a in argv) if argv else None

    if args.resume:
        record = load_record(out)
        model = load(out, device=args.device)
        saved_cfg = dict(record.get("train_config") or {})
        saved_cfg.update({k: v for k, v in train_kw.items() if k in ("steps", "threads", "compile", "unroll", "checkpoint_every")})
        if args.lr is not None:  # a new learning rate from here on (e.g. a final, lower phase)
            saved_cfg["lr"] = args.lr
        config = TrainConfig(**saved_cfg)
        fields = dict(record.get("task") or {})
        task = make_task(fields.pop("name", args.task), **fields)
        state = load_train_state(out, model, config)
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
        torch.manual_seed(args.seed)
        if args.model == "ntm":
            model_kw = {**settings["model"], "input_size": task.input_size, "output_size": task.output_size}
            for flag, name in (("controller", "controller"), ("controller_size", "controller_size"), ("controller_layers", "controller_layers"), ("read_heads", "num_read_heads"), ("write_heads", "num_write_heads"), ("memory_rows", "N"), ("memory_width", "M"), ("memory_init", "memory_init")):
                if getattr(args, flag) is not None:
                    model_kw[name] = getattr(args, flag)
            model = NTM(NTMConfig(**model_kw))
        else:
            model_kw = {**settings["model"], "input_size": task.input_size, "output_size": task.output_size}
            for flag, name in (("hidden_size", "hidden_size"), ("layers", "num_layers")):
                if getattr(args, flag) is not None:
                    model_kw[name] = getattr(args, flag)
            model = LSTMBaseline(LSTMConfig(**model_kw))
        model = model.to(args.device)
        state = None
    kind = "lstm" if isinstance(model, LSTMBaseline) else "ntm"  # on --resume: the saved model's
    print(f"training {kind} on {task.name}: {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"{config.steps} steps of batch {config.batch_size}, {config.optimizer} lr {config.lr} -> {out}")
    result = train(model, task, config, state=state, checkpoint_dir=out, progress=not args.no_progress, command=command)
    ev = result.final_eval
    status = ("interrupted" if result.interrupted else "reached target" if result.reached_target
              else "time budget used" if result.out_of_time else "done")
    print(f"{status} at step {result.step}: held-out bits/sequence "
          f"{ev.bits_per_sequence:.3f}" if ev else f"{status} at step {result.step}")
    print(f"checkpoint: {out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from ntm_nb.checkpoint import load, task_from_record
    from ntm_nb.train import evaluate

    model = load(args.checkpoint)
    task = task_from_record(model.checkpoint, _task_overrides(args))
    result = evaluate(model, task, num_sequences=args.num_sequences, batch_size=args.batch_size, seed=args.seed)
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
    import matplotlib

    matplotlib.use("Agg")
    import torch

    from ntm_nb import viz
    from ntm_nb.checkpoint import _paths, load, task_from_record
    from ntm_nb.train import History

    model = load(args.checkpoint)
    record = model.checkpoint
    out_dir = args.out_dir or _paths(args.checkpoint)[0].parent
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if record.get("history"):
        fig = viz.plot_learning_curve(History.from_dict(record["history"]), title=str((record.get("task") or {}).get("name", "")))
        fig.savefig(out_dir / "learning_curve.png", dpi=100)
        written.append(out_dir / "learning_curve.png")
    task = task_from_record(record, _task_overrides(args))
    x, y, mask = task.sample(1, torch.Generator().manual_seed(args.seed))
    with torch.no_grad():
        if hasattr(model, "step"):
            logits, trace = model(x, return_trace=True)
        else:
            logits, trace = model(x), None
    fig = viz.plot_example(x[0], y[0], torch.sigmoid(logits[0]), mask[0], trace=trace)
    fig.savefig(out_dir / "example.png", dpi=100)
    written.append(out_dir / "example.png")
    for path in written:
        print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from ntm_nb.checkpoint import CheckpointError

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # recorded in checkpoints
    try:
        return {"train": cmd_train, "eval": cmd_eval, "plot": cmd_plot}[args.command](args)
    except (ValueError, TypeError, CheckpointError, FileNotFoundError, FloatingPointError) as err:
        print(f"ntm-nb {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
