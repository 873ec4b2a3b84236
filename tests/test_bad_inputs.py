"""Bad inputs get clear errors: the public API raises a ``TypeError``, ``ValueError`` or
``CheckpointError`` whose message names the parameter, and the command line exits with
status 2 and one line on stderr that names the flag, never a traceback from inside torch.

Also: ``evaluate`` streams its batches, so its memory does not grow with the number of
sequences, and its results are those of the former all-at-once implementation.
"""

from __future__ import annotations

import dataclasses
import math
import weakref
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
import torch.nn.functional as F
from _tiny import tiny_flags
from torch import nn

import ntm_nb
from ntm_nb import (
    NTM,
    CheckpointError,
    LSTMBaseline,
    LSTMConfig,
    NTMConfig,
    Task,
    TrainConfig,
    evaluate,
    make_task,
    preset,
    register,
    train,
)
from ntm_nb.cli import main
from ntm_nb.records import EvalResult
from ntm_nb.tasks import TASKS, CopyTask, NGramsTask, bit_errors


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


COPY = make_task("copy", bits=4, min_len=1, max_len=3)


def tiny_ntm() -> NTM:
    return NTM(NTMConfig(input_size=5, output_size=4, controller_size=8, N=8, M=4))


def quick(**kw: Any) -> TrainConfig:
    return TrainConfig(**{"steps": 1, "eval_sequences": 2, "compile": False, **kw})


class _Abstract(Task):
    """A task that forgets ``sample`` and ``output_size``."""

    name = "half_done"

    @property
    def input_size(self) -> int:
        return 1


# ----------------------------------------------------------------------------------------
# The public API
# ----------------------------------------------------------------------------------------
NAN, INF = math.nan, math.inf


def _fit(**kw: Any) -> Any:
    """``train`` of a tiny NTM on COPY for one step, with ``kw`` changed."""
    args = {"model": tiny_ntm(), "task": COPY, "config": quick(), "progress": False, **kw}
    return lambda: train(**args)


# TrainConfig(field=value): (field, value, exception, a phrase besides "field: ")
CONFIG = [
    ("seed", "a", TypeError, "[0, 2**64 - 1]"),
    ("seed", 1.5, TypeError, "integer"),
    ("seed", -1, ValueError, "[0, 2**64 - 1]"),
    ("seed", 2**64, ValueError, "integer"),
    ("eval_seed", 1.5, TypeError, "integer"),
    ("eval_seed", True, TypeError, "integer"),
    ("steps", -1, ValueError, ">= 0"),
    ("steps", "10", TypeError, "integer"),
    ("batch_size", 0, ValueError, ">= 1"),
    ("lr", 0, ValueError, "(0, 1)"),
    ("lr", NAN, ValueError, "(0, 1)"),
    ("lr", INF, ValueError, "(0, 1)"),
    ("momentum", 1.0, ValueError, "[0, 1)"),
    ("momentum", NAN, ValueError, "[0, 1)"),
    ("clip_value", INF, ValueError, "None (no clipping)"),
    ("clip_value", 0, ValueError, "> 0"),
    ("clip_norm", NAN, ValueError, "> 0"),
    ("clip_norm", "50", TypeError, "> 0"),
    ("target_cost", NAN, ValueError, "finite"),
    ("target_cost", INF, ValueError, "finite"),
    ("target_cost", -1.0, ValueError, ">= 0"),
    ("max_seconds", 0, ValueError, "> 0"),
    ("max_seconds", INF, ValueError, "finite"),
    ("max_seconds", True, TypeError, "> 0"),
    ("max_seconds", "60", TypeError, "> 0"),
    ("threads", 0, ValueError, ">= 1"),
    ("threads", 2.0, TypeError, "integer"),
    ("compile", 1, TypeError, "True or False"),
    ("optimizer", "sgd", ValueError, "'adam'"),
    ("unroll", 0, ValueError, ">= 1"),
    ("log_every", 0, ValueError, ">= 1"),
    ("checkpoint_every", 0, ValueError, ">= 1"),
]

