"""Checkpoints: safetensors weights plus a JSON record; never pickle.

A checkpoint is a folder (or a ``NAME.safetensors`` path, whose files then sit beside it):

=============================  ===========================================================
file                           holds
=============================  ===========================================================
``model.safetensors``          the weights; its metadata repeats the model config, so the
                               weights alone rebuild the exact model, and the sha256 of the
                               file's content (``content_sha256``: header and data)
``model.json``                 kind, model config, task config, training config, seed,
                               step, history (learning curves), software versions, command;
                               and the manifest: ``files`` (size and sha256 of each file
                               above and below), ``save_id``, and ``record_sha256`` (of the
                               record itself)
``train_state.safetensors``    for resuming: optimizer state, batch generator state, step
=============================  ===========================================================

Guarantees:

* A checkpoint is one unit. ``save`` writes every file to a temporary name
  (``.NAME.SAVE_ID.tmp``) and fsyncs it, then renames the record into place: that rename
  is the commit. Only then are the other files renamed onto their names (and a training
  state no longer part of the checkpoint removed), and the folder fsynced. A save that
  dies before the commit leaves the previous checkpoint as it was; one that dies after it
  leaves the new one, whose files not yet renamed are read from their temporary names. A
  load never mixes the files of two saves: each file must have the size and sha256 the
  record lists, or it is refused. Temporary files of killed saves are ignored, and removed
  by the next save. (Two saves into one checkpoint at the same time are not supported.)
* Corruption is detected: a changed byte in any file fails a sha256 check (the manifest's,
  the record's own, or, for weights without a record, ``content_sha256``).
* Nothing is allocated beyond what the files hold: the safetensors header is read and
  checked first, and the parameter shapes the config asks for are computed and compared
  with it before the model is built. Configs whose memory would exceed
  ``MAX_MEMORY_ENTRIES`` (N*M per sequence) are refused too.
* Every failure is a one-line ``CheckpointError`` naming the file and what is wrong (a
  ``TypeError`` naming the parameter for a path of the wrong type).

Checkpoints written before the manifest existed (the shipped ``ntm_nb/pretrained`` models)
load as before; what can be checked without checksums still is: the header, the shapes,
the record's model config against the weights', and the training state's step against the
record's.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ntm_nb._version import __version__
from ntm_nb.baseline import LSTMBaseline, LSTMConfig
from ntm_nb.checkpoint_io import (
    FLOAT_DTYPES,
    CheckpointError,
    Header,
    as_path,
    check_content_sha256,
    expected_shapes,
    fsync_dir,
    new_save_id,
    one_line,
    parse_header,
    read_file,
    remove_leftovers,
    serialize,
    sha256,
    staged_name,
    tensors_from,
    write_file,
)
from ntm_nb.model import NTM, NTMConfig, is_ntm
from ntm_nb.optim import make_optimizer
from ntm_nb.records import BestState, History, TrainState
from ntm_nb.tasks import TASKS, Task, make_task

__all__ = [
    "FORMAT",
    "MAX_MEMORY_ENTRIES",
    "CheckpointError",
    "load",
    "load_record",
    "load_train_state",
    "save",
    "task_from_record",
    "weights_folder",
]

FORMAT = "ntm_nb-checkpoint-1"
MAX_MEMORY_ENTRIES = 2**24  # N*M of an NTM's memory, per sequence, that load accepts
_INTEGRITY_KEYS = ("format", "files", "save_id", "record_sha256")


def _paths(path: Path) -> tuple[Path, Path, Path]:
    if path.suffix in (".safetensors", ".json"):
        stem = path.with_suffix("")
        return (
            stem.with_suffix(".safetensors"),
            stem.with_suffix(".json"),
            stem.parent / (stem.name + ".train_state.safetensors"),
        )
    return path / "model.safetensors", path / "model.json", path / "train_state.safetensors"


def weights_folder(path: str | os.PathLike) -> Path:
    """The folder the files of the checkpoint at ``path`` (a folder or a file) lie in."""
    return _paths(as_path(path))[0].parent


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


def _canonical(record: dict[str, Any]) -> bytes:
    """The bytes ``record_sha256`` is the sha256 of: the record without it, as sorted JSON."""
    rest = {k: v for k, v in record.items() if k != "record_sha256"}
    return json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()


# ----------------------------------------------------------------------------------------
# Saving
# ----------------------------------------------------------------------------------------
def save(
    model: nn.Module,
    path: str | os.PathLike,
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
    the weights file. The checkpoint is replaced as a whole or not at all (see the module
    docstring).
    """
    path = as_path(path)
    kind = _kind(model)
    clash = sorted(set(extra or {}) & set(_INTEGRITY_KEYS))
    if clash:
        raise ValueError(f"extra: {clash} are the checkpoint's own keys; use other names")
    weights_path, json_path, state_path = _paths(path)
    config = model.config.to_dict()
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "kind": kind, "config": json.dumps(config)}
    files = {"weights": (weights_path, serialize(tensors, meta))}
    if train_state is not None:
        files["train_state"] = (state_path, _train_state_bytes(train_state))
    if seed is None and train_config is not None:
        seed = getattr(train_config, "seed", None)
    save_id = new_save_id()
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
        "files": {
            role: {"name": p.name, "size": len(data), "sha256": sha256(data)}
            for role, (p, data) in files.items()
        },
        "save_id": save_id,
    }
    record = json.loads(json.dumps(record))  # as it will read back: the checksum's input
    record["record_sha256"] = sha256(_canonical(record))
    text = json.dumps(record, indent=1).encode()
    stale = [] if train_state is not None else [state_path]
    _write_set(list(files.values()), (json_path, text), save_id, stale)
    return weights_path


