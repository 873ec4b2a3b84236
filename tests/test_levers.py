"""The recipe's levers: the curriculum (``TrainConfig.curriculum_steps``: early batches are
drawn from the low end of the task's size range, which grows to the full range), the
learning-rate schedule (``warmup_steps``, ``lr_final``) and the rollback to the best
evaluation (``rollback``); runs with any of them resume exactly."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json

import pytest
import torch

from ntm_nb import NTM, NTMConfig, load, make_task
from ntm_nb.checkpoint import load_train_state
from ntm_nb.cli import main
from ntm_nb.evaluation import masked_loss
from ntm_nb.records import EvalResult, History, TrainState
from ntm_nb.schedules import curriculum_levels
from ntm_nb.tasks import bit_errors
from ntm_nb.train import TrainConfig, curriculum_task, make_optimizer, scheduled_lr, train

train_module = importlib.import_module("ntm_nb.train")  # the module, not ntm_nb.train()
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


def test_a_curriculum_of_one_setting_grows_it_alone():
    """``curriculum_of="repeats"``: one repeat at first, lengths over their whole range from
    the start; ``"length"`` the other way round; ``"all"`` draws exactly as before."""
    task = make_task("repeat_copy", bits=4, max_len=6, max_repeats=8, same_length=True)

    def draws(grows: str, steps: range) -> list:
        gen = torch.Generator().manual_seed(1)
        tasks = [curriculum_task(task, s, 1000, gen, grows) for s in steps]
        return [(t.max_len, t.max_repeats) for t in tasks]

    early = draws("repeats", range(60))
    assert all(r == 1 for _, r in early) and {n for n, _ in early} == set(range(1, 7))
    late = draws("repeats", range(900, 1000))
    assert max(r for _, r in late) == 8
    early = draws("length", range(60))
    assert all(n == 1 for n, _ in early) and {r for _, r in early} == set(range(1, 9))
    gen = torch.Generator().manual_seed(1)
    default = [curriculum_task(task, s, 1000, gen) for s in range(60)]
    assert draws("all", range(60)) == [(t.max_len, t.max_repeats) for t in default]


@pytest.mark.parametrize(
    "task, grows, message",
    [
        (make_task("copy"), "repeats", "can grow 'all', 'length'; got 'repeats'"),
        (
            make_task("repeat_copy", min_repeats=3, max_repeats=3),
            "repeats",
            "one size \\(repeats 3\\)",
        ),
    ],
)
def test_curriculum_of_must_name_a_setting_the_task_can_grow(task, grows, message):
    model = NTM(NTMConfig(input_size=task.input_size, output_size=task.output_size, N=8, M=4))
    with pytest.raises(ValueError, match=message):
        train(model, task, config(curriculum_of=grows), progress=False)
    with pytest.raises(TypeError, match="curriculum_of: expected 'all' or"):
        TrainConfig(curriculum_of="")


def test_curriculum_of_is_a_flag_and_is_saved(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "repeat_copy", "--steps", "2", "--curriculum-steps", "2",
                 "--curriculum-of", "repeats", "--no-compile", "--controller-size", "8",
                 "--memory-rows", "8", "--batch-size", "2", "--eval-sequences", "2",
                 "--max-len", "3", "--max-repeats", "3", "--no-progress",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    record = json.loads((out / "model.json").read_text())
    assert record["train_config"]["curriculum_of"] == "repeats"
    code = main(["train", "copy", "--steps", "2", "--curriculum-steps", "2", "--curriculum-of",
                 "repeats", "--no-compile", "--no-progress",
                 "--out", str(tmp_path / "x")])  # fmt: skip
    assert code != 0 and "curriculum_of" in capsys.readouterr().err


def small_ntm() -> NTM:
    torch.manual_seed(0)
    return NTM(NTMConfig(input_size=5, output_size=4, controller_size=16, N=12, M=4))


def small_repeat_ntm() -> NTM:
    """A small NTM for REPEAT (repeat copy with 4 bits)."""
    torch.manual_seed(0)
    return NTM(NTMConfig(input_size=6, output_size=5, controller_size=8, N=12, M=4))


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


def test_a_paced_curriculum_draws_up_to_its_level():
    """``curriculum_task(..., level=k)``: sizes from the smallest to the smallest + k, all
    of them; at the top level (``curriculum_levels``) the task is the task itself."""
    gen = torch.Generator().manual_seed(0)
    assert curriculum_levels(COPY) == 9  # lengths 1..10
    for level, expected in ((0, {1}), (3, {1, 2, 3, 4})):
        drawn = {curriculum_task(COPY, s, 1000, gen, level=level).min_len for s in range(200)}
        assert drawn == expected, level
    assert curriculum_task(COPY, 0, 1000, gen, level=9) is COPY
    repeat = make_task("repeat_copy", same_length=True)
    tasks = [curriculum_task(repeat, s, 1000, gen, "repeats", level=2) for s in range(200)]
    assert {t.min_repeats for t in tasks} == {1, 2, 3}  # the count grows, by level
    assert {t.min_len for t in tasks} == set(range(1, 11))  # the length spans its range


def paced_levels(monkeypatch, cfg, **kw) -> tuple[list[int | None], History]:
    """Train a small NTM on COPY under ``cfg``: (the level of each step's draw, history)."""
    levels: list[int | None] = []
    real = train_module.curriculum_task

    def spy(task, step, steps, gen, grows="all", level=None):
        levels.append(level)
        return real(task, step, steps, gen, grows, level)

    monkeypatch.setattr(train_module, "curriculum_task", spy)
    model = small_ntm()
    result = train(model, COPY, cfg, progress=False, **kw)
    return levels, result.history


def test_a_paced_curriculum_grows_when_the_error_rate_is_below_the_pace(monkeypatch):
    # a pace every record meets: one size more at each record (every 2 steps) while the
    # curriculum is on (steps 0-5)
    levels, history = paced_levels(monkeypatch, config(curriculum_pace=0.999))
    assert history.curriculum_step == [2, 4]
    assert levels == [0, 0, 1, 1, 2, 2]  # then the task itself (steps 6-7)
    # a pace no record meets: the smallest size until the curriculum's last step
    levels, history = paced_levels(monkeypatch, config(curriculum_pace=1e-9))
    assert history.curriculum_step == [] and levels == [0] * 6
    # without a pace, the schedule (level None)
    levels, history = paced_levels(monkeypatch, config())
    assert history.curriculum_step == [] and levels == [None] * 6


def test_a_pace_per_sequence_counts_the_wrong_bits_of_a_sequence(monkeypatch):
    """``curriculum_pace_per="sequence"``: the pace is wrong bits per sequence. An untrained
    NTM gets about half of the bits of a length-1 copy (4 bits) wrong: an error rate below
    0.9 a bit, but more than 0.9 bits a sequence, and fewer than 4.5."""
    _, per_bit = paced_levels(monkeypatch, config(curriculum_pace=0.9))
    assert per_bit.curriculum_step == [2, 4]
    for pace, grown in ((0.9, []), (4.5, [2, 4])):
        cfg = config(curriculum_pace=pace, curriculum_pace_per="sequence")
        _, history = paced_levels(monkeypatch, cfg)
        assert history.curriculum_step == grown, pace


def test_a_paced_curriculum_resumes_exactly(tmp_path):
    cfg = config(curriculum_pace=0.999)
    straight = small_ntm()
    whole = train(straight, COPY, cfg, progress=False).history
    half = small_ntm()
    train(half, COPY, config(steps=3, curriculum_pace=0.999), checkpoint_dir=tmp_path,
          progress=False)  # fmt: skip
    resumed = load(tmp_path)
    state = load_train_state(tmp_path, resumed, cfg)
    assert state.history.curriculum_step == [2]
    result = train(resumed, COPY, cfg, state=state, progress=False)
    assert result.history.curriculum_step == whole.curriculum_step == [2, 4]
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_curriculum_pace_is_checked_and_is_a_flag(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"curriculum_pace: .*needs curriculum_steps"):
        TrainConfig(curriculum_pace=0.1)
    for bad in (0.0, 1.0, float("nan")):
        with pytest.raises(ValueError, match=r"curriculum_pace: .*\(0, 1\)"):
            TrainConfig(curriculum_steps=5, curriculum_pace=bad)
    # per sequence, the pace is a number of bits: above 1 is fine, 0 or less is not
    assert TrainConfig(curriculum_steps=5, curriculum_pace=2.5, curriculum_pace_per="sequence")
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match=r"curriculum_pace: .*wrong bits per sequence > 0"):
            TrainConfig(curriculum_steps=5, curriculum_pace=bad, curriculum_pace_per="sequence")
    with pytest.raises(ValueError, match=r"curriculum_pace_per: .*'bit', 'sequence'"):
        TrainConfig(curriculum_steps=5, curriculum_pace=0.1, curriculum_pace_per="bits")
    common = ["--steps", "2", "--curriculum-steps", "2", "--no-compile", "--controller-size",
              "8", "--memory-rows", "8", "--batch-size", "2", "--eval-sequences", "2",
              "--no-progress"]  # fmt: skip
    for value, saved in (("0.05", 0.05), ("0", None)):
        out = tmp_path / f"run{value}"
        code = main(["train", "copy", *common, "--curriculum-pace", value, "--out", str(out)])
        assert code == 0, capsys.readouterr()
        record = json.loads((out / "model.json").read_text())
        assert record["train_config"]["curriculum_pace"] == saved
    code = main(["train", "copy", *common[:2], "--curriculum-pace", "0.05", "--no-progress",
                 "--out", str(tmp_path / "bad")])  # fmt: skip
    assert code != 0 and "curriculum_pace" in capsys.readouterr().err
    out = tmp_path / "per-sequence"
    code = main(["train", "copy", *common, "--curriculum-pace", "2", "--curriculum-pace-per",
                 "sequence", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    saved = json.loads((out / "model.json").read_text())["train_config"]
    assert (saved["curriculum_pace"], saved["curriculum_pace_per"]) == (2.0, "sequence")
    code = main(["train", "copy", *common, "--curriculum-pace", "2", "--curriculum-pace-per",
                 "seq", "--out", str(tmp_path / "bad-unit")])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0 and "--curriculum-pace-per" in err and "'sequence'" in err, err


REPEAT = make_task("repeat_copy", bits=4, max_len=3, max_repeats=3, same_length=True)


def test_repeat_copy_without_its_end_marker_masks_the_marker_alone():
    """``end_marker=False`` (the first lesson): the same batch, and a mask of one weight
    an output bit that is the step mask without the end-marker channel and the end step."""
    task = make_task("repeat_copy", bits=4, max_len=5, max_repeats=4)
    x, y, mask = task.sample(6, torch.Generator().manual_seed(3))
    lesson = task.first_lesson()
    assert lesson.end_marker is False and lesson.first_lesson() is None
    assert make_task("copy").first_lesson() is None
    x2, y2, mask2 = lesson.sample(6, torch.Generator().manual_seed(3))
    assert torch.equal(x, x2) and torch.equal(y, y2) and mask2.shape == y.shape
    expected = mask.unsqueeze(-1).repeat(1, 1, y.shape[-1])
    expected[..., 4] = 0.0  # the end-marker channel
    expected[y[..., 4] == 1] = 0.0  # the end step
    assert torch.equal(mask2, expected)
    # the loss and the bit errors weigh each bit by the mask: a (B, T) mask and the same
    # mask spread over the channels give the same numbers
    logits = torch.randn_like(y)
    spread = mask.unsqueeze(-1).repeat(1, 1, y.shape[-1])
    assert torch.equal(bit_errors(logits, y, mask), bit_errors(logits, y, spread))
    assert torch.allclose(masked_loss(logits, y, mask), masked_loss(logits, y, spread))
    wrong = ((logits > 0).float() != y).float()
    assert torch.equal(bit_errors(logits, y, mask2), (wrong * expected).sum(dim=(1, 2)))


def test_repeat_copy_end_weight_weighs_the_loss_not_the_count():
    """``end_weight``: the end step's mask value; the loss weighs it, the bit count and the
    held-out task (``for_evaluation``, ``sized``) do not; out of range, a clear error."""
    task = make_task("repeat_copy", bits=4, max_len=5, max_repeats=4)
    heavy = make_task("repeat_copy", bits=4, max_len=5, max_repeats=4, end_weight=10)
    x, y, mask = task.sample(6, torch.Generator().manual_seed(3))
    x2, y2, mask2 = heavy.sample(6, torch.Generator().manual_seed(3))
    end = y[..., 4] == 1  # (B, T): the end step of each sequence
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert torch.equal(mask2[end], torch.full((6,), 10.0)) and torch.equal(mask2[~end], mask[~end])
    logits = torch.randn_like(y)
    assert torch.equal(bit_errors(logits, y, mask2), bit_errors(logits, y, mask))
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    weight = mask2.unsqueeze(-1).expand_as(y)
    expected = (bce * weight).sum() / weight.sum()
    assert torch.allclose(masked_loss(logits, y, mask2), expected)
    assert not torch.allclose(masked_loss(logits, y, mask2), masked_loss(logits, y, mask))
    assert heavy.for_evaluation().end_weight == 1.0 and heavy.sized(3, 2).end_weight == 10.0
    for bad in (0, -1, 1001, float("nan")):
        with pytest.raises(ValueError, match=r"end_weight: must be a number in \(0, 1000\]"):
            make_task("repeat_copy", end_weight=bad)
    with pytest.raises(TypeError, match="end_weight"):
        make_task("repeat_copy", end_weight="10")


def test_repeat_copy_same_repeats_false_mixes_counts_in_a_batch_of_one_length():
    """``same_repeats=False`` with ``same_length``: one length a batch, a count a sequence
    (padded to the longest); None follows ``same_length``; held-out tasks draw freely."""
    task = make_task("repeat_copy", max_len=6, max_repeats=8, same_length=True, same_repeats=False)
    x, y, mask = task.sample(64, torch.Generator().manual_seed(0))
    lengths = x[..., 8].argmax(dim=1)  # the delimiter's step
    counts = (y[..., 8] == 1).float().argmax(dim=1) - lengths - 1  # output vectors
    assert len(set(lengths.tolist())) == 1 and len(set((counts // lengths).tolist())) > 4
    assert torch.equal(counts % lengths, torch.zeros_like(counts))
    assert torch.equal(mask.sum(dim=1), (counts + 1).float())  # padding is masked out
    same = make_task("repeat_copy", max_len=6, max_repeats=8, same_length=True)
    x, y, _ = same.sample(64, torch.Generator().manual_seed(0))
    assert len(set((y[..., 8] == 1).float().argmax(dim=1).tolist())) == 1
    assert task.for_evaluation().same_repeats is None and task.sized(2).same_repeats is None
    with pytest.raises(TypeError, match="same_repeats"):
        make_task("repeat_copy", same_repeats="no")


def test_end_weight_is_a_train_flag(tmp_path, capsys):
    out = tmp_path / "rc"
    code = main(["train", "repeat_copy", "--steps", "2", "--batch-size", "2", "--no-compile",
                 "--controller-size", "8", "--end-weight", "5", "--same-length", "true",
                 "--same-repeats", "false", "--no-progress",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    task = json.loads((out / "model.json").read_text())["task"]
    assert task["end_weight"] == 5.0 and task["same_repeats"] is False


def test_a_first_lesson_comes_before_the_paced_sizes(monkeypatch):
    """``curriculum_lesson``: level 0 is the task's first lesson (repeat copy without its
    end marker) at the smallest size; each level met moves on, as without it."""
    drawn: list[tuple[bool, int | None]] = []
    real = train_module.curriculum_task

    def spy(task, step, steps, gen, grows="all", level=None):
        drawn.append((task.end_marker, level))
        return real(task, step, steps, gen, grows, level)

    monkeypatch.setattr(train_module, "curriculum_task", spy)
    torch.manual_seed(0)
    model = NTM(NTMConfig(input_size=6, output_size=5, controller_size=8, N=12, M=4))
    cfg = config(curriculum_pace=0.999, curriculum_lesson=True)
    history = train(model, REPEAT, cfg, progress=False).history
    assert history.curriculum_step == [2, 4]
    assert drawn == [(False, 0), (False, 0), (True, 0), (True, 0), (True, 1), (True, 1)]


def test_a_restart_starts_a_paced_curriculum_again(monkeypatch):
    """``restart_after`` with a paced curriculum: the new weights start again at level 0
    (the lesson), and the levels met before the restart stay in the history."""
    levels: list[int | None] = []
    real = train_module.curriculum_task

    def spy(task, step, steps, gen, grows="all", level=None):
        levels.append(level if task.end_marker else -1)  # -1: the lesson
        return real(task, step, steps, gen, grows, level)

    monkeypatch.setattr(train_module, "curriculum_task", spy)
    torch.manual_seed(0)
    model = NTM(NTMConfig(input_size=6, output_size=5, controller_size=8, N=12, M=4))
    cfg = config(steps=12, curriculum_steps=100, curriculum_pace=0.999, curriculum_lesson=True,
                 restart_after=8, target_cost=0.0)  # fmt: skip
    history = train(model, REPEAT, cfg, progress=False).history
    assert history.restart_step == [8] and history.curriculum_step == [2, 4, 6, 10, 12]
    # steps 1-2 the lesson, then a level every 2 steps up to the full range (level 2) at
    # steps 7-8; after the restart at step 8, steps 9-10 the lesson again
    assert levels == [-1, -1, 0, 0, 1, 1, 2, 2, -1, -1, 0, 0]


def _levels_at(steps: set[int]):
    """A ``paced_curriculum_grows`` that meets a level at these steps only."""
    return lambda config, task, history, wrong, out: history.step[-1] in steps


def test_a_paced_curriculum_that_stalls_restarts_from_new_weights(monkeypatch):
    """``curriculum_patience``: no level met for 4 steps (records every 2) restarts; a
    level met starts the count again, and so does a restart; never at the last step."""
    monkeypatch.setattr(train_module, "paced_curriculum_grows", _levels_at({2, 12}))
    cfg = config(steps=16, curriculum_steps=100, curriculum_pace=0.5, curriculum_patience=4)
    model = small_ntm()
    first = {k: v.clone() for k, v in model.state_dict().items()}
    history = train(model, COPY, cfg, progress=False).history
    # level at 2; none by 6: restart; none by 10: restart; level at 12; none by 16 (last)
    assert history.curriculum_step == [2, 12] and history.restart_step == [6, 10]
    assert any(not torch.equal(v, first[k]) for k, v in model.state_dict().items())


def saved_train_config(tmp_path, capsys, *flags: str) -> dict:
    """Train a tiny repeat copy run for 2 steps through the CLI with ``flags``: the
    train_config its checkpoint saved."""
    out = tmp_path / "run"
    code = main(["train", "repeat_copy", "--steps", "2", *flags,
                 "--no-compile", "--controller-size", "8", "--memory-rows", "8",
                 "--batch-size", "2", "--eval-sequences", "2", "--no-progress",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    return json.loads((out / "model.json").read_text())["train_config"]


def test_a_slow_lesson_restarts_sooner_than_a_stalled_level(monkeypatch):
    """``curriculum_lesson_patience``: the lesson (level 0) not met 4 steps after the start
    or a restart restarts, while a later level waits ``curriculum_patience`` (8)."""
    monkeypatch.setattr(train_module, "paced_curriculum_grows", _levels_at({14}))
    cfg = config(steps=30, curriculum_steps=100, curriculum_pace=0.5, curriculum_lesson=True,
                 curriculum_patience=8, curriculum_lesson_patience=4)  # fmt: skip
    history = train(small_repeat_ntm(), REPEAT, cfg, progress=False).history
    # no lesson by 4, 8, 12: restarts; the lesson at 14; no level by 22: restart (the
    # lesson's patience again, from 22: no lesson by 26: restart); none by 30 (last)
    assert history.curriculum_step == [14]
    assert history.restart_step == [4, 8, 12, 22, 26]
    # without it, the lesson waits curriculum_patience like any level
    cfg = dataclasses.replace(cfg, curriculum_lesson_patience=0)
    history = train(small_repeat_ntm(), REPEAT, cfg, progress=False).history
    assert history.restart_step == [8, 22]


def test_curriculum_lesson_patience_is_checked_and_is_a_flag(tmp_path, capsys):
    with pytest.raises(ValueError, match="curriculum_lesson_patience"):
        TrainConfig(curriculum_lesson_patience=-1)
    with pytest.raises(ValueError, match="curriculum_lesson_patience: .*curriculum_lesson=True"):
        TrainConfig(curriculum_steps=5, curriculum_pace=0.1, curriculum_lesson_patience=100)
    saved = saved_train_config(tmp_path, capsys, "--curriculum-lesson-patience", "900")
    assert saved["curriculum_lesson_patience"] == 900


def test_patience_waits_while_levels_are_met_and_once_the_range_is_full(monkeypatch):
    monkeypatch.setattr(train_module, "paced_curriculum_grows", _levels_at({2, 4}))
    cfg = config(steps=16, curriculum_steps=100, curriculum_pace=0.5, curriculum_patience=4)
    history = train(small_repeat_ntm(), REPEAT, cfg, progress=False).history
    # REPEAT's lengths and repeats 1..3 grow together: the full range after 2 levels (at
    # step 4); from then on no restart, however long no level comes
    assert curriculum_levels(REPEAT, "all") == 2
    assert history.restart_step == [] and history.curriculum_step == [2, 4]


def test_a_run_with_patience_restarts_resumes_exactly(tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "paced_curriculum_grows", _levels_at({2}))
    cfg = config(steps=12, curriculum_steps=100, curriculum_pace=0.5, curriculum_patience=4)
    straight = small_ntm()
    assert train(straight, COPY, cfg, progress=False).history.restart_step == [6, 10]
    half = small_ntm()
    train(half, COPY, cfg, progress=False, checkpoint_dir=tmp_path,
          callbacks=[lambda info: info["event"] == "log" and info["step"] == 8])  # fmt: skip
    resumed = load(tmp_path)
    state = load_train_state(tmp_path, resumed, cfg)
    assert state.history.restart_step == [6]
    train(resumed, COPY, cfg, state=state, progress=False)
    assert state.history.restart_step == [6, 10]
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_curriculum_patience_is_checked_and_is_a_flag(tmp_path, capsys):
    with pytest.raises(ValueError, match="curriculum_patience"):
        TrainConfig(curriculum_patience=-1)
    with pytest.raises(ValueError, match="curriculum_patience: .*set curriculum_pace"):
        TrainConfig(curriculum_steps=5, curriculum_patience=100)
    saved = saved_train_config(tmp_path, capsys, "--curriculum-patience", "1000")
    assert saved["curriculum_patience"] == 1000


def test_curriculum_lesson_is_checked_and_is_a_flag(tmp_path, capsys):
    with pytest.raises(ValueError, match="curriculum_lesson: .*set curriculum_pace"):
        TrainConfig(curriculum_steps=5, curriculum_lesson=True)
    with pytest.raises(TypeError, match="curriculum_lesson"):
        TrainConfig(curriculum_steps=5, curriculum_pace=0.1, curriculum_lesson="yes")
    with pytest.raises(ValueError, match="curriculum_lesson: task 'copy' has no first lesson"):
        train(small_ntm(), COPY, config(curriculum_pace=0.1, curriculum_lesson=True),
              progress=False)  # fmt: skip
    out = tmp_path / "run"
    code = main(["train", "repeat_copy", "--steps", "2", "--curriculum-steps", "2",
                 "--curriculum-pace", "0.1", "--curriculum-lesson", "true", "--no-compile",
                 "--controller-size", "8", "--memory-rows", "8", "--batch-size", "2",
                 "--eval-sequences", "2", "--no-progress", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    assert json.loads((out / "model.json").read_text())["train_config"]["curriculum_lesson"]
    with pytest.raises(SystemExit):
        main(["train", "repeat_copy", "--curriculum-lesson", "maybe"])
    assert "expected true or false" in capsys.readouterr().err


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


# -- rollback: back to the best evaluation when one is much worse ---------------------------
def _scripted(costs: list[float]):
    """An ``evaluate_batches`` that returns these held-out costs, one per evaluation."""
    left = iter(costs)

    def fake(model, task, batches):
        return EvalResult(bits_per_sequence=next(left), loss=0.5, cost_bits=1.0, num_sequences=4)

    return fake


def _fresh_state(model: NTM, cfg: TrainConfig) -> TrainState:
    return TrainState(0, make_optimizer(model, cfg), torch.Generator().manual_seed(cfg.seed),
                      History())  # fmt: skip


def _copies(model: NTM, state: TrainState) -> tuple[dict, dict]:
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    return weights, copy.deepcopy(state.optimizer.state_dict()["state"])


def test_a_much_worse_evaluation_rolls_back_to_the_best_and_halves_the_lr(tmp_path, monkeypatch):
    # evaluations at steps 4, 8, 12: step 8 is worse than step 4's best by 4 > 1 bit
    cfg = config(steps=12, curriculum_steps=0, rollback=1.0)
    monkeypatch.setattr(train_module, "evaluate_batches", _scripted([5.0, 9.0]))
    model = small_ntm()
    state = _fresh_state(model, cfg)
    at_best = {}

    def watch(info):
        if info["event"] == "eval" and info["step"] == 4:
            at_best["weights"], at_best["opt"] = _copies(model, state)
        return info["event"] == "eval" and info["step"] == 8  # stop just after the rollback

    train(model, COPY, cfg, state=state, callbacks=[watch], checkpoint_dir=tmp_path,
          progress=False)  # fmt: skip
    assert state.history.rollback_step == [8] and state.lr_scale == 0.5
    assert state.best.step == 4 and state.best.cost == 5.0
    for name, value in model.state_dict().items():  # the weights of step 4 again
        assert torch.equal(value, at_best["weights"][name]), name
    for pid, entry in state.optimizer.state_dict()["state"].items():  # and Adam's moments
        assert torch.equal(entry["exp_avg"], at_best["opt"][pid]["exp_avg"])
    # the checkpoint keeps the best, the rollback and the lr's factor for an exact resume
    saved = load_train_state(tmp_path, load(tmp_path), cfg)
    assert saved.best.step == 4 and saved.lr_scale == 0.5
    assert saved.history.rollback_step == [8]
    for name, value in saved.best.model.items():
        assert torch.equal(value, at_best["weights"][name]), name


def test_a_rollback_multiplies_the_lr_by_its_factor(monkeypatch):
    """``rollback_lr_factor``: 1 keeps the lr at a rollback, 0.25 quarters it; the weights go
    back to the best either way."""
    for factor in (1.0, 0.25):
        cfg = config(steps=16, curriculum_steps=0, rollback=1.0, rollback_lr_factor=factor)
        monkeypatch.setattr(train_module, "evaluate_batches", _scripted([5.0, 9.0, 20.0, 30.0]))
        model = small_ntm()
        state = _fresh_state(model, cfg)
        train(model, COPY, cfg, state=state, progress=False)
        # steps 8 and 12 are much worse than step 4's best (step 16, the last, is not judged)
        assert state.history.rollback_step == [8, 12]
        assert state.lr_scale == factor**2 and state.best.step == 4
        assert state.optimizer.param_groups[0]["lr"] == pytest.approx(cfg.lr * factor**2)
    for bad in (0.0, -0.5, 1.5, float("nan")):
        with pytest.raises(ValueError, match="rollback_lr_factor"):
            TrainConfig(rollback_lr_factor=bad)


def test_a_repeated_rollback_to_the_same_best_uses_its_own_factor(monkeypatch):
    """``rollback_repeat_lr_factor``: a rollback back to the best the last rollback went
    to (no new best since) multiplies the lr by it; after a new best, a rollback is a
    first one again (``rollback_lr_factor``)."""
    # evaluations at 4, 8, ..., 28: best 5 at 4; 8 and 12 roll back to it (first, repeat);
    # 16 is a new best (4); 20 rolls back to it (first), 24 too (repeat); 28 is the last
    costs = [5.0, 9.0, 20.0, 4.0, 30.0, 30.0, 30.0]
    cfg = config(steps=28, curriculum_steps=0, rollback=1.0, rollback_lr_factor=1.0,
                 rollback_repeat_lr_factor=0.5)  # fmt: skip
    monkeypatch.setattr(train_module, "evaluate_batches", _scripted(costs))
    model = small_ntm()
    scales = {}

    def watch(info):
        if info["event"] == "eval":
            scales[info["step"]] = state.lr_scale

    state = _fresh_state(model, cfg)
    train(model, COPY, cfg, state=state, callbacks=[watch], progress=False)
    assert state.history.rollback_step == [8, 12, 20, 24] and state.best.step == 16
    # the callback sees each evaluation before its rollback: the scale of the step before
    assert [scales[s] for s in (12, 16, 20, 24, 28)] == [1.0, 0.5, 0.5, 0.5, 0.25]
    assert state.lr_scale == 0.25
    # unset, a repeated rollback uses rollback_lr_factor, as before
    cfg = config(steps=16, curriculum_steps=0, rollback=1.0, rollback_lr_factor=0.5)
    monkeypatch.setattr(train_module, "evaluate_batches", _scripted([5.0, 9.0, 20.0, 30.0]))
    state = _fresh_state(model := small_ntm(), cfg)
    train(model, COPY, cfg, state=state, progress=False)
    assert state.history.rollback_step == [8, 12] and state.lr_scale == 0.25
    for bad in (0.0, 2.0, float("inf")):
        with pytest.raises(ValueError, match="rollback_repeat_lr_factor"):
            TrainConfig(rollback_repeat_lr_factor=bad)


def test_a_rollback_after_the_curriculum_waits_for_its_full_range(monkeypatch):
    """``rollback_after_curriculum``: no best and no rollback while a curriculum grows (on
    a schedule: before step ``curriculum_steps``; paced: before every level is met)."""
    costs = [5.0, 9.0, 20.0, 30.0]  # evaluations at steps 4, 8, 12, 16
    # scheduled, full from step 8: step 8 is the first best, step 12 rolls back
    cfg = config(steps=16, curriculum_steps=8, rollback=1.0, rollback_after_curriculum=True)
    monkeypatch.setattr(train_module, "evaluate_batches", _scripted(list(costs)))
    state = _fresh_state(model := small_ntm(), cfg)
    train(model, COPY, cfg, state=state, progress=False)
    assert state.history.rollback_step == [12] and state.best.step == 8
    # without the wait, step 8 (4 bits worse than step 4) rolls back
    cfg = config(steps=16, curriculum_steps=8, rollback=1.0)
    monkeypatch.setattr(train_module, "evaluate_batches", _scripted(list(costs)))
    state = _fresh_state(model := small_ntm(), cfg)
    train(model, COPY, cfg, state=state, progress=False)
    assert state.history.rollback_step[0] == 8
    # paced, a level never met (pace 1e-9) and curriculum_steps beyond the run: no best
    cfg = config(steps=16, curriculum_steps=100, curriculum_pace=1e-9, rollback=1.0,
                 rollback_after_curriculum=True)  # fmt: skip
    monkeypatch.setattr(train_module, "evaluate_batches", _scripted(list(costs)))
    state = _fresh_state(model := small_ntm(), cfg)
    train(model, COPY, cfg, state=state, progress=False)
    assert state.history.rollback_step == [] and state.best is None
    with pytest.raises(TypeError, match="rollback_after_curriculum"):
        TrainConfig(rollback_after_curriculum="yes")


def test_a_run_with_a_rollback_resumes_exactly_and_never_edits_its_best_copy(tmp_path, monkeypatch):
    cfg = config(steps=12, curriculum_steps=0, rollback=1.0)
    monkeypatch.setattr(train_module, "evaluate_batches", _scripted([5.0, 9.0, 7.0]))
    straight = small_ntm()
    state = _fresh_state(straight, cfg)
    lrs = []
    train(straight, COPY, cfg, state=state, progress=False,
          callbacks=[lambda info: lrs.append(state.optimizer.param_groups[0]["lr"])])  # fmt: skip
    assert lrs[-1] == pytest.approx(cfg.lr / 2)  # steps 9-12 at half the rate
    assert state.best.step == 4  # 7.0 at the last step is no new best
    best_moments = [e["exp_avg"] for e in state.best.optimizer["state"].values()]
    assert all(m.abs().sum() > 0 for m in best_moments)
    monkeypatch.setattr(train_module, "evaluate_batches", _scripted([5.0]))
    first = small_ntm()  # the same run, its steps 1-4 again: the best copy still equals them
    train(first, COPY, config(steps=4, curriculum_steps=0), progress=False)
    for name, value in first.state_dict().items():
        assert torch.equal(value, state.best.model[name]), name

    monkeypatch.setattr(train_module, "evaluate_batches", _scripted([5.0, 9.0, 7.0]))
    half = small_ntm()
    train(half, COPY, cfg, progress=False, checkpoint_dir=tmp_path,
          callbacks=[lambda info: info["event"] == "eval" and info["step"] == 8])  # fmt: skip
    resumed = load(tmp_path)
    saved = load_train_state(tmp_path, resumed, cfg)
    train(resumed, COPY, cfg, state=saved, progress=False)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_rollback_is_checked_and_is_a_flag(tmp_path, capsys, monkeypatch):
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="rollback"):
            TrainConfig(rollback=bad)
    out = tmp_path / "run"
    code = main(["train", "copy", "--steps", "2", "--rollback", "5", "--no-compile",
                 "--controller-size", "8", "--memory-rows", "8", "--batch-size", "2",
                 "--eval-sequences", "2", "--no-progress", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    assert json.loads((out / "model.json").read_text())["train_config"]["rollback"] == 5.0
    code = main(["train", "copy", "--steps", "2", "--rollback", "5", "--no-compile",
                 "--rollback-after-curriculum", "true", "--controller-size", "8", "--no-progress",
                 "--out", str(tmp_path / "wait")])  # fmt: skip
    assert code == 0, capsys.readouterr()
    record = json.loads((tmp_path / "wait" / "model.json").read_text())
    assert record["train_config"]["rollback_after_curriculum"] is True
    code = main(["train", "copy", "--steps", "2", "--rollback", "5", "--no-compile",
                 "--rollback-lr-factor", "1", "--controller-size", "8", "--no-progress",
                 "--out", str(tmp_path / "keep")])  # fmt: skip
    assert code == 0, capsys.readouterr()
    record = json.loads((tmp_path / "keep" / "model.json").read_text())
    assert record["train_config"]["rollback_lr_factor"] == 1.0
    # --rollback 0 turns a preset's rollback off, as --clip-norm 0 turns off its clip
    monkeypatch.setitem(make_task("copy").presets.fast_train, "rollback", 10.0)
    assert train_module.preset("copy")["train"]["rollback"] == 10.0
    off = tmp_path / "off"
    code = main(["train", "copy", "--steps", "2", "--rollback", "0", "--no-compile",
                 "--controller-size", "8", "--memory-rows", "8", "--batch-size", "2",
                 "--eval-sequences", "2", "--no-progress", "--out", str(off)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    assert json.loads((off / "model.json").read_text())["train_config"]["rollback"] is None


def test_lr_final_0_turns_a_presets_decay_off(tmp_path, capsys, monkeypatch):
    # where a preset decays the lr, a command of the preset before it (a shipped model's
    # train_all.sh line) must be able to run without the decay, as with --rollback 0
    monkeypatch.setitem(make_task("copy").presets.fast_train, "lr_final", 1e-4)
    flags = ["--steps", "2", "--no-compile", "--controller-size", "8", "--memory-rows", "8",
             "--batch-size", "2", "--eval-sequences", "2", "--no-progress"]  # fmt: skip
    cases = (([], 1e-4), (["--lr-final", "0"], None), (["--lr-final", "3e-4"], 3e-4))
    for number, (value, expected) in enumerate(cases):
        out = tmp_path / f"run{number}"
        code = main(["train", "copy", *flags, *value, "--out", str(out)])
        assert code == 0, capsys.readouterr()
        assert json.loads((out / "model.json").read_text())["train_config"]["lr_final"] == expected


# -- restart: new initial weights when the target is not reached in time ------------------
def test_a_run_that_misses_the_target_in_time_restarts_from_new_weights(tmp_path, monkeypatch):
    # evaluations at 4, 8, 12, all above the target: restarts at 4 and 8 (not at the last)
    cfg = config(steps=12, curriculum_steps=0, restart_after=4, target_cost=0.1)
    monkeypatch.setattr(train_module, "evaluate_batches", _scripted([5.0, 5.0]))
    model = small_ntm()
    state = _fresh_state(model, cfg)
    before = {}

    def watch(info):
        if info["event"] == "eval" and info["step"] == 4:
            before["weights"], _ = _copies(model, state)
            before["optimizer"] = state.optimizer
        return info["event"] == "eval" and info["step"] == 8  # stop just after the second

    train(model, COPY, cfg, state=state, callbacks=[watch], checkpoint_dir=tmp_path,
          progress=False)  # fmt: skip
    assert state.history.restart_step == [4, 8]
    assert state.optimizer is not before["optimizer"] and not state.optimizer.state  # fresh
    assert all(not torch.equal(v, before["weights"][k]) for k, v in model.state_dict().items())
    untrained = small_ntm()  # new weights, not the run's first ones either
    assert any(not torch.equal(a, b) for a, b in zip(model.parameters(), untrained.parameters()))
    assert load_train_state(tmp_path, load(tmp_path), cfg).history.restart_step == [4, 8]


def test_a_run_with_restarts_resumes_exactly(tmp_path, monkeypatch):
    cfg = config(steps=12, curriculum_steps=0, restart_after=4, target_cost=0.1)
    monkeypatch.setattr(train_module, "evaluate_batches", _scripted([5.0, 5.0, 5.0]))
    straight = small_ntm()
    train(straight, COPY, cfg, progress=False)
    monkeypatch.setattr(train_module, "evaluate_batches", _scripted([5.0, 5.0, 5.0]))
    half = small_ntm()
    train(half, COPY, cfg, progress=False, checkpoint_dir=tmp_path,
          callbacks=[lambda info: info["event"] == "eval" and info["step"] == 4])  # fmt: skip
    resumed = load(tmp_path)
    train(resumed, COPY, cfg, state=load_train_state(tmp_path, resumed, cfg), progress=False)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_restart_after_is_checked_and_is_a_flag(tmp_path, capsys):
    with pytest.raises(ValueError, match="restart_after"):
        TrainConfig(restart_after=-1)
    with pytest.raises(ValueError, match="restart_after: a restart needs target_cost"):
        TrainConfig(restart_after=100)
    out = tmp_path / "run"
    code = main(["train", "copy", "--steps", "2", "--restart-after", "1", "--target-cost",
                 "0.1", "--no-compile", "--controller-size", "8", "--memory-rows", "8",
                 "--batch-size", "2", "--eval-sequences", "2", "--eval-every", "1",
                 "--no-progress", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    record = json.loads((out / "model.json").read_text())
    assert record["train_config"]["restart_after"] == 1
    assert record["history"]["restart_step"] in ([1], [])  # [] if step 1 reached the target


@pytest.mark.parametrize("again", [True, False])
def test_restart_schedule_starts_the_lr_decay_again_at_a_restart(monkeypatch, again):
    """``restart_schedule``: after a restart (at 4 and 8) the lr is that of a fresh run's
    step (step 9 of the run: step 1 of the decay); without it the decay runs on."""
    cfg = config(steps=12, curriculum_steps=0, restart_after=4, target_cost=0.1,
                 lr_final=1e-4, restart_schedule=again)  # fmt: skip
    monkeypatch.setattr(train_module, "evaluate_batches", _scripted([5.0, 5.0, 5.0]))
    model = small_ntm()
    state = _fresh_state(model, cfg)
    lrs = {}

    def watch(info):
        if info["event"] == "log":
            lrs[info["step"]] = state.optimizer.param_groups[0]["lr"]

    train(model, COPY, cfg, state=state, callbacks=[watch], progress=False)
    assert state.history.restart_step == [4, 8]
    assert lrs[2] == pytest.approx(scheduled_lr(cfg, 1))  # before any restart: the same
    # log at step 10: the lr of its step 9 (0-based), 1 step after the restart at 8
    assert lrs[10] == pytest.approx(scheduled_lr(cfg, 1 if again else 9))
    assert lrs[6] == pytest.approx(scheduled_lr(cfg, 1 if again else 5))


def test_restart_schedule_is_checked_and_is_a_flag(tmp_path, capsys):
    with pytest.raises(TypeError, match="restart_schedule: expected True or False"):
        TrainConfig(restart_schedule="yes")
    saved = saved_train_config(tmp_path, capsys, "--restart-schedule", "true")
    assert saved["restart_schedule"] is True
