"""Tests for ntm_nb.viz: every plot returns a Figure with the expected axes, accepts the
package's batch-of-one shapes, and the update helpers change the artists in place."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from ntm_nb import NTM, NTMConfig, make_task, viz


def _w(N: int = 10, seed: int = 0) -> torch.Tensor:
    return torch.softmax(torch.randn(N, generator=torch.Generator().manual_seed(seed)), 0)


def _png(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- helpers
@pytest.mark.parametrize(
    "shape, ndim, expected",
    [((5,), 1, (5,)), ((1, 5), 1, (5,)), ((4, 3), 2, (4, 3)), ((1, 4, 3), 2, (4, 3))],
)
def test_to_numpy_drops_batch_of_one(shape, ndim, expected):
    assert viz.to_numpy(torch.zeros(shape), ndim).shape == expected


def test_to_numpy_rejects_wrong_rank():
    with pytest.raises(ValueError, match="dimension"):
        viz.to_numpy(torch.zeros(2, 3), 1)


def test_to_numpy_accepts_arrays_and_lists():
    assert viz.to_numpy([0.5, 0.5], 1).dtype == np.float64
    assert viz.to_numpy(np.ones((2, 2)), 2).shape == (2, 2)


def test_new_figure_is_closed_and_sized():
    import matplotlib.pyplot as plt

    fig, axes = viz.new_figure(1, 3, figsize=(6.0, 2.0))
    assert axes.shape == (1, 3)
    assert fig.number not in plt.get_fignums()  # closed: Jupyter will not show it twice
    assert tuple(fig.get_size_inches() * fig.dpi) == (6.0 * viz.DPI, 2.0 * viz.DPI)


def test_figure_to_png():
    assert _png(viz.figure_to_png(viz.plot_weighting(_w())))


# --------------------------------------------------------------------------- plots
def test_plot_memory():
    fig = viz.plot_memory(torch.randn(1, 8, 4))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # the image and its colour bar
    assert fig.axes[0].images[0].get_array().shape == (8, 4)


def test_plot_weighting():
    w = _w()
    fig = viz.plot_weighting(w[None], highlight=3)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    heights = [p.get_height() for p in fig.axes[0].patches]
    np.testing.assert_allclose(heights, w.numpy(), rtol=1e-6)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_plot_weightings_one_panel_each(n):
    ws = [_w(seed=i) for i in range(n)]
    fig = viz.plot_weightings(ws, [f"w{i}" for i in range(n)])
    assert len(fig.axes) == n
    assert [ax.get_title() for ax in fig.axes] == [f"w{i}" for i in range(n)]


def test_plot_weightings_from_mapping_and_default_titles():
    assert [a.get_title() for a in viz.plot_weightings({"a": _w(), "b": _w()}).axes] == ["a", "b"]
    assert len(viz.plot_weightings([_w(), _w()]).axes) == 2


def test_plot_weightings_title_count_mismatch():
    with pytest.raises(ValueError, match="titles"):
        viz.plot_weightings([_w(), _w()], ["only one"])


def test_plot_addressing_pipeline_has_four_panels_in_order():
    ws = [_w(seed=i) for i in range(4)]
    fig = viz.plot_addressing_pipeline(*ws)
    assert len(fig.axes) == 4
    for ax, w in zip(fig.axes, ws):
        np.testing.assert_allclose([p.get_height() for p in ax.patches], w.numpy(), rtol=1e-6)
    assert "eq. 9" in fig.axes[3].get_title()


def test_plot_similarity():
    sim = torch.linspace(-1, 1, 7)
    assert len(viz.plot_similarity(sim).axes) == 1
    fig = viz.plot_similarity(sim, _w(7), highlight=2)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_ylim()[0] < -1.0  # similarity axis covers -1..1


def test_plot_shift_iteration():
    h = torch.rand(6, 10)
    assert len(viz.plot_shift_iteration(h).axes) == 2  # image + peak-weight curve
    fig = viz.plot_shift_iteration({"a": h, "b": h}, reference=h)
    assert len(fig.axes) == 3
    assert fig.axes[0].images[0].get_array().shape == (6, 10)


def test_plot_read_write():
    m = torch.randn(1, 6, 4)
    fig = viz.plot_read_write(m, _w(6)[None], m * 0.5, m[0, 0])
    assert len(fig.axes) == 4


def test_figures_have_a_stable_text_repr():
    """nbval compares a figure's text/plain, so it must not depend on the run."""
    a, b = viz.plot_weighting(_w(seed=1)), viz.plot_weighting(_w(seed=2))
    assert repr(a) == repr(b)


