"""Text summaries that notebooks print: the models compared, and what the heads do.

* ``model_summary(models)`` — for each model, its size and how it was trained (steps,
  batch, optimizer, time, the command), from its checkpoint record.
* ``head_rows(trace, t)`` — the heads' parameters at step ``t`` (β, g, s, γ, where each
  head's focus is and how sharp), one dict a head, read heads first; ``head_table`` prints
  them for several steps, and ``TraceExplorer``'s table shows the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from torch import nn

__all__ = ["model_summary", "head_rows", "head_table"]


def model_summary(models: Mapping[str, nn.Module]) -> str:
    """Two lines a model: parameters, steps x batch, optimizer and rate, training time and
    where; then the exact command that made it. ``models`` maps a label to a loaded model
    (``ntm_nb.pretrained.load`` or ``ntm_nb.load``), whose record is ``model.checkpoint``."""
    width = max((len(name) for name in models), default=0)
    lines = []
    for name, model in models.items():
        record: dict[str, Any] = getattr(model, "checkpoint", None) or {}
        params = record.get("num_parameters") or sum(p.numel() for p in model.parameters())
        line = f"{name:>{width}}: {params:,} parameters"
        cfg = record.get("train_config") or {}
        if record.get("step") is not None and cfg:
            line += (
                f"; {record['step']:,} steps of {cfg['batch_size']} sequences "
                f"({cfg['optimizer']}, lr {cfg['lr']:g})"
            )
        if record.get("train_seconds") is not None:
            where = record.get("trained_on", "one CPU thread")
            line += f"; {record['train_seconds'] / 60:.1f} min on {where}"
        lines.append(line)
        if record.get("command"):
            lines.append(f"{'':>{width}}  {record['command']}")
    return "\n".join(lines)


def _heads(trace: Any) -> list[tuple[str, int]]:
    """(kind, index within the kind) of every head, read heads first (the trace's order)."""
    R, W = trace.w_read.shape[2], trace.w_write.shape[2]
    return [("read", i) for i in range(R)] + [("write", i) for i in range(W)]


def head_rows(trace: Any, t: int, heads: Iterable[int] | None = None, batch: int = 0) -> list[dict]:
    """The parameters of the heads at step ``t`` of a ``Trace``: one dict a head with
    ``head`` ("read 1", "write 1", ...), ``beta``, ``g``, ``s`` (the shift weights, offsets
    -R..R), ``gamma``, ``focus`` (the row of the largest weight) and ``weight`` (its value).
    ``heads`` picks heads by their index in the trace (read heads first); default all."""
    kinds = _heads(trace)
    T = trace.beta.shape[1]
    if not -T <= t < T:
        raise ValueError(f"t: must lie in 0..{T - 1}, got {t}")
    chosen = list(range(len(kinds))) if heads is None else list(heads)
    rows = []
    for h in chosen:
        if not 0 <= h < len(kinds):
            raise ValueError(f"heads: indices must lie in 0..{len(kinds) - 1}, got {h}")
        kind, i = kinds[h]
        w = (trace.w_read if kind == "read" else trace.w_write)[batch, t, i]
        rows.append(
            {
                "head": f"{kind} {i + 1}",
                "beta": float(trace.beta[batch, t, h]),
                "g": float(trace.g[batch, t, h]),
                "s": [float(v) for v in trace.s[batch, t, h]],
                "gamma": float(trace.gamma[batch, t, h]),
                "focus": int(w.argmax()),
                "weight": float(w.max()),
            }
        )
    return rows


def head_table(
    trace: Any,
    steps: Sequence[int],
    *,
    heads: Iterable[int] | None = None,
    labels: Mapping[int, str] | Sequence[str] | None = None,
    batch: int = 0,
) -> str:
    """A text table of ``head_rows`` at each of ``steps``: t, an optional label of the step
    (``labels[t]`` for a mapping, else the i-th label), the head, β, g, s, γ, focus, weight."""
    heads = None if heads is None else list(heads)
    S = (trace.s.shape[-1] - 1) // 2
    shifts = [f"s({o:+d})" if o else "s(0)" for o in range(-S, S + 1)]
    named = labels is not None
    label_width = 0
    texts = []
    for n, t in enumerate(steps):
        if isinstance(labels, Mapping):
            texts.append(str(labels.get(t, "")))
        elif labels is not None:
            texts.append(str(labels[n]))
        else:
            texts.append("")
    label_width = max([len("step"), *map(len, texts)]) if named else 0
    head = f"{'t':>3} " + (f"{'step':<{label_width}} " if named else "") + f"{'head':<8}"
    head += f" {'β':>6} {'g':>5} " + " ".join(f"{s:>6}" for s in shifts)
    head += f" {'γ':>5} {'focus':>6} {'weight':>6}"
    lines = [head]
    for t, text in zip(steps, texts):
        for row in head_rows(trace, t, heads, batch):
            line = f"{t:>3} " + (f"{text:<{label_width}} " if named else "") + f"{row['head']:<8}"
            line += f" {row['beta']:>6.2f} {row['g']:>5.2f} "
            line += " ".join(f"{v:>6.2f}" for v in row["s"])
            line += f" {row['gamma']:>5.2f} {row['focus']:>6} {row['weight']:>6.2f}"
            lines.append(line)
    return "\n".join(lines)
