"""Tests for ntm_nb.checkpoint: exact round trips, exact resume, clear errors for broken
files, and atomic saves that never leave a half-written checkpoint behind."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch
from safetensors.torch import save_file
from torch import nn

import ntm_nb.checkpoint as checkpoint_module
from ntm_nb import NTM, LSTMBaseline, LSTMConfig, NTMConfig, make_task
from ntm_nb.checkpoint import (
    FORMAT,
    CheckpointError,
    load,
    load_record,
    load_train_state,
    save,
)
from ntm_nb.train import History, TrainConfig, train

COPY = make_task("copy", bits=4, min_len=1, max_len=3)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _ntm(**kw: Any) -> NTM:
    cfg = {"input_size": 5, "output_size": 4, "controller_size": 12, "N": 8, "M": 4, **kw}
    return NTM(NTMConfig(**cfg))


MODELS = {
    "ntm-lstm-2-read-heads": lambda: _ntm(num_read_heads=2, num_write_heads=1),
    "ntm-feedforward-2-layers-learned-memory": lambda: _ntm(
        controller="feedforward",
        controller_layers=2,
        num_read_heads=2,
        num_write_heads=2,
        memory_init="learned",
    ),
    "ntm-lstm-learned-memory-shift-2": lambda: _ntm(memory_init="learned", shift_range=2, N=10),
    "lstm-baseline": lambda: LSTMBaseline(
        LSTMConfig(input_size=5, output_size=4, hidden_size=12, num_layers=2)
    ),
}


def _perturb(model: nn.Module) -> None:
    """Move every parameter away from its initial value, so a load must restore all of them."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.1)


def _x(batch: int = 3) -> torch.Tensor:
    x, _, _ = COPY.sample(batch, torch.Generator().manual_seed(5))
    return x


def _assert_same_parameters(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


# ----------------------------------------------------------------------------------------
# Round trips
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", list(MODELS.values()), ids=list(MODELS))
def test_save_then_load_gives_identical_outputs(tmp_path, make):
    torch.manual_seed(0)
    model = make()
    _perturb(model)
    model.eval()
    x = _x()
    with torch.no_grad():
        expected = model(x)
    save(model, tmp_path / "ckpt")
    loaded = load(tmp_path / "ckpt")
    assert type(loaded) is type(model)
    assert loaded.config == model.config
    _assert_same_parameters(model, loaded)
    with torch.no_grad():
        assert torch.equal(loaded(x), expected)


def test_load_accepts_the_folder_the_weights_file_and_a_file_stem(tmp_path):
    model = _ntm()
    weights = save(model, tmp_path / "run")
    assert weights == tmp_path / "run" / "model.safetensors"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "model.json",
        "model.safetensors",
    ]
    for path in (tmp_path / "run", weights, str(weights)):
        _assert_same_parameters(model, load(path))

    weights = save(model, tmp_path / "named.safetensors")  # files side by side
    assert weights == tmp_path / "named.safetensors"
    assert (tmp_path / "named.json").is_file()
    _assert_same_parameters(model, load(weights))
    _assert_same_parameters(model, load(tmp_path / "named.json"))


def test_loaded_model_is_in_eval_mode(tmp_path):
    model = _ntm()
    model.train()
    save(model, tmp_path)
    assert not load(tmp_path).training


def test_the_record_holds_task_history_configs_and_command(tmp_path):
    model = _ntm()
    history = History(
        step=[1, 2], sequences=[4, 8], seconds=[0.1, 0.2], loss=[0.7, 0.6], bits=[3.0, 2.5]
    )
    cfg = TrainConfig(steps=2, seed=7, compile=False)
    save(
        model,
        tmp_path,
        task=COPY,
        history=history,
        train_config=cfg,
        command="ntm-nb train copy --steps 2",
    )
    loaded = load(tmp_path)
    record = loaded.checkpoint
    assert record == load_record(tmp_path)
    assert record["format"] == FORMAT
    assert record["kind"] == "ntm"
    assert record["task"] == {
        "name": "copy",
        "bits": 4,
        "min_len": 1,
        "max_len": 3,
        "same_length": False,
    }
    assert make_task(record["task"].pop("name"), **record["task"]) == COPY
    assert History.from_dict(record["history"]) == history
    assert record["train_config"] == cfg.to_dict()
    assert record["seed"] == 7
    assert record["model_config"] == model.config.to_dict()
    assert record["command"] == "ntm-nb train copy --steps 2"
    assert record["num_parameters"] == sum(p.numel() for p in model.parameters())
    assert record["versions"]["torch"] == torch.__version__
    json.loads((tmp_path / "model.json").read_text())  # plain JSON, nothing pickled