def test_plot_sequence():
    x = torch.zeros(1, 7, 9)
    fig = viz.plot_sequence(x)
    assert len(fig.axes) == 1
    assert fig.axes[0].images[0].get_array().shape == (9, 7)  # channels down, time across
    assert len(viz.plot_sequence({"x": x, "y": torch.rand(7, 8)}).axes) == 2


# --------------------------------------------------------------------------- updates
def test_update_bars_vertical_and_horizontal():
    fig, axes = viz.new_figure(1, 2)
    v_bars = viz.draw_bars(axes[0, 0], _w(5))
    h_bars = viz.draw_bars(axes[0, 1], _w(5), horizontal=True)
    new = torch.tensor([0.0, 0.1, 0.2, 0.3, 0.4])
    viz.update_bars(v_bars, new, highlight=4)
    viz.update_bars(h_bars, new)
    np.testing.assert_allclose([p.get_height() for p in v_bars], new.numpy(), rtol=1e-6)
    np.testing.assert_allclose([p.get_width() for p in h_bars], new.numpy(), rtol=1e-6)
    assert v_bars[4].get_facecolor() != v_bars[0].get_facecolor()
    viz.update_bars(v_bars, new, highlight=1)  # the highlight moves
    assert v_bars[4].get_facecolor() == v_bars[0].get_facecolor()
    assert v_bars[1].get_facecolor() != v_bars[0].get_facecolor()


def test_update_image_and_shift_iteration():
    fig, h = viz.plot_shift_iteration_with_handles(
        torch.rand(3, 8), reference=torch.rand(3, 8), max_steps=10
    )
    longer = torch.rand(9, 8)
    viz.update_shift_iteration(h, longer, reference=longer)
    assert h.images[0].get_array().shape == (9, 8)
    peaks = longer.max(1).values.numpy()
    np.testing.assert_allclose(h.peak_lines[0].get_ydata(), peaks, rtol=1e-6)
    np.testing.assert_allclose(h.reference_line.get_ydata(), peaks, rtol=1e-6)


def test_blit_renderer_redraws_changes():
    fig, bars = viz.plot_weightings_with_handles([_w(), _w()], ["a", "b"])
    renderer = viz.BlitRenderer(fig, [b for bs in bars for b in bs])
    first = renderer.render()
    assert _png(first)
    assert renderer.render() == first  # nothing changed, same picture
    viz.update_bars(bars[0], torch.eye(10)[3])
    assert renderer.render() != first


# --------------------------------------------------------------------------- training
def _history():
    from ntm_nb.train import History

    return History(
        step=[10, 20, 30],
        sequences=[320, 640, 960],
        seconds=[1.0, 2.0, 3.0],
        loss=[0.69, 0.3, 0.01],
        bits=[40.0, 10.0, 0.2],
        eval_step=[20, 30],
        eval_sequences=[640, 960],
        eval_seconds=[2.0, 3.0],
        eval_bits=[12.0, 0.1],
        eval_loss=[0.35, 0.005],
        eval_cost_bits=[50.0, 1.0],
    )


def test_plot_learning_curve():
    h = _history()
    fig = viz.plot_learning_curve(h, title="copy")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    bits_ax, loss_ax = fig.axes
    assert "copy" in bits_ax.get_title()
    train_line, eval_line = bits_ax.get_lines()
    np.testing.assert_allclose(train_line.get_xdata(), h.sequences)
    np.testing.assert_allclose(train_line.get_ydata(), h.bits)
    np.testing.assert_allclose(eval_line.get_xdata(), h.eval_sequences)
    np.testing.assert_allclose(eval_line.get_ydata(), h.eval_bits)
    np.testing.assert_allclose(loss_ax.get_lines()[1].get_ydata(), h.eval_loss)
    assert bits_ax.get_yscale() == "log"  # 0.1 .. 40: several decades
    assert _png(viz.figure_to_png(fig))
    # the same from a dict (a checkpoint's record), and a linear scale for a narrow range
    narrow = viz.plot_learning_curve(
        {**h.to_dict(), "bits": [2.0, 1.5, 1.0], "eval_bits": [1.5, 1.2]}
    )
    assert narrow.axes[0].get_yscale() == "linear"


