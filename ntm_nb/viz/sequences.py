"""Sequences and training (notebook 04 on): a task's input, target and output with the
heads' weightings over time, and a training run's learning curve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.ticker import MaxNLocator

from ntm_nb.viz.base import WEIGHT_CMAP, _finish, as_history, new_figure, to_numpy, weight_norm

__all__ = ["plot_sequence", "plot_example", "plot_learning_curve"]


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
            seq.T,
            cmap=WEIGHT_CMAP,
            vmin=vlim[0],
            vmax=vlim[1],
            aspect="auto",
            interpolation="nearest",
        )
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("channel")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    axes[-1, 0].set_xlabel("time step t")
    return _finish(fig)


def _time_image(
    ax: Axes,
    data: np.ndarray,
    title: str,
    ylabel: str,
    cmap: Any = WEIGHT_CMAP,
    norm: Any = None,
    title_size: float = 10,
) -> AxesImage:
    """A (T, C) array as an image with time across and channel / row down, on 0..1
    (``norm``: another scale of 0..1, e.g. ``weight_norm()`` for weightings)."""
    norm = norm if norm is not None else Normalize(0.0, 1.0)
    im = ax.imshow(data.T, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    ax.set_title(title, fontsize=title_size)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    if data.shape[1] == 1:  # one channel (N-grams): one tick, not -0.5..0.5
        ax.set_yticks([0])
    return im


def plot_example(x: object, y: object, probs: object, mask: object, trace: Any = None) -> Figure:
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
        weights = ylabel == "row i"  # on the weightings' square-root scale
        _time_image(ax, data, title, ylabel, masked_cmap, weight_norm() if weights else None)
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
    history = as_history(history)
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
