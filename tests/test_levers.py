"""The recipe's levers: the curriculum (``TrainConfig.curriculum_steps``: early batches are
drawn from the low end of the task's size range, which grows to the full range) and the
learning-rate schedule (``warmup_steps``, ``lr_final``); runs with either resume exactly."""

from __future__ import annotations

import json

import pytest
import torch

from ntm_nb import NTM, NTMConfig, load, make_task
from ntm_nb.checkpoint import load_train_state
from ntm_nb.cli import main
from ntm_nb.train import TrainConfig, curriculum_task, scheduled_lr, train

COPY = make_task("copy", bits=4, min_len=1, max_len=10, same_length=True)


def sizes(task, steps: int, seed: int = 0) -> list[tuple[int, int]]:
    """(step, the longest length in the batch) over a curriculum of ``steps`` steps."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for step in range(steps):
        x, _, mask = curriculum_task(task, step, steps, gen).sample(2, gen)
        out.append((step, int(mask.sum(1).max())))  # the masked steps are the answer's
    return out


def test_the_size_range_grows_from_the_smallest_to_the_full_range():
    seen = sizes(COPY, 100)
    first, last = [n for s, n in seen if s < 10], [n for s, n in seen if s >= 90]
    assert max(first) <= 2  # the top is 1 + round(9 * 10 / 100) = 2 at step 9
    for step, n in seen:  # never above the growing top
        assert n <= 1 + round(9 * (step + 1) / 100)
    assert max(last) >= 8 and min(n for _, n in seen) == 1
    # past the curriculum the task is the task itself, and so is its draw
    assert curriculum_task(COPY, 100, 100, torch.Generator()) is COPY


def test_repeat_copy_grows_its_repeat_count_too():
    task = make_task("repeat_copy", bits=4, max_len=6, max_repeats=8, same_length=True)
    gen = torch.Generator().manual_seed(1)
    early = [curriculum_task(task, s, 1000, gen) for s in range(20)]
    assert all(t.max_len <= 1 and t.max_repeats <= 1 for t in early)
    late = [curriculum_task(task, s, 1000, gen) for s in range(980, 1000)]
    assert max(t.max_repeats for t in late) > 4 and max(t.max_len for t in late) > 3


def small_ntm() -> NTM:
    torch.manual_seed(0)
    return NTM(NTMConfig(input_size=5, output_size=4, controller_size=16, N=12, M=4))


def config(**kw) -> TrainConfig:
    base = dict(steps=8, batch_size=2, optimizer="adam", lr=3e-3, clip_value=None,
                clip_norm=50.0, log_every=2, eval_every=4, eval_sequences=4, compile=False,
                curriculum_steps=6)  # fmt: skip
    return TrainConfig(**{**base, **kw})


def test_a_curriculum_run_trains_differently_and_resumes_exactly(tmp_path):
    cfg = config()
    straight = small_ntm()
    train(straight, COPY, cfg, progress=False)
    plain = small_ntm()
    train(plain, COPY, config(curriculum_steps=0), progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(straight.parameters(), plain.parameters()))

    half = small_ntm()
    train(half, COPY, config(steps=3), checkpoint_dir=tmp_path, progress=False)
    resumed = load(tmp_path)
    state = load_train_state(tmp_path, resumed, cfg)
    train(resumed, COPY, cfg, state=state, progress=False)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "task, message",
    [
        (make_task("copy", min_len=5, max_len=5), "trains at one size"),
        (make_task("ngrams"), "trains at one size"),
    ],
)
def test_a_task_without_a_range_is_a_clear_error(task, message):
    model = NTM(NTMConfig(input_size=task.input_size, output_size=task.output_size, N=8, M=4))
    with pytest.raises(ValueError, match=f"curriculum_steps: .*{message}"):
        train(model, task, config(), progress=False)


def test_curriculum_steps_is_checked_and_is_a_flag(tmp_path, capsys):
    with pytest.raises(ValueError, match="curriculum_steps"):
        TrainConfig(curriculum_steps=-1)
    out = tmp_path / "run"
    code = main(["train", "copy", "--steps", "2", "--curriculum-steps", "2", "--no-compile",
                 "--controller-size", "8", "--memory-rows", "8", "--batch-size", "2",
                 "--eval-sequences", "2", "--no-progress", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    record = json.loads((out / "model.json").read_text())
    assert record["train_config"]["curriculum_steps"] == 2


def test_the_learning_rate_warms_up_then_decays_linearly():
    cfg = TrainConfig(steps=10, lr=1e-3, warmup_steps=4, lr_final=1e-4)
    lrs = [scheduled_lr(cfg, step) for step in range(10)]
    assert lrs[:4] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    assert lrs[4] == pytest.approx(1e-3) and lrs[9] == pytest.approx(1e-4)
    assert all(a > b for a, b in zip(lrs[4:], lrs[5:]))  # then down, linearly
    assert scheduled_lr(TrainConfig(lr=2e-3), 500) == 2e-3  # no schedule: the lr itself


def test_a_scheduled_run_sets_the_optimizers_lr_and_resumes_exactly(tmp_path):
    cfg = config(curriculum_steps=0, warmup_steps=3, lr_final=1e-3)  # lr 3e-3 -> 1e-3
    lrs: list[float] = []
    straight = small_ntm()
    train(straight, COPY, cfg, progress=False,
          callbacks=[lambda info: lrs.append(info["step"])])  # fmt: skip
    half = small_ntm()
    train(half, COPY, config(curriculum_steps=0, warmup_steps=3, lr_final=1e-3, steps=4),
          checkpoint_dir=tmp_path, progress=False)  # fmt: skip
    resumed = load(tmp_path)
    state = load_train_state(tmp_path, resumed, cfg)
    assert state.optimizer.param_groups[0]["lr"] == pytest.approx(scheduled_lr(cfg, 3))
    train(resumed, COPY, cfg, state=state, progress=False)
    assert state.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)  # the last step's
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    plain = small_ntm()
    train(plain, COPY, config(curriculum_steps=0), progress=False)  # no schedule: differs
    assert any(not torch.equal(a, b) for a, b in zip(plain.parameters(), straight.parameters()))


def test_the_schedule_flags_are_checked():
    with pytest.raises(ValueError, match="warmup_steps"):
        TrainConfig(warmup_steps=-1)
    with pytest.raises(ValueError, match="lr_final"):
        TrainConfig(lr_final=0.0)
