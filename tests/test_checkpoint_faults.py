"""Checkpoint integrity under faults: a save killed at every file operation, crafted and
corrupted files, wrong-typed paths. Every outcome is either a complete checkpoint (the old
or the new one, resuming bitwise like an uninterrupted run) or a one-line error."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch
from _tiny import tiny_flags
from safetensors.torch import save_file
from torch import nn

import ntm_nb.checkpoint as checkpoint_module
import ntm_nb.pretrained as pretrained
from ntm_nb import NTM, LSTMBaseline, LSTMConfig, NTMConfig, make_task
from ntm_nb.checkpoint import (
    FORMAT,
    CheckpointError,
    load,
    load_record,
    load_train_state,
    save,
    weights_folder,
)
from ntm_nb.checkpoint_io import expected_shapes, parse_header
from ntm_nb.cli import main
from ntm_nb.train import TrainConfig, train

COPY = make_task("copy", bits=4, min_len=1, max_len=3)
CFG = TrainConfig(
    steps=8, batch_size=4, lr=3e-3, log_every=2, eval_every=4, eval_sequences=8, compile=False
)
TINY = tiny_flags(batch_size=4, eval_every=3, eval_sequences=8, max_len=3)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _ntm(**kw: Any) -> NTM:
    cfg = {"input_size": 5, "output_size": 4, "controller_size": 8, "N": 8, "M": 4, **kw}
    return NTM(NTMConfig(**cfg))


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _one_line(err: BaseException | str) -> str:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text, text
    return text


# ----------------------------------------------------------------------------------------
# A save killed at its k-th file operation
# ----------------------------------------------------------------------------------------
class Killer:
    """Kills the process at its ``k``-th file operation in ``root`` (create, write, fsync,
    rename, remove): that operation raises ``exc`` (a write first writes half its bytes),
    and so does every later one, since nothing runs after a real kill, not even the
    cleanup in ``finally`` blocks. ``k=None`` only counts the operations."""

    NAMES = ("open", "write", "fsync", "replace", "rename", "unlink", "remove", "close")

    def __init__(self, root: Path, k: int | None, exc: type[BaseException], armed: bool = True):
        self.root, self.k, self.exc, self.armed = os.path.abspath(root), k, exc, armed
        self.count, self.dead, self.fds = 0, False, set()
        self.real = {name: getattr(os, name) for name in self.NAMES}

    def _inside(self, path: Any) -> bool:
        if isinstance(path, int):
            return False
        path = os.path.abspath(os.fspath(path))
        return path == self.root or path.startswith(self.root + os.sep)

    def _dies_here(self) -> bool:
        if self.dead:
            raise self.exc()
        self.count += 1
        self.dead = self.count == self.k
        return self.dead

    def patch(self, mp: pytest.MonkeyPatch) -> None:
        real = self.real

        def open_(path, flags, mode=0o777, *, dir_fd=None):
            if not (self.armed and self._inside(path)):
                return real["open"](path, flags, mode, dir_fd=dir_fd)
            if self._dies_here():
                raise self.exc()
            fd = real["open"](path, flags, mode)
            self.fds.add(fd)
            return fd

        def write(fd, data):
            if self.armed and fd in self.fds and self._dies_here():
                real["write"](fd, bytes(data)[: len(data) // 2])
                raise self.exc()
            return real["write"](fd, data)

        def fsync(fd):
            if self.armed and fd in self.fds and self._dies_here():
                raise self.exc()
            return real["fsync"](fd)

        def close(fd):
            self.fds.discard(fd)
            return real["close"](fd)

        def on_path(name):
            def op(path, *args, **kwargs):
                if self.armed and self._inside(path) and self._dies_here():
                    raise self.exc()
                return real[name](path, *args, **kwargs)

            return op

        for name, fn in [("open", open_), ("write", write), ("fsync", fsync), ("close", close)]:
            mp.setattr(os, name, fn)
        for name in ("replace", "rename", "unlink", "remove"):
            mp.setattr(os, name, on_path(name))


def _killed(monkeypatch, root: Path, k: int | None, exc: type[BaseException], fn) -> Killer:
    """Run ``fn()`` killed at operation ``k``; the Killer tells how many operations ran."""
    killer = Killer(root, k, exc)
    with monkeypatch.context() as mp:
        killer.patch(mp)
        try:
            fn()
        except exc:
            assert killer.dead, "the save failed by itself"
        else:
            assert not killer.dead, "a killed save returned normally"
    return killer


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Any]:
    """Two checkpoints of one run: "A" at step 2 and "B" at step 4, loaded."""
    root = tmp_path_factory.mktemp("runs")
    torch.set_num_threads(1)
    out: dict[str, Any] = {"root": root}
    for name, steps in (("A", 2), ("B", 4)):
        torch.manual_seed(0)
        train(_ntm(), COPY, CFG, steps=steps, checkpoint_dir=root / name, progress=False)
        model = load(root / name)
        state = load_train_state(root / name, model, CFG)
        out[name] = {
            "model": model,
            "state": state,
            "weights": {k: v.clone() for k, v in model.state_dict().items()},
            "opt": state.optimizer.state_dict()["state"],
            "step": steps,
        }
    return out


def _save_b(runs, folder: Path, with_state: bool = True) -> None:
    b = runs["B"]
    save(
        b["model"],
        folder,
        task=COPY,
        history=b["state"].history,
        train_config=CFG,
        train_state=b["state"] if with_state else None,
        command="B",
    )


def _which(runs, folder: Path, names=("A", "B")) -> str | None:
    """Which complete checkpoint ``load`` finds in ``folder`` (None: a one-line refusal);
    its record and training state must be of the same save as its weights."""
    try:
        model = load(folder)
    except CheckpointError as err:
        assert str(folder) in _one_line(err)
        return None
    found = [n for n in names if _same(model.state_dict(), runs[n]["weights"])]
    assert len(found) == 1, "weights of neither save"
    name = found[0]
    record = model.checkpoint
    if record.get("step") is None:  # B saved without a training state
        assert record["command"] == "B"
        with pytest.raises(CheckpointError) as info:
            load_train_state(folder, model, CFG)
        assert "train_state.safetensors" in _one_line(info.value)
        return name
    assert record["step"] == runs[name]["step"]
    state = load_train_state(folder, model, CFG)
    assert state.step == runs[name]["step"]
    saved = state.optimizer.state_dict()["state"]
    for pid, entry in runs[name]["opt"].items():
        for key, value in entry.items():
            assert torch.equal(saved[pid][key], value), (pid, key)
    return name


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("exc", [SystemExit, KeyboardInterrupt])
def test_a_save_over_a_checkpoint_killed_anywhere_leaves_the_old_or_the_new(
    runs, tmp_path, monkeypatch, exc
):
    probe = tmp_path / "probe"
    shutil.copytree(runs["root"] / "A", probe)
    points = _killed(monkeypatch, probe, None, exc, lambda: _save_b(runs, probe)).count
    assert points >= 11  # 3 files x (create, write, fsync), 3 renames, 3 folder fsyncs
    outcomes = []
    for k in range(1, points + 1):
        folder = tmp_path / f"k{k}"
        shutil.copytree(runs["root"] / "A", folder)
        _killed(monkeypatch, folder, k, exc, lambda f=folder: _save_b(runs, f))
        outcomes.append(_which(runs, folder))
        # the next save completes, and removes what the killed one left
        _save_b(runs, folder)
        assert _which(runs, folder) == "B"
        assert _leftovers(folder) == []
    assert None not in outcomes  # never refused: a complete checkpoint is always there
    assert outcomes[0] == "A" and outcomes[-1] == "B"
    assert outcomes == sorted(outcomes)  # old until the commit, new from it on


def test_a_first_save_killed_anywhere_leaves_nothing_or_the_whole_checkpoint(
    runs, tmp_path, monkeypatch
):
    probe = tmp_path / "probe"
    points = _killed(monkeypatch, probe, None, SystemExit, lambda: _save_b(runs, probe)).count
    outcomes = []
    for k in range(1, points + 1):
        folder = tmp_path / f"k{k}"
        _killed(monkeypatch, folder, k, SystemExit, lambda f=folder: _save_b(runs, f))
        outcomes.append(_which(runs, folder))  # None: "model.safetensors: file not found"
    assert outcomes[0] is None and outcomes[-1] == "B"
    assert set(outcomes) == {None, "B"}


def test_a_save_without_training_state_killed_anywhere(runs, tmp_path, monkeypatch):
    """The old training state goes too: it is never resumed beside the new weights."""
    probe = tmp_path / "probe"
    shutil.copytree(runs["root"] / "A", probe)
    save_b = lambda f: _save_b(runs, f, with_state=False)  # noqa: E731
    points = _killed(monkeypatch, probe, None, SystemExit, lambda: save_b(probe)).count
    outcomes = []
    for k in range(1, points + 1):
        folder = tmp_path / f"k{k}"
        shutil.copytree(runs["root"] / "A", folder)
        _killed(monkeypatch, folder, k, SystemExit, lambda f=folder: save_b(f))
        outcomes.append(_which(runs, folder))
    assert outcomes[0] == "A" and outcomes[-1] == "B" and None not in outcomes
    assert not (probe / "train_state.safetensors").exists()


def _cli(capsys, *args: object) -> tuple[int, str]:
    code = main([str(a) for a in args])
    _, err = capsys.readouterr()
    return code, err


def test_the_cli_after_a_save_killed_anywhere_evaluates_and_resumes_exactly(
    tmp_path, monkeypatch, capsys
):
    """``ntm-nb train --resume`` killed in its final save, at every file operation: then
    ``ntm-nb eval`` works and ``--resume`` ends with the weights of an uninterrupted run."""
    base, straight = tmp_path / "base", tmp_path / "straight"
    assert _cli(capsys, "train", "copy", "--steps", "2", *TINY, "--out", base)[0] == 0
    assert _cli(capsys, "train", "copy", "--steps", "6", *TINY, "--out", straight)[0] == 0
    expected = safetensors.torch.load_file(str(straight / "model.safetensors"))
    resume = ("train", "copy", "--resume", "--no-progress", "--no-compile", "--out")

    def killed_resume(folder: Path, k: int | None) -> Killer:
        killer = Killer(folder, k, SystemExit, armed=False)
        real_write_set = checkpoint_module._write_set

        def armed(*args, **kwargs):  # count the save's operations only
            killer.armed = True
            return real_write_set(*args, **kwargs)

        with monkeypatch.context() as mp:
            killer.patch(mp)
            mp.setattr(checkpoint_module, "_write_set", armed)
            try:
                code = main([*resume, str(folder), "--steps", "4"])
            except SystemExit:
                assert killer.dead
            else:
                assert code == 0 and not killer.dead
        capsys.readouterr()
        return killer

    probe = tmp_path / "probe"
    shutil.copytree(base, probe)
    points = killed_resume(probe, None).count
    assert points >= 11
    steps_found = []
    for k in range(1, points + 1):
        folder = tmp_path / f"k{k}"
        shutil.copytree(base, folder)
        killed_resume(folder, k)
        code, err = _cli(capsys, "eval", folder, "--num-sequences", "8")
        assert code == 0 or (code == 2 and _one_line(err.strip())), err
        steps_found.append(load_record(folder)["step"])
        code, err = _cli(capsys, *resume, folder, "--steps", "6")
        assert code == 0, err  # the checkpoint is always complete, so never refused
        weights = safetensors.torch.load_file(str(folder / "model.safetensors"))
        assert _same(weights, expected), f"killed at operation {k}: resumed differently"
        assert _leftovers(folder) == []
    assert steps_found[0] == 2 and steps_found[-1] == 4


# ----------------------------------------------------------------------------------------
# Crafted checkpoints: refused before anything big is allocated
# ----------------------------------------------------------------------------------------
def _crafted(folder: Path, model: nn.Module, config: dict[str, Any], kind: str = "ntm") -> Path:
    """Weights of ``model`` under a metadata config of one's choice (no record)."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "model.safetensors"
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "kind": kind, "config": json.dumps(config)}
    save_file(tensors, str(weights), metadata=meta)
    return weights


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