# (case, call, exception type, phrases the message must contain)
API: list[tuple[str, Any, type[Exception], tuple[str, ...]]] = [
    # make_task
    ("make_task unknown name", lambda: make_task("nope"), ValueError, ("unknown task", "'copy'")),
    ("make_task int name", lambda: make_task(3), TypeError, ("task:", "'copy'")),
    ("make_task list name", lambda: make_task([]), TypeError, ("task:",)),
    ("make_task unknown field", lambda: make_task("copy", colour=1), TypeError, ("colour",)),
    ("make_task bad value", lambda: make_task("copy", bits=0), ValueError, ("bits", ">= 1")),
    ("make_task bad type", lambda: make_task("copy", bits="8"), TypeError, ("bits",)),
    ("make_task max < min", lambda: make_task("copy", min_len=30), ValueError, ("max_len",)),
    ("make_task ngrams n", lambda: make_task("ngrams", n=1), ValueError, ("n:", "[2, 20]")),
    # Task.sample
    ("sample batch 0", lambda: COPY.sample(0), ValueError, ("batch_size", ">= 1")),
    ("sample batch float", lambda: COPY.sample(2.0), TypeError, ("batch_size",)),
    ("sample generator str", lambda: COPY.sample(2, "x"), TypeError, ("generator", "Generator")),
    *[
        (
            f"sample {n} generator int",
            lambda n=n: make_task(n).sample(1, 0),
            TypeError,
            ("generator",),
        )
        for n in TASKS
    ],
    # TrainConfig
    *[
        (f"config {f}={v!r}", lambda f=f, v=v: TrainConfig(**{f: v}), exc, (f"{f}: ", phrase))
        for f, v, exc, phrase in CONFIG
    ],
    # train
    ("train unknown override", _fit(foo=1), TypeError, ("foo", "accepted", "steps", "batch_size")),
    ("train bad override", _fit(lr=2.0), ValueError, ("lr:",)),
    ("train task str", _fit(task="copy"), TypeError, ("task:",)),
    ("train model None", _fit(model=None), TypeError, ("model:",)),
    ("train model misfit", _fit(task=CopyTask()), ValueError, ("model:", "input/output sizes")),
    ("train config dict", _fit(config={"steps": 1}), TypeError, ("config:", "TrainConfig")),
    ("train state int", _fit(state=3), TypeError, ("state:", "TrainState")),
    ("train callbacks function", _fit(callbacks=print), TypeError, ("callbacks:", "[f]")),
    ("train callbacks not callable", _fit(callbacks=[3]), TypeError, ("callbacks:",)),
    ("train checkpoint_dir int", _fit(checkpoint_dir=3), TypeError, ("checkpoint_dir:",)),
    ("train progress str", _fit(progress="no"), TypeError, ("progress:",)),
    ("train command int", _fit(command=3), TypeError, ("command:",)),
    # evaluate
    ("evaluate model None", lambda: evaluate(None, COPY), TypeError, ("model:", "NTM")),
    ("evaluate task str", lambda: evaluate(tiny_ntm(), "copy"), TypeError, ("task:",)),
    ("evaluate misfit", lambda: evaluate(tiny_ntm(), CopyTask()), ValueError, ("(5, 4)", "(9, 8)")),
    ("evaluate 0 sequences", lambda: evaluate(tiny_ntm(), COPY, 0), ValueError, ("num_sequences",)),
    (
        "evaluate batch 0",
        lambda: evaluate(tiny_ntm(), COPY, batch_size=0),
        ValueError,
        ("batch_size",),
    ),
    ("evaluate seed str", lambda: evaluate(tiny_ntm(), COPY, seed="a"), TypeError, ("seed:",)),
    ("evaluate seed float", lambda: evaluate(tiny_ntm(), COPY, seed=1.5), TypeError, ("seed:",)),
    ("evaluate seed < 0", lambda: evaluate(tiny_ntm(), COPY, seed=-3), ValueError, ("seed:",)),
    # preset
    ("preset unknown task", lambda: preset("nope"), ValueError, ("unknown task",)),
    ("preset int task", lambda: preset(3), TypeError, ("task:",)),
    ("preset name", lambda: preset("copy", "slow"), ValueError, ("preset:", "'paper'")),
    ("preset kind", lambda: preset("copy", kind="gru"), ValueError, ("kind:", "'lstm'")),
    # register
    ("register not a class", lambda: register(3), TypeError, ("register:", "Task")),
    ("register not a task", lambda: register(int), TypeError, ("register:",)),
    ("register abstract", lambda: register(_Abstract), TypeError, ("sample", "output_size")),
    # ntm_nb.load
    ("load missing", lambda: ntm_nb.load("/no/such/run"), CheckpointError, ("/no/such/run",)),
    ("load missing file", lambda: ntm_nb.load("/no/x.safetensors"), CheckpointError, ("/no/x",)),
    ("load int", lambda: ntm_nb.load(123), TypeError, ("path:", "str or os.PathLike")),
    ("load None", lambda: ntm_nb.load(None), TypeError, ("path:",)),
]


