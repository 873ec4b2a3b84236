"""Sweeps (``ntm_nb.sweep``): every trial's learning curve, coloured by its outcome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

from ntm_nb.viz.base import _finish, as_history, new_figure

__all__ = ["SOLVED_COLOR", "FAILED_COLOR", "plot_sweep"]

#: Colours of the trials that reached the target and of those that did not.
SOLVED_COLOR = "#55a868"
FAILED_COLOR = "#c44e52"


def plot_sweep(
    curves: Sequence[tuple[str, Any, bool]],
    *,
    target: float | None = None,
    metric: str = "bits",
    title: str = "",
) -> Figure:
    """Held-out learning curves of every trial of a sweep, against sequences seen: green
    where the trial reached the target, red where it did not (``ntm_nb.sweep.sweep_curves``
    gives ``(name, history, solved)`` per trial). ``metric`` is ``"bits"`` (wrong bits per
    sequence) or ``"cost"`` (cross-entropy bits); ``target`` draws the target line. An open
    circle marks a restart (``TrainConfig.restart_after``), a triangle a rollback."""
    if metric not in ("bits", "cost"):
        raise ValueError(f"metric: expected 'bits' or 'cost', got {metric!r}")
    fig, axes = new_figure(1, 1, figsize=(7.0, 3.4))
    ax = axes[0, 0]
    solved = sum(1 for _, _, ok in curves if ok)
    marked = set()  # the levers' marks that have a legend entry already
    for _, history, ok in curves:
        h = as_history(history)
        ys = h.eval_bits if metric == "bits" else h.eval_cost_bits
        xs = h.eval_sequences[: len(ys)]
        color = SOLVED_COLOR if ok else FAILED_COLOR
        ax.plot(xs, ys, color=color, lw=1.0, alpha=0.8)
        # where a restart (new weights) or a rollback (back to the best) acted: the cost
        # recorded at that step, before the lever
        for steps, marker, label in (
            (h.restart_step, "o", "restart"),
            (h.rollback_step, "v", "rollback"),
        ):
            at = [i for i, s in enumerate(h.eval_step[: len(ys)]) if s in set(steps)]
            if at:
                name = None if label in marked else label
                ax.plot([xs[i] for i in at], [ys[i] for i in at], marker, ls="", ms=5,
                        mfc="none", color=color, label=name)  # fmt: skip
                marked.add(label)
    if target is not None:
        ax.axhline(target, color="0.4", lw=0.8, ls="--", label=f"target {target:g}")
    if target is not None or marked:
        ax.legend(loc="lower right", fontsize=8, frameon=False)  # solved curves end lower left
    positive = [y for _, h, _ in curves for y in as_history(h).eval_bits if y > 0]
    if positive and metric == "bits":
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_ylim(bottom=0)  # costs are never negative: no empty mirrored half
    ax.set_xlabel("training sequences")
    ax.set_ylabel("held-out bits per sequence" if metric == "bits" else "cross-entropy, bits")
    ax.set_title(title or f"{solved} of {len(curves)} trials reached the target", fontsize=10)
    return _finish(fig)