HUGE = [
    ("ntm", {"N": 10**9}),  # w0_logits alone: 8 GB
    ("ntm", {"controller_size": 10**6}),  # 16 TB of gates
    ("ntm", {"M": 10**8, "memory_init": "learned"}),
    ("ntm", {"controller_layers": 10**9}),  # a billion layers to build
    ("ntm", {"num_read_heads": 10**7, "num_write_heads": 10**7}),
    ("ntm", {"shift_range": 10**8, "N": 10**9}),
    ("lstm", {"hidden_size": 10**7}),
    ("lstm", {"num_layers": 10**9}),
]


@pytest.mark.parametrize("kind, huge", HUGE, ids=[f"{k}-{'-'.join(h)}" for k, h in HUGE])
def test_a_huge_config_in_a_small_file_is_refused_at_once(tmp_path, kind, huge):
    small = _ntm() if kind == "ntm" else LSTMBaseline(LSTMConfig(5, 4, 8, 1))
    weights = _crafted(tmp_path, small, {**small.config.to_dict(), **huge}, kind)
    assert weights.stat().st_size < 10_000
    rss = _peak_rss_mb()
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as info:
        load(tmp_path)
    assert time.perf_counter() - start < 0.5
    assert _peak_rss_mb() - rss < 200
    expected = f"{weights}: weights do not match the model config: "
    assert _one_line(info.value).startswith(expected)