def _check_api(call: Any, exc: type[Exception], phrases: tuple[str, ...]) -> None:
    with pytest.raises(Exception) as info:
        call()
    assert type(info.value) is exc or isinstance(info.value, exc), repr(info.value)
    message = str(info.value)
    assert "\n" not in message, message  # one line, no dump of torch's overloads
    for phrase in phrases:
        assert phrase in message, message


@pytest.mark.parametrize("call, exc, phrases", [c[1:] for c in API], ids=[c[0] for c in API])
def test_api_bad_input_gets_a_clear_error(call, exc, phrases):
    _check_api(call, exc, phrases)


def test_checkpoint_dir_is_checked_before_the_first_step(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    sampled = []

    @dataclasses.dataclass(frozen=True)
    class Watched(CopyTask):
        def sample(self, batch_size, generator=None):
            sampled.append(batch_size)
            return super().sample(batch_size, generator)

    task = Watched(bits=4, max_len=3)
    for where in (a_file, a_file / "inside"):
        with pytest.raises(ValueError, match="^checkpoint_dir: "):
            train(tiny_ntm(), task, quick(), checkpoint_dir=where, progress=False)
    assert sampled == []  # nothing trained, nothing drawn


def test_numpy_numbers_are_accepted_as_plain_ones():
    np = pytest.importorskip("numpy")
    cfg = TrainConfig(lr=np.float32(1e-3), seed=np.int64(3), eval_seed=np.uint64(5))
    assert type(cfg.lr) is float and type(cfg.seed) is int and type(cfg.eval_seed) is int
    assert TrainConfig(**cfg.to_dict()) == cfg


# ----------------------------------------------------------------------------------------
# The command line
# ----------------------------------------------------------------------------------------
TINY = tiny_flags(batch_size=2, eval_every=2, eval_sequences=2, max_len=3)


def _train(*extra: str) -> list[str]:
    return ["train", "copy", "--steps", "1", *TINY, *extra, "--out", "{tmp}/out"]


def _steps(n: str) -> list[str]:
    return ["train", "copy", "--steps", n, *TINY, "--out", "{tmp}/out"]


def _out(where: str) -> list[str]:
    return ["train", "copy", "--steps", "1", *TINY, "--out", where]


def _eval(*extra: str) -> list[str]:
    return ["eval", "{tmp}/run", *extra]


def _plot(*extra: str) -> list[str]:
    return ["plot", "{tmp}/run", *extra]


_RESUME = ["train", "copy", "--resume", "--no-progress", "--out"]
_LSTM = ("--model", "lstm")

# (case, arguments, phrases the one line on stderr must contain)
CLI: list[tuple[str, list[str], tuple[str, ...]]] = [
    ("device nonsense", _train("--device", "nonsense"), ("--device", "accepted: cpu, cuda")),
    ("device cuda:x", _train("--device", "cuda:x"), ("--device",)),
    ("max-minutes -1", _train("--max-minutes", "-1"), ("--max-minutes", "> 0")),
    ("max-minutes 0", _train("--max-minutes", "0"), ("--max-minutes",)),
    ("max-minutes nan", _train("--max-minutes", "nan"), ("--max-minutes",)),
    ("max-minutes inf", _train("--max-minutes", "inf"), ("--max-minutes", "finite")),
    ("memory-rows 2", _train("--memory-rows", "2"), ("--memory-rows (N):", "shift_range")),
    ("memory-rows 0", _train("--memory-rows", "0"), ("--memory-rows",)),
    ("memory-width 0", _train("--memory-width", "0"), ("--memory-width (M):", ">= 1")),
    ("controller-size 0", _train("--controller-size", "0"), ("--controller-size",)),
    ("controller-layers 0", _train("--controller-layers", "0"), ("--controller-layers",)),
    ("read-heads -1", _train("--read-heads", "-1"), ("--read-heads",)),
    ("no heads", _train("--read-heads", "0", "--write-heads", "0"), ("--read-heads", "one head")),
    ("shift-range -1", _train("--shift-range", "-1"), ("--shift-range", ">= 0")),
    ("shift-range 5", _train("--shift-range", "5"), ("--shift-range",)),
    ("hidden-size 0", _train(*_LSTM, "--hidden-size", "0"), ("--hidden-size",)),
    ("layers 0", _train(*_LSTM, "--layers", "0"), ("--layers",)),
    ("steps 0", _steps("0"), ("--steps", ">= 1")),
    ("steps -5", _steps("-5"), ("--steps",)),
    ("steps abc", _steps("abc"), ("--steps", "'abc'")),
    ("batch-size 0", _train("--batch-size", "0"), ("--batch-size", ">= 1")),
    ("lr 0", _train("--lr", "0"), ("--lr (lr):", "(0, 1)")),
    ("lr 1", _train("--lr", "1"), ("--lr",)),
    ("lr nan", _train("--lr", "nan"), ("--lr",)),
    ("lr abc", _train("--lr", "abc"), ("--lr",)),
    ("eval-every 0", _train("--eval-every", "0"), ("--eval-every", ">= 1")),
    ("eval-sequences 0", _train("--eval-sequences", "0"), ("--eval-sequences",)),
    ("target-cost -1", _train("--target-cost", "-1"), ("--target-cost", ">= 0")),
    ("target-cost nan", _train("--target-cost", "nan"), ("--target-cost",)),
    ("clip-value -1", _train("--clip-value", "-1"), ("--clip-value", "> 0")),
    ("clip-value inf", _train("--clip-value", "inf"), ("--clip-value",)),
    ("clip-norm nan", _train("--clip-norm", "nan"), ("--clip-norm",)),
    ("threads 0", _train("--threads", "0"), ("--threads",)),
    ("checkpoint-every 0", _train("--checkpoint-every", "0"), ("--checkpoint-every",)),
    ("unroll 0", _train("--unroll", "0"), ("--unroll",)),
    ("seed -1", _train("--seed", "-1"), ("--seed", "[0, 2**64 - 1]")),
    ("seed 2**64", _train("--seed", str(2**64)), ("--seed",)),
    ("out is a file", _out("{tmp}/a_file"), ("--out", "is a file")),
    ("out unwritable", _out("{tmp}/a_file/run"), ("--out", "cannot write")),
    ("task-option no =", _train("--task-option", "bits"), ("--task-option", "KEY=VALUE")),
    ("task-option no key", _train("--task-option", "=3"), ("--task-option",)),
    ("task-option bad value", _train("--task-option", "bits=abc"), ("--task-option bits",)),
    ("task-option unknown", _train("--task-option", "colour=1"), ("--task-option colour",)),
    ("task field 0", _train("--bits", "0"), ("--bits", ">= 1")),
    ("task field min-len 0", _train("--min-len", "0"), ("--min-len",)),
    ("another task's field", _train("--n", "3"), ("--n (n):", "unknown field(s) n")),
    ("same-length maybe", _train("--same-length", "maybe"), ("--same-length", "true or false")),
    ("unknown task", ["train", "sorting"], ("TASK", "'sorting'", "'copy'")),
    ("unknown flag", _train("--colour", "3"), ("--colour",)),
    ("model gru", _train("--model", "gru"), ("--model", "'lstm'")),
    ("preset slow", _train("--preset", "slow"), ("--preset", "'paper'")),
    ("optimizer sgd", _train("--optimizer", "sgd"), ("--optimizer", "'adam'")),
    ("controller x", _train("--controller", "x"), ("--controller",)),
    ("memory-init x", _train("--memory-init", "x"), ("--memory-init",)),
    ("task-module missing", _train("--task-module", "no_such_module_xyz"), ("--task-module",)),
    ("task-module no file", _train("--task-module", "{tmp}/none.py"), ("--task-module",)),
    ("resume missing", [*_RESUME, "{tmp}/missing"], ("--out", "no run to resume")),
    ("resume done", [*_RESUME, "{tmp}/run"], ("--steps", "at step 2 of 2")),
    ("eval missing", ["eval", "{tmp}/missing"], ("{tmp}/missing", "no such checkpoint")),
    ("eval not a checkpoint", ["eval", "{tmp}/a_file"], ("{tmp}/a_file",)),
    ("eval num-sequences 0", _eval("--num-sequences", "0"), ("--num-sequences", ">= 1")),
    ("eval num-sequences 1.5", _eval("--num-sequences", "1.5"), ("--num-sequences",)),
    ("eval batch-size 0", _eval("--batch-size", "0"), ("--batch-size",)),
    ("eval seed -1", _eval("--seed", "-1"), ("--seed",)),
    ("eval min-len > max-len", _eval("--min-len", "9"), ("--min-len", "max_len")),
    ("eval task-option", _eval("--task-option", "colour=1"), ("--task-option colour",)),
    ("plot missing", ["plot", "{tmp}/missing"], ("no such checkpoint",)),
    ("plot out-dir file", _plot("--out-dir", "{tmp}/a_file"), ("--out-dir", "is a file")),
    ("plot out-dir unwritable", _plot("--out-dir", "{tmp}/a_file/x"), ("--out-dir", "cannot")),
    ("plot seed -1", _plot("--seed", "-1", "--out-dir", "{tmp}/png"), ("--seed",)),
    ("no command", [], ("required",)),
    ("bad command", ["fly"], ("'fly'",)),
]
if not torch.cuda.is_available():
    CLI.append(("device cuda, no GPU", _train("--device", "cuda"), ("--device", "no CUDA GPU")))


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory) -> Path:
    """A folder with a trained 2-step run ``run`` and a plain file ``a_file``."""
    tmp = tmp_path_factory.mktemp("bad_cli")
    (tmp / "a_file").write_text("not a checkpoint\n")
    torch.set_num_threads(1)
    code = main(["train", "copy", "--steps", "2", *TINY, "--out", str(tmp / "run")])
    assert code == 0
    return tmp


