"""Tests for the command line (ntm_nb.cli), run in-process through ``main`` on tiny
models, plus one real ``python -m ntm_nb --help`` for the entry point."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import safetensors.torch
import torch
from _tiny import tiny_flags

from ntm_nb import NTM, LSTMBaseline
from ntm_nb.checkpoint import load, load_record
from ntm_nb.cli import main
from ntm_nb.tasks import make_task
from ntm_nb.train import evaluate

PNG = b"\x89PNG\r\n\x1a\n"

TINY = tiny_flags(batch_size=4, eval_every=3, eval_sequences=8, max_len=3)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run(capsys, *args: object) -> tuple[int, str, str]:
    """``ntm-nb ARGS`` in-process: (exit status, stdout, stderr)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """``ntm-nb train copy`` for 6 tiny steps; tests must not change this folder."""
    out = tmp_path_factory.mktemp("cli") / "copy-run"
    torch.set_num_threads(1)
    code = main(["train", "copy", "--steps", "6", *TINY, "--out", str(out)])
    assert code == 0
    return out


# ----------------------------------------------------------------------------------------
# train
# ----------------------------------------------------------------------------------------
def test_train_writes_a_checkpoint(trained):
    assert sorted(p.name for p in trained.iterdir()) >= [
        "model.json",
        "model.safetensors",
        "train_state.safetensors",
    ]
    record = load_record(trained)
    assert record["kind"] == "ntm"
    assert record["step"] == 6
    assert record["task"]["name"] == "copy" and record["task"]["max_len"] == 3
    assert record["model_config"]["controller_size"] == 8
    assert record["model_config"]["N"] == 8 and record["model_config"]["M"] == 4
    cfg = record["train_config"]
    assert cfg["steps"] == 6 and cfg["batch_size"] == 4 and cfg["compile"] is False
    assert cfg["optimizer"] == "adam"  # the fast preset
    assert record["history"]["eval_step"] == [3, 6]
    assert record["history"]["step"] == [6]
    assert isinstance(load(trained), NTM)


def test_train_records_its_own_command_line(trained):
    command = load_record(trained)["command"]
    assert command.startswith("ntm-nb train copy --steps 6 --batch-size 4")
    assert f"--out {trained}" in command


def test_train_prints_what_it_does(capsys, tmp_path):
    code, out, err = run(capsys, "train", "copy", "--steps", "2", *TINY, "--out", tmp_path / "r")
    assert code == 0
    assert out.startswith("training ntm on copy: ")
    assert "2 steps of batch 4, adam" in out
    assert re.search(r"done at step 2: held-out wrong bits per sequence \d+\.\d{3}", out)
    assert f"checkpoint: {tmp_path / 'r'}" in out
    assert "Traceback" not in err


