"""The low level of ``ntm_nb.checkpoint``: safetensors headers read by hand, checksums, the
shapes a model config needs, and crash-safe writing of a set of files.

Nothing here allocates more than the files it reads: a safetensors header (8-byte
little-endian length, then JSON) is parsed and checked against the file's size before any
tensor is made, and ``expected_shapes`` computes a model's parameter shapes from its config
with integer arithmetic, so a crafted config is refused before the model is built.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from ntm_nb.baseline import LSTMConfig
from ntm_nb.model import NTMConfig

__all__ = [
    "CONTENT_SHA256",
    "FLOAT_DTYPES",
    "CheckpointError",
    "Header",
    "as_path",
    "check_content_sha256",
    "expected_shapes",
    "fsync_dir",
    "new_save_id",
    "one_line",
    "parse_header",
    "read_file",
    "remove_leftovers",
    "replace_file",
    "serialize",
    "sha256",
    "staged_name",
    "tensors_from",
    "write_file",
]

CONTENT_SHA256 = "content_sha256"  # metadata key: sha256 of the header (less it) and data
MAX_HEADER_BYTES = 100_000_000  # as safetensors itself
_ITEMSIZE = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted or does not match its model."""


def as_path(value: Any, name: str = "path") -> Path:
    """``value`` as a ``Path``; a ``TypeError`` naming ``name`` unless it is a str or an
    ``os.PathLike`` giving a str, a ``ValueError`` if it is empty."""
    text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if not isinstance(text, str):
        raise TypeError(f"{name}: expected a str or os.PathLike, got {type(value).__name__}")
    if not text:
        raise ValueError(f"{name}: expected a folder or file name, got an empty string")
    return Path(text)