@pytest.mark.parametrize("argv, phrases", [c[1:] for c in CLI], ids=[c[0] for c in CLI])
def test_cli_bad_input_exits_2_with_one_line_naming_the_flag(capsys, cli_dir, argv, phrases):
    before = sorted(p.name for p in cli_dir.iterdir())
    run_files = {p.name: p.stat().st_mtime_ns for p in (cli_dir / "run").iterdir()}
    try:
        code = main([a.replace("{tmp}", str(cli_dir)) for a in argv])
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for phrase in phrases:
        assert phrase.replace("{tmp}", str(cli_dir)) in lines[0], lines[0]
    # nothing trained or written: no new run folder, the saved run untouched
    assert sorted(p.name for p in cli_dir.iterdir()) == before
    assert {p.name: p.stat().st_mtime_ns for p in (cli_dir / "run").iterdir()} == run_files


def test_the_flag_is_named_in_messages_about_another_field():
    from ntm_nb.cli import name_the_flag

    given = {"N": "--memory-rows", "lr": "--lr"}
    assert name_the_flag("lr: must be a number in (0, 1), got 0", given).startswith("--lr (lr): ")
    message = "shift_range: 3 offsets exceed N = 2 rows; accepted: 0 <= shift_range <= 0"
    assert name_the_flag(message, given) == f"--memory-rows (N): {message}"
    # already naming a flag, or naming nothing the user set: unchanged
    assert name_the_flag("--out: 'x' is a file", given) == "--out: 'x' is a file"
    assert (
        name_the_flag("bits: must be >= 1; accepted: N", given) == "bits: must be >= 1; accepted: N"
    )


