"""Helpers every plot shares: arrays from tensors, fixed-size figures, PNG rendering, the
axes-level drawers (``draw_*``) with their in-place updates (``update_*``), and
``BlitRenderer``, which re-renders only the artists a widget moves."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import PowerNorm
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.ticker import MaxNLocator

from ntm_nb.records import History

__all__ = [
    "as_history",
    "DPI",
    "BAR_COLOR",
    "HIGHLIGHT_COLOR",
    "MEMORY_CMAP",
    "WEIGHT_CMAP",
    "to_numpy",
    "new_figure",
    "figure_to_png",
    "BlitRenderer",
    "draw_bars",
    "draw_memory",
    "update_bars",
    "update_image",
    "weight_norm",
    "side_colorbar",
]

#: Dots per inch of every figure; with the fixed sizes below it fixes the pixel size too.
DPI = 80
#: Colour of ordinary bars, and of a highlighted bar (e.g. the row a key was copied from).
BAR_COLOR = "#4c72b0"
HIGHLIGHT_COLOR = "#dd8452"
#: Colour map for memory contents and other signed matrices (blue < 0 < red).
MEMORY_CMAP = "RdBu_r"
#: Colour map for weightings over time (0 = white, 1 = dark), on ``weight_norm``'s scale.
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


def as_history(history: Any) -> History:
    """A ``History`` from a ``History`` or its ``to_dict()`` (as kept in a checkpoint)."""
    if isinstance(history, Mapping):
        history = History.from_dict(dict(history))
    if not isinstance(history, History):
        raise TypeError(f"history: expected a History or a dict, got {type(history).__name__}")
    return history


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


def weight_norm() -> PowerNorm:
    """The colour scale of weightings over time: 0 to 1 on a square-root scale.

    A sharp focus (one row near 1) is black either way; a diffuse one, which at long
    lengths spreads 0.02-0.1 over many rows and is nearly white on a linear scale, shows
    as grey (0.04 draws as 0.2 would).
    """
    return PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0)


def side_colorbar(
    ax: Axes,
    image: AxesImage,
    label: str = "",
    ticks: Sequence[float] = (),
    width: float = 0.018,
):
    """A thin colour bar just right of ``ax``, ``width`` a fraction of the axes' width (an
    inset: a column of panels that share an x axis stays aligned); returns the bar."""
    cax = ax.inset_axes((1.0 + 0.7 * width, 0.0, width, 1.0))
    bar = ax.figure.colorbar(image, cax=cax, ticks=list(ticks) or None)
    bar.ax.tick_params(labelsize=7, length=2, pad=1)
    if label:
        bar.set_label(label, fontsize=7, labelpad=2)
    return bar


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
