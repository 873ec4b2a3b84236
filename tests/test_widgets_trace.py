"""Tests of the explorers of trained models and the training dashboard, without a browser:
set each control's value and check the data behind the plots against the model run anew."""

from __future__ import annotations

import time

import ipywidgets as widgets
import numpy as np
import pytest
import torch
from torch.testing import assert_close

import ntm_nb
from ntm_nb import NTM, LSTMBaseline, LSTMConfig, NTMConfig, evaluate, make_task, pretrained, viz
from ntm_nb.widgets import GeneralizationExplorer, TraceExplorer, TrainingDashboard

SHIPPED = set(pretrained.available())
needs_copy_ntm = pytest.mark.skipif(("copy", "ntm") not in SHIPPED, reason="no shipped copy NTM")
needs_copy_pair = pytest.mark.skipif(
    not {("copy", "ntm"), ("copy", "lstm")} <= SHIPPED, reason="no shipped copy NTM and LSTM"
)


def _png(data: bytes) -> bool:
    return bytes(data[:8]) == b"\x89PNG\r\n\x1a\n"


def tiny_ntm(task, heads: int = 1, seed: int = 0) -> NTM:
    torch.manual_seed(seed)
    return NTM(
        NTMConfig(
            input_size=task.input_size,
            output_size=task.output_size,
            controller_size=16,
            num_read_heads=heads,
            num_write_heads=heads,
            N=16,
            M=6,
        )
    )


def tiny_lstm(task, seed: int = 0) -> LSTMBaseline:
    torch.manual_seed(seed)
    return LSTMBaseline(
        LSTMConfig(
            input_size=task.input_size,
            output_size=task.output_size,
            hidden_size=16,
            num_layers=1,
        )
    )


# ------------------------------------------------------------------------------ helpers
@pytest.mark.parametrize(
    "name, size, expected",
    [
        ("copy", 7, {"min_len": 7, "max_len": 7}),
        ("associative_recall", 9, {"min_items": 9, "max_items": 9}),
        ("ngrams", 50, {"length": 50}),
        ("priority_sort", 30, {"num_inputs": 30, "num_outputs": 16}),
        ("priority_sort", 8, {"num_inputs": 8, "num_outputs": 8}),
    ],
)
def test_sized_task_fixes_the_size(name, size, expected):
    task = make_task(name).sized(size)
    for field, value in expected.items():
        assert getattr(task, field) == value


def test_sized_repeat_copy_keeps_the_training_normalisation():
    base = make_task("repeat_copy")
    task = base.sized(4, 20)
    assert (task.min_len, task.max_len, task.min_repeats, task.max_repeats) == (4, 4, 20, 20)
    assert (task.repeats_mean, task.repeats_std) == (base.repeats_mean, base.repeats_std)
    assert base.training_range() == (1, 10)
    assert base.extra_training_range() == (1, 10)


def test_used_rows_is_a_window_that_wraps_around():
    w = np.zeros((4, 32))
    for t, row in enumerate([0, 31, 30, 29]):  # a head moving backwards from row 0
        w[t, row] = 1.0
    rows = viz.used_rows(w, margin=1)
    assert rows.tolist() == [28, 29, 30, 31, 0, 1]
    assert viz.used_rows(np.zeros((3, 8))).tolist() == list(range(8))  # nothing used: all rows


# ------------------------------------------------------------------------------ TraceExplorer
@needs_copy_ntm
def test_trace_explorer_builds_with_defaults():
    ex = TraceExplorer()
    assert isinstance(ex.widget, widgets.Box)
    assert _png(ex.image.value) and ex.status.value and "<table" in ex.readout.value
    assert ex.task.name == "copy" and ex.x.shape == (2 * ex.length.value + 1, 9)
    assert (
        repr(ex)
        == ex._repr_mimebundle_()["text/plain"]
        == f"TraceExplorer(task='copy', length=10, t={ex.t})"
    )
    assert ex.t == ex.length.value + 1  # starts at the first counted step