def _write_set(
    files: list[tuple[Path, bytes]], record: tuple[Path, bytes], save_id: str, stale: list[Path]
) -> None:
    """Write ``files`` and then ``record`` as one unit (see the module docstring)."""
    folder = record[0].parent
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        fsync_dir(folder.parent)
    every = [*files, record]
    for target, _ in every:
        if target.exists() and not target.is_file():
            raise ValueError(f"{target}: exists and is not a file; cannot save a checkpoint there")
    staged: list[Path] = []
    committed = False
    try:
        for target, data in every:
            staged.append(folder / staged_name(target.name, save_id))
            write_file(staged[-1], data)
        fsync_dir(folder)  # the staged files exist before the record that lists them
        os.replace(staged[-1], record[0])  # the commit
        committed = True
    finally:
        if not committed:
            for tmp in staged:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
    fsync_dir(folder)
    for (target, _), tmp in zip(files, staged):
        os.replace(tmp, target)
    for target in stale:
        if target.is_file():
            os.unlink(target)
    fsync_dir(folder)
    remove_leftovers(folder, [target.name for target, _ in every] + [p.name for p in stale])


def _optimizer_tensors(
    opt_state: dict[str, Any], prefix: str, tensors: dict[str, torch.Tensor]
) -> dict[str, dict[str, Any]]:
    """Put an optimizer state_dict's tensors into ``tensors`` (as PREFIX.PID.KEY); return
    its other values, per parameter id."""
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entry in opt_state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{pid}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return scalars


def _train_state_bytes(state: TrainState) -> bytes:
    if not isinstance(state, TrainState):
        raise TypeError(f"train_state: expected a TrainState or None, got {type(state).__name__}")
    opt_state = state.optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {"generator": state.generator.get_state()}
    scalars = _optimizer_tensors(opt_state, "opt", tensors)
    meta = {
        "format": FORMAT,
        "step": str(state.step),
        "seconds": repr(float(state.seconds)),
        "param_groups": json.dumps(opt_state["param_groups"]),
        "scalars": json.dumps(scalars),
        "optimizer": type(state.optimizer).__name__,
        "history": json.dumps(state.history.to_dict()),
        "lr_scale": repr(float(state.lr_scale)),
        "pace_window": json.dumps([float(v) for v in state.pace_window]),
    }
    if state.best is not None:  # the rollback's target: its weights and optimizer state
        best = state.best
        for name, value in best.model.items():
            tensors[f"best.model.{name}"] = value.detach().contiguous().cpu()
        best_scalars = _optimizer_tensors(best.optimizer, "best.opt", tensors)
        meta["best"] = json.dumps(
            {
                "step": best.step,
                "cost": best.cost,
                "scalars": best_scalars,
                "param_groups": best.optimizer["param_groups"],
            }
        )
    return serialize(tensors, meta)


# ----------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------
def _check_manifest(json_path: Path, record: dict[str, Any]) -> None:
    files = record.get("files")
    if files is None:
        return  # a checkpoint from before the manifest
    ok = isinstance(files, dict) and isinstance(record.get("save_id"), str)
    ok = ok and all(
        isinstance(e, dict) and type(e.get("size")) is int and isinstance(e.get("sha256"), str)
        for e in files.values()
    )
    if not ok:
        raise CheckpointError(f"{json_path}: its 'files' manifest is malformed")


