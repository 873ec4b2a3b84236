"""Plots for ntm_nb: every public ``plot_*`` function takes data and returns a Figure.

The notebooks, the widgets (``ntm_nb.widgets``) and the command line all draw with these
functions, so a picture of, say, the addressing pipeline looks the same everywhere.

How this module is organised

1. **Helpers**: turning tensors into arrays, making a figure, rendering it to PNG.
2. **Axes-level drawers** (``draw_*``) draw into a given ``Axes`` and return the artists
   they made; ``update_*`` changes those artists in place. Widgets keep the artists and
   call ``update_*`` when a control moves, then redraw: nothing is re-created.
3. **Memory and addressing plots** (notebooks 01-03): ``plot_memory``, ``plot_weighting``,
   ``plot_weightings``, ``plot_similarity``, ``plot_addressing_pipeline``,
   ``plot_shift_iteration``, ``plot_read_write``.
4. **Sequences and traces** (notebook 04 on): ``plot_sequence``, ``plot_example`` (a
   task's input, target and output with the heads' weightings over time) and
   ``plot_learning_curve`` (a training ``History``); for trained models (notebooks
   05-10): ``plot_learning_curves`` (NTM against LSTM), ``plot_generalization``,
   ``plot_outputs`` (targets and outputs with wrong bits marked), ``plot_memory_use``
   (the paper's Figs. 6, 9, 12, 15), ``plot_trace_step`` (a cursor at one step and the
   memory there: the ``TraceExplorer``), ``plot_ngram_predictions`` (Fig. 14) and
   ``plot_priority_sort_memory`` (Fig. 17). Add new sections below, in the same style.

Conventions: figures are made with ``pyplot`` (so Jupyter knows how to show them) and
closed at once, so a figure appears only where it is returned, never twice. Every figure
has a fixed size and dpi: its text repr (``<Figure size 800x240 with 4 Axes>``) is then
the same on every run, which nbval compares. Weightings are drawn on a fixed y-range
(0 to 1) so that pictures of different weightings can be compared by eye.

The ``*_with_handles`` variants return ``(figure, handles)`` where ``handles`` is a small
dataclass of the artists a widget needs to update.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

__all__ = [
    # 1. helpers
    "DPI",
    "to_numpy",
    "new_figure",
    "figure_to_png",
    # 2. axes-level drawers, in-place updates, fast re-rendering
    "draw_bars",
    "update_bars",
    "draw_memory",
    "update_image",
    "update_shift_iteration",
    "BlitRenderer",
    # 3. memory and addressing
    "plot_memory",
    "plot_weighting",
    "plot_weightings",
    "plot_weightings_with_handles",
    "pipeline_panels",
    "plot_addressing_pipeline",
    "plot_similarity",
    "plot_similarity_with_handles",
    "plot_shift_iteration",
    "plot_shift_iteration_with_handles",
    "ShiftIterationHandles",
    "plot_read_write",
    "plot_read_write_with_handles",
    "ReadWriteHandles",
    # 4. sequences and traces
    "plot_sequence",
    "plot_example",
    "plot_learning_curve",
]

#: Dots per inch of every figure; with the fixed sizes below it fixes the pixel size too.
DPI = 80
#: Colour of ordinary bars, and of a highlighted bar (e.g. the row a key was copied from).
BAR_COLOR = "#4c72b0"
HIGHLIGHT_COLOR = "#dd8452"
#: Colour map for memory contents and other signed matrices (blue < 0 < red).
MEMORY_CMAP = "RdBu_r"
#: Colour map for weightings over time (0 = white, 1 = dark).
WEIGHT_CMAP = "Greys"

# ========================================================================================
# 1. Helpers
# ========================================================================================
def to_numpy(x: object, ndim: int | None = None) -> np.ndarray:
    """A float64 array from a tensor, array or list, with leading size-1 dims dropped.

    ``(1, N)`` becomes ``(N,)`` and ``(1, N, M)`` becomes ``(N, M)``, so callers may pass a
    batch of one straight from the package's functions. With ``ndim`` given, the result
    must have that many dimensions.
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    a = np.asarray(x, dtype=np.float64)
    while ndim is not None and a.ndim > ndim and a.shape[0] == 1:
        a = a[0]
    if ndim is not None and a.ndim != ndim:
        raise ValueError(
            f"expected {ndim} dimension(s) after dropping batch dims of 1, got shape {a.shape}"
        )
    return a


def new_figure(
    nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (4.0, 3.0), **kwargs
) -> tuple[Figure, np.ndarray]:
    """``plt.subplots`` with a fixed dpi and ``squeeze=False``; the figure is closed at once.

    Closing removes it from pyplot's list of open figures, so Jupyter shows it only when
    it is returned (or displayed), and widgets can keep redrawing it.
    """
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, dpi=DPI, squeeze=False, **kwargs)
    plt.close(fig)
    return fig, axes


def _finish(fig: Figure) -> Figure:
    """Lay the figure out once: ``tight_layout`` fixes the axes' positions, so redraws
    (a widget's, many times a second) never recompute the layout."""
    fig.tight_layout(pad=0.4, w_pad=0.8)
    return fig