# ----------------------------------------------------------------------------------------
# evaluate streams its batches
# ----------------------------------------------------------------------------------------
def _reference_evaluate(model: nn.Module, task: Task, num: int, batch: int, seed: int):
    """The former ``evaluate``: every batch drawn up front, into one list."""
    task = task.for_evaluation()
    generator = torch.Generator().manual_seed(seed)
    batches, left = [], num
    while left > 0:
        b = min(batch, left)
        batches.append(task.sample(b, generator))
        left -= b
    was_training = model.training
    model.eval()
    n, bits, nats, masked_bits = 0, 0.0, 0.0, 0.0
    with torch.no_grad():
        for x, y, mask in batches:
            logits = model(x)
            bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
            nats += float((bce * mask.unsqueeze(-1)).sum())
            masked_bits += float(mask.sum()) * y.shape[-1]
            bits += float(bit_errors(logits, y, mask).sum())
            n += x.shape[0]
    optimal = None
    costs = [task.optimal_cost(x, y, m) for x, y, m in batches]
    if costs and all(c is not None for c in costs):
        optimal = sum(c * x.shape[0] for c, (x, _, _) in zip(costs, batches)) / n
    model.train(was_training)
    return EvalResult(
        bits_per_sequence=bits / n,
        loss=nats / max(masked_bits, 1.0),
        cost_bits=nats / math.log(2) / n,
        num_sequences=n,
        optimal_cost_bits=optimal,
    )


