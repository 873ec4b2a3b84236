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
   ``plot_learning_curve`` (a training ``History``). Add new sections below, in the
   same style.

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