def _check_step(ex: TraceExplorer, t: int) -> None:
    tr = ex.trace
    assert ex.t == ex.cursor == ex.time.value == t
    for line in ex._handles.cursors:
        assert list(line.get_xdata()) == [t, t]
    assert_close(ex.memory, tr.memory[0, t])
    assert_close(ex.w_read, tr.w_read[0, t])
    assert_close(ex.w_write, tr.w_write[0, t])
    for name in ("beta", "g", "s", "gamma"):
        assert_close(ex.params[name], getattr(tr, name)[0, t])
    shown = np.asarray(ex._handles.memory.get_array())
    np.testing.assert_allclose(shown, tr.memory[0, t, ex.rows].double().numpy(), rtol=1e-6)
    assert f"step t = {t} " in ex.status.value


def test_ngrams_is_judged_by_cross_entropy_against_the_optimum():
    task = make_task("ngrams", length=30)
    torch.manual_seed(0)
    model = NTM(NTMConfig(input_size=1, output_size=1, controller_size=8, N=8, M=4))
    ex = TraceExplorer(task, model, length=30)
    status = ex.status.value
    assert "cross-entropy at this step" in status and "optimum" in status
    assert "wrong bits" not in status
    total = float(ex.step_bits.sum())
    bce = torch.nn.functional.binary_cross_entropy_with_logits(ex.logits, ex.y, reduction="none")
    assert total == pytest.approx(float((bce.sum(-1) * ex.mask).sum()) / np.log(2))
    assert f"{total:.1f} bits" in status
    crosses = [ln for ax in ex._handles.cursors[0].figure.axes for ln in ax.lines
               if ln.get_marker() == "x"]  # fmt: skip
    assert crosses == []  # no wrong-bit crosses for a task judged by cross-entropy


def test_time_slider_moves_the_cursor_and_shows_that_steps_memory():
    task = make_task("copy", max_len=6)
    ex = TraceExplorer(task, tiny_ntm(task))
    T = ex.x.shape[0]
    assert ex.time.max == T - 1
    pictures = set()
    for t in (0, 3, T - 1, 1):
        ex.time.value = t
        _check_step(ex, t)
        pictures.add(bytes(ex.image.value))
    assert len(pictures) == 4


def test_trace_is_the_models_own_run():
    task = make_task("copy", max_len=6)
    model = tiny_ntm(task)
    ex = TraceExplorer(task, model)
    with torch.no_grad():
        logits, trace = model(ex.x[None], return_trace=True)
    assert_close(ex.probs, torch.sigmoid(logits[0]))
    assert_close(ex.trace.memory, trace.memory)
    wrong = ((ex.probs > 0.5).float() != ex.y).float() * ex.mask[:, None]
    assert ex.wrong_bits == int(wrong.sum())


def test_length_slider_changes_the_sequence_and_the_time_range():
    task = make_task("copy")
    ex = TraceExplorer(task, tiny_ntm(task))
    ex.time.value = 2
    ex.length.value = 15
    assert ex.x.shape == (31, 9) and ex.trace.memory.shape[1] == 31
    assert ex.time.max == 30 and ex.t == 16  # the first counted step of the new sequence
    _check_step(ex, 16)
    ex.time.value = 30
    _check_step(ex, 30)
    before = ex.x.clone()
    ex.seed.value = 5  # another sequence of the same length
    assert ex.x.shape == before.shape and not torch.equal(ex.x, before)


def test_repeat_copy_has_a_repeats_slider():
    task = make_task("repeat_copy")
    ex = TraceExplorer(task, tiny_ntm(task))
    assert not ex.repeats.disabled and ex.repeats.layout.visibility == "visible"
    ex.length.value, ex.repeats.value = 3, 4
    assert ex.x.shape[0] == 3 + 1 + 3 * 4 + 1  # L + delimiter + L*R + end marker
    copy = make_task("copy", max_len=4)
    assert TraceExplorer(copy, tiny_ntm(copy)).repeats.disabled


