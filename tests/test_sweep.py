"""Sweeps on Ray Tune (ntm_nb.sweep): a two-trial sweep on a tiny model, its results and
summary, a resumed sweep (finished trials kept, an unfinished one resumed exactly), the
command line, and no Ray process left behind."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from _tiny import tiny_flags

from ntm_nb.checkpoint import load_record
from ntm_nb.cli import main
from ntm_nb.sweep import (
    _wilson,
    load_results,
    merge_sweeps,
    parse_seeds,
    sweep,
    sweep_curves,
    sweep_summary,
)
from ntm_nb.viz import plot_sweep

ROOT = Path(__file__).resolve().parents[1]
ray = pytest.importorskip("ray", reason="the sweep extra: pip install 'ntm_nb[sweep]'")

TINY = tiny_flags(batch_size=2, eval_every=2, eval_sequences=4, max_len=2, progress=True)


def _raylets() -> int:
    out = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True).stdout
    return sum("raylet" in line and "grep" not in line for line in out.splitlines())


@pytest.fixture(scope="module")
def local_ray():
    """Ray on 2 CPUs, no dashboard, for the whole module; shut down (and checked) after."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
    assert _raylets() == 0, "a Ray process was left behind"


def test_parse_seeds_and_the_wilson_interval():
    assert parse_seeds("0:3") == [0, 1, 2] and parse_seeds("4,7") == [4, 7]
    with pytest.raises(ValueError, match="--seeds"):
        parse_seeds("a:b")
    low, high = _wilson(9, 10)
    assert 0.55 < low < 0.6 and 0.98 < high <= 1.0  # the Wilson 95% interval of 9/10


