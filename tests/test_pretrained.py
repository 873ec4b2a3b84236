"""The shipped models: ``ntm_nb.pretrained`` finds and loads them, and each shipped NTM does
what it was shipped for on fresh sequences (a seed no training run or report uses)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ntm_nb.pretrained as pretrained
from ntm_nb import NTM, LSTMBaseline, evaluate, make_task
from ntm_nb.tasks import TASKS

SHIPPED = pretrained.available()
FRESH_SEED = 7  # held-out sequences: not the training eval_seed (12345) nor the report's (2026)


def _task_of(model: nn.Module, **overrides):
    fields = dict(model.checkpoint["task"])
    name = fields.pop("name")
    fields.pop("same_length", None)  # evaluate draws every sequence independently anyway
    return make_task(name, **{**fields, **overrides})


# ------------------------------------------------------------------------------ finding
def test_available_lists_what_is_on_disk():
    shipped = pretrained.available()  # now, not at import: training runs may add models
    on_disk = {
        (name, kind)
        for name in TASKS
        for kind in pretrained.KINDS
        if (pretrained.HERE / f"{name}-{kind}" / "model.safetensors").is_file()
    }
    assert set(shipped) == on_disk
    assert len(shipped) == len(set(shipped))
    order = [(name, kind) for name in TASKS for kind in pretrained.KINDS]
    assert shipped == sorted(shipped, key=order.index)  # task order, NTM before LSTM


def test_available_follows_the_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "HERE", tmp_path)
    assert pretrained.available() == []
    (tmp_path / "ngrams-lstm").mkdir()
    assert pretrained.available() == []  # a folder without weights is not a model
    (tmp_path / "ngrams-lstm" / "model.safetensors").write_bytes(b"")
    (tmp_path / "copy-ntm").mkdir()
    (tmp_path / "copy-ntm" / "model.safetensors").write_bytes(b"")
    assert pretrained.available() == [("copy", "ntm"), ("ngrams", "lstm")]


@pytest.mark.parametrize(
    "args, match",
    [
        (("sorting",), "unknown task"),
        (("copy", "gru"), "unknown kind"),
        (("Copy",), "unknown task"),
    ],
)
def test_unknown_names_raise_value_error(args, match):
    with pytest.raises(ValueError, match=match):
        pretrained.load(*args)


def test_a_task_not_shipped_raises_value_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "HERE", tmp_path)
    with pytest.raises(ValueError, match="no shipped ntm model for 'copy'"):
        pretrained.load("copy")


# ------------------------------------------------------------------------------ loading
@pytest.mark.parametrize("name, kind", SHIPPED, ids=[f"{n}-{k}" for n, k in SHIPPED])
def test_every_shipped_model_loads_and_runs(name, kind):
    model = pretrained.load(name, kind)
    assert isinstance(model, NTM if kind == "ntm" else LSTMBaseline)
    assert not model.training
    record = model.checkpoint
    assert record["kind"] == kind and record["task"]["name"] == name
    history = record["history"]
    assert history["eval_bits"] and len(history["eval_bits"]) == len(history["eval_sequences"])
    task = _task_of(model)
    x, y, mask = task.sample(2, torch.Generator().manual_seed(FRESH_SEED))
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == y.shape and torch.isfinite(logits).all()


# ------------------------------------------------------------------------------ quality
# Each shipped NTM on fresh held-out sequences of its training distribution. Only tasks whose
# shipped model reaches the target are asserted against it; the others are asserted against
# the value reported in ntm_nb/pretrained/README.md (to be added as their weights land).
TARGETS = {
    # task: (overrides, sequences, largest bits per sequence accepted)
    "copy": ({}, 200, 0.1),
    "associative_recall": ({}, 200, 0.1),
    # its rare failed sequences cost ~100 bits each: 1,000 sequences, not 200 (~4 s)
    "repeat_copy": ({}, 1000, 0.1),
    # the paper's best NTM at 1M sequences: 18 bits per sequence (~3 s for 500 sequences)
    "priority_sort": ({}, 500, 18.0),
}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_shipped_ntm_meets_its_target(name):
    if (name, "ntm") not in SHIPPED:
        pytest.skip(f"no shipped {name} NTM yet")
    overrides, n, target = TARGETS[name]
    model = pretrained.load(name)
    task = _task_of(model, **overrides)
    result = evaluate(model, task, num_sequences=n, batch_size=n, seed=FRESH_SEED)
    assert result.bits_per_sequence < target, (
        f"{name}: {result.bits_per_sequence:.3f} bits per sequence on {n} fresh sequences "
        f"(target < {target})"
    )


# The tasks whose shipped NTM does not reach its target: the value measured on fresh sequences
# must agree with the one ntm_nb/pretrained/README.md reports (its table for the task, the
# training-distribution row, column "ours: NTM"), within the sampling noise of 200 sequences.
# This keeps the README honest: new weights without new numbers fail here.
REPORTED = {
    # task: (relative tolerance, absolute tolerance, which measure the README reports)
    # repeat copy is near 0: its README value (0.03 on 10,000 sequences) comes from a few rare
    # failed sequences, so 200 sequences may show 0; 0.5 bits still catches a worse model.
    "repeat_copy": (0.15, 0.5, "bits_per_sequence"),
    "ngrams": (0.03, 0.0, "cost_bits"),
    "priority_sort": (0.05, 0.0, "bits_per_sequence"),
}


def reported_ntm_value(name: str) -> float | None:
    """The NTM's number in the first row of the README's table for ``name`` (None if absent)."""
    readme = pretrained.HERE / "README.md"
    if not readme.is_file():
        return None
    lines = readme.read_text().splitlines()
    try:
        start = lines.index(f"### {name}")
    except ValueError:
        return None
    for line in lines[start + 1 :]:
        if line.startswith("### ") or line.startswith("## "):
            return None
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) > 1 and not set(cells[1]) <= set("-: "):
            if cells[1] == "ours: NTM":
                continue  # the header row
            return float(cells[1].replace(",", ""))
    return None


@pytest.mark.parametrize("name", sorted(REPORTED))
def test_shipped_ntm_matches_the_reported_value(name):
    if (name, "ntm") not in SHIPPED:
        pytest.skip(f"no shipped {name} NTM yet")
    reported = reported_ntm_value(name)
    if reported is None:
        pytest.skip(f"ntm_nb/pretrained/README.md reports no value for {name} yet")
    tolerance, absolute, measure = REPORTED[name]
    model = pretrained.load(name)
    result = evaluate(model, _task_of(model), num_sequences=200, batch_size=200, seed=FRESH_SEED)
    measured = getattr(result, measure)
    assert measured == pytest.approx(reported, rel=tolerance, abs=absolute), (
        f"{name}: measured {measured:.2f} on 200 fresh sequences, README reports {reported:.2f}"
    )


def test_readme_values_are_read():
    if not (pretrained.HERE / "README.md").is_file():
        pytest.skip("no README yet")
    for name in REPORTED:
        if (name, "ntm") in SHIPPED:
            assert reported_ntm_value(name) is not None, name


@pytest.mark.parametrize("length, limit", [(50, 1.0), (120, 2.0)])
def test_shipped_copy_ntm_generalises_to_long_sequences(length, limit):
    # The paper's Fig. 4: no errors at 50, "a few local errors" at 120 (trained on 1-20).
    # At 120 about 1 sequence in 600 fails as a whole (the read head slips one row and the
    # rest of the answer comes out one vector late, ~190 bits): 200 sequences, and a limit
    # of 2 bits per sequence there (0.2% of the 960), which a model that errs systematically
    # fails (the previous copy NTM: 36).
    if ("copy", "ntm") not in SHIPPED:
        pytest.skip("no shipped copy NTM yet")
    model = pretrained.load("copy")
    task = _task_of(model, min_len=length, max_len=length)
    result = evaluate(model, task, num_sequences=200, batch_size=200, seed=FRESH_SEED)
    assert result.bits_per_sequence < limit, (
        result
    )  # ntm_nb/pretrained/README.md: 0.00 on 1,000 at both


def test_report_rejects_an_unknown_task_with_a_one_line_error(capsys):
    from ntm_nb.pretrained import report

    with pytest.raises(SystemExit) as exit_info:
        report.main(["cpy"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "TASK: unknown cpy" in err and "copy" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "trained_on, where",
    [
        (None, ""),
        ("one NVIDIA H200 GPU", " on a GPU"),
        (
            "one NVIDIA H200 GPU (steps 1-10), then one CPU thread (steps 11-12)",
            " on a GPU, then a CPU",
        ),
    ],
)
def test_report_budget_says_where_a_model_was_trained(trained_on, where):
    from types import SimpleNamespace

    from ntm_nb.pretrained.report import budget

    record = {"history": {"sequences": [64, 1_572_736]}, "train_seconds": 2_880.0}
    if trained_on is not None:
        record["trained_on"] = trained_on
    assert budget(SimpleNamespace(checkpoint=record)) == f"1,572,736 sequences, 48 min{where}"