def sha256(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def one_line(err: BaseException, limit: int = 300) -> str:
    return " ".join(str(err).split())[:limit]


def read_file(path: Path) -> bytes:
    """The bytes of ``path``; a ``CheckpointError`` naming it if it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found") from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read it: {err.strerror or err}") from None


# ----------------------------------------------------------------------------------------
# safetensors files
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Header:
    """A safetensors header: the metadata, each tensor's (dtype, shape), where data starts."""

    metadata: dict[str, str]
    tensors: dict[str, tuple[str, tuple[int, ...]]]
    data_start: int
    entries: dict[str, Any]  # the header's JSON, as parsed, less the metadata


def parse_header(path: Path, data: bytes) -> Header:
    """The header of the safetensors file ``data`` (read from ``path``), checked: every
    tensor's bytes lie in the file, sized by its dtype and shape, one after another."""
    bad = f"{path}: not a readable safetensors file (truncated or corrupted?)"
    if len(data) < 8:
        raise CheckpointError(f"{bad}: {len(data)} bytes, too short for a header")
    n = int.from_bytes(data[:8], "little")
    if n > min(len(data) - 8, MAX_HEADER_BYTES):
        raise CheckpointError(f"{bad}: a header of {n} bytes in a file of {len(data)}")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{bad}: its header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{bad}: its header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{bad}: its metadata is not a map of strings")
    size = len(data) - 8 - n
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    spans = []
    for name, entry in header.items():
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise CheckpointError(
                f"{bad}: tensor {name!r} has no dtype, shape or offsets"
            ) from None
        if dtype not in _ITEMSIZE:
            raise CheckpointError(f"{bad}: tensor {name!r} has an unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise CheckpointError(f"{bad}: tensor {name!r} has a bad shape {shape!r}")
        if not (type(begin) is int and type(end) is int and 0 <= begin <= end <= size):
            raise CheckpointError(
                f"{bad}: tensor {name!r} lies outside the file's {size} bytes of data"
            )
        if math.prod(shape) * _ITEMSIZE[dtype] != end - begin:
            raise CheckpointError(
                f"{bad}: tensor {name!r} of shape {tuple(shape)} holds {end - begin} bytes"
            )
        spans.append((begin, end))
        tensors[name] = (dtype, tuple(shape))
    at = 0
    for begin, end in sorted(spans):
        if begin != at:
            raise CheckpointError(f"{bad}: its tensors overlap or leave gaps")
        at = end
    if at != size:
        raise CheckpointError(f"{bad}: {size - at} bytes after the last tensor")
    return Header(metadata=meta, tensors=tensors, data_start=8 + n, entries=header)


def _content_sha256(entries: dict[str, Any], metadata: dict[str, str], data: memoryview) -> str:
    """The sha256 of a file's header (as sorted JSON, without ``CONTENT_SHA256``) and data."""
    meta = {k: v for k, v in metadata.items() if k != CONTENT_SHA256}
    head = json.dumps({**entries, "__metadata__": meta}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(head.encode())
    digest.update(b"\0")
    digest.update(data)
    return digest.hexdigest()


def check_content_sha256(path: Path, data: bytes, header: Header) -> None:
    """If the metadata records the sha256 of the file's content, check it."""
    want = header.metadata.get(CONTENT_SHA256)
    body = memoryview(data)[header.data_start :]
    if want is not None and _content_sha256(header.entries, header.metadata, body) != want:
        raise CheckpointError(
            f"{path}: its content does not match the sha256 in its header (corrupted?)"
        )


def tensors_from(path: Path, data: bytes) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file whose header ``parse_header`` has checked."""
    try:
        return safetensors.torch.load(data)
    except Exception as err:  # safetensors raises its own error types for bad files
        raise CheckpointError(
            f"{path}: not a readable safetensors file (truncated or corrupted?): {one_line(err)}"
        ) from None


def serialize(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    """A safetensors file of ``tensors`` whose metadata also holds the sha256 of its content
    (``CONTENT_SHA256``: the header less that entry, and the data)."""
    plain = safetensors.torch.save(tensors, metadata=metadata)
    header = parse_header(Path("<serialized>"), plain)
    digest = _content_sha256(header.entries, metadata, memoryview(plain)[header.data_start :])
    out = safetensors.torch.save(tensors, metadata={**metadata, CONTENT_SHA256: digest})
    # the layout depends on the tensors only: ``out`` has the header entries hashed above
    again = parse_header(Path("<serialized>"), out)
    if again.entries != header.entries or out[again.data_start :] != plain[header.data_start :]:
        raise RuntimeError("safetensors laid out the same tensors differently twice")
    return out


# ----------------------------------------------------------------------------------------
# What a model config needs
# ----------------------------------------------------------------------------------------
def expected_shapes(config: NTMConfig | LSTMConfig, limit: int) -> dict[str, tuple[int, ...]]:
    """The state-dict shapes of ``NTM(config)`` or ``LSTMBaseline(config)``, computed without
    building the model; a ``ValueError`` if it would have more than ``limit`` tensors.

    Mirrors the modules' ``__init__``; tests/test_checkpoint_faults.py checks it against
    the real models."""
    if isinstance(config, LSTMConfig):
        layers, h = config.num_layers, config.hidden_size
        if 4 * layers + 2 > limit:
            raise ValueError(f"num_layers={layers} needs {4 * layers + 2} tensors")
        shapes: dict[str, tuple[int, ...]] = {}
        for i in range(layers):
            shapes[f"lstm.weight_ih_l{i}"] = (4 * h, config.input_size if i == 0 else h)
            shapes[f"lstm.weight_hh_l{i}"] = (4 * h, h)
            shapes[f"lstm.bias_ih_l{i}"] = (4 * h,)
            shapes[f"lstm.bias_hh_l{i}"] = (4 * h,)
        shapes["output.weight"] = (config.output_size, h)
        shapes["output.bias"] = (config.output_size,)
        return shapes
    c = config
    R, W, cs, layers = c.num_read_heads, c.num_write_heads, c.controller_size, c.controller_layers
    if 2 * layers + 6 > limit:
        raise ValueError(f"controller_layers={layers} needs {2 * layers + 6} tensors")
    shapes = {}
    width = c.input_size + R * c.M
    for i in range(layers):
        if c.controller == "lstm":
            shapes[f"controller.gates.{i}.weight"] = (4 * cs, width + cs)
            shapes[f"controller.gates.{i}.bias"] = (4 * cs,)
        else:
            shapes[f"controller.layers.{i}.weight"] = (cs, width)
            shapes[f"controller.layers.{i}.bias"] = (cs,)
        width = cs
    heads_out = (R + W) * (c.M + 4 + 2 * c.shift_range) + W * 2 * c.M
    shapes["heads.linear.weight"] = (heads_out, cs)
    shapes["heads.linear.bias"] = (heads_out,)
    shapes["output.weight"] = (c.output_size, cs + R * c.M)
    shapes["output.bias"] = (c.output_size,)
    shapes["r0"] = (R, c.M)
    shapes["w0_logits"] = (R + W, c.N)
    if c.memory_init == "learned":
        shapes["memory0"] = (c.N, c.M)
    return shapes


# ----------------------------------------------------------------------------------------
# Writing: every file to a temporary ("staged") name, fsynced, then renamed
# ----------------------------------------------------------------------------------------
def new_save_id() -> str:
    return secrets.token_hex(6)


def staged_name(name: str, save_id: str) -> str:
    """The temporary name the file ``name`` of save ``save_id`` is written to first."""
    return f".{name}.{save_id}.tmp"


def write_file(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist yet), write ``data`` and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: ``data`` goes to a staged file first, which then
    replaces ``path`` in one rename; a write killed or failed part-way leaves the old file."""
    staged = path.with_name(staged_name(path.name, new_save_id()))
    try:
        write_file(staged, data)
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make the renames in ``folder`` durable (where the platform can: not on Windows)."""
    if os.name == "nt":  # pragma: no cover
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems cannot sync a folder
        pass
    finally:
        os.close(fd)


def remove_leftovers(folder: Path, names: Iterable[str], keep: Iterable[str] = ()) -> None:
    """Remove the temporary files that interrupted saves of the files ``names`` left in
    ``folder`` (except those in ``keep``)."""
    keep = set(keep)
    try:
        entries = os.listdir(folder)
    except OSError:  # pragma: no cover
        return
    prefixes = tuple(f".{name}." for name in names)
    for entry in entries:
        if entry.startswith(prefixes) and entry.endswith(".tmp") and entry not in keep:
            try:
                os.unlink(folder / entry)
            except OSError:
                pass
