"""Trained models (notebooks 05-10 and the TraceExplorer, GeneralizationExplorer and
TrainingDashboard): learning curves side by side, generalisation, outputs with wrong
bits marked, memory use over a sequence, one step of a trace."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ntm_nb.viz.base import (
    DPI,
    MEMORY_CMAP,
    WEIGHT_CMAP,
    _finish,
    as_history,
    new_figure,
    side_colorbar,
    to_numpy,
    weight_norm,
)
from ntm_nb.viz.sequences import _time_image

__all__ = [
    "MODEL_COLORS",
    "plot_trace_step",
    "CURSOR_COLOR",
    "ERROR_COLOR",
    "plot_learning_curves",
    "plot_generalization",
    "plot_outputs",
    "used_rows",
    "head_weightings",
    "plot_memory_use",
    "TraceStepHandles",
    "plot_trace_step_with_handles",
    "update_trace_step",
    "answer_window",
]

# ----------------------------------------------------------------------------------------
# 4b. Trained models: learning curves side by side, generalisation, memory at work
# (notebooks 05-10 and the TraceExplorer, GeneralizationExplorer and TrainingDashboard)
# ----------------------------------------------------------------------------------------
#: Colours of the models compared in notebooks 05-10, the same in every picture.
MODEL_COLORS = {"NTM": "#4c72b0", "LSTM": "#dd8452", "optimal": "#55a868", "paper": "0.45"}
#: Colour of the time cursor of ``plot_trace_step``, and of wrongly thresholded bits.
CURSOR_COLOR = "tab:orange"
ERROR_COLOR = "tab:red"
#: Ticks of a weighting's colour bar (on the square-root scale of ``weight_norm``).
WEIGHT_TICKS = (0.0, 0.1, 0.5, 1.0)
#: ... and of an output probability's.
PROB_TICKS = (0.0, 0.5, 1.0)


def _model_color(name: str, i: int) -> str:
    for key, color in MODEL_COLORS.items():
        if name.upper().startswith(key.upper()):
            return color
    return f"C{i}"


def plot_learning_curves(
    histories: Mapping[str, Any],
    *,
    metric: str = "bits",
    title: str = "",
    optimum: float | None = None,
    paper: Mapping[str, float] | None = None,
) -> Figure:
    """Held-out learning curves of several models on one axis, against sequences seen.

    ``histories`` maps a label ("NTM", "LSTM") to a ``History`` or its ``to_dict()``.
    ``metric`` is ``"bits"`` (wrongly thresholded bits per sequence, the paper's cost for
    the binary tasks; log scale) or ``"cost_bits"`` (cross-entropy in bits per sequence,
    the N-grams cost). ``optimum`` draws a horizontal line (the Bayes-optimal N-grams
    cost); ``paper`` maps a label to a value the paper reports, drawn as a dotted line.
    """
    if metric not in ("bits", "cost_bits"):
        raise ValueError(f"metric: expected 'bits' or 'cost_bits', got {metric!r}")
    fig, axes = new_figure(figsize=(6.4, 3.4))
    ax = axes[0, 0]
    for i, (name, history) in enumerate(histories.items()):
        h = as_history(history)
        ys = h.eval_bits if metric == "bits" else h.eval_cost_bits
        ax.plot(
            h.eval_sequences[: len(ys)],
            ys,
            marker="o",
            ms=2.5,
            lw=1.4,
            color=_model_color(name, i),
            label=name,
        )
    if optimum is not None:
        ax.axhline(
            optimum,
            color=MODEL_COLORS["optimal"],
            ls="--",
            lw=1.2,
            label=f"optimal estimator ({optimum:.1f})",
        )
    for name, value in (paper or {}).items():
        ax.axhline(
            value, color=_model_color(name, 0), ls=":", lw=1.2, label=f"paper: {name} ({value:g})"
        )
    values = [v for line in ax.get_lines() for v in line.get_ydata() if np.isfinite(v)]
    if metric == "bits" and values and max(values) > 0:
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_ylim(0.0, max(values) * 1.5)
    ax.set_xlabel("training sequences")
    ax.set_ylabel("bits per sequence" if metric == "bits" else "cost (bits per sequence)")
    ax.set_title(title or "held-out set during training", fontsize=10)
    ax.grid(alpha=0.3)
    if ax.get_lines():
        ax.legend(fontsize=8)
    return _finish(fig)


def plot_generalization(
    settings: Sequence[float],
    results: Mapping[str, Sequence[float]],
    *,
    paper: Mapping[str, Sequence[float | None]] | None = None,
    xlabel: str = "sequence length",
    ylabel: str = "bits per sequence",
    train_range: tuple[float, float] | None = None,
    title: str = "",
) -> Figure:
    """Bits per sequence against a task setting beyond training (length, items, ...).

    ``results`` maps a model's label to one cost per entry of ``settings``; ``paper`` the
    paper's numbers (``None`` where it gives none), drawn as hollow markers with dotted
    lines. ``train_range`` (low, high) shades the settings seen in training.
    """
    fig, axes = new_figure(figsize=(5.6, 3.2))
    ax = axes[0, 0]
    xs = np.asarray(settings, dtype=float)
    if train_range is not None:
        ax.axvspan(train_range[0], train_range[1], color="0.92", label="training range")
    for i, (name, ys) in enumerate(results.items()):
        ax.plot(xs, ys, marker="o", color=_model_color(name, i), label=f"{name} (ntm_nb)")
    for i, (name, ys) in enumerate((paper or {}).items()):
        pts = [(x, y) for x, y in zip(xs, ys) if y is not None]
        if pts:
            px, py = zip(*pts)
            ax.plot(
                px,
                py,
                marker="s",
                mfc="none",
                ls=":",
                color=_model_color(name, i),
                label=f"{name} (paper)",
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xticks(xs)
    ax.set_title(title or "generalisation beyond the training range", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _finish(fig)


def plot_outputs(
    y: object,
    outputs: Mapping[str, object],
    mask: object,
    *,
    x: object | None = None,
    title: str = "",
    width: float | None = None,
) -> Figure:
    """A target and the outputs of several models, time across (the paper's Figs. 4-5, 8).

    ``y`` (T, output) the target, ``outputs`` maps a label to output probabilities
    (T, output), ``mask`` (T,) the counted steps; ``x`` (T, input), if given, is drawn
    first. Uncounted steps of an output are blank, and each wrongly thresholded bit has a
    red cross; a panel's title gives its number of wrong bits.
    """
    ys, m = to_numpy(y, 2), to_numpy(mask, 1)
    panels: list[tuple[str, np.ndarray, bool]] = []
    if x is not None:
        panels.append(("input x", to_numpy(x, 2), False))
    panels.append(("target y", ys, False))
    for name, probs in outputs.items():
        panels.append((name, to_numpy(probs, 2), True))
    T = ys.shape[0]
    n = len(panels)
    w = width if width is not None else min(2.5 + 0.25 * T, 10.0)
    fig, axes = new_figure(n, 1, figsize=(w, 0.5 + 1.2 * n), sharex=True)
    masked_cmap = plt.get_cmap(WEIGHT_CMAP).with_extremes(bad="#e3e8f0")
    for ax, (name, data, is_output) in zip(axes[:, 0], panels):
        if not is_output:
            _time_image(ax, data, name, "channel")
            continue
        _time_image(ax, np.where(m[:, None] > 0, data, np.nan), name, "channel", cmap=masked_cmap)
        wrong = _mark_wrong(ax, data, ys, m)
        ax.set_title(f"{name}: {wrong} wrong bit(s)", fontsize=10)
    axes[-1, 0].set_xlabel("time step t")
    if title:
        fig.suptitle(title, fontsize=10)
    return _finish(fig)


def used_rows(weightings: object, threshold: float = 0.02, margin: int = 2) -> np.ndarray:
    """The memory rows a head visits, as a window of consecutive rows (modulo N).

    ``weightings`` (T, N) or (T, H, N): a weighting per step (and head). A row counts as
    used where its weight exceeds ``threshold`` at some step. Because shifts wrap around
    (eq. 8), a head that moves backwards from row 0 visits rows N-1, N-2, ...; the
    window starts after the longest run of unused rows, so such a run stays in one piece.
    Returns the row indices in order, ``margin`` unused rows added at each end.
    """
    w = to_numpy(weightings)
    w = w.reshape(-1, w.shape[-1])
    N = w.shape[-1]
    used = np.flatnonzero(w.max(axis=0) > threshold)
    if len(used) == 0 or len(used) + 2 * margin >= N:
        return np.arange(N)
    gaps = np.diff(np.concatenate([used, [used[0] + N]]))  # distance to the next used row
    start = used[(int(np.argmax(gaps)) + 1) % len(used)]  # the first row after the longest gap
    length = (used[int(np.argmax(gaps))] - start) % N + 1
    return (start - margin + np.arange(length + 2 * margin)) % N


def _row_formatter(rows: np.ndarray):
    from matplotlib.ticker import FuncFormatter

    def label(value: float, _pos: int) -> str:
        i = int(round(value))
        return str(int(rows[i])) if 0 <= i < len(rows) and abs(value - i) < 1e-6 else ""

    return FuncFormatter(label)


def _rows_image(
    ax: Axes,
    data: np.ndarray,
    rows: np.ndarray,
    title: str,
    cmap: Any = WEIGHT_CMAP,
    colorbar: bool = False,
) -> AxesImage:
    """A (T, N) array of weightings drawn for ``rows`` only, time across, on
    ``weight_norm``'s square-root scale (a diffuse focus stays visible); ``colorbar`` adds
    a thin colour bar at the right."""
    im = ax.imshow(
        data[:, rows].T,
        cmap=cmap,
        norm=weight_norm(),
        aspect="auto",
        interpolation="nearest",
    )
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("row i")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.yaxis.set_major_formatter(_row_formatter(rows))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if colorbar:
        side_colorbar(ax, im, "weight", WEIGHT_TICKS)
    return im


def head_weightings(trace: Any, kind: str, head: int | Sequence[int] | None = None) -> np.ndarray:
    """The weightings of one head, or of several or all heads of a kind summed, for batch
    element 0.

    ``kind`` is "read" or "write"; ``head`` None sums all the heads, a sequence of indices
    sums those (clipped at 1: heads that share a row show as one). Returns (T, N).
    """
    w = to_numpy(trace.w_read if kind == "read" else trace.w_write)  # (B, T, H, N)
    w = w[0]
    if w.shape[1] == 0:
        return np.zeros((w.shape[0], w.shape[2]))
    if head is None:
        head = range(w.shape[1])
    if isinstance(head, (int, np.integer)):
        return w[:, head]
    return np.clip(w[:, [int(h) for h in head]].sum(axis=1), 0.0, 1.0)


def plot_memory_use(
    x: object,
    probs: object,
    trace: Any,
    mask: object | None = None,
    *,
    rows: Sequence[int] | None = None,
    title: str = "",
) -> Figure:
    """How an NTM used its memory on one sequence: the paper's Figs. 6, 9, 12 and 15.

    Left, top to bottom: the inputs, the add vectors a_t the write head wrote, and the
    write weightings; right: the outputs (probabilities; only the counted steps where a
    ``mask`` is given), the read vectors r_t, and the read weightings. Weightings are
    drawn for the memory ``rows`` the heads visit (default ``used_rows``) and summed over
    heads. ``x`` (T, input), ``probs`` (T, output); ``trace`` from
    ``model(x, return_trace=True)`` with a batch of one.
    """
    xs, ps = to_numpy(x, 2), to_numpy(probs, 2)
    T = xs.shape[0]
    w_write, w_read = head_weightings(trace, "write"), head_weightings(trace, "read")
    if rows is None:
        rows = used_rows(np.stack([w_write, w_read], axis=1))
    rows = np.asarray(rows)
    if mask is not None:
        m = to_numpy(mask, 1)
        ps = np.where(m[:, None] > 0, ps, np.nan)
    adds = to_numpy(trace.a)[0]  # (T, W, M)
    reads = to_numpy(trace.reads)[0]  # (T, R, M)
    adds = adds.reshape(T, -1) if adds.size else np.zeros((T, 1))
    reads = reads.reshape(T, -1) if reads.size else np.zeros((T, 1))
    lim = max(float(np.abs(adds).max()), float(np.abs(reads).max()), 1e-6)
    width = min(3.0 + 0.25 * T, 13.0)
    fig, axes = new_figure(
        3, 2, figsize=(width, 6.4), sharex=True, gridspec_kw={"height_ratios": [1.0, 1.3, 1.8]}
    )
    masked_cmap = plt.get_cmap(WEIGHT_CMAP).with_extremes(bad="#e3e8f0")
    _time_image(axes[0, 0], xs, "inputs", "channel")
    out = _time_image(axes[0, 1], ps, "outputs", "channel", cmap=masked_cmap)
    for ax, data, name in (
        (axes[1, 0], adds, "adds $a_t$ (write head)"),
        (axes[1, 1], reads, "reads $r_t$"),
    ):
        vectors = ax.imshow(
            data.T, cmap=MEMORY_CMAP, vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest"
        )
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("word entry")
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    _rows_image(axes[2, 0], w_write, rows, "write weightings")
    _rows_image(axes[2, 1], w_read, rows, "read weightings", colorbar=True)
    # the scales are shared across a row: one colour bar a row, on the right
    side_colorbar(axes[0, 1], out, "P(1)", PROB_TICKS)
    side_colorbar(axes[1, 1], vectors, "value")
    for ax in axes[-1]:
        ax.set_xlabel("time step t")
    if title:
        fig.suptitle(title, fontsize=10)
    return _finish(fig)


@dataclass
class TraceStepHandles:
    """Artists of ``plot_trace_step`` that change with the step: one cursor line per time
    panel, the memory image, and the markers of the read and write focus beside it."""

    cursors: list[Line2D]
    memory: AxesImage
    read_focus: Line2D
    write_focus: Line2D
    legend: Any  # above the memory image, below its title, off the data: drawn once


def _focus_position(w: np.ndarray, rows: np.ndarray) -> tuple[list[float], list[float]]:
    """Where a weighting (N,) peaks, as a position among ``rows`` (empty if not shown)."""
    if w.size == 0:
        return [], []
    where = np.flatnonzero(rows == int(np.argmax(w)))
    return ([-0.9], [float(where[0])]) if len(where) else ([], [])


def plot_trace_step_with_handles(
    x: object,
    y: object,
    probs: object,
    mask: object,
    trace: Any,
    t: int = 0,
    *,
    rows: Sequence[int] | None = None,
    head: int | None = None,
    measure: str = "bits_per_sequence",
) -> tuple[Figure, TraceStepHandles]:
    """Like ``plot_trace_step``; also returns the artists that ``update_trace_step`` moves."""
    xs, ys, ps = to_numpy(x, 2), to_numpy(y, 2), to_numpy(probs, 2)
    m = to_numpy(mask, 1)
    T = xs.shape[0]
    w_read, w_write = head_weightings(trace, "read", head), head_weightings(trace, "write", head)
    if rows is None:
        rows = used_rows(np.stack([w_read, w_write], axis=1))
    rows = np.asarray(rows)
    memory = to_numpy(trace.memory)[0]  # (T, N, M)
    lim = max(float(np.abs(memory[:, rows]).max()), 1e-6)
    # nested grids, so that the spacing the right column needs (the memory's labels and
    # legend above the query) does not open gaps between the time panels on the left
    fig = plt.figure(figsize=(min(4.5 + 0.22 * T, 12.0), 6.4), dpi=DPI, layout="constrained")
    fig.get_layout_engine().set(w_pad=0.03, h_pad=0.02, hspace=0.02, wspace=0.03)
    plt.close(fig)
    window = answer_window(m)
    outer = fig.add_gridspec(1, 2, width_ratios=[3.2, 1.0 if window is None else 1.3])
    masked_cmap = plt.get_cmap(WEIGHT_CMAP).with_extremes(bad="#e3e8f0")
    left = outer[0, 0].subgridspec(5, 1)
    time_axes = [fig.add_subplot(left[i, 0]) for i in range(5)]
    for ax in time_axes[1:]:
        ax.sharex(time_axes[0])
    _time_image(time_axes[0], xs, "input x", "channel")
    _time_image(time_axes[1], ys, "target y", "channel")
    bits = measure == "bits_per_sequence"  # else judged by cross-entropy: no wrong bits
    out = _time_image(
        time_axes[2],
        np.where(m[:, None] > 0, ps, np.nan),
        "output (counted steps)" if bits else "output: P(bit = 1), judged by cross-entropy",
        "channel",
        cmap=masked_cmap,
    )
    side_colorbar(time_axes[2], out, "P(1)", PROB_TICKS)
    if bits:
        _mark_wrong(time_axes[2], ps, ys, m)
    which = "all heads" if head is None else f"head {head + 1}"
    _rows_image(time_axes[3], w_read, rows, f"read weighting ({which})", colorbar=True)
    _rows_image(time_axes[4], w_write, rows, f"write weighting ({which})", colorbar=True)
    for ax in time_axes[:-1]:
        ax.tick_params(labelbottom=False)
    time_axes[-1].set_xlabel("time step t")
    cursors = [ax.axvline(t, color=CURSOR_COLOR, lw=1.6, alpha=0.9) for ax in time_axes]
    if window is None:
        ax_m = fig.add_subplot(outer[0, 1])
    else:
        right = outer[0, 1].subgridspec(2, 1, height_ratios=[3, 2])
        ax_m = fig.add_subplot(right[0, 0])
        _draw_query_and_answer(fig, right[1, 0], xs, ys, ps, m, window, bits)
    image = ax_m.imshow(
        memory[t, rows],
        cmap=MEMORY_CMAP,
        vmin=-lim,
        vmax=lim,
        aspect="auto",
        interpolation="nearest",
    )
    ax_m.set_title("memory after step t", fontsize=10, pad=17)
    ax_m.set_xlabel("word entry")
    ax_m.set_ylabel("row i")
    ax_m.yaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    ax_m.yaxis.set_major_formatter(_row_formatter(rows))
    ax_m.set_xlim(-1.5, memory.shape[2] - 0.5)
    side_colorbar(ax_m, image, "value", width=0.07)
    (read_focus,) = ax_m.plot(
        *_focus_position(w_read[t], rows),
        ">",
        color="tab:blue",
        ms=7,
        label="read focus",
        clip_on=False,
    )
    (write_focus,) = ax_m.plot(
        *_focus_position(w_write[t], rows),
        ">",
        color="tab:red",
        ms=7,
        label="write focus",
        clip_on=False,
    )
    legend = ax_m.legend(  # between the title and the image: off the data, drawn once
        fontsize=7,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=2,
        borderaxespad=0.1,
        frameon=False,
        handletextpad=0.2,
        columnspacing=0.8,
        handles=[
            Line2D([], [], marker=">", ls="", color="tab:blue", label="read focus"),
            Line2D([], [], marker=">", ls="", color="tab:red", label="write focus"),
        ],
    )
    return fig, TraceStepHandles(cursors, image, read_focus, write_focus, legend)


def answer_window(mask: object, share: float = 0.15) -> tuple[int, int, int] | None:
    """``(q0, a0, a1)`` where the counted steps a0..a1-1 are a short answer at the end of a
    long sequence (at most ``share`` of it, e.g. associative recall at 20 items), and
    q0..a0-1 the steps just before them (as many again, plus one: the query item and its
    delimiter); ``None`` where the answer is long enough to read in the time panels."""
    m = to_numpy(mask, 1)
    counted = np.nonzero(m > 0)[0]
    if len(counted) == 0 or len(counted) > share * len(m):
        return None
    a0, a1 = int(counted[0]), int(counted[-1]) + 1
    return max(0, a0 - (a1 - a0) - 1), a0, a1


def _mark_wrong(ax: Any, ps: np.ndarray, ys: np.ndarray, m: np.ndarray) -> int:
    """A red cross on every wrongly thresholded counted bit; returns how many there are."""
    wrong_t, wrong_c = np.nonzero(((ps > 0.5) != (ys > 0.5)) & (m[:, None] > 0))
    if len(wrong_t):
        ax.plot(wrong_t, wrong_c, "x", color=ERROR_COLOR, ms=4, mew=1.0)
    return len(wrong_t)


def _draw_query_and_answer(
    fig: Figure,
    cell: Any,
    xs: np.ndarray,
    ys: np.ndarray,
    ps: np.ndarray,
    m: np.ndarray,
    window: tuple[int, int, int],
    bits: bool,
) -> None:
    """Beside the memory: the query (input steps q0..a0-1), then the target and the output
    over the answer steps a0..a1-1, large enough to read where the time panels are long."""
    q0, a0, a1 = window
    sub = cell.subgridspec(1, 3, wspace=0.15, width_ratios=[a0 - q0, a1 - a0, a1 - a0])
    panels = (
        (xs[q0:a0], "query", q0),
        (ys[a0:a1], "target", a0),
        (ps[a0:a1], "output", a0),
    )
    for i, (data, title, t0) in enumerate(panels):
        ax = fig.add_subplot(sub[0, i])
        _time_image(ax, data, title, "channel" if i == 0 else "", title_size=8)
        last = data.shape[0] - 1  # the answer's panels are narrow: their first step only
        ticks = [0, last] if i == 0 and last > 0 else [0]
        ax.set_xticks(ticks, [str(t0 + k) for k in ticks])
        ax.tick_params(labelsize=7)
        if i:
            ax.set_yticks([])
        if i == 2 and bits:
            _mark_wrong(ax, ps[a0:a1], ys[a0:a1], m[a0:a1])


def update_trace_step(
    handles: TraceStepHandles,
    trace: Any,
    t: int,
    rows: Sequence[int],
    head: int | None = None,
) -> None:
    """Move the cursors to step ``t`` and show the memory and the heads' focus there."""
    rows = np.asarray(rows)
    for line in handles.cursors:
        line.set_xdata([t, t])
    handles.memory.set_data(to_numpy(trace.memory)[0, t, rows])
    handles.read_focus.set_data(*_focus_position(head_weightings(trace, "read", head)[t], rows))
    handles.write_focus.set_data(*_focus_position(head_weightings(trace, "write", head)[t], rows))


def plot_trace_step(
    x: object,
    y: object,
    probs: object,
    mask: object,
    trace: Any,
    t: int = 0,
    *,
    rows: Sequence[int] | None = None,
    head: int | None = None,
    measure: str = "bits_per_sequence",
) -> Figure:
    """One sequence through an NTM, with a cursor at step ``t`` (the ``TraceExplorer``).

    Left, time across: input, target, output (counted steps, wrong bits crossed), and the
    read and write weightings over the memory ``rows`` the heads visit, with an orange
    cursor at step ``t``. Right: the memory after step ``t`` (same rows, same order), with
    arrows at the rows the read head (blue) and the write head (red) focus on at ``t``.
    ``head`` picks one head of each kind; ``None`` sums them. Arrays as in ``plot_example``.
    ``measure`` is the task's (``Task.measure``): a task judged by cross-entropy (N-grams)
    gets no wrong-bit crosses, since even the optimal predictor thresholds many bits wrong.
    A short answer at the end of a long sequence (``answer_window``: associative recall at
    many items) is also drawn large under the memory: the query, the target, the output.
    """
    return plot_trace_step_with_handles(
        x, y, probs, mask, trace, t, rows=rows, head=head, measure=measure
    )[0]