def test_a_memory_too_big_to_run_is_refused(tmp_path, monkeypatch):
    """Consistent weights, but N*M entries per sequence that eval could never hold."""
    model = _ntm(N=8192, M=4096, controller_size=1)
    save(model, tmp_path)
    with pytest.raises(CheckpointError, match=r"N\*M = 8192\*4096 entries .*MAX_MEMORY_ENTRIES"):
        load(tmp_path)
    monkeypatch.setattr(checkpoint_module, "MAX_MEMORY_ENTRIES", 2**25)
    assert load(tmp_path).config.N == 8192


@pytest.mark.parametrize(
    "entry, match",
    [
        ({"dtype": "F32", "shape": [10**9, 10**9], "data_offsets": [0, 16]}, "holds 16 bytes"),
        ({"dtype": "F32", "shape": [4], "data_offsets": [0, 10**12]}, "lies outside"),
        ({"dtype": "Q99", "shape": [4], "data_offsets": [0, 16]}, "unknown dtype"),
        ({"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}, "bad shape"),
        ({"dtype": "F32", "shape": [4]}, "no dtype, shape or offsets"),
    ],
)
def test_a_crafted_header_is_refused_before_reading_tensors(tmp_path, entry, match):
    header = json.dumps({"x": entry, "__metadata__": {"format": FORMAT}}).encode()
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(len(header).to_bytes(8, "little") + header + bytes(16))
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(weights))}: .*{match}"):
        load(tmp_path)


