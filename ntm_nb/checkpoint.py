"""Checkpoints: safetensors weights plus a JSON record; never pickle.

A checkpoint is a folder (or a ``NAME.safetensors`` path, whose files then sit beside it):

=============================  ===========================================================
file                           holds
=============================  ===========================================================
``model.safetensors``          the weights; its metadata repeats the model config, so the
                               weights alone rebuild the exact model
``model.json``                 kind, model config, task config, training config, seed,
                               step, history (learning curves), software versions, command
``train_state.safetensors``    for resuming: optimizer state, batch generator state, step
=============================  ===========================================================

Every file is written to a temporary name and renamed into place (an atomic replace), so
an interrupted save leaves the previous checkpoint whole. Loading checks every file and
raises ``CheckpointError`` naming the file and what is wrong.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from ntm_nb._version import __version__
from ntm_nb.baseline import LSTMBaseline, LSTMConfig
from ntm_nb.model import NTM, NTMConfig, is_ntm
from ntm_nb.optim import make_optimizer
from ntm_nb.records import History, TrainState
from ntm_nb.tasks import TASKS, Task, make_task

FORMAT = "ntm_nb-checkpoint-1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted or does not match its model."""


def _paths(path: str | Path) -> tuple[Path, Path, Path]:
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        stem = path.with_suffix("")
        return (
            stem.with_suffix(".safetensors"),
            stem.with_suffix(".json"),
            stem.parent / (stem.name + ".train_state.safetensors"),
        )
    return path / "model.safetensors", path / "model.json", path / "train_state.safetensors"


def weights_folder(path: str | Path) -> Path:
    """The folder the files of the checkpoint at ``path`` (a folder or a file) lie in."""
    return _paths(path)[0].parent


def _atomic_write(path: Path, write: Any) -> None:
    """Write via ``write(tmp_path)`` to a temporary file beside ``path``, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _versions() -> dict[str, str]:
    return {
        "ntm_nb": __version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def _kind(model: nn.Module) -> str:
    if is_ntm(model):
        return "ntm"
    if isinstance(model, LSTMBaseline):
        return "lstm"
    raise TypeError(f"model: expected an NTM or LSTMBaseline, got {type(model).__name__}")


def save(
    model: nn.Module,
    path: str | Path,
    *,
    task: Any = None,
    history: Any = None,
    train_config: Any = None,
    train_state: Any = None,
    seed: int | None = None,
    command: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save ``model`` (and optionally its task, history and training state) to ``path``.

    ``path`` is a folder, or a file name ending in ``.safetensors``. Returns the path of
    the weights file.
    """
    kind = _kind(model)
    weights_path, json_path, state_path = _paths(path)
    config = model.config.to_dict()
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "kind": kind, "config": json.dumps(config)}
    _atomic_write(weights_path, lambda tmp: save_file(tensors, tmp, metadata=meta))
    if train_state is not None:
        _save_train_state(state_path, train_state)
    if seed is None and train_config is not None:
        seed = getattr(train_config, "seed", None)
    record = {
        "format": FORMAT,
        "kind": kind,
        "model_config": config,
        "task": None if task is None else {"name": task.name, **task.to_dict()},
        # where the task class lives: a task of your own loads back once this is imported
        "task_module": None if task is None else type(task).__module__,
        "train_config": None if train_config is None else train_config.to_dict(),
        "seed": seed,
        "step": None if train_state is None else train_state.step,
        "train_seconds": None if train_state is None else round(train_state.seconds, 3),
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "command": command if command is not None else " ".join(sys.argv),
        "versions": _versions(),
        "history": None if history is None else history.to_dict(),
        **(extra or {}),
    }
    text = json.dumps(record, indent=1)
    _atomic_write(json_path, lambda tmp: Path(tmp).write_text(text))
    return weights_path


def _save_train_state(path: Path, state: TrainState) -> None:
    opt_state = state.optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {"generator": state.generator.get_state()}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entry in opt_state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"opt.{pid}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    meta = {
        "format": FORMAT,
        "step": str(state.step),
        "seconds": repr(float(state.seconds)),
        "param_groups": json.dumps(opt_state["param_groups"]),
        "scalars": json.dumps(scalars),
        "optimizer": type(state.optimizer).__name__,
        "history": json.dumps(state.history.to_dict()),
    }
    _atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except CheckpointError:
        raise
    except Exception as err:  # safetensors raises its own error types for bad files
        raise CheckpointError(
            f"{path}: not a readable safetensors file (truncated or corrupted?): {err}"
        ) from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not an ntm_nb checkpoint (format {meta.get('format')!r}, expected {FORMAT!r})"
        )
    return tensors, meta


def _build(kind: str, config: dict[str, Any], source: Path) -> nn.Module:
    try:
        if kind == "ntm":
            return NTM(NTMConfig(**config))
        if kind == "lstm":
            return LSTMBaseline(LSTMConfig(**config))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{source}: invalid model config: {err}") from None
    raise CheckpointError(f"{source}: unknown model kind {kind!r} (expected 'ntm' or 'lstm')")