def test_plot_learning_curve_of_an_empty_history():
    from ntm_nb.train import History

    fig = viz.plot_learning_curve(History())
    assert len(fig.axes) == 2 and not fig.axes[0].get_lines()
    assert _png(viz.figure_to_png(fig))
    with pytest.raises(TypeError, match="history"):
        viz.plot_learning_curve([1, 2, 3])


def test_plot_example_with_and_without_a_trace():
    task = make_task("copy", bits=4, min_len=3, max_len=3)
    x, y, mask = task.sample(1, torch.Generator().manual_seed(0))
    model = NTM(
        NTMConfig(input_size=5, output_size=4, controller_size=8, N=10, M=4, num_read_heads=2)
    )
    with torch.no_grad():
        logits, trace = model(x, return_trace=True)
    probs = torch.sigmoid(logits)
    fig = viz.plot_example(x[0], y[0], probs[0], mask[0], trace=trace)
    assert len(fig.axes) == 5
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "input x" and titles[1] == "target y"
    assert "read weighting (head 1 of 2)" == titles[3] and titles[4] == "write weighting"
    T = x.shape[1]
    assert fig.axes[0].images[0].get_array().shape == (5, T)  # channels down, time across
    assert fig.axes[3].images[0].get_array().shape == (10, T)  # rows down, time across
    np.testing.assert_allclose(
        fig.axes[3].images[0].get_array(), trace.w_read[0, :, 0].T.numpy(), rtol=1e-6
    )
    np.testing.assert_allclose(
        fig.axes[4].images[0].get_array(), trace.w_write[0, :, 0].T.numpy(), rtol=1e-6
    )
    # the output panel shows the counted steps only, and counts the wrong bits
    shown = np.ma.getdata(fig.axes[2].images[0].get_array())
    assert np.isnan(shown[:, mask[0] == 0]).all() and not np.isnan(shown[:, mask[0] == 1]).any()
    wrong = int((((probs[0] > 0.5).float() != y[0]) & (mask[0, :, None] > 0)).sum())
    assert f"{wrong} wrong bit(s)" in titles[2]
    assert _png(viz.figure_to_png(fig))

    plain = viz.plot_example(x, y, probs, mask)  # batch of one, no trace: three panels
    assert len(plain.axes) == 3
    perfect = viz.plot_example(x, y, y, mask)
    assert "0 wrong bit(s)" in perfect.axes[2].get_title()
    with pytest.raises(ValueError, match="probs"):
        viz.plot_example(x, y, probs[:, :-1], mask)


# --------------------------------------------------------------------------- priority sort
def _sort_trace(write_heads: int = 3, read_heads: int = 2, T: int = 6, N: int = 12):
    from types import SimpleNamespace

    g = torch.Generator().manual_seed(0)
    w_write = torch.softmax(4 * torch.randn(1, T, write_heads, N, generator=g), -1)
    w_read = torch.softmax(4 * torch.randn(1, T, read_heads, N, generator=g), -1)
    return SimpleNamespace(w_write=w_write, w_read=w_read)