def test_train_resume_continues_exactly(capsys, trained, tmp_path):
    resumed = tmp_path / "resumed"
    shutil.copytree(trained, resumed)
    code, out, err = run(
        capsys,
        "train",
        "copy",
        "--resume",
        "--out",
        resumed,
        "--steps",
        "9",
        "--no-progress",
        "--no-compile",
    )
    assert code == 0, err
    record = load_record(resumed)
    assert record["step"] == 9
    assert record["history"]["eval_step"] == [3, 6, 9]
    assert record["history"]["step"] == [6, 9]
    assert record["command"].startswith("ntm-nb train copy --resume")
    assert record["train_config"]["batch_size"] == 4  # kept from the saved run

    # the same as training 9 steps in one go
    straight = tmp_path / "straight"
    assert run(capsys, "train", "copy", "--steps", "9", *TINY, "--out", straight)[0] == 0
    a = safetensors.torch.load_file(str(resumed / "model.safetensors"))
    b = safetensors.torch.load_file(str(straight / "model.safetensors"))
    c = safetensors.torch.load_file(str(trained / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)  # it did train further


def test_train_lstm_baseline(capsys, tmp_path):
    out = tmp_path / "lstm"
    code, stdout, err = run(
        capsys,
        "train",
        "copy",
        "--model",
        "lstm",
        "--hidden-size",
        "8",
        "--layers",
        "1",
        "--steps",
        "4",
        "--batch-size",
        "2",
        "--eval-every",
        "2",
        "--eval-sequences",
        "4",
        "--max-len",
        "3",
        "--no-compile",
        "--no-progress",
        "--out",
        out,
    )
    assert code == 0, err
    assert stdout.startswith("training lstm on copy")
    model = load(out)
    assert isinstance(model, LSTMBaseline)
    assert model.config.hidden_size == 8 and model.config.num_layers == 1
    assert load_record(out)["kind"] == "lstm"
    # a resume says what it resumes, whatever the (default) --model flag
    code, stdout, err = run(
        capsys, "train", "copy", "--resume", "--out", out, "--steps", "5", "--no-progress"
    )
    assert code == 0, err
    assert stdout.startswith("training lstm on copy")
    # plot works without a trace
    assert run(capsys, "plot", out)[0] == 0
    assert (out / "example.png").read_bytes()[:8] == PNG


def test_train_task_options(capsys, tmp_path):
    out = tmp_path / "bits6"
    code, _, err = run(
        capsys,
        "train",
        "copy",
        "--steps",
        "1",
        *TINY,
        "--task-option",
        "bits=6",
        "--out",
        out,
    )
    assert code == 0, err
    record = load_record(out)
    assert record["task"]["bits"] == 6
    assert record["model_config"]["input_size"] == 7 and record["model_config"]["output_size"] == 6


# ----------------------------------------------------------------------------------------
# eval
# ----------------------------------------------------------------------------------------
def test_eval_prints_bits_per_sequence(capsys, trained):
    code, out, err = run(capsys, "eval", trained, "--num-sequences", "20", "--max-len", "5")
    assert code == 0, err
    assert "copy (" in out and "max_len=5" in out and "on 20 sequences" in out
    match = re.search(r"bits per sequence: (\d+\.\d+)", out)
    assert match
    # the number is evaluate()'s on the same task and sequences
    model = load(trained)
    task = make_task("copy", bits=8, min_len=1, max_len=5)
    expected = evaluate(model, task, num_sequences=20, batch_size=100, seed=0)
    assert float(match.group(1)) == pytest.approx(expected.bits_per_sequence, abs=1e-4)
    assert "optimal" not in out  # copy has no optimal estimator


def test_eval_json(capsys, trained):
    code, out, err = run(capsys, "eval", trained, "--num-sequences", "10", "--json", "--seed", "3")
    assert code == 0, err
    result = json.loads(out)
    assert result["num_sequences"] == 10
    assert result["task"]["name"] == "copy" and result["task"]["max_len"] == 3
    assert 0 <= result["bits_per_sequence"] <= 3 * 8
    assert result["loss"] > 0 and result["cost_bits"] > 0
    assert result["optimal_cost_bits"] is None
    # another seed, other sequences
    other = json.loads(run(capsys, "eval", trained, "--num-sequences", "10", "--json")[1])
    assert other["loss"] != result["loss"]


def test_eval_ngrams_prints_the_optimal_cost(capsys, tmp_path):
    out = tmp_path / "ngrams"
    code, _, err = run(
        capsys,
        "train",
        "ngrams",
        "--model",
        "lstm",
        "--hidden-size",
        "4",
        "--layers",
        "1",
        "--steps",
        "1",
        "--batch-size",
        "2",
        "--eval-sequences",
        "2",
        "--length",
        "12",
        "--no-compile",
        "--no-progress",
        "--out",
        out,
    )
    assert code == 0, err
    code, stdout, err = run(capsys, "eval", out, "--num-sequences", "6")
    assert code == 0, err
    assert "ngrams (n=6, length=12)" in stdout
    optimal = float(re.search(r"optimal Bayesian estimator cost: (\d+\.\d+)", stdout).group(1))
    cost = float(
        re.search(r"cost \(cross-entropy, bits per sequence\): (\d+\.\d+)", stdout).group(1)
    )
    assert 0 < optimal <= 11.0  # 11 predictions; a fair coin costs 1 bit each
    assert cost > 0
    result = json.loads(run(capsys, "eval", out, "--num-sequences", "6", "--json")[1])
    assert result["optimal_cost_bits"] == pytest.approx(optimal, abs=1e-4)


def test_eval_accepts_the_weights_file(capsys, trained):
    code, out, _ = run(capsys, "eval", trained / "model.safetensors", "--num-sequences", "5")
    assert code == 0 and "bits per sequence" in out


# ----------------------------------------------------------------------------------------
# plot
# ----------------------------------------------------------------------------------------
def test_plot_writes_pngs(capsys, trained, tmp_path):
    code, out, err = run(capsys, "plot", trained, "--out-dir", tmp_path / "figs")
    assert code == 0, err
    for name in ("learning_curve.png", "example.png"):
        path = tmp_path / "figs" / name
        assert path.is_file() and path.read_bytes()[:8] == PNG
        assert str(path) in out
    assert not (trained / "example.png").exists()  # --out-dir was honoured


# ----------------------------------------------------------------------------------------
# errors: one line on stderr, exit status 2, no traceback
# ----------------------------------------------------------------------------------------
def _assert_one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0]


def test_error_unknown_task(capsys, tmp_path):
    result = run(capsys, "train", "sorting", "--out", tmp_path / "x")
    _assert_one_line_error(*result, "invalid choice: 'sorting'", "copy")
    assert not (tmp_path / "x").exists()