def test_head_choice_with_several_heads():
    task = make_task("copy", max_len=5)
    ex = TraceExplorer(task, tiny_ntm(task, heads=2))
    assert not ex.head.disabled and [v for _, v in ex.head.options] == [-1, 0, 1]
    before = bytes(ex.image.value)
    ex.head.value = 1
    assert bytes(ex.image.value) != before
    assert ex.w_read.shape == (2, 16) and "read 2" in ex.readout.value
    _check_step(ex, ex.t)


def test_trace_explorer_rejects_what_it_cannot_show():
    task = make_task("copy", max_len=4)
    with pytest.raises(TypeError, match="NTM"):
        TraceExplorer(task, tiny_lstm(task))
    with pytest.raises(ValueError, match="do not match"):
        TraceExplorer(make_task("associative_recall"), tiny_ntm(task))
    with pytest.raises(ValueError, match="unknown task"):
        TraceExplorer("sorting", tiny_ntm(task))


# -------------------------------------------------------------------------- GeneralizationExplorer
@needs_copy_pair
def test_generalization_explorer_builds_with_defaults():
    ex = GeneralizationExplorer()
    assert isinstance(ex.widget, widgets.Box) and _png(ex.image.value)
    assert ex.length.value == 50 and ex.x.shape == (101, 9)
    assert set(ex.bits) == set(ex.probs) == set(ex.errors) == {"NTM", "LSTM"}
    assert repr(ex) == "GeneralizationExplorer(task='copy', length=50)"
    assert "trained on length 1-20" in ex.status.value


def _check_costs(ex: GeneralizationExplorer) -> None:
    for label, model in ex.models.items():
        with torch.no_grad():
            probs = torch.sigmoid(model(ex.x[None]))[0]
        assert_close(ex.probs[label], probs)
        wrong = ((probs > 0.5).float() != ex.y).float() * ex.mask[:, None]
        assert ex.errors[label] == int(wrong.sum())
        expected = evaluate(model, ex.task, ex.num_sequences, ex.num_sequences, seed=ex.seed.value)
        assert ex.bits[label] == pytest.approx(expected.bits_per_sequence)
        assert f"{label} {expected.bits_per_sequence:.2f}" in ex.status.value


def test_length_slider_recomputes_outputs_and_bit_errors():
    task = make_task("copy")
    ex = GeneralizationExplorer(task, ntm=tiny_ntm(task), lstm=tiny_lstm(task), num_sequences=6)
    _check_costs(ex)
    before = (bytes(ex.image.value), dict(ex.bits))
    ex.length.value = 30
    assert ex.task.min_len == ex.task.max_len == 30 and ex.x.shape == (61, 9)
    _check_costs(ex)
    assert bytes(ex.image.value) != before[0]
    ex.seed.value = 3
    _check_costs(ex)


def test_repeats_slider_changes_the_repeat_count():
    task = make_task("repeat_copy")
    ex = GeneralizationExplorer(task, ntm=tiny_ntm(task), lstm=tiny_lstm(task), num_sequences=4)
    ex.length.value, ex.repeats.value = 2, 15
    assert ex.task.min_repeats == ex.task.max_repeats == 15
    assert ex.x.shape[0] == 2 + 1 + 2 * 15 + 1
    _check_costs(ex)
    assert "repeats 15 (trained on 1-10)" in ex.status.value


def test_generalization_explorer_refuses_ngrams():
    with pytest.raises(ValueError, match="copy"):
        GeneralizationExplorer("ngrams")


# ------------------------------------------------------------------------------ TrainingDashboard
TINY = dict(
    size=8,
    memory_rows=8,
    batch_size=4,
    task_overrides={"max_len": 3},
    log_every=2,
    eval_every=4,
    eval_sequences=4,
    redraw_every=0.0,
    compile=False,  # eager: a few steps need no compiler (the fast start is tested in test_compile)
)


def test_dashboard_builds_with_defaults_and_does_not_train():
    d = TrainingDashboard()
    assert isinstance(d.widget, widgets.Box)
    assert not d.running and d.state is None and d.history.step == []
    assert _png(d.curve_image.value) and _png(d.sample_image.value)
    assert (
        repr(d)
        == d._repr_mimebundle_()["text/plain"]
        == "TrainingDashboard(task='copy', model='ntm-lstm', step=0)"
    )
    assert d.status.value.startswith("ready")
    assert (d.size.value, d.memory_rows.value, d.batch_size.value) == (100, 128, 32)