def test_priority_sort_memory_draws_the_chosen_heads():
    trace = _sort_trace()
    n = 4
    priority = torch.linspace(-1, 1, n)
    rows = trace.w_write[0, :n].argmax(-1)  # (n, 3)
    fig = viz.plot_priority_sort_memory(
        priority, rows, trace, write_heads=[2], read_heads=[1], rows=list(range(12))
    )
    ax_p, ax_t, ax_w, ax_r = fig.axes
    (line,) = ax_p.get_lines()  # one head drawn, labelled by its own number
    assert line.get_label() == "write head 3"
    signed = np.where(rows[:, 2].numpy() > 6, rows[:, 2].numpy() - 12, rows[:, 2].numpy())
    np.testing.assert_array_equal(line.get_ydata(), signed)
    # the weighting images are that head's alone (rows across, time down after the transpose)
    image = {ax: ax.get_images()[0].get_array().T for ax in (ax_w, ax_r)}
    np.testing.assert_allclose(image[ax_w], trace.w_write[0, :, 2].numpy(), rtol=1e-6)
    np.testing.assert_allclose(image[ax_r], trace.w_read[0, :, 1].numpy(), rtol=1e-6)
    assert "head 3" in ax_w.get_title() and "head 2" in ax_r.get_title()
    # by default every head is drawn, and the images sum the heads
    fig = viz.plot_priority_sort_memory(priority, rows, trace, rows=list(range(12)))
    assert [l.get_label() for l in fig.axes[0].get_lines()] == [
        "write head 1",
        "write head 2",
        "write head 3",
    ]
    expected = np.clip(trace.w_write[0].sum(1).numpy(), 0, 1)
    np.testing.assert_allclose(fig.axes[2].get_images()[0].get_array().T, expected, rtol=1e-6)
    assert "all heads" in fig.axes[2].get_title()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"write_heads": [3]}, r"write_heads .* \[0, 2\]"),
        ({"read_heads": []}, "read_heads"),
        ({"write_heads": [-1]}, "write_heads"),
    ],
)
def test_priority_sort_memory_rejects_bad_heads(kwargs, match):
    trace = _sort_trace()
    rows = trace.w_write[0, :4].argmax(-1)
    with pytest.raises(ValueError, match=match):
        viz.plot_priority_sort_memory(torch.zeros(4), rows, trace, **kwargs)


def test_priority_sort_memory_rejects_rows_of_the_wrong_width():
    trace = _sort_trace()
    with pytest.raises(ValueError, match="one column per write head"):
        viz.plot_priority_sort_memory(torch.zeros(4), torch.zeros(4, 2), trace)


def test_head_weightings_sums_a_chosen_set_of_heads():
    trace = _sort_trace()
    w = trace.w_write[0].numpy()  # (T, H, N)
    np.testing.assert_allclose(
        viz.head_weightings(trace, "write", [0, 2]), np.clip(w[:, 0] + w[:, 2], 0, 1)
    )
    np.testing.assert_allclose(viz.head_weightings(trace, "write", 1), w[:, 1])
    np.testing.assert_allclose(viz.head_weightings(trace, "write"), np.clip(w.sum(1), 0, 1))