def test_the_weights_alone_rebuild_the_model(tmp_path):
    model = _ntm(controller="feedforward")
    _perturb(model)
    save(model, tmp_path)
    (tmp_path / "model.json").unlink()
    loaded = load(tmp_path)
    _assert_same_parameters(model, loaded)
    assert loaded.checkpoint == {}


def test_save_rejects_other_models(tmp_path):
    with pytest.raises(TypeError, match="model"):
        save(nn.Linear(2, 2), tmp_path)


# ----------------------------------------------------------------------------------------
# Exact resume
# ----------------------------------------------------------------------------------------
def _resume_config(optimizer: str) -> TrainConfig:
    lr = 3e-3 if optimizer == "adam" else 1e-3
    return TrainConfig(
        steps=8,
        batch_size=4,
        optimizer=optimizer,
        lr=lr,
        log_every=2,
        eval_every=4,
        eval_sequences=8,
        compile=False,
        clip_value=10.0,
        clip_norm=5.0,
    )


def _without_times(history: History) -> dict[str, list]:
    d = history.to_dict()
    d.pop("seconds")
    d.pop("eval_seconds")
    return d


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
@pytest.mark.parametrize("memory_init", ["constant", "learned"])
def test_resume_equals_an_uninterrupted_run(tmp_path, optimizer, memory_init):
    cfg = _resume_config(optimizer)

    torch.manual_seed(0)
    straight = _ntm(memory_init=memory_init)
    full = train(straight, COPY, cfg, progress=False)

    torch.manual_seed(0)
    first = _ntm(memory_init=memory_init)
    half = train(first, COPY, cfg, steps=4, checkpoint_dir=tmp_path, progress=False)
    assert half.step == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model.json",
        "model.safetensors",
        "train_state.safetensors",
    ]
    model = load(tmp_path)
    state = load_train_state(tmp_path, model, cfg)
    assert state.step == 4
    assert _without_times(state.history) == _without_times(half.history)
    assert type(state.optimizer).__name__ == {"adam": "Adam", "rmsprop": "RMSprop"}[optimizer]
    resumed = train(model, COPY, cfg, state=state, checkpoint_dir=tmp_path, progress=False)

    assert resumed.step == full.step == 8
    for (name, a), b in zip(straight.named_parameters(), model.parameters()):
        assert torch.equal(a, b), name
    assert _without_times(resumed.history) == _without_times(full.history)
    assert resumed.final_eval == full.final_eval
    assert load_record(tmp_path)["step"] == 8


def test_a_fresh_optimizer_does_not_resume_exactly(tmp_path):
    """The resume test above can fail: without the saved optimizer state the run differs."""
    cfg = _resume_config("adam")
    torch.manual_seed(0)
    straight = _ntm()
    train(straight, COPY, cfg, progress=False)
    torch.manual_seed(0)
    first = _ntm()
    train(first, COPY, cfg, steps=4, checkpoint_dir=tmp_path, progress=False)
    model = load(tmp_path)
    state = load_train_state(tmp_path, model, cfg)
    from ntm_nb.train import make_optimizer

    state.optimizer = make_optimizer(model, cfg)
    train(model, COPY, cfg, state=state, progress=False)
    assert not all(torch.equal(a, b) for a, b in zip(straight.parameters(), model.parameters()))


def test_load_train_state_rejects_another_optimizer(tmp_path):
    cfg = _resume_config("adam")
    train(_ntm(), COPY, cfg, steps=2, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="train_state.safetensors.*Adam.*RMSprop"):
        load_train_state(tmp_path, load(tmp_path), _resume_config("rmsprop"))


def test_load_train_state_rejects_another_model(tmp_path):
    cfg = _resume_config("adam")
    train(_ntm(), COPY, cfg, steps=2, checkpoint_dir=tmp_path, progress=False)
    # same number of parameters, other shapes
    with pytest.raises(CheckpointError, match="train_state.safetensors: .*has shape"):
        load_train_state(tmp_path, _ntm(num_read_heads=2), cfg)
    # one parameter more (the learned initial memory)
    with pytest.raises(CheckpointError, match="train_state.safetensors: "):
        load_train_state(tmp_path, _ntm(memory_init="learned"), cfg)