def test_an_ntm_run_takes_the_fast_presets_levers_and_the_lstm_none():
    """copy's restart (and the stop at the target it needs) in the dashboard's NTM runs,
    as in ``ntm-nb train copy``; the LSTM baseline's preset has no levers."""
    d = TrainingDashboard()
    config = d._train_config()
    fast = ntm_nb.preset("copy")["train"]
    assert (config.restart_after, config.target_cost) == (fast["restart_after"], 0.1)
    d.model_kind.value = "lstm"
    config = d._train_config()
    assert config.restart_after == 0 and config.target_cost is None


def test_start_trains_a_tiny_model_and_records_history():
    d = TrainingDashboard(steps=6, **TINY)
    before = [p.detach().clone() for p in d.model.parameters()]
    start = time.perf_counter()
    d.start_button.click()
    d.wait(60)
    assert time.perf_counter() - start < 30
    assert not d.running and d.error is None and d.status.value.startswith("done")
    assert d.state.step == d.result.step == 6 and d.history.step == [2, 4, 6]
    assert d.history.eval_step == [4, 6]
    assert any(not torch.equal(a, b) for a, b in zip(before, d.model.parameters()))
    assert d.sample_probs.shape == d.sample["y"].shape[1:]
    assert "step 6" in d.status.value and "held-out bits/seq" in d.status.value
    assert d.task_name.disabled and d.size.disabled  # the model is locked once trained


def test_stop_keeps_the_model_and_history_and_start_continues():
    d = TrainingDashboard(steps=100_000, **TINY)
    model = d.model
    d.start()
    deadline = time.perf_counter() + 30
    while len(d.history.step) < 2 and time.perf_counter() < deadline:
        time.sleep(0.05)
    d.stop_button.click()
    d.wait(30)
    assert not d.running and d.status.value.startswith("stopped")
    assert d.model is model and 0 < d.state.step < 100_000
    steps = d.state.step
    assert d.history.step[-1] == steps
    snapshot = {k: v.clone() for k, v in model.state_dict().items()}
    d.steps.value = 4
    d.start(wait=True)
    assert d.model is model and d.state.step == steps + 4
    assert d.history.step[-1] == steps + 4 and len(d.history.step) > 2
    assert any(not torch.equal(snapshot[k], v) for k, v in model.state_dict().items())


