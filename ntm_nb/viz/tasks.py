"""Pictures of one task's solution: N-grams predictions against the optimum (the paper's
Fig. 14) and priority sort's writes and reads (Fig. 17)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ntm_nb.viz.base import DPI, WEIGHT_CMAP, _finish, new_figure, to_numpy
from ntm_nb.viz.trained import _model_color, _rows_image, head_weightings, used_rows

__all__ = ["plot_ngram_predictions", "plot_priority_sort_memory"]


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
    fig, axes = new_figure(
        2,
        1,
        figsize=(min(2.5 + 0.05 * T, 12.0), 3.6),
        sharex=True,
        gridspec_kw={"height_ratios": [0.35, 1.0]},
    )
    axes[0, 0].imshow(
        b[None], cmap=WEIGHT_CMAP, vmin=0, vmax=1, aspect="auto", interpolation="nearest"
    )
    axes[0, 0].set_yticks([])
    axes[0, 0].set_title("the sequence: next bit (black = 1)", fontsize=10)
    ax = axes[1, 0]
    for i, (name, p) in enumerate(predictions.items()):
        ax.plot(
            np.arange(T),
            to_numpy(p, 1),
            lw=1.1,
            color=_model_color(name, i),
            label=name,
            ls="--" if name.lower().startswith("optimal") else "-",
        )
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
    for name, heads, count in (
        ("write_heads", write_heads, H_write),
        ("read_heads", read_heads, H_read),
    ):
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
        return ("head " if len(heads) == 1 else "heads ") + ", ".join(
            str(int(h) + 1) for h in heads
        )

    write_title = f"write weightings ({_which(shown_write, H_write)})"
    read_title = f"read weightings ({_which(read_heads, H_read)})"
    _rows_image(ax_w, w_write, rows, write_title, colorbar=True)
    _rows_image(ax_r, w_read, rows, read_title, colorbar=True)
    ax_w.tick_params(labelbottom=False)
    ax_r.set_xlabel("time step t")
    return _finish(fig)
