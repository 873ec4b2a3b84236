"""Shipped models: an NTM and the paper's LSTM baseline for each of the five tasks.

    >>> import ntm_nb.pretrained as pretrained
    >>> pretrained.available()                      # [('copy', 'ntm'), ('copy', 'lstm'), ...]
    >>> model = pretrained.load("copy")             # the NTM, eval mode
    >>> lstm = pretrained.load("copy", kind="lstm") # the 3-layer LSTM baseline
    >>> model.checkpoint["history"]                 # its learning curves

Each lives in ``ntm_nb/pretrained/TASK-KIND/`` as ``model.safetensors`` plus
``model.json`` (configs, history, the exact command that made it). ``train_all.sh``
beside this file reproduces all of them; README.md records how long each took.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from ntm_nb.checkpoint import load as load_checkpoint
from ntm_nb.tasks import TASKS

HERE = Path(__file__).resolve().parent
KINDS = ("ntm", "lstm")
SWEEPS = HERE / "sweeps"  # shipped sweeps: results.csv, curves.json, a few trials' models


def path(name: str, kind: str = "ntm") -> Path:
    """The folder of the shipped model ``name`` (a task name) of ``kind`` ("ntm"/"lstm")."""
    if name not in TASKS:
        raise ValueError(f"name: unknown task {name!r}; accepted: {', '.join(sorted(TASKS))}")
    if kind not in KINDS:
        raise ValueError(f"kind: unknown kind {kind!r}; accepted: 'ntm', 'lstm'")
    return HERE / f"{name}-{kind}"


def available() -> list[tuple[str, str]]:
    """The shipped models, as (task name, kind) pairs."""
    return [
        (name, kind)
        for name in TASKS
        for kind in KINDS
        if (HERE / f"{name}-{kind}" / "model.safetensors").is_file()
    ]


def sweeps() -> dict[str, Path]:
    """The shipped sweeps (``ntm-nb sweep``), name -> folder; ``sweeps/README.md`` gives the
    command that made each. Read one with ``ntm_nb.sweep_summary(folder)``."""
    return {p.parent.name: p.parent for p in sorted(SWEEPS.glob("*/results.csv"))}


def load(name: str, kind: str = "ntm", device: str = "cpu") -> nn.Module:
    """Load the shipped model for task ``name``, in eval mode, ready to run.

    Its record (task settings, learning curves, command) is ``model.checkpoint``.
    """
    folder = path(name, kind)
    if not (folder / "model.safetensors").is_file():
        shipped = ", ".join(f"{n}/{k}" for n, k in available()) or "none"
        raise ValueError(f"name: no shipped {kind} model for {name!r} (shipped: {shipped})")
    return load_checkpoint(folder, device=device)