# ----------------------------------------------------------------------------------------
# Broken checkpoints: CheckpointError naming the file
# ----------------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path) -> Path:
    """A good checkpoint with a training state, in tmp_path / "run"."""
    folder = tmp_path / "run"
    train(_ntm(), COPY, _resume_config("adam"), steps=2, checkpoint_dir=folder, progress=False)
    return folder


def _raises_naming(path: Path, match: str = ""):
    return pytest.raises(CheckpointError, match=f"^{re.escape(str(path))}: .*{match}")


def test_truncated_weights(saved):
    weights = saved / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with _raises_naming(weights, "truncated or corrupted"):
        load(saved)


def test_weights_cut_inside_the_header(saved):
    weights = saved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:20])
    with _raises_naming(weights):
        load(saved)


def test_random_bytes_as_weights(saved):
    weights = saved / "model.safetensors"
    weights.write_bytes(bytes(torch.randint(0, 256, (3000,), dtype=torch.uint8).tolist()))
    with _raises_naming(weights):
        load(saved)


def test_empty_weights_file(saved):
    weights = saved / "model.safetensors"
    weights.write_bytes(b"")
    with _raises_naming(weights):
        load(saved)


def test_truncated_json(saved):
    record = saved / "model.json"
    text = record.read_text()
    record.write_text(text[: len(text) // 2])
    with _raises_naming(record, "not valid JSON"):
        load(saved)
    with _raises_naming(record, "not valid JSON"):
        load_record(saved)


def test_json_that_is_not_a_record(saved):
    record = saved / "model.json"
    record.write_text("[1, 2, 3]")
    with _raises_naming(record, "not an ntm_nb checkpoint"):
        load(saved)


def test_json_whose_model_config_differs_from_the_weights(saved):
    record_path = saved / "model.json"
    record = json.loads(record_path.read_text())
    record["model_config"]["N"] = 16
    record_path.write_text(json.dumps(record))
    with _raises_naming(record_path, "does not match its record_sha256"):
        load(saved)
    del record["record_sha256"]  # an edit kept on purpose: the config is still compared
    record_path.write_text(json.dumps(record))
    with _raises_naming(record_path, "its model config does not match model.safetensors"):
        load(saved)


def _tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.contiguous() for k, v in model.state_dict().items()}


def test_weights_whose_shapes_do_not_match_the_config(tmp_path):
    weights = tmp_path / "model.safetensors"
    claimed = _ntm(N=16).config.to_dict()
    meta = {"format": FORMAT, "kind": "ntm", "config": json.dumps(claimed)}
    save_file(_tensors(_ntm(N=8)), str(weights), metadata=meta)
    with _raises_naming(weights, "do not match the model config"):
        load(tmp_path)


def test_weights_with_missing_tensors(tmp_path):
    weights = tmp_path / "model.safetensors"
    model = _ntm()
    tensors = _tensors(model)
    tensors.pop("r0")
    meta = {"format": FORMAT, "kind": "ntm", "config": json.dumps(model.config.to_dict())}
    save_file(tensors, str(weights), metadata=meta)
    with _raises_naming(weights, "r0"):
        load(weights)


@pytest.mark.parametrize(
    "meta, match",
    [
        (None, "not an ntm_nb checkpoint"),
        ({"format": "other-format"}, "not an ntm_nb checkpoint"),
        ({"format": FORMAT, "kind": "ntm"}, "model config missing"),
        ({"format": FORMAT, "kind": "ntm", "config": "{not json"}, "model config missing"),
        ({"format": FORMAT, "kind": "gru", "config": "{}"}, "unknown model kind 'gru'"),
        (
            {"format": FORMAT, "kind": "ntm", "config": json.dumps({"N": -1})},
            "invalid model config",
        ),
        (
            {"format": FORMAT, "kind": "ntm", "config": json.dumps({"colour": 1})},
            "invalid model config",
        ),
        ({"format": FORMAT, "kind": "ntm", "config": "[1, 2]"}, "invalid model config"),
    ],
)
def test_weights_with_bad_metadata(tmp_path, meta, match):
    weights = tmp_path / "model.safetensors"
    save_file(_tensors(_ntm()), str(weights), metadata=meta)
    with _raises_naming(weights, match):
        load(tmp_path)


def test_missing_checkpoint(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(missing))}: no such checkpoint"):
        load(missing)
    with pytest.raises(CheckpointError, match="nowhere.safetensors: no such checkpoint"):
        load(tmp_path / "nowhere.safetensors")
    with _raises_naming(missing / "model.json", "file not found"):
        load_record(missing)