def _lstm(task: Task) -> LSTMBaseline:
    torch.manual_seed(1)
    cfg = LSTMConfig(input_size=task.input_size, output_size=task.output_size, hidden_size=8)
    return LSTMBaseline(dataclasses.replace(cfg, num_layers=1))


@pytest.mark.parametrize(
    "task, num, batch",
    [
        (COPY, 23, 5),
        (make_task("copy", bits=4, max_len=3, same_length=True), 17, 17),
        (NGramsTask(n=3, length=12), 11, 4),
    ],
    ids=["copy", "copy-same-length", "ngrams"],
)
def test_streamed_evaluate_equals_the_former_all_at_once_one(task, num, batch):
    model = _lstm(task)
    assert evaluate(model, task, num, batch, seed=7) == _reference_evaluate(
        model, task, num, batch, 7
    )
    ntm = tiny_ntm() if task.input_size == 5 else None
    if ntm is not None:
        assert evaluate(ntm, task, num, batch, seed=2) == _reference_evaluate(
            ntm, task, num, batch, 2
        )


_LIVE = {"now": 0, "peak": 0, "drawn": 0}


@dataclasses.dataclass(frozen=True)
class _CountingCopy(CopyTask):
    """Copy, counting the batches alive at once (a batch dies with its ``x``)."""

    name: ClassVar[str] = "copy"

    def sample(self, batch_size, generator=None):
        batch = super().sample(batch_size, generator)
        _LIVE["now"] += 1
        _LIVE["drawn"] += 1
        _LIVE["peak"] = max(_LIVE["peak"], _LIVE["now"])
        weakref.finalize(batch[0], lambda: _LIVE.__setitem__("now", _LIVE["now"] - 1))
        return batch


@pytest.mark.parametrize("num_sequences", [1_000, 20_000])
def test_evaluate_holds_at_most_two_batches_whatever_the_number_of_sequences(num_sequences):
    task = _CountingCopy(bits=4, min_len=1, max_len=2)
    model = _lstm(task)
    _LIVE.update(now=0, peak=0, drawn=0)
    result = evaluate(model, task, num_sequences=num_sequences, batch_size=100)
    assert result.num_sequences == num_sequences
    assert _LIVE["drawn"] == num_sequences // 100
    assert _LIVE["peak"] <= 2  # the batch being evaluated and the one being drawn


def test_train_keeps_its_fixed_held_out_set():
    """``train`` draws its small held-out set once and reuses it at every evaluation."""
    task = _CountingCopy(bits=4, min_len=1, max_len=2)
    _LIVE.update(now=0, peak=0, drawn=0)
    cfg = quick(steps=4, eval_every=1, eval_sequences=6, batch_size=2)
    result = train(tiny_ntm(), task, cfg, progress=False)
    assert _LIVE["drawn"] == 1 + 4  # one held-out batch of 6, then one batch per step
    assert result.final_eval == evaluate(result.model, task, 6, 6, seed=cfg.eval_seed)


def test_evaluate_restores_the_mode_when_the_model_fails():
    class Failing(nn.Module):
        config = type("C", (), {"input_size": 5, "output_size": 4})()

        def forward(self, x):
            raise RuntimeError("boom")

    model = Failing().train()
    with pytest.raises(RuntimeError, match="boom"):
        evaluate(model, COPY, num_sequences=2)
    assert model.training