# -- the trace step: each task's measure, and a short answer drawn large ----------------
def _traced(task_name: str, size: int, **fields):
    task = make_task(task_name, **fields).sized(size)
    x, y, mask = task.sample(1, torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = NTM(NTMConfig(input_size=task.input_size, output_size=task.output_size, N=16, M=4))
    with torch.no_grad():
        logits, trace = model(x, return_trace=True)
    return x, y, torch.sigmoid(logits), mask, trace


def _crosses(fig: Figure) -> int:
    return sum(len(line.get_xdata()) for ax in fig.axes for line in ax.lines
               if line.get_marker() == "x")  # fmt: skip


def test_answer_window_is_the_short_answer_at_the_end_and_the_query_before_it():
    mask = torch.zeros(40)
    mask[35:38] = 1
    assert viz.answer_window(mask) == (31, 35, 38)  # 3 answer steps, 3 + 1 before
    mask[10:38] = 1
    assert viz.answer_window(mask) is None  # a long answer reads well in the time panels
    assert viz.answer_window(torch.zeros(5)) is None


def test_recall_at_many_items_shows_the_query_and_the_answer_large():
    x, y, probs, mask, trace = _traced("associative_recall", 20)
    window = viz.answer_window(mask)
    assert window is not None and window[2] - window[1] == 3  # one item of 3 vectors
    fig = viz.plot_trace_step(x, y, probs, mask, trace, 5)
    titles = [ax.get_title() for ax in fig.axes]
    assert "query" in titles and "target" in titles and "output" in titles
    query = fig.axes[titles.index("query")]  # its ticks name the query's first and last step
    q0, a0, _ = window
    assert [t.get_text() for t in query.get_xticklabels()] == [str(q0), str(a0 - 1)]
    short = viz.plot_trace_step(*_traced("associative_recall", 2)[:5], 0)
    assert len(short.axes) == len(fig.axes) - 3  # two items: no zoom


def test_a_task_judged_by_cross_entropy_gets_no_wrong_bit_crosses():
    x, y, probs, mask, trace = _traced("ngrams", 60)
    bits = viz.plot_trace_step(x, y, probs, mask, trace, 0)
    assert _crosses(bits) > 0  # an untrained model thresholds many bits wrong
    ce = viz.plot_trace_step(x, y, probs, mask, trace, 0, measure="cost_bits")
    assert _crosses(ce) == 0
    assert any("cross-entropy" in ax.get_title() for ax in ce.axes)


def test_weightings_use_a_square_root_scale_so_a_diffuse_focus_shows():
    norm = viz.weight_norm()
    assert float(norm(0.04)) == pytest.approx(0.2)  # linear would draw it at 0.04: white
    assert float(norm(0.0)) == 0.0 and float(norm(1.0)) == 1.0
    fig = viz.plot_trace_step(*_traced("copy", 6)[:5], 3)
    weight_images = [ax.images[0] for ax in fig.axes if "weighting" in ax.get_title()]
    assert len(weight_images) == 2
    assert all(isinstance(im.norm, type(norm)) for im in weight_images)
    example = viz.plot_example(*_traced("copy", 6)[:5])  # the same scale in plot_example
    scales = {ax.get_title(): type(ax.images[0].norm) for ax in example.axes}
    assert scales["read weighting"] is type(norm) and scales["write weighting"] is type(norm)
    assert scales["input x"] is not type(norm)


def _colorbar_labels(fig: Figure) -> dict[str, str]:
    """The label of the colour bar beside each titled axes of ``fig`` (insets included)."""
    found = {}
    for ax in fig.axes:
        for child in ax.child_axes:
            found[ax.get_title()] = child.get_ylabel()
    return found


def test_trace_step_has_colour_bars_where_values_matter():
    fig = viz.plot_trace_step(*_traced("copy", 6)[:5], 3)
    labels = _colorbar_labels(fig)
    assert labels["output (counted steps)"] == "P(1)"
    assert labels["read weighting (all heads)"] == "weight"
    assert labels["write weighting (all heads)"] == "weight"
    assert labels["memory after step t"] == "value"
    assert "input x" not in labels  # binary inputs need no scale


def test_trace_step_legend_does_not_cover_the_memory():
    for name, size in (("copy", 6), ("associative_recall", 20)):
        fig = viz.plot_trace_step(*_traced(name, size)[:5], 3)
        fig.canvas.draw()
        memory = next(ax for ax in fig.axes if ax.get_title() == "memory after step t")
        legend = memory.get_legend().get_window_extent()
        image = memory.get_window_extent()
        assert legend.y0 >= image.y1 - 1, name  # above the image, below the title
        assert memory.title.get_window_extent().y0 >= legend.y1 - 1, name


def test_trace_step_time_panels_keep_their_height_beside_the_recall_zoom():
    """The zoom's labels in the right column do not open gaps between the time panels."""
    fig = viz.plot_trace_step(*_traced("associative_recall", 20)[:5], 3)
    fig.canvas.draw()
    panels = [ax for ax in fig.axes if ax.get_title().startswith(("input", "target y"))]
    heights = [ax.get_position().height for ax in panels]
    gap = panels[0].get_position().y0 - panels[1].get_position().y1
    assert min(heights) > 2 * gap  # before: panels 0.06 of the figure, gaps 0.15


def test_memory_explorer_and_shift_iteration_have_colour_bars():
    memory = torch.randn(6, 4)
    w = torch.softmax(torch.randn(6), 0)
    fig = viz.plot_read_write(memory, w, memory * 0.5, torch.randn(4))
    assert "value" in _colorbar_labels(fig).values()
    h = torch.softmax(torch.randn(5, 8), 1)
    fig = viz.plot_shift_iteration(h)
    assert _colorbar_labels(fig)["weighting over time"] == "weight"