def _file_of(record: dict[str, Any], role: str, path: Path, json_path: Path) -> bytes:
    """The bytes of the checkpoint's file ``role`` (at ``path``), checked against the
    record's manifest; a file the last save had not yet renamed is read from its staged
    name."""
    files = record.get("files")
    if files is None:  # no record, or one from before the manifest
        return read_file(path)
    entry = files.get(role)
    if entry is None:
        if not path.exists():
            raise CheckpointError(f"{path}: file not found")
        raise CheckpointError(
            f"{path}: not part of the checkpoint {json_path.name} records (left by an earlier "
            "save?)"
        )
    found = False
    for candidate in (path, path.parent / staged_name(path.name, record["save_id"])):
        try:
            data = candidate.read_bytes()
        except OSError:
            continue
        found = True
        if len(data) == entry["size"] and sha256(data) == entry["sha256"]:
            return data
    if not found:
        raise CheckpointError(f"{path}: file not found ({json_path.name} lists it)")
    raise CheckpointError(
        f"{path}: its size or sha256 differs from those {json_path.name} records: the file is "
        "truncated or corrupted, or belongs to another save"
    )


def _read(record: dict[str, Any], role: str, path: Path, json_path: Path) -> tuple[bytes, Header]:
    data = _file_of(record, role, path, json_path)
    header = parse_header(path, data)
    if header.metadata.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not an ntm_nb checkpoint (format {header.metadata.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
    if record.get("files") is None:  # else the manifest's sha256 covered the whole file
        check_content_sha256(path, data, header)
    return data, header


def _config(kind: str, config: Any, source: Path) -> NTMConfig | LSTMConfig:
    try:
        if kind == "ntm":
            return NTMConfig(**config)
        if kind == "lstm":
            return LSTMConfig(**config)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{source}: invalid model config: {err}") from None
    raise CheckpointError(f"{source}: unknown model kind {kind!r} (expected 'ntm' or 'lstm')")


def _check_shapes(path: Path, header: Header, config: NTMConfig | LSTMConfig) -> None:
    """Refuse weights whose tensors are not those ``config`` asks for, before building."""
    have = header.tensors
    mismatch = f"{path}: weights do not match the model config"
    try:
        # the bound only keeps a crafted layer count from looping: missing tensors are named
        want = expected_shapes(config, limit=2 * len(have) + 16)
    except ValueError as err:
        raise CheckpointError(f"{mismatch}: {err}, the file has {len(have)}") from None
    missing = [k for k in want if k not in have]
    unexpected = [k for k in have if k not in want]
    problems = []
    for what, names in (("missing", missing), ("unexpected", unexpected)):
        if names:
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            problems.append(f"{what} tensors {', '.join(map(repr, names[:3]))}{more}")
    for k, shape in want.items():
        if k in have and have[k][1] != shape:
            problems.append(f"tensor {k!r} has shape {have[k][1]}, the config needs {shape}")
    problems += [
        f"tensor {k!r} has dtype {dtype}, not a floating-point one"
        for k, (dtype, _) in have.items()
        if dtype not in FLOAT_DTYPES
    ]
    if problems:
        raise CheckpointError(f"{mismatch}: {'; '.join(problems[:3])}")
    if isinstance(config, NTMConfig) and config.N * config.M > MAX_MEMORY_ENTRIES:
        raise CheckpointError(
            f"{path}: memory of N*M = {config.N}*{config.M} entries per sequence, over the "
            f"{MAX_MEMORY_ENTRIES:,} accepted (ntm_nb.checkpoint.MAX_MEMORY_ENTRIES)"
        )


def load_record(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON record of a checkpoint (configs, history, command), without the weights."""
    _, json_path, _ = _paths(as_path(path))
    if not json_path.is_file():
        raise CheckpointError(f"{json_path}: file not found")
    try:
        record = json.loads(read_file(json_path).decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(
            f"{json_path}: not valid JSON (truncated or corrupted?): {err}"
        ) from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise CheckpointError(f"{json_path}: not an ntm_nb checkpoint record")
    want = record.get("record_sha256")
    if want is not None and sha256(_canonical(record)) != want:
        raise CheckpointError(
            f"{json_path}: the record does not match its record_sha256 (corrupted, or edited? "
            'to keep a deliberate edit, delete its "record_sha256" entry)'
        )
    _check_manifest(json_path, record)
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


def _device(device: Any) -> torch.device:
    if isinstance(device, torch.device):
        return device
    if isinstance(device, (str, int)) and not isinstance(device, bool):
        try:
            return torch.device(device)
        except (RuntimeError, ValueError):
            pass
        raise ValueError(f"device: unknown device {device!r}; accepted: cpu, cuda, cuda:N, mps")
    raise TypeError(f"device: expected a str or torch.device, got {type(device).__name__}")


def load(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the exact model saved at ``path`` (a folder or a ``.safetensors`` file).

    The model comes back in eval mode. Its JSON record, if present, is attached as
    ``model.checkpoint`` (a dict: task, history, command, ...).
    """
    path = as_path(path)
    device = _device(device)
    weights_path, json_path, _ = _paths(path)
    if not (weights_path.exists() or path.exists() or json_path.exists()):
        raise CheckpointError(
            f"{path}: no such checkpoint (expected a folder or a .safetensors file)"
        )
    record = load_record(path) if json_path.is_file() else {}
    data, header = _read(record, "weights", weights_path, json_path)
    try:
        config = json.loads(header.metadata["config"])
    except (KeyError, json.JSONDecodeError) as err:
        raise CheckpointError(
            f"{weights_path}: model config missing from the metadata: {err}"
        ) from None
    model_config = _config(header.metadata.get("kind", ""), config, weights_path)
    _check_shapes(weights_path, header, model_config)
    tensors = tensors_from(weights_path, data)
    del data
    model = NTM(model_config) if isinstance(model_config, NTMConfig) else LSTMBaseline(model_config)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise CheckpointError(
            f"{weights_path}: weights do not match the model config: {' '.join(first)[:500]}"
        ) from None
    if record and record.get("model_config") != config:
        raise CheckpointError(f"{json_path}: its model config does not match {weights_path.name}")
    model.checkpoint = record  # type: ignore[attr-defined]
    return model.to(device).eval()


def load_train_state(path: str | os.PathLike, model: nn.Module, train_config: Any) -> TrainState:
    """The ``TrainState`` saved beside a checkpoint, rebuilt around ``model``'s parameters."""
    path = as_path(path)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    _, json_path, state_path = _paths(path)
    record = load_record(path) if json_path.is_file() else {}
    data, header = _read(record, "train_state", state_path, json_path)
    meta = header.metadata
    saved_step, record_step = meta.get("step"), record.get("step")
    if saved_step is not None and record_step is not None and saved_step != str(record_step):
        raise CheckpointError(
            f"{state_path}: saved at step {saved_step}, but {json_path.name} is at step "
            f"{record_step}: the files are of different saves"
        )
    tensors = tensors_from(state_path, data)
    del data
    optimizer = make_optimizer(model, train_config)
    if type(optimizer).__name__ != meta.get("optimizer"):
        raise CheckpointError(
            f"{state_path}: saved with optimizer {meta.get('optimizer')}, but the config asks for "
            f"{type(optimizer).__name__}"
        )
    try:
        state = _optimizer_state(tensors, "opt.", json.loads(meta["scalars"]))
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
        groups = optimizer.state_dict()["param_groups"]
        saved_groups = _with_params(json.loads(meta["param_groups"]), groups)
        optimizer.load_state_dict({"state": state, "param_groups": saved_groups})
        generator = torch.Generator()
        generator.set_state(tensors["generator"])
        history = History.from_dict(json.loads(meta["history"]))
        step, seconds = int(meta["step"]), float(meta["seconds"])
        best = _best_state(tensors, meta, groups, model) if "best" in meta else None
        lr_scale = float(meta.get("lr_scale", "1.0"))
        wrong, out = (float(v) for v in json.loads(meta.get("pace_window", "[0, 0]")))
    except (KeyError, ValueError, RuntimeError, TypeError, AttributeError, IndexError) as err:
        raise CheckpointError(
            f"{state_path}: training state does not match the model/optimizer: {one_line(err)}"
        ) from None
    return TrainState(
        step=step,
        optimizer=optimizer,
        generator=generator,
        history=history,
        seconds=seconds,
        best=best,
        lr_scale=lr_scale,
        pace_window=(wrong, out),
    )


def _optimizer_state(
    tensors: dict[str, torch.Tensor], prefix: str, scalars: dict[str, dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """An optimizer state_dict's "state", from what ``_optimizer_tensors`` wrote."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix):
            pid, name = key[len(prefix) :].split(".", 1)
            state.setdefault(int(pid), {})[name] = value
    for pid, entry in scalars.items():
        state.setdefault(int(pid), {}).update(entry)
    return state


def _with_params(saved_groups: list[dict], groups: list[dict]) -> list[dict]:
    """Saved param_groups with the parameter ids of the optimizer's own ``groups``."""
    for group, saved in zip(groups, saved_groups):
        saved["params"] = group["params"]
    return saved_groups


def _best_state(
    tensors: dict[str, torch.Tensor], meta: dict[str, str], groups: list, model: nn.Module
) -> BestState:
    """The rollback's target saved with a training state (``TrainConfig.rollback``)."""
    saved = json.loads(meta["best"])
    prefix = "best.model."
    weights = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    own = {k: v.shape for k, v in model.state_dict().items()}
    if {k: v.shape for k, v in weights.items()} != own:
        raise ValueError("the saved best state's weights do not match the model")
    optimizer = {
        "state": _optimizer_state(tensors, "best.opt.", saved["scalars"]),
        "param_groups": _with_params(saved["param_groups"], groups),
    }
    return BestState(int(saved["step"]), float(saved["cost"]), weights, optimizer)