def test_a_header_length_beyond_the_file_is_refused(tmp_path):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes((2**60).to_bytes(8, "little") + b"{}")
    with pytest.raises(CheckpointError, match="a header of 1152921504606846976 bytes"):
        load(tmp_path)


# ----------------------------------------------------------------------------------------
# Corrupted, truncated, mismatched and mixed files: one-line CheckpointErrors
# ----------------------------------------------------------------------------------------
@pytest.fixture
def saved(runs, tmp_path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(runs["root"] / "B", folder)
    return folder


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


def _data_start(path: Path) -> int:
    return parse_header(path, path.read_bytes()).data_start


def _refused(folder: Path, path: Path, match: str, what=load) -> str:
    """``what(folder)`` raises a one-line CheckpointError naming ``path``, and ``ntm-nb
    eval`` exits with status 2 and that one line."""
    args = (folder,) if what is load else (folder, load(folder), CFG)
    with pytest.raises(CheckpointError) as info:
        what(*args)
    text = _one_line(info.value)
    assert text.startswith(f"{path}: ") and re.search(match, text), text
    return text


def _eval_refuses(capsys, folder: Path, path: Path) -> None:
    code, err = _cli(capsys, "eval", folder, "--num-sequences", "4")
    assert code == 2 and err.startswith(f"ntm-nb eval: error: {path}: "), err
    assert err.count("\n") == 1 and "Traceback" not in err


CORRUPT = "truncated or corrupted"


@pytest.mark.parametrize("where", ["first tensor byte", "middle", "last byte", "header"])
def test_a_flipped_byte_in_the_weights_is_refused(saved, capsys, where):
    weights = saved / "model.safetensors"
    start, size = _data_start(weights), weights.stat().st_size
    at = {"first tensor byte": start, "middle": (start + size) // 2, "last byte": size - 1}
    _flip(weights, at.get(where, start - 40))  # "header": inside the metadata JSON
    _refused(saved, weights, CORRUPT)
    _eval_refuses(capsys, saved, weights)


@pytest.mark.parametrize("where", ["data", "header"])
def test_a_flipped_byte_in_weights_without_a_record_is_refused(saved, where):
    (saved / "model.json").unlink()
    weights = saved / "model.safetensors"
    start = _data_start(weights)
    # a flip in the header either breaks its JSON or changes what it says
    _flip(weights, start + 5 if where == "data" else start - 40)
    _refused(saved, weights, "does not match the sha256 in its header|not a readable")


def test_a_flipped_byte_in_the_training_state_is_refused(saved):
    state = saved / "train_state.safetensors"
    _flip(state, state.stat().st_size - 3)
    _refused(saved, state, CORRUPT, what=load_train_state)


def test_a_flipped_byte_in_the_record_is_refused(saved, capsys):
    record = saved / "model.json"
    text = record.read_text()
    at = text.index('"eval_bits"') + 30  # inside a number of the learning curves
    _flip(record, at)
    message = _refused(saved, record, "record_sha256|not valid JSON")
    assert "corrupted" in message
    _eval_refuses(capsys, saved, record)


@pytest.mark.parametrize("keep", [0, 7, 8, 30, -1, 0.5])
@pytest.mark.parametrize("name", ["model.safetensors", "train_state.safetensors"])
def test_a_truncated_file_is_refused(saved, name, keep):
    path = saved / name
    data = path.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    path.write_bytes(data[:n])
    _refused(saved, path, CORRUPT, what=load if name == "model.safetensors" else load_train_state)
    (saved / "model.json").unlink()  # nor without the record to compare with
    _refused(saved, path, "", what=load if name == "model.safetensors" else load_train_state)


def test_weights_of_wrong_shapes_are_refused_before_building(tmp_path):
    model = _ntm()
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    tensors["output.weight"] = tensors["output.weight"].t().contiguous()
    weights = tmp_path / "model.safetensors"
    meta = {"format": FORMAT, "kind": "ntm", "config": json.dumps(model.config.to_dict())}
    save_file(tensors, str(weights), metadata=meta)
    _refused(tmp_path, weights, r"tensor 'output.weight' has shape \(12, 4\), .*needs \(4, 12\)")
    tensors["output.weight"] = tensors["output.weight"].to(torch.int32)
    save_file(tensors, str(weights), metadata=meta)
    _refused(tmp_path, weights, "dtype I32, not a floating-point one")


def test_a_record_of_another_save_is_refused(runs, saved, capsys):
    shutil.copy(runs["root"] / "A" / "model.json", saved / "model.json")
    _refused(saved, saved / "model.safetensors", "differs from those model.json records")
    _eval_refuses(capsys, saved, saved / "model.safetensors")


def test_weights_of_another_save_are_refused(runs, saved):
    shutil.copy(runs["root"] / "A" / "model.safetensors", saved / "model.safetensors")
    _refused(saved, saved / "model.safetensors", "belongs to another save")


def test_a_training_state_of_another_save_is_refused(runs, saved):
    state = saved / "train_state.safetensors"
    shutil.copy(runs["root"] / "A" / "train_state.safetensors", state)
    _refused(saved, state, "belongs to another save", what=load_train_state)


def test_a_training_state_left_by_an_earlier_save_is_refused(runs, saved):
    _save_b(runs, saved, with_state=False)
    assert not (saved / "train_state.safetensors").exists()  # removed by the save
    state = saved / "train_state.safetensors"
    _refused(saved, state, "file not found", what=load_train_state)
    shutil.copy(runs["root"] / "A" / "train_state.safetensors", state)
    _refused(saved, state, "not part of the checkpoint model.json records", what=load_train_state)


def _without_manifest(folder: Path) -> None:
    """The record as written before checkpoints had a manifest."""
    path = folder / "model.json"
    record = json.loads(path.read_text())
    for key in ("files", "save_id", "record_sha256"):
        del record[key]
    path.write_text(json.dumps(record))


def test_an_old_checkpoint_still_has_its_steps_compared(runs, saved):
    """Without a manifest (a checkpoint from before it), a training state of another step
    beside the record is refused; a consistent old checkpoint loads."""
    _without_manifest(saved)
    model = load(saved)
    assert load_train_state(saved, model, CFG).step == 4
    shutil.copy(runs["root"] / "A" / "train_state.safetensors", saved / "train_state.safetensors")
    _refused(
        saved,
        saved / "train_state.safetensors",
        "saved at step 2, but model.json is at step 4: the files are of different saves",
        what=load_train_state,
    )


def test_a_malformed_manifest_is_refused(saved):
    path = saved / "model.json"
    record = json.loads(path.read_text())
    record["files"] = {"weights": {"size": "big"}}
    del record["record_sha256"]
    path.write_text(json.dumps(record))
    _refused(saved, path, "'files' manifest is malformed")


def test_leftover_temporary_files_are_ignored_then_removed(runs, saved):
    junk = [saved / ".model.safetensors.0123456789ab.tmp", saved / ".model.json.x.tmp"]
    for path in junk:
        path.write_bytes(b"\x00" * 50)
    assert _which(runs, saved) == "B"
    _save_b(runs, saved)
    assert _leftovers(saved) == []
    other = saved / ".notes.tmp"  # not a checkpoint's: left alone
    other.write_text("mine")
    _save_b(runs, saved)
    assert other.exists()


# ----------------------------------------------------------------------------------------
# Wrong-typed arguments
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [123, None, 1.5, b"run", ["run"]])
def test_a_path_of_the_wrong_type_is_a_type_error_naming_it(tmp_path, bad):
    message = f"path: expected a str or os.PathLike, got {type(bad).__name__}"
    calls = [
        lambda: load(bad),
        lambda: load_record(bad),
        lambda: load_train_state(bad, _ntm(), CFG),
        lambda: save(_ntm(), bad),
        lambda: weights_folder(bad),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
            call()


def test_other_wrong_arguments_are_clear(runs, tmp_path):
    folder = runs["root"] / "B"
    with pytest.raises(ValueError, match="^path: expected a folder or file name, got an empty"):
        load("")
    with pytest.raises(TypeError, match="^device: expected a str or torch.device, got float$"):
        load(folder, device=1.5)
    with pytest.raises(ValueError, match="^device: unknown device 'gpu9'"):
        load(folder, device="gpu9")
    with pytest.raises(TypeError, match="^model: expected a torch.nn.Module, got str$"):
        load_train_state(folder, "model", CFG)
    with pytest.raises(TypeError, match="^train_state: expected a TrainState or None, got dict$"):
        save(_ntm(), tmp_path, train_state={})
    with pytest.raises(ValueError, match="^extra: \\['files'\\] are the checkpoint's own keys"):
        save(_ntm(), tmp_path, extra={"files": 1})
    assert not tmp_path.joinpath("model.json").exists()


# ----------------------------------------------------------------------------------------
# The shapes computed from a config are the real models'
# ----------------------------------------------------------------------------------------
NTM_CONFIGS = [
    {},
    {"controller": "feedforward", "controller_layers": 3},
    {"controller_layers": 2, "num_read_heads": 2, "num_write_heads": 3},
    {"num_read_heads": 0, "memory_init": "learned", "shift_range": 3, "N": 9},
    {"num_write_heads": 0, "memory_init": "random", "M": 7},
]


@pytest.mark.parametrize("overrides", NTM_CONFIGS)
def test_expected_shapes_are_those_of_the_real_ntm(overrides):
    model = _ntm(**overrides)
    real = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert expected_shapes(model.config, limit=100) == real


@pytest.mark.parametrize("layers", [1, 3])
def test_expected_shapes_are_those_of_the_real_lstm(layers):
    model = LSTMBaseline(LSTMConfig(input_size=5, output_size=4, hidden_size=6, num_layers=layers))
    real = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert expected_shapes(model.config, limit=100) == real


@pytest.mark.parametrize("name, kind", pretrained.available())
def test_the_shipped_checkpoints_headers_match_their_configs(name, kind):
    """Checkpoints from before the manifest: header and shapes still checked."""
    weights = pretrained.HERE / f"{name}-{kind}" / "model.safetensors"
    header = parse_header(weights, weights.read_bytes())
    config = json.loads(header.metadata["config"])
    config = NTMConfig(**config) if kind == "ntm" else LSTMConfig(**config)
    assert expected_shapes(config, limit=100) == {k: s for k, (_, s) in header.tensors.items()}
    assert "files" not in json.loads((weights.parent / "model.json").read_text())


def test_replace_file_is_whole_or_nothing(tmp_path, monkeypatch):
    """A write that fails part-way leaves the old file as it was and no staged file behind
    (the sweeps' results.csv and curves.json are written this way)."""
    from ntm_nb import checkpoint_io

    path = tmp_path / "results.csv"
    checkpoint_io.replace_file(path, b"old\n")
    checkpoint_io.replace_file(path, b"new\n")
    assert path.read_bytes() == b"new\n"

    def failing_write(fd, data):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(checkpoint_io.os, "write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        checkpoint_io.replace_file(path, b"newer\n")
    assert path.read_bytes() == b"new\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "results.csv"
    ]