def figure_to_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes. (Widgets redraw with ``BlitRenderer``, which is faster.)"""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


# ========================================================================================
# 2. Axes-level drawers: draw into an Axes, return the artists; update them in place
# ========================================================================================
def draw_bars(
    ax: Axes,
    values: object,
    *,
    title: str = "",
    ylim: tuple[float, float] | None = (0.0, 1.0),
    highlight: int | None = None,
    horizontal: bool = False,
    xlabel: str = "row i",
) -> BarContainer:
    """Bar chart of a vector (a weighting over rows, a read vector, similarities).

    ``highlight`` colours one bar differently. ``horizontal`` draws rows top to bottom,
    aligned with a memory image drawn by ``draw_memory`` beside it.
    """
    v = to_numpy(values, 1)
    idx = np.arange(len(v))
    if horizontal:
        bars = ax.barh(idx, v, height=0.8, color=BAR_COLOR)
        ax.set_ylim(len(v) - 0.5, -0.5)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if ylim is not None:
            ax.set_xlim(*ylim)
        ax.set_ylabel(xlabel)
    else:
        bars = ax.bar(idx, v, width=0.8, color=BAR_COLOR)
        ax.set_xlim(-0.5, len(v) - 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set_xlabel(xlabel)
        if ylim is not None and ylim[0] < 0 < ylim[1]:
            ax.axhline(0.0, color="0.5", lw=0.6)
    if highlight is not None:
        bars[highlight].set_color(HIGHLIGHT_COLOR)
    ax.set_title(title, fontsize=10)
    return bars


def update_bars(bars: BarContainer, values: object, *, highlight: int | None = None) -> None:
    """Set the bar lengths to ``values`` in place. With ``highlight`` given, that bar is
    coloured and all others are not; without it, the colours stay as they are."""
    v = to_numpy(values, 1)
    horizontal = bars.orientation == "horizontal"
    for i, (bar, value) in enumerate(zip(bars, v)):
        if horizontal:
            bar.set_width(value)
        else:
            bar.set_height(value)
        if highlight is not None:
            bar.set_color(HIGHLIGHT_COLOR if i == highlight else BAR_COLOR)


def draw_memory(
    ax: Axes,
    memory: object,
    *,
    title: str = "memory",
    vlim: float | None = None,
    colorbar: bool = False,
) -> AxesImage:
    """Memory (N, M) as an image: row i of the picture is memory row i.

    Colours run from blue (negative) through white (0) to red (positive), symmetric in
    ``vlim`` (default: the largest absolute entry).
    """
    m = to_numpy(memory, 2)
    lim = float(vlim) if vlim is not None else max(float(np.abs(m).max()), 1e-6)
    im = ax.imshow(m, cmap=MEMORY_CMAP, vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("column (word entry)")
    ax.set_ylabel("row i")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.08)
    return im


def update_image(image: AxesImage, values: object) -> None:
    """Replace the pixels of an image drawn by ``draw_memory`` (same shape)."""
    image.set_data(to_numpy(values, 2))


class BlitRenderer:
    """Render a figure to PNG fast when only a few of its artists change (for widgets).

    The first render draws everything except ``artists`` and keeps that picture; later
    renders paste it back and draw only ``artists`` over it, then encode the pixels as
    PNG. This keeps a widget's redraw well under 100 ms where a full ``savefig`` of a
    figure with several axes takes 100-300 ms on a small CPU.

    The ``artists`` are marked *animated*, so a plain ``fig.savefig`` leaves them out:
    use ``render()`` for a figure handed to a renderer.
    """

    def __init__(self, fig: Figure, artists: Sequence[object]) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = fig
        self.artists = list(artists)
        self.canvas = FigureCanvasAgg(fig)  # a plain Agg canvas, whatever the backend
        for artist in self.artists:
            artist.set_animated(True)
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(fig.bbox)

    def render(self) -> bytes:
        """Redraw the animated artists over the static background; return PNG bytes."""
        from PIL import Image

        self.canvas.restore_region(self._background)
        for artist in self.artists:
            self.fig.draw_artist(artist)
        pixels = np.asarray(self.canvas.buffer_rgba())
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="png", compress_level=1)
        return buf.getvalue()


# ========================================================================================
# 3. Memory and addressing (notebooks 01-03 and their widgets)
# ========================================================================================
def plot_memory(
    memory: object, *, title: str = "memory $M_t$", vlim: float | None = None
) -> Figure:
    """The memory matrix (N, M) or (1, N, M) as an image with a colour bar."""
    fig, axes = new_figure(figsize=(4.5, 3.5))
    draw_memory(axes[0, 0], memory, title=title, vlim=vlim, colorbar=True)
    return _finish(fig)


def plot_weighting(
    w: object, *, title: str = "weighting $w_t$", highlight: int | None = None
) -> Figure:
    """One weighting over the N rows, (N,) or (1, N), as bars on a 0-1 scale."""
    fig, axes = new_figure(figsize=(4.5, 2.6))
    draw_bars(axes[0, 0], w, title=title, highlight=highlight)
    return _finish(fig)


def _titled(weightings: Mapping[str, object] | Sequence[object], titles: Sequence[str] | None):
    if isinstance(weightings, Mapping):
        return list(weightings.keys()), list(weightings.values())
    values = list(weightings)
    names = list(titles) if titles is not None else [f"$w_{{{i}}}$" for i in range(len(values))]
    if len(names) != len(values):
        raise ValueError(f"titles: got {len(names)} titles for {len(values)} weightings")
    return names, values


def plot_weightings_with_handles(
    weightings: Mapping[str, object] | Sequence[object],
    titles: Sequence[str] | None = None,
    *,
    ylim: tuple[float, float] | None = (0.0, 1.0),
    width: float | None = None,
) -> tuple[Figure, list[BarContainer]]:
    """Like ``plot_weightings``; also returns the bars of every panel, in order."""
    names, values = _titled(weightings, titles)
    n = len(values)
    fig, axes = new_figure(1, n, figsize=(width or 2.6 * n, 2.6), sharey=True)
    bars = [
        draw_bars(ax, v, title=name, ylim=ylim) for ax, name, v in zip(axes[0], names, values)
    ]
    return _finish(fig), bars


def plot_weightings(
    weightings: Mapping[str, object] | Sequence[object],
    titles: Sequence[str] | None = None,
    *,
    ylim: tuple[float, float] | None = (0.0, 1.0),
) -> Figure:
    """Several weightings side by side, one panel each, on a shared y-axis.

    ``weightings`` is a mapping from panel title to weighting, or a sequence of
    weightings with ``titles`` beside it. Each weighting is (N,) or (1, N).
    """
    return plot_weightings_with_handles(weightings, titles, ylim=ylim)[0]


def pipeline_panels(w_c: object, w_g: object, w_tilde: object, w: object) -> dict[str, object]:
    """Titles and weightings of the four addressing stages, as ``plot_weightings`` takes."""
    return {
        r"content $w^c_t$ (eq. 5)": w_c,
        r"gated $w^g_t$ (eq. 7)": w_g,
        r"shifted $\tilde w_t$ (eq. 8)": w_tilde,
        r"sharpened $w_t$ (eq. 9)": w,
    }


def plot_addressing_pipeline(w_c: object, w_g: object, w_tilde: object, w: object) -> Figure:
    """The four stages of Figure 2 side by side: content (eq. 5), interpolation (eq. 7),
    shift (eq. 8) and sharpening (eq. 9)."""
    return plot_weightings(pipeline_panels(w_c, w_g, w_tilde, w))


def plot_similarity_with_handles(
    similarity: object, w_c: object | None = None, *, highlight: int | None = None
) -> tuple[Figure, list[BarContainer]]:
    """Like ``plot_similarity``; also returns the bars of each panel."""
    n = 1 if w_c is None else 2
    fig, axes = new_figure(1, n, figsize=(4.2 * n, 2.8))
    bars = [
        draw_bars(
            axes[0, 0], similarity, title=r"cosine similarity $K[k_t, M_t(i)]$ (eq. 6)",
            ylim=(-1.05, 1.05), highlight=highlight,
        )
    ]
    if w_c is not None:
        bars.append(
            draw_bars(
                axes[0, 1], w_c, title=r"content weighting $w^c_t$ (eq. 5)", highlight=highlight
            )
        )
    return _finish(fig), bars


def plot_similarity(
    similarity: object, w_c: object | None = None, *, highlight: int | None = None
) -> Figure:
    """Cosine similarity of a key with every row (eq. 6), on a -1..1 scale, and, if given,
    the content weighting it makes (eq. 5). ``highlight`` marks one row (e.g. the row the
    key was copied from)."""
    return plot_similarity_with_handles(similarity, w_c, highlight=highlight)[0]


@dataclass
class ShiftIterationHandles:
    """Artists of ``plot_shift_iteration``: one image and one peak line per history, and
    the dashed peak line of the reference (``None`` without one)."""

    images: list[AxesImage]
    peak_lines: list[Line2D]
    reference_line: Line2D | None


def _history_panels(histories: object) -> tuple[list[str], list[np.ndarray]]:
    if isinstance(histories, Mapping):
        return list(histories.keys()), [to_numpy(h, 2) for h in histories.values()]
    return ["weighting over time"], [to_numpy(histories, 2)]


def plot_shift_iteration_with_handles(
    histories: object,
    *,
    reference: object | None = None,
    reference_label: str = "shift only",
    max_steps: int | None = None,
) -> tuple[Figure, ShiftIterationHandles]:
    """Like ``plot_shift_iteration``; also returns the artists. ``max_steps`` fixes the
    time axis (a widget that changes the number of steps sets it to its slider's maximum)."""
    names, panels = _history_panels(histories)
    n = len(panels)
    fig, axes = new_figure(1, n + 1, figsize=(3.4 * n + 3.6, 3.2))
    T_axis = max_steps + 1 if max_steps is not None else max(p.shape[0] for p in panels)
    images, lines = [], []
    for ax, name, h in zip(axes[0, :n], names, panels):
        im = ax.imshow(
            h, cmap=WEIGHT_CMAP, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest",
            extent=(-0.5, h.shape[1] - 0.5, h.shape[0] - 0.5, -0.5),
        )
        ax.set_ylim(T_axis - 0.5, -0.5)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("row i")
        ax.set_ylabel("step t")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        images.append(im)
    peak_ax = axes[0, n]
    for name, h in zip(names, panels):
        (line,) = peak_ax.plot(np.arange(h.shape[0]), h.max(axis=1), marker=".", label=name)
        lines.append(line)
    reference_line = None
    if reference is not None:
        ref = to_numpy(reference, 2)
        (reference_line,) = peak_ax.plot(
            np.arange(ref.shape[0]), ref.max(axis=1), ls="--", color="0.5", label=reference_label
        )
    peak_ax.set_xlim(-0.5, T_axis - 0.5)
    peak_ax.set_ylim(0.0, 1.4)
    peak_ax.set_yticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    peak_ax.set_xlabel("step t")
    peak_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    peak_ax.set_title("largest weight at each step", fontsize=10)
    if n > 1 or reference is not None:
        peak_ax.legend(fontsize=8, loc="upper right")
    return _finish(fig), ShiftIterationHandles(images, lines, reference_line)


def plot_shift_iteration(
    histories: object, *, reference: object | None = None, reference_label: str = "shift only"
) -> Figure:
    """Weightings over time as images (one row of pixels per step, one column per memory
    row), and the largest weight at each step.

    ``histories`` is a (T, N) tensor/array, or a mapping from panel title to one, e.g.
    ``{"shift only": h1, "shift + sharpen": h2}`` to compare blur with and without
    sharpening. ``reference``, a (T, N) history, adds only a dashed peak line.
    """
    return plot_shift_iteration_with_handles(
        histories, reference=reference, reference_label=reference_label
    )[0]


def _set_history(image: AxesImage, line: Line2D | None, h: np.ndarray) -> None:
    image.set_data(h)
    image.set_extent((-0.5, h.shape[1] - 0.5, h.shape[0] - 0.5, -0.5))
    if line is not None:
        line.set_data(np.arange(h.shape[0]), h.max(axis=1))


def update_shift_iteration(
    handles: ShiftIterationHandles, histories: object, reference: object | None = None
) -> None:
    """Show new histories (any number of steps up to the time axis' length) in place."""
    _, panels = _history_panels(histories)
    for im, line, h in zip(handles.images, handles.peak_lines, panels):
        _set_history(im, line, h)
    if reference is not None and handles.reference_line is not None:
        ref = to_numpy(reference, 2)
        handles.reference_line.set_data(np.arange(ref.shape[0]), ref.max(axis=1))


@dataclass
class ReadWriteHandles:
    """Artists of ``plot_read_write``."""

    w_bars: BarContainer
    before: AxesImage
    after: AxesImage
    read_bars: BarContainer


def plot_read_write_with_handles(
    memory_before: object,
    w: object,
    memory_after: object,
    read_vector: object,
    *,
    vlim: float | None = None,
) -> tuple[Figure, ReadWriteHandles]:
    """Like ``plot_read_write``; also returns the artists."""
    before = to_numpy(memory_before, 2)
    after = to_numpy(memory_after, 2)
    lim = vlim if vlim is not None else max(float(np.abs(before).max()), float(np.abs(after).max()))
    fig, axes = new_figure(
        1, 4, figsize=(10.0, 3.0), gridspec_kw={"width_ratios": [0.8, 1.2, 1.2, 1.4]}
    )
    ax_w, ax_b, ax_a, ax_r = axes[0]
    w_bars = draw_bars(ax_w, w, title="weighting $w_t$", horizontal=True)
    ax_w.set_xlabel("weight")
    im_b = draw_memory(ax_b, before, title="before: $M_{t-1}$", vlim=lim)
    im_a = draw_memory(ax_a, after, title=r"after erase + add: $M_t$", vlim=lim)
    ax_a.set_ylabel("")
    read_bars = draw_bars(
        ax_r, read_vector, title=r"read vector $r_t$ (eq. 2)", ylim=(-lim, lim),
        xlabel="column (word entry)",
    )
    return _finish(fig), ReadWriteHandles(w_bars, im_b, im_a, read_bars)


def plot_read_write(
    memory_before: object,
    w: object,
    memory_after: object,
    read_vector: object,
    *,
    vlim: float | None = None,
) -> Figure:
    """One write and one read (eqs. 2-4): the weighting (rows aligned with the memory
    pictures), the memory before and after the write, and the read vector. Memories are
    (N, M) or (1, N, M); ``vlim`` fixes the colour scale (default: the largest entry)."""
    return plot_read_write_with_handles(memory_before, w, memory_after, read_vector, vlim=vlim)[0]


# ========================================================================================
# 4. Sequences and traces
# ========================================================================================
def plot_sequence(
    sequences: Mapping[str, object] | object,
    *,
    title: str = "sequence",
    vlim: tuple[float, float] = (0.0, 1.0),
) -> Figure:
    """Sequences of vectors as images: time runs left to right, one pixel row a channel.

    ``sequences`` is one (T, C) or (1, T, C) tensor (e.g. a task's input ``x``), or a
    mapping from panel title to one (e.g. input, target, output probabilities). Values
    are drawn on the fixed range ``vlim`` (white to black), so bits are white or black.
    """
    if isinstance(sequences, Mapping):
        names, panels = list(sequences.keys()), [to_numpy(v, 2) for v in sequences.values()]
    else:
        names, panels = [title], [to_numpy(sequences, 2)]
    n = len(panels)
    T = max(p.shape[0] for p in panels)
    fig, axes = new_figure(n, 1, figsize=(min(2.0 + 0.25 * T, 10.0), 0.9 + 1.3 * n))
    for ax, name, seq in zip(axes[:, 0], names, panels):
        ax.imshow(
            seq.T, cmap=WEIGHT_CMAP, vmin=vlim[0], vmax=vlim[1], aspect="auto",
            interpolation="nearest",
        )
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("channel")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    axes[-1, 0].set_xlabel("time step t")
    return _finish(fig)


def _time_image(ax: Axes, data: np.ndarray, title: str, ylabel: str, cmap: Any = WEIGHT_CMAP) -> AxesImage:
    """A (T, C) array as an image with time across and channel / row down, on 0..1."""
    im = ax.imshow(
        data.T, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest"
    )
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    if data.shape[1] == 1:  # one channel (N-grams): one tick, not -0.5..0.5
        ax.set_yticks([0])
    return im


def plot_example(
    x: object, y: object, probs: object, mask: object, trace: Any = None
) -> Figure:
    """One sequence of a task and a model's answer, with its weightings if it is an NTM.

    ``x`` (T, input), ``y`` (T, output), ``probs`` (T, output) the output probabilities
    (sigmoid of the logits) and ``mask`` (T,); a leading batch dim of 1 is dropped. The
    output panel shows only the counted (masked) steps, the others blank, and marks every
    wrongly thresholded bit with a red cross. ``trace``, an ``ntm_nb.Trace`` of the same
    run, adds the weighting of the first read head and of the first write head of batch
    element 0, time across and memory row down (Figure 6 of the paper).
    """
    xs, ys, ps = to_numpy(x, 2), to_numpy(y, 2), to_numpy(probs, 2)
    m = to_numpy(mask, 1)
    T = xs.shape[0]
    if ys.shape != ps.shape or ys.shape[0] != T or m.shape[0] != T:
        raise ValueError(
            f"x, y, probs, mask: expected (T, input), (T, output), (T, output), (T,) with one T, "
            f"got {xs.shape}, {ys.shape}, {ps.shape}, {m.shape}"
        )
    panels: list[tuple[str, np.ndarray, str]] = [
        ("input x", xs, "channel"),
        ("target y", ys, "channel"),
        ("output probabilities (counted steps)", np.where(m[:, None] > 0, ps, np.nan), "channel"),
    ]
    if trace is not None:
        R = trace.w_read.shape[2]
        W = trace.w_write.shape[2]
        if R:
            title = "read weighting" + (f" (head 1 of {R})" if R > 1 else "")
            panels.append((title, to_numpy(trace.w_read[0, :, 0], 2), "row i"))
        if W:
            title = "write weighting" + (f" (head 1 of {W})" if W > 1 else "")
            panels.append((title, to_numpy(trace.w_write[0, :, 0], 2), "row i"))
    n = len(panels)
    fig, axes = new_figure(n, 1, figsize=(min(2.5 + 0.25 * T, 10.0), 0.6 + 1.5 * n), sharex=True)
    masked_cmap = plt.get_cmap(WEIGHT_CMAP).with_extremes(bad="#e3e8f0")
    for ax, (title, data, ylabel) in zip(axes[:, 0], panels):
        _time_image(ax, data, title, ylabel, cmap=masked_cmap)
    wrong_t, wrong_c = np.nonzero(((ps > 0.5) != (ys > 0.5)) & (m[:, None] > 0))
    if len(wrong_t):
        axes[2, 0].plot(wrong_t, wrong_c, "x", color="tab:red", ms=5, mew=1.2, label="wrong bit")
    axes[2, 0].set_title(
        f"output probabilities (counted steps): {len(wrong_t)} wrong bit(s)", fontsize=10
    )
    axes[-1, 0].set_xlabel("time step t")
    return _finish(fig)


def plot_learning_curve(history: Any, title: str = "") -> Figure:
    """Learning curves of a training run: ``ntm_nb.train.History`` or its ``to_dict()``.

    Left: bits per sequence (the paper's cost) on the training batches and on the
    held-out set, against training sequences seen, on a log scale where the values allow
    it. Right: the loss (binary cross-entropy per output bit, nats) of both.
    """
    from ntm_nb.train import History

    if isinstance(history, Mapping):
        history = History.from_dict(dict(history))
    if not isinstance(history, History):
        raise TypeError(f"history: expected a History or a dict, got {type(history).__name__}")
    fig, axes = new_figure(1, 2, figsize=(9.0, 3.2))
    ax_bits, ax_loss = axes[0]
    curves = [
        (ax_bits, history.sequences, history.bits, "training batches"),
        (ax_bits, history.eval_sequences, history.eval_bits, "held-out set"),
        (ax_loss, history.sequences, history.loss, "training batches"),
        (ax_loss, history.eval_sequences, history.eval_loss, "held-out set"),
    ]
    for ax, xs, ys, label in curves:
        if len(ys):
            marker = "o" if label == "held-out set" else None
            ax.plot(xs[: len(ys)], ys, marker=marker, ms=3, label=label)
    for ax, name in ((ax_bits, "bits per sequence"), (ax_loss, "loss (nats per bit)")):
        ax.set_xlabel("training sequences")
        ax.set_ylabel(name)
        values = [v for line in ax.get_lines() for v in line.get_ydata()]
        if values and min(values) > 0 and max(values) / min(values) > 10:
            ax.set_yscale("log")
        if ax.get_lines():
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no records yet", ha="center", va="center", transform=ax.transAxes)
    ax_bits.set_title(f"{title}: bits per sequence" if title else "bits per sequence", fontsize=10)
    ax_loss.set_title("loss", fontsize=10)
    return _finish(fig)


# ----------------------------------------------------------------------------------------
# 4b. Trained models: learning curves side by side, generalisation, memory at work
# (notebooks 05-10 and the TraceExplorer, GeneralizationExplorer and TrainingDashboard)
# ----------------------------------------------------------------------------------------
#: Colours of the models compared in notebooks 05-10, the same in every picture.
MODEL_COLORS = {"NTM": "#4c72b0", "LSTM": "#dd8452", "optimal": "#55a868", "paper": "0.45"}
#: Colour of the time cursor of ``plot_trace_step``, and of wrongly thresholded bits.
CURSOR_COLOR = "tab:orange"
ERROR_COLOR = "tab:red"


def _model_color(name: str, i: int) -> str:
    for key, color in MODEL_COLORS.items():
        if name.upper().startswith(key.upper()):
            return color
    return f"C{i}"


def _history(history: Any) -> Any:
    from ntm_nb.train import History

    if isinstance(history, Mapping):
        history = History.from_dict(dict(history))
    if not isinstance(history, History):
        raise TypeError(f"history: expected a History or a dict, got {type(history).__name__}")
    return history


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
        h = _history(history)
        ys = h.eval_bits if metric == "bits" else h.eval_cost_bits
        ax.plot(h.eval_sequences[: len(ys)], ys, marker="o", ms=2.5, lw=1.4,
                color=_model_color(name, i), label=name)
    if optimum is not None:
        ax.axhline(optimum, color=MODEL_COLORS["optimal"], ls="--", lw=1.2,
                   label=f"optimal estimator ({optimum:.1f})")
    for name, value in (paper or {}).items():
        ax.axhline(value, color=_model_color(name, 0), ls=":", lw=1.2, label=f"paper: {name} ({value:g})")
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
            ax.plot(px, py, marker="s", mfc="none", ls=":", color=_model_color(name, i),
                    label=f"{name} (paper)")
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
        wrong_t, wrong_c = np.nonzero(((data > 0.5) != (ys > 0.5)) & (m[:, None] > 0))
        if len(wrong_t):
            ax.plot(wrong_t, wrong_c, "x", color=ERROR_COLOR, ms=4, mew=1.0)
        ax.set_title(f"{name}: {len(wrong_t)} wrong bit(s)", fontsize=10)
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
    ax: Axes, data: np.ndarray, rows: np.ndarray, title: str, cmap: Any = WEIGHT_CMAP,
    vlim: tuple[float, float] = (0.0, 1.0),
) -> AxesImage:
    """A (T, N) array of weightings (or memory columns) drawn for ``rows`` only, time across."""
    im = ax.imshow(data[:, rows].T, cmap=cmap, vmin=vlim[0], vmax=vlim[1], aspect="auto",
                   interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("row i")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.yaxis.set_major_formatter(_row_formatter(rows))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
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
    fig, axes = new_figure(3, 2, figsize=(width, 6.4), sharex=True,
                           gridspec_kw={"height_ratios": [1.0, 1.3, 1.8]})
    masked_cmap = plt.get_cmap(WEIGHT_CMAP).with_extremes(bad="#e3e8f0")
    _time_image(axes[0, 0], xs, "inputs", "channel")
    _time_image(axes[0, 1], ps, "outputs", "channel", cmap=masked_cmap)
    for ax, data, name in ((axes[1, 0], adds, "adds $a_t$ (write head)"),
                           (axes[1, 1], reads, "reads $r_t$")):
        ax.imshow(data.T, cmap=MEMORY_CMAP, vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("word entry")
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    _rows_image(axes[2, 0], w_write, rows, "write weightings")
    _rows_image(axes[2, 1], w_read, rows, "read weightings")
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
    legend: Any  # drawn over the memory image, so redrawn with it


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
    fig = plt.figure(figsize=(min(4.5 + 0.22 * T, 12.0), 6.4), dpi=DPI)
    plt.close(fig)
    grid = fig.add_gridspec(5, 2, width_ratios=[3.2, 1.0])
    masked_cmap = plt.get_cmap(WEIGHT_CMAP).with_extremes(bad="#e3e8f0")
    time_axes = [fig.add_subplot(grid[i, 0]) for i in range(5)]
    for ax in time_axes[1:]:
        ax.sharex(time_axes[0])
    _time_image(time_axes[0], xs, "input x", "channel")
    _time_image(time_axes[1], ys, "target y", "channel")
    _time_image(time_axes[2], np.where(m[:, None] > 0, ps, np.nan), "output (counted steps)",
                "channel", cmap=masked_cmap)
    wrong_t, wrong_c = np.nonzero(((ps > 0.5) != (ys > 0.5)) & (m[:, None] > 0))
    if len(wrong_t):
        time_axes[2].plot(wrong_t, wrong_c, "x", color=ERROR_COLOR, ms=4, mew=1.0)
    which = "all heads" if head is None else f"head {head + 1}"
    _rows_image(time_axes[3], w_read, rows, f"read weighting ({which})")
    _rows_image(time_axes[4], w_write, rows, f"write weighting ({which})")
    for ax in time_axes[:-1]:
        ax.tick_params(labelbottom=False)
    time_axes[-1].set_xlabel("time step t")
    cursors = [ax.axvline(t, color=CURSOR_COLOR, lw=1.6, alpha=0.9) for ax in time_axes]
    ax_m = fig.add_subplot(grid[:, 1])
    image = ax_m.imshow(memory[t, rows], cmap=MEMORY_CMAP, vmin=-lim, vmax=lim, aspect="auto",
                        interpolation="nearest")
    ax_m.set_title("memory after step t", fontsize=10)
    ax_m.set_xlabel("word entry")
    ax_m.set_ylabel("row i")
    ax_m.yaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    ax_m.yaxis.set_major_formatter(_row_formatter(rows))
    ax_m.set_xlim(-1.5, memory.shape[2] - 0.5)
    (read_focus,) = ax_m.plot(*_focus_position(w_read[t], rows), ">", color="tab:blue", ms=7,
                              label="read focus", clip_on=False)
    (write_focus,) = ax_m.plot(*_focus_position(w_write[t], rows), ">", color="tab:red", ms=7,
                               label="write focus", clip_on=False)
    legend = ax_m.legend(fontsize=7, loc="lower right", handles=[
        Line2D([], [], marker=">", ls="", color="tab:blue", label="read focus"),
        Line2D([], [], marker=">", ls="", color="tab:red", label="write focus"),
    ])
    fig.tight_layout(pad=0.4, w_pad=0.8, h_pad=0.3)
    return fig, TraceStepHandles(cursors, image, read_focus, write_focus, legend)


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
) -> Figure:
    """One sequence through an NTM, with a cursor at step ``t`` (the ``TraceExplorer``).

    Left, time across: input, target, output (counted steps, wrong bits crossed), and the
    read and write weightings over the memory ``rows`` the heads visit, with an orange
    cursor at step ``t``. Right: the memory after step ``t`` (same rows, same order), with
    arrows at the rows the read head (blue) and the write head (red) focus on at ``t``.
    ``head`` picks one head of each kind; ``None`` sums them. Arrays as in ``plot_example``.
    """
    return plot_trace_step_with_handles(x, y, probs, mask, trace, t, rows=rows, head=head)[0]


def plot_ngram_predictions(
    bits: object, predictions: Mapping[str, object], *, title: str = ""
) -> Figure:
    """Next-bit predictions along one N-grams sequence (the paper's Fig. 14).

    ``bits`` (T,) the sequence's next bits (the targets), ``predictions`` maps a label to
    the predicted probability (T,) that the next bit is 1 (e.g. "optimal", "NTM",
    "LSTM"). Top: the bits; below: each predictor's probabilities as a line.
    """
    b = to_numpy(bits, 1)
    T = len(b)
    fig, axes = new_figure(2, 1, figsize=(min(2.5 + 0.05 * T, 12.0), 3.6), sharex=True,
                           gridspec_kw={"height_ratios": [0.35, 1.0]})
    axes[0, 0].imshow(b[None], cmap=WEIGHT_CMAP, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    axes[0, 0].set_yticks([])
    axes[0, 0].set_title("the sequence: next bit (black = 1)", fontsize=10)
    ax = axes[1, 0]
    for i, (name, p) in enumerate(predictions.items()):
        ax.plot(np.arange(T), to_numpy(p, 1), lw=1.1, color=_model_color(name, i), label=name,
                ls="--" if name.lower().startswith("optimal") else "-")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("P(next bit = 1)")
    ax.set_xlabel("time step t")
    ax.legend(fontsize=8, loc="upper right", ncol=len(predictions))
    if title:
        ax.set_title(title, fontsize=10)
    return _finish(fig)


def plot_priority_sort_memory(
    priority: object,
    write_rows: object,
    trace: Any,
    *,
    rows: Sequence[int] | None = None,
    threshold: float = 0.1,
    write_heads: Sequence[int] | None = None,
    read_heads: Sequence[int] | None = None,
) -> Figure:
    """Where an NTM writes each input of priority sort (the paper's Fig. 17), and why.

    ``priority`` (n,) the inputs' priorities; ``write_rows`` (n,) or (n, H): the row each
    write head focuses on at each input step. Rows past the middle of memory are drawn as
    negative offsets (row N-1 as -1), so a head that moves backwards from row 0 draws a
    line. Left: row against priority (the paper found a straight line: the location is
    set by the priority); middle: row against the input's position in the sequence (a
    line here means the location is set by time instead). Right: the write and read
    weightings over time, summed over heads, on the ``rows`` used (default:
    ``used_rows`` with ``threshold``). ``write_heads`` and ``read_heads`` (0-based
    indices, default all) pick the heads drawn, for a model whose other heads are idle.
    """
    pr = to_numpy(priority, 1)
    wr = to_numpy(write_rows)
    wr = wr.reshape(len(pr), -1)
    all_write = to_numpy(trace.w_write)  # (B, T, H, N)
    N, H_write, H_read = all_write.shape[-1], all_write.shape[2], to_numpy(trace.w_read).shape[2]
    # One column of rows with no heads named: one unnamed head ("write head" in the legend).
    unnamed = wr.shape[1] == 1 and write_heads is None and H_write > 1
    if write_heads is None:
        write_heads = [0] if wr.shape[1] == 1 else list(range(H_write))
    read_heads = list(range(H_read) if read_heads is None else read_heads)
    for name, heads, count in (("write_heads", write_heads, H_write), ("read_heads", read_heads, H_read)):
        if not heads or any(not 0 <= int(h) < count for h in heads):
            raise ValueError(
                f"{name} must be a non-empty list of head indices in [0, {count - 1}]; got {heads}"
            )
    if wr.shape[1] == H_write:
        wr = wr[:, write_heads]
    elif wr.shape[1] != len(write_heads):
        raise ValueError(
            f"write_rows must have one column per write head ({H_write}) or per head in "
            f"write_heads ({len(write_heads)}); got {wr.shape[1]}"
        )
    signed = np.where(wr > N / 2, wr - N, wr)
    shown_write = list(range(H_write)) if unnamed else write_heads  # the weightings drawn
    w_write = head_weightings(trace, "write", shown_write)
    w_read = head_weightings(trace, "read", read_heads)
    if rows is None:
        rows = used_rows(np.stack([w_write, w_read], axis=1), threshold=threshold)
    rows = np.asarray(rows)
    fig = plt.figure(figsize=(12.0, 3.6), dpi=DPI)
    plt.close(fig)
    grid = fig.add_gridspec(2, 3, width_ratios=[1.0, 1.0, 1.6])
    ax_p = fig.add_subplot(grid[:, 0])
    ax_t = fig.add_subplot(grid[:, 1], sharey=ax_p)
    position = np.arange(len(pr))
    for j, h in enumerate(write_heads):
        label = f"write head {int(h) + 1}" if H_write > 1 and not unnamed else "write head"
        ax_p.plot(pr, signed[:, j], "o", ms=4, color=f"C{int(h)}", label=label)
        ax_t.plot(position, signed[:, j], "o-", ms=4, lw=0.8, color=f"C{int(h)}", label=label)
    ax_p.set_xlabel("priority of the input vector")
    ax_p.set_ylabel("row written (N-1 drawn as -1)")
    ax_p.set_title("write location against priority", fontsize=10)
    ax_t.set_xlabel("input position (time step)")
    ax_t.set_title("write location against position", fontsize=10)
    for ax in (ax_p, ax_t):
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_t.legend(fontsize=7, loc="best")
    ax_w = fig.add_subplot(grid[0, 2])
    ax_r = fig.add_subplot(grid[1, 2], sharex=ax_w)
    def _which(heads: Sequence[int], count: int) -> str:
        if len(heads) == count:
            return "all heads" if count > 1 else "the head"
        return ("head " if len(heads) == 1 else "heads ") + ", ".join(str(int(h) + 1) for h in heads)

    _rows_image(ax_w, w_write, rows, f"write weightings ({_which(shown_write, H_write)})")
    _rows_image(ax_r, w_read, rows, f"read weightings ({_which(read_heads, H_read)})")
    ax_w.tick_params(labelbottom=False)
    ax_r.set_xlabel("time step t")
    return _finish(fig)


__all__ += [
    "MODEL_COLORS",
    "plot_learning_curves",
    "plot_generalization",
    "plot_outputs",
    "used_rows",
    "head_weightings",
    "plot_memory_use",
    "plot_trace_step",
    "plot_trace_step_with_handles",
    "update_trace_step",
    "TraceStepHandles",
    "plot_ngram_predictions",
    "plot_priority_sort_memory",
]