def load_record(path: str | Path) -> dict[str, Any]:
    """The JSON record of a checkpoint (configs, history, command), without the weights."""
    _, json_path, _ = _paths(path)
    if not json_path.is_file():
        raise CheckpointError(f"{json_path}: file not found")
    try:
        record = json.loads(json_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(
            f"{json_path}: not valid JSON (truncated or corrupted?): {err}"
        ) from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise CheckpointError(f"{json_path}: not an ntm_nb checkpoint record")
    return record


def task_from_record(record: dict[str, Any], overrides: dict[str, Any] | None = None) -> Task:
    """The task a checkpoint was trained on (``record`` from ``load_record`` or
    ``model.checkpoint``), with ``overrides`` applied, for evaluating or plotting it.

    ``same_length`` is dropped: evaluation draws every sequence independently.
    """
    saved = dict(record.get("task") or {})
    name = saved.pop("name", None)
    if name is None:
        raise ValueError("checkpoint: its record names no task; cannot evaluate")
    if name not in TASKS and record.get("task_module"):
        raise ValueError(
            f"checkpoint: its task {name!r} is defined in module {record['task_module']!r}; "
            f"import it first (on the command line: --task-module {record['task_module']})"
        )
    saved.pop("same_length", None)
    return make_task(name, **{**saved, **(overrides or {})}).for_evaluation()


def load(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the exact model saved at ``path`` (a folder or a ``.safetensors`` file).

    The model comes back in eval mode. Its JSON record, if present, is attached as
    ``model.checkpoint`` (a dict: task, history, command, ...).
    """
    weights_path, json_path, _ = _paths(path)
    if not weights_path.exists() and not Path(path).exists():
        raise CheckpointError(
            f"{path}: no such checkpoint (expected a folder or a .safetensors file)"
        )
    tensors, meta = _read_safetensors(weights_path)
    try:
        config = json.loads(meta["config"])
    except (KeyError, json.JSONDecodeError) as err:
        raise CheckpointError(
            f"{weights_path}: model config missing from the metadata: {err}"
        ) from None
    model = _build(meta.get("kind", ""), config, weights_path)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise CheckpointError(
            f"{weights_path}: weights do not match the model config: {' '.join(first)[:500]}"
        ) from None
    record = load_record(path) if json_path.is_file() else {}
    if record and record.get("model_config") != config:
        raise CheckpointError(f"{json_path}: its model config does not match {weights_path.name}")
    model.checkpoint = record  # type: ignore[attr-defined]
    return model.to(device).eval()


def load_train_state(path: str | Path, model: nn.Module, train_config: Any) -> TrainState:
    """The ``TrainState`` saved beside a checkpoint, rebuilt around ``model``'s parameters."""
    _, _, state_path = _paths(path)
    tensors, meta = _read_safetensors(state_path)
    optimizer = make_optimizer(model, train_config)
    if type(optimizer).__name__ != meta.get("optimizer"):
        raise CheckpointError(
            f"{state_path}: saved with optimizer {meta.get('optimizer')}, but the config asks for "
            f"{type(optimizer).__name__}"
        )
    try:
        scalars = json.loads(meta["scalars"])
        state: dict[int, dict[str, Any]] = {}
        for key, value in tensors.items():
            if key.startswith("opt."):
                _, pid, name = key.split(".", 2)
                state.setdefault(int(pid), {})[name] = value
        for pid, entry in scalars.items():
            state.setdefault(int(pid), {}).update(entry)
        # optimizer.load_state_dict does not compare shapes: a state saved for another
        # model would load silently and fail (or worse) at the first step
        params = [p for group in optimizer.param_groups for p in group["params"]]
        for pid, entry in state.items():
            if not 0 <= pid < len(params):
                raise ValueError(f"state for parameter {pid}, but the model has {len(params)}")
            for name, value in entry.items():
                if (
                    isinstance(value, torch.Tensor)
                    and value.dim() > 0
                    and value.shape != params[pid].shape
                ):
                    raise ValueError(
                        f"optimizer state {name!r} of parameter {pid} has shape "
                        f"{tuple(value.shape)}, "
                        f"the model's parameter {tuple(params[pid].shape)}"
                    )
        saved_groups = json.loads(meta["param_groups"])
        groups = optimizer.state_dict()["param_groups"]
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
        optimizer.load_state_dict({"state": state, "param_groups": saved_groups})
        generator = torch.Generator()
        generator.set_state(tensors["generator"])
        history = History.from_dict(json.loads(meta["history"]))
        step, seconds = int(meta["step"]), float(meta["seconds"])
    except (KeyError, ValueError, RuntimeError) as err:
        raise CheckpointError(
            f"{state_path}: training state does not match the model/optimizer: {err}"
        ) from None
    return TrainState(
        step=step, optimizer=optimizer, generator=generator, history=history, seconds=seconds
    )