def test_save_writes_a_checkpoint_that_load_reads(tmp_path):
    d = TrainingDashboard(steps=4, **TINY)
    d.start(wait=True)
    d.path.value = str(tmp_path / "dash")
    d.save_button.click()
    assert "saved to" in d.status.value
    loaded = ntm_nb.load(tmp_path / "dash")
    for (k, v), (k2, v2) in zip(d.model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    record = loaded.checkpoint
    assert (
        record["step"] == 4 and record["task"]["name"] == "copy" and record["task"]["max_len"] == 3
    )
    assert record["history"]["step"] == d.history.step


def test_changing_the_task_before_training_rebuilds_the_model():
    d = TrainingDashboard(steps=2, **{**TINY, "task_overrides": {}})
    d.task_name.value = "associative_recall"
    assert d.task.name == "associative_recall"
    assert d.model.config.input_size == d.task.input_size == 8
    d.model_kind.value = "lstm"
    assert isinstance(d.model, LSTMBaseline) and d.memory_rows.disabled
    assert d.size.value == 256  # the preset's LSTM size for associative recall


def test_picking_priority_sort_builds_its_fast_preset_the_shipped_models_recipe():
    d = TrainingDashboard(steps=2, compile=False)
    d.task_name.value = "priority_sort"
    c = d.model.config
    assert d.model_kind.value == "ntm-feedforward" and c.controller == "feedforward"
    assert (c.controller_size, c.num_read_heads, c.num_write_heads) == (512, 8, 8)
    assert c.memory_init == "learned" and d.batch_size.value == 128
    d.task_name.value = "copy"  # back to a task whose preset has the LSTM controller
    assert d.model_kind.value == "ntm-lstm" and d.model.config.controller_size == 100


def test_new_model_starts_over():
    d = TrainingDashboard(steps=2, **TINY)
    d.start(wait=True)
    old = d.model
    d.new_button.click()
    assert d.model is not old and d.state is None and d.history.step == []
    assert not d.task_name.disabled


needs_two_ntms = pytest.mark.skipif(
    not {("copy", "ntm"), ("associative_recall", "ntm")} <= SHIPPED,
    reason="needs the shipped copy and associative-recall NTMs",
)


@needs_two_ntms
def test_trace_explorer_switches_between_shipped_models():
    ex = TraceExplorer()
    assert "associative_recall" in ex.task_name.options
    ex.task_name.value = "associative_recall"
    assert ex.task.name == "associative_recall" and ex.length.description == "items"
    assert ex.length.value == 4 and (ex.length.min, ex.length.max) == (2, 20)
    assert ex.x.shape[-1] == ex.task.input_size and ex.repeats.disabled
    _check_step(ex, ex.t)
    if ("ngrams", "ntm") in SHIPPED:
        ex.task_name.value = "ngrams"
        assert (ex.length.min, ex.length.max, ex.length.value) == (10, 400, 60)
        _check_step(ex, ex.t)
    ex.task_name.value = "copy"
    assert ex.length.value == 10 and ex.x.shape == (21, 9)


def test_size_slider_range_follows_the_task():
    ex = TraceExplorer(make_task("copy", max_len=4), tiny_ntm(make_task("copy")))
    ex._set_size_controls(make_task("ngrams"), None, None, "trace_default")
    assert (ex.length.min, ex.length.max, ex.length.value) == (10, 400, 60)
    ex._set_size_controls(make_task("associative_recall"), None, None, "trace_default")
    assert (ex.length.min, ex.length.max, ex.length.value) == (2, 20, 4)


# --------------------------------------------------------------------------- the plots behind them
def test_trace_plots_return_figures_with_their_panels():
    from matplotlib.figure import Figure

    from ntm_nb.train import History

    task = make_task("copy", max_len=5)
    model = tiny_ntm(task, heads=2)
    x, y, mask = task.sample(1, torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits, trace = model(x, return_trace=True)
    probs = torch.sigmoid(logits)
    h = History(eval_sequences=[32, 64], eval_bits=[3.0, 0.0], eval_cost_bits=[9.0, 1.0])
    figures = {
        "curves": (
            viz.plot_learning_curves(
                {"NTM": h, "LSTM": h.to_dict()}, optimum=0.5, paper={"NTM": 1}
            ),
            1,
        ),
        "generalization": (
            viz.plot_generalization(
                [1, 2], {"NTM": [0, 1]}, paper={"LSTM": [None, 3]}, train_range=(1, 1)
            ),
            1,
        ),
        "outputs": (viz.plot_outputs(y, {"a": probs, "b": probs}, mask, x=x), 4),
        "memory use": (viz.plot_memory_use(x, probs, trace, mask), 6),
        "trace step": (viz.plot_trace_step(x, y, probs, mask, trace, 3), 6),
        "ngrams": (viz.plot_ngram_predictions(y[0, :, 0], {"optimal": probs[0, :, 0]}), 2),
        "priority": (
            viz.plot_priority_sort_memory(
                torch.rand(x.shape[1]), trace.w_write[0].argmax(-1), trace
            ),
            4,
        ),
    }
    for name, (fig, n_axes) in figures.items():
        assert isinstance(fig, Figure) and len(fig.axes) == n_axes, name
    with pytest.raises(ValueError, match="metric"):
        viz.plot_learning_curves({"NTM": h}, metric="loss")
    # the ordering of rows in the trace pictures is the wrapped window of used_rows
    rows = viz.used_rows(
        np.stack([viz.head_weightings(trace, "read"), viz.head_weightings(trace, "write")], 1)
    )
    assert len(set(rows.tolist())) == len(rows)