def test_a_two_trial_sweep_then_a_resumed_one(local_ray, tmp_path):
    out = tmp_path / "sw"
    rows = sweep("copy", [0, 1], out=out, train_args=["--steps", "4", *TINY], verbose=0)
    assert [r["seed"] for r in rows] == [0, 1]
    with open(out / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ["task", "seed", "solved", "steps_to_target", "sequences_to_target",
                              "final_cost", "steps", "sequences", "wall_s"]  # fmt: skip
    assert all(r["task"] == "copy" and r["steps"] == "4" for r in table)
    assert json.loads((out / "results.json").read_text()) == rows
    for r in rows:  # solved means a held-out evaluation reached copy's target (0.1)
        assert r["solved"] == (r["steps_to_target"] is not None)
    summary = sweep_summary(out)
    assert summary[0]["trials"] == 2 and summary[0]["solved"] == sum(r["solved"] for r in rows)
    curves = sweep_curves(out)
    assert [name for name, _, _ in curves] == ["seed=0", "seed=1"]
    assert len(plot_sweep(curves, target=0.1).axes) == 1
    # curves.json carries the same curves, for a shipped sweep without its trials' folders
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for name in ("results.csv", "curves.json"):
        shutil.copy(out / name, shipped / name)
    again = sweep_curves(shipped)
    assert [(n, ok) for n, _, ok in again] == [(n, ok) for n, _, ok in curves]
    for (_, h1, _), (_, h2, _) in zip(curves, again):
        assert h2.eval_bits == h1.eval_bits and h2.eval_sequences == h1.eval_sequences
    merged = tmp_path / "merged"  # a sweep's trials/ merged into a shipped folder
    assert merge_sweeps([out], merged) == load_results(shipped)
    assert (merged / "results.csv").read_text() == (out / "results.csv").read_text()
    assert (merged / "curves.json").read_text() == (out / "curves.json").read_text()

    # an unfinished trial (as if the sweep was stopped): a checkpoint at step 2, no result
    partial = out / "trials" / "seed=2"
    first = ["train", "copy", "--seed", "2", "--out", str(partial), "--steps", "2",
             "--no-progress", "--threads", "1", "--target-cost", "0.1", *TINY]  # fmt: skip
    assert main(first) == 0
    before = {r["seed"]: (out / "trials" / f"seed={r['seed']}" / "result.json").stat().st_mtime
              for r in rows}  # fmt: skip
    rows = sweep("copy", [0, 1, 2], out=out, train_args=["--steps", "4", *TINY], verbose=0)
    assert [r["seed"] for r in rows] == [0, 1, 2]
    for seed, mtime in before.items():  # finished trials are not run again
        assert (out / "trials" / f"seed={seed}" / "result.json").stat().st_mtime == mtime
    record = load_record(partial)
    assert record["step"] == 4 and record["history"]["eval_step"][:1] == [2]  # resumed at 2
    assert "--resume" in (partial / "train.log").read_text()


def test_the_command_line_runs_a_grid_and_prints_the_summary(local_ray, tmp_path, capsys):
    out = tmp_path / "grid"
    code = main(["sweep", "copy", "--seeds", "0:1", "--set", "lr=1e-3,2e-3", "--out", str(out),
                 "--steps", "2", *TINY])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    with open(out / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert sorted(r["lr"] for r in table) == ["1e-3", "2e-3"] and "lr" in list(table[0])[:3]
    assert "lr=1e-3" in printed and "0/1 solved" in printed or "1/1 solved" in printed
    assert main(["sweep", "--summary", str(out)]) == 0
    assert "95% interval" in capsys.readouterr().out


def test_a_bad_train_flag_fails_before_any_trial(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["sweep", "copy", "--out", str(tmp_path / "x"), "--batch-size", "zero"])
    assert exit.value.code == 2 and not (tmp_path / "x").exists()
    assert main(["sweep", "copy", "--seeds", "x", "--out", str(tmp_path / "y")]) == 2
    assert "--seeds" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [0, -1])
def test_a_core_count_below_one_fails_before_ray_starts(tmp_path, capsys, bad):
    """Ray would wait for ever for a trial's core with num_cpus=0, and fail from deep
    inside with a negative count: both are refused first, naming the parameter."""
    with pytest.raises(ValueError, match=r"num_cpus: must be an integer >= 1"):
        sweep("copy", [0], out=tmp_path / "x", num_cpus=bad)
    assert not (tmp_path / "x").exists()
    assert main(["sweep", "copy", "--num-cpus", str(bad), "--out", str(tmp_path / "y")]) == 2
    assert "--num-cpus: must be an integer >= 1" in capsys.readouterr().err


def test_the_shipped_sweeps_load_and_summarise():
    """Every shipped sweep reads back, and its summary counts what its rows say."""
    shipped = sorted((ROOT / "ntm_nb" / "pretrained" / "sweeps").glob("*/results.csv"))
    assert shipped, "no shipped sweep"
    for path in shipped:
        rows = load_results(path.parent)
        assert rows and all(isinstance(r["solved"], bool) for r in rows)
        (summary,) = sweep_summary(rows)
        assert summary["solved"] == sum(r["solved"] for r in rows)
        assert summary["trials"] == len(rows) == len({r["seed"] for r in rows})
        assert summary["ci95"][0] <= summary["rate"] <= summary["ci95"][1]
        assert path.parent.name in (path.parents[1] / "README.md").read_text()
        curves = sweep_curves(path.parent)  # every shipped sweep ships its learning curves
        assert sorted(n for n, _, _ in curves) == sorted(f"seed={r['seed']}" for r in rows)
        assert {n: ok for n, _, ok in curves} == {f"seed={r['seed']}": r["solved"] for r in rows}


def test_the_sweep_plot_marks_where_restarts_and_rollbacks_acted():
    """The shipped restart sweep: seeds 0 and 1 restarted at step 1,500; the FF rollback
    sweep rolled back several times. Each lever's marks sit on the curve at those steps."""
    restart = sweep_curves(ROOT / "ntm_nb" / "pretrained" / "sweeps" / "copy-lr3e-3-restart")
    fig = plot_sweep(restart, target=0.1)
    marks = [line for line in fig.axes[0].lines if line.get_marker() == "o"]
    assert len(marks) == sum(1 for _, h, _ in restart if h.restart_step) == 2
    for line in marks:
        assert len(line.get_xdata()) == 1  # one restart each
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels.count("restart") == 1 and "rollback" not in labels
    rollback = sweep_curves(ROOT / "ntm_nb" / "pretrained" / "sweeps" / "copy-ff-rollback")
    fig = plot_sweep(rollback)
    triangles = [line for line in fig.axes[0].lines if line.get_marker() == "v"]
    assert sum(len(t.get_xdata()) for t in triangles) == sum(
        len(h.rollback_step) for _, h, _ in rollback
    )
    plain = plot_sweep(sweep_curves(ROOT / "ntm_nb" / "pretrained" / "sweeps" / "copy-fast"))
    assert not [line for line in plain.axes[0].lines if line.get_marker() in ("o", "v")]


def _split(shipped: Path, seeds: set[int], dest: Path) -> Path:
    """A shipped-format folder holding only ``seeds`` of the shipped sweep ``shipped``."""
    dest.mkdir()
    with open(shipped / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    with open(dest / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if int(r["seed"]) in seeds)
    curves = json.loads((shipped / "curves.json").read_text())
    kept = {k: v for k, v in curves.items() if int(k.split("=")[1]) in seeds}
    (dest / "curves.json").write_text(json.dumps(kept, separators=(",", ":")) + "\n")
    return dest


def test_merging_new_seeds_into_a_shipped_sweep(tmp_path, capsys):
    """Seeds 6-7 appended to seeds 0-5 give back the shipped eight-seed sweep, byte for byte;
    a seed whose result differs between two sources, or another task, is refused."""
    shipped = ROOT / "ntm_nb" / "pretrained" / "sweeps" / "repeat-copy-ctrl32-rollback"
    first = _split(shipped, set(range(6)), tmp_path / "first")
    later = _split(shipped, {7, 6}, tmp_path / "later")
    rows = merge_sweeps([later], first)  # appended: what `first` held is kept
    assert [r["seed"] for r in rows] == list(range(8))
    for name in ("results.csv", "curves.json"):
        assert (first / name).read_text() == (shipped / name).read_text(), name
    assert main(["sweep", "--merge", str(later), "--out", str(first)]) == 0  # again: no change
    assert "2/8 solved" in capsys.readouterr().out
    assert (first / "results.csv").read_text() == (shipped / "results.csv").read_text()

    clash = _split(shipped, {3}, tmp_path / "clash")
    text = (clash / "results.csv").read_text().replace("True", "False")
    (clash / "results.csv").write_text(text)
    before = (first / "results.csv").read_text()
    with pytest.raises(ValueError, match="seed 3 .* different results"):
        merge_sweeps([clash], first)
    other = _split(ROOT / "ntm_nb" / "pretrained" / "sweeps" / "copy-fast", {9}, tmp_path / "o")
    with pytest.raises(ValueError, match="not the same sweep"):
        merge_sweeps([other], first)
    assert (first / "results.csv").read_text() == before  # a refused merge writes nothing
    assert main(["sweep", "--merge", str(other), "--out", str(first)]) == 2
    assert "not the same sweep" in capsys.readouterr().err
    assert main(["sweep", "--merge", str(other)]) == 2  # no --out
    assert "--out" in capsys.readouterr().err
