"""Memory and addressing plots (notebooks 01-03): memory, weightings, similarity, the
addressing pipeline, shift iteration, one read and one write."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ntm_nb.viz.base import (
    WEIGHT_CMAP,
    _finish,
    draw_bars,
    draw_memory,
    new_figure,
    side_colorbar,
    to_numpy,
    weight_norm,
)

__all__ = [
    "plot_memory",
    "plot_weighting",
    "plot_weightings_with_handles",
    "plot_weightings",
    "pipeline_panels",
    "plot_addressing_pipeline",
    "plot_similarity",
    "plot_similarity_with_handles",
    "ShiftIterationHandles",
    "plot_shift_iteration",
    "plot_shift_iteration_with_handles",
    "update_shift_iteration",
    "ReadWriteHandles",
    "plot_read_write",
    "plot_read_write_with_handles",
]


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
    bars = [draw_bars(ax, v, title=name, ylim=ylim) for ax, name, v in zip(axes[0], names, values)]
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
            axes[0, 0],
            similarity,
            title=r"cosine similarity $K[k_t, M_t(i)]$ (eq. 6)",
            ylim=(-1.05, 1.05),
            highlight=highlight,
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
            h,
            cmap=WEIGHT_CMAP,
            norm=weight_norm(),  # square-root scale: the blur's small weights stay visible
            aspect="auto",
            interpolation="nearest",
            extent=(-0.5, h.shape[1] - 0.5, h.shape[0] - 0.5, -0.5),
        )
        ax.set_ylim(T_axis - 0.5, -0.5)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("row i")
        ax.set_ylabel("step t")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        side_colorbar(ax, im, "weight", (0.0, 0.1, 0.5, 1.0), width=0.035)
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
    side_colorbar(ax_a, im_a, "value", width=0.05)
    read_bars = draw_bars(
        ax_r,
        read_vector,
        title=r"read vector $r_t$ (eq. 2)",
        ylim=(-lim, lim),
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