def test_folder_without_weights(tmp_path):
    with _raises_naming(tmp_path / "model.safetensors", "file not found"):
        load(tmp_path)


def test_missing_train_state(tmp_path):
    save(_ntm(), tmp_path)  # no training state saved
    with _raises_naming(tmp_path / "train_state.safetensors", "file not found"):
        load_train_state(tmp_path, load(tmp_path), _resume_config("adam"))


def test_truncated_train_state(saved):
    state = saved / "train_state.safetensors"
    data = state.read_bytes()
    state.write_bytes(data[: len(data) - 10])
    with _raises_naming(state, "truncated or corrupted"):
        load_train_state(saved, load(saved), _resume_config("adam"))


def _without_manifest(folder: Path) -> None:
    """Make the record one written before checkpoints had a manifest."""
    path = folder / "model.json"
    record = json.loads(path.read_text())
    for key in ("files", "save_id", "record_sha256"):
        del record[key]
    path.write_text(json.dumps(record))


def test_train_state_with_broken_metadata(saved):
    state = saved / "train_state.safetensors"
    tensors = safetensors.torch.load_file(str(state))
    save_file(tensors, str(state), metadata={"format": FORMAT, "optimizer": "Adam", "scalars": "{"})
    with _raises_naming(state, "differs from those model.json records"):  # another file
        load_train_state(saved, load(saved), _resume_config("adam"))
    _without_manifest(saved)  # an old checkpoint: the metadata itself is checked
    with _raises_naming(state, "training state does not match"):
        load_train_state(saved, load(saved), _resume_config("adam"))


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


# ----------------------------------------------------------------------------------------
# Atomic saves
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_save_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch, error):
    torch.manual_seed(0)
    old = _ntm()
    save(old, tmp_path, task=COPY, command="old")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    torch.manual_seed(1)
    new = _ntm()
    written: list[str] = []

    def failing_write_file(path, data):
        # write part of a file, as a crash midway would, then fail
        Path(path).write_bytes(data[:100])
        written.append(str(path))
        raise error

    monkeypatch.setattr(checkpoint_module, "write_file", failing_write_file)
    with pytest.raises(type(error)):
        save(new, tmp_path, task=COPY, command="new")
    monkeypatch.undo()

    assert written and Path(written[0]).parent == tmp_path
    assert Path(written[0]).name != "model.safetensors"  # written to a temporary name
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # no temporary file left, nothing replaced
    loaded = load(tmp_path)
    _assert_same_parameters(old, loaded)
    assert loaded.checkpoint["command"] == "old"


def test_a_failed_json_write_keeps_the_old_record(tmp_path, monkeypatch):
    save(_ntm(), tmp_path, command="old")
    original = checkpoint_module.write_file

    def failing_json_write(path, data):
        if "model.json" not in Path(path).name:
            return original(path, data)
        Path(path).write_bytes(b'{"format": "trunc')  # a partial write
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module, "write_file", failing_json_write)
    with pytest.raises(OSError):
        save(_ntm(), tmp_path, command="new")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.safetensors"]
    assert load_record(tmp_path)["command"] == "old"


def test_saving_twice_replaces_the_checkpoint(tmp_path):
    torch.manual_seed(0)
    save(_ntm(), tmp_path)
    torch.manual_seed(1)
    second = _ntm()
    save(second, tmp_path)
    _assert_same_parameters(second, load(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.safetensors"]


def test_an_interrupt_in_the_middle_of_a_step_resumes_exactly(tmp_path, monkeypatch):
    """Ctrl-C during a step's backward pass: the batch drawn for it is drawn again on resume."""
    import importlib

    train_module = importlib.import_module("ntm_nb.train")
    cfg = _resume_config("adam")
    torch.manual_seed(0)
    straight = _ntm()
    train(straight, COPY, cfg, progress=False)

    real_backward, calls = train_module._backward, []

    def interrupted_at_the_fourth_step(loss):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        real_backward(loss)

    monkeypatch.setattr(train_module, "_backward", interrupted_at_the_fourth_step)
    torch.manual_seed(0)
    first = _ntm()
    part = train(first, COPY, cfg, checkpoint_dir=tmp_path, progress=False)
    assert part.interrupted and part.step == 3
    monkeypatch.setattr(train_module, "_backward", real_backward)

    model = load(tmp_path)
    resumed = train(model, COPY, cfg, state=load_train_state(tmp_path, model, cfg), progress=False)
    assert resumed.step == 8
    for (name, a), b in zip(straight.named_parameters(), model.parameters()):
        assert torch.equal(a, b), name