def test_error_bad_number(capsys, tmp_path):
    _assert_one_line_error(*run(capsys, "train", "copy", "--steps", "abc"), "--steps", "'abc'")
    _assert_one_line_error(
        *run(capsys, "eval", tmp_path, "--num-sequences", "1.5"), "--num-sequences"
    )


def test_error_invalid_training_setting(capsys, tmp_path):
    result = run(capsys, "train", "copy", "--steps", "-1", *TINY, "--out", tmp_path / "x")
    _assert_one_line_error(*result, "ntm-nb train: error: --steps: must be an integer >= 1")
    result = run(
        capsys, "train", "copy", "--steps", "1", "--lr", "5", *TINY, "--out", tmp_path / "x"
    )
    _assert_one_line_error(*result, "--lr (lr): must be a number in (0, 1)")


def test_error_missing_checkpoint(capsys, tmp_path):
    missing = tmp_path / "missing"
    _assert_one_line_error(*run(capsys, "eval", missing), "ntm-nb eval: error:", str(missing))
    _assert_one_line_error(*run(capsys, "plot", missing), "ntm-nb plot: error:", str(missing))
    result = run(capsys, "train", "copy", "--resume", "--out", missing, "--no-progress")
    _assert_one_line_error(*result, "ntm-nb train: error:", str(missing))


def test_error_broken_checkpoint(capsys, trained, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(trained, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    _assert_one_line_error(*run(capsys, "eval", broken), str(weights), "truncated or corrupted")


def test_error_unknown_task_option(capsys, tmp_path):
    result = run(
        capsys,
        "train",
        "copy",
        "--steps",
        "1",
        *TINY,
        "--task-option",
        "colour=3",
        "--out",
        tmp_path / "x",
    )
    _assert_one_line_error(*result, "unknown field(s) colour", "accepted: bits")
    result = run(capsys, "train", "copy", "--task-option", "colour", "--out", tmp_path / "x")
    _assert_one_line_error(*result, "--task-option: expected KEY=VALUE")


def test_error_invalid_task_setting_at_eval(capsys, trained):
    result = run(capsys, "eval", trained, "--min-len", "9")  # the saved max_len is 3
    _assert_one_line_error(*result, "max_len")


def test_error_no_command(capsys):
    _assert_one_line_error(*run(capsys), "required")


# ----------------------------------------------------------------------------------------
# the installed entry point
# ----------------------------------------------------------------------------------------
def test_python_dash_m_help():
    proc = subprocess.run(
        [sys.executable, "-m", "ntm_nb", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: ntm-nb")
    for command in ("train", "eval", "plot"):
        assert command in proc.stdout


def test_resume_after_a_time_budget_trains_on_and_max_minutes_counts_from_now(capsys, tmp_path):
    out = tmp_path / "budget"
    code, stdout, err = run(
        capsys, "train", "copy", "--steps", "50", *TINY, "--max-minutes", "1e-9", "--out", out
    )
    assert code == 0, err
    assert "time budget used at step 1" in stdout
    # the saved budget is used up; a resume without --max-minutes must not stop at once
    code, stdout, err = run(
        capsys,
        "train",
        "copy",
        "--resume",
        "--out",
        out,
        "--steps",
        "4",
        "--no-progress",
        "--no-compile",
    )
    assert code == 0, err
    assert "done at step 4" in stdout and load_record(out)["step"] == 4
    # --max-minutes on resume counts from the resume, not from the first run's start
    code, stdout, err = run(
        capsys,
        "train",
        "copy",
        "--resume",
        "--out",
        out,
        "--steps",
        "6",
        "--max-minutes",
        "10",
        "--no-progress",
        "--no-compile",
    )
    assert code == 0, err
    assert "done at step 6" in stdout


def test_resume_with_a_new_learning_rate(capsys, trained, tmp_path):
    low = tmp_path / "low"
    shutil.copytree(trained, low)
    code, _, err = run(
        capsys,
        "train",
        "copy",
        "--resume",
        "--out",
        low,
        "--steps",
        "9",
        "--lr",
        "1e-5",
        "--no-progress",
        "--no-compile",
    )
    assert code == 0, err
    assert load_record(low)["train_config"]["lr"] == 1e-5
    same = tmp_path / "same"
    shutil.copytree(trained, same)
    assert (
        run(
            capsys,
            "train",
            "copy",
            "--resume",
            "--out",
            same,
            "--steps",
            "9",
            "--no-progress",
            "--no-compile",
        )[0]
        == 0
    )
    start = safetensors.torch.load_file(str(trained / "model.safetensors"))
    a = safetensors.torch.load_file(str(low / "model.safetensors"))
    b = safetensors.torch.load_file(str(same / "model.safetensors"))
    # Adam moves each weight by about lr per step: 3 steps at 1e-5 move far less than at the
    # saved lr
    moved = lambda w: max((w[k] - start[k]).abs().max().item() for k in start)  # noqa: E731
    assert 0 < moved(a) < 1e-4 < moved(b)
