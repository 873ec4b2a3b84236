"""Tests for ntm_nb.train: the loss and the bit counting on hand-made outputs, evaluation,
the training loop (learning, history, early stop, callbacks, clean interrupts) and the
configuration's error messages.

Everything is tiny and eager (``compile=False``): the whole file runs in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
import torch
from torch import nn

import ntm_nb.pretrained
from ntm_nb import NTM, LSTMBaseline, LSTMConfig, NTMConfig, load, make_task
from ntm_nb.checkpoint import load_record, load_train_state
from ntm_nb.tasks import NGramsTask, Task, ngram_optimal_predictions
from ntm_nb.train import (
    EvalResult,
    History,
    TrainConfig,
    bit_errors,
    evaluate,
    masked_loss,
    preset,
    train,
)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


COPY = make_task("copy", bits=4, min_len=1, max_len=3)


def small_ntm(seed: int = 0, **kw: Any) -> NTM:
    torch.manual_seed(seed)
    cfg = {"input_size": 5, "output_size": 4, "controller_size": 16, "N": 8, "M": 4, **kw}
    return NTM(NTMConfig(**cfg))


def quick(**kw: Any) -> TrainConfig:
    """A tiny eager configuration; keyword arguments replace fields."""
    base = dict(
        steps=6,
        batch_size=2,
        optimizer="adam",
        lr=3e-3,
        log_every=2,
        eval_every=3,
        eval_sequences=4,
        compile=False,
    )
    return TrainConfig(**{**base, **kw})


def _bce(logit: float, target: float) -> float:
    """Binary cross-entropy (nats) of one bit, written out by hand."""
    p = 1.0 / (1.0 + math.exp(-logit))
    return -(target * math.log(p) + (1.0 - target) * math.log(1.0 - p))


# ----------------------------------------------------------------------------------------
# masked_loss and bit_errors
# ----------------------------------------------------------------------------------------
def test_masked_loss_by_hand():
    logits = torch.tensor([[[2.0, -1.0], [0.5, 3.0], [-4.0, 1.5]]])  # (1, 3, 2)
    y = torch.tensor([[[1.0, 1.0], [0.0, 0.0], [0.0, 1.0]]])
    mask = torch.tensor([[1.0, 0.0, 1.0]])  # the middle step does not count
    expected = (_bce(2, 1) + _bce(-1, 1) + _bce(-4, 0) + _bce(1.5, 1)) / 4
    assert masked_loss(logits, y, mask).item() == pytest.approx(expected, rel=1e-6)


def test_masked_loss_averages_over_counted_bits_of_all_sequences():
    logits = torch.tensor([[[1.0], [2.0]], [[-3.0], [0.0]]])  # (2, 2, 1)
    y = torch.tensor([[[1.0], [0.0]], [[1.0], [1.0]]])
    mask = torch.tensor([[1.0, 1.0], [0.0, 1.0]])  # 3 counted bits in all
    expected = (_bce(1, 1) + _bce(2, 0) + _bce(0, 1)) / 3
    assert masked_loss(logits, y, mask).item() == pytest.approx(expected, rel=1e-6)


def test_masked_loss_ignores_unmasked_steps_in_value_and_gradient():
    logits = torch.tensor([[[1.0, -2.0], [5.0, 5.0]]], requires_grad=True)
    y = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    mask = torch.tensor([[1.0, 0.0]])
    loss = masked_loss(logits, y, mask)
    loss.backward()
    assert loss.item() == pytest.approx((_bce(1, 1) + _bce(-2, 0)) / 2, rel=1e-6)
    assert torch.equal(logits.grad[0, 1], torch.zeros(2))  # no gradient from step 1
    assert bool((logits.grad[0, 0] != 0).all())


def test_masked_loss_of_an_empty_mask_is_zero_not_nan():
    loss = masked_loss(torch.randn(2, 3, 4), torch.ones(2, 3, 4), torch.zeros(2, 3))
    assert loss.item() == 0.0


def test_bit_errors_by_hand():
    # sequence 0: step 0 has one wrong bit (counted), step 1 two wrong bits (not counted)
    # sequence 1: both steps counted, three wrong bits in all
    logits = torch.tensor(
        [
            [[3.0, -3.0, 3.0], [-3.0, -3.0, 3.0]],
            [[-3.0, -3.0, -3.0], [3.0, 3.0, 3.0]],
        ]
    )
    y = torch.tensor(
        [
            [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]],
            [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]],
        ]
    )
    mask = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    assert bit_errors(logits, y, mask).tolist() == [1.0, 3.0]
    assert bit_errors(logits, y, torch.ones(2, 2)).tolist() == [3.0, 3.0]
    assert bit_errors(logits, y, torch.zeros(2, 2)).tolist() == [0.0, 0.0]


# ----------------------------------------------------------------------------------------
# evaluate, on a hand-made task and a fake model whose answers are known
# ----------------------------------------------------------------------------------------
# Four sequences of T = 4 steps and 3 output bits. Sequence i's wrong bits, as (t, channel);
# mask steps marked 0 must not be counted.
_MASKS = torch.tensor(
    [[0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]]
)
_FLIPS = {
    0: [(0, 0), (1, 2)],  # both on uncounted steps: 0 wrong
    1: [(2, 1), (0, 0)],  # 1 wrong (step 0 uncounted)
    2: [(0, 0), (1, 1), (3, 2)],  # 3 wrong
    3: [(3, 0), (3, 1), (0, 0), (1, 0), (2, 2)],  # 2 wrong (steps 0-2 uncounted)
}
_WRONG = [0, 1, 3, 2]
_MAGNITUDE = 2.0  # |logit| of every output


def _targets() -> torch.Tensor:
    g = torch.Generator().manual_seed(7)
    return torch.randint(0, 2, (4, 4, 3), generator=g).float()


class FixedTask(Task):
    """Always the same sequences: batch b holds sequences 0, 1, 2, 3, 0, 1, ... (b of them).

    ``x[:, :, 0]`` holds the sequence's index, so that a fake model can look up its answer.
    """

    name: ClassVar[str] = "fixed"

    @property
    def input_size(self) -> int:
        return 2

    @property
    def output_size(self) -> int:
        return 3

    def sample(self, batch_size, generator=None):
        idx = torch.arange(batch_size) % 4
        x = torch.zeros(batch_size, 4, 2)
        x[:, :, 0] = idx[:, None].float()
        return x, _targets()[idx], _MASKS[idx]

    def to_dict(self) -> dict[str, Any]:
        return {}


class FakeModel(nn.Module):
    """Returns logits chosen in advance, looked up by the index in ``x[:, 0, 0]``."""

    def __init__(self, logits: torch.Tensor, input_size: int, output_size: int) -> None:
        super().__init__()
        self.config = SimpleNamespace(input_size=input_size, output_size=output_size)
        self.table = logits
        self.dummy = nn.Parameter(torch.zeros(()))  # evaluate asks for a parameter's device
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append((self.training, torch.is_grad_enabled()))
        return self.table[x[:, 0, 0].long()] + self.dummy


def _fake_for_fixed_task() -> FakeModel:
    predictions = _targets().clone()
    for i, flips in _FLIPS.items():
        for t, c in flips:
            predictions[i, t, c] = 1.0 - predictions[i, t, c]
    logits = torch.where(predictions > 0.5, _MAGNITUDE, -_MAGNITUDE)
    return FakeModel(logits, 2, 3)


def test_fixed_task_flips_are_as_described():
    # the test's own bookkeeping: counted wrong bits per sequence are _WRONG
    model = _fake_for_fixed_task()
    x, y, mask = FixedTask().sample(4)
    assert bit_errors(model(x), y, mask).tolist() == _WRONG


def test_evaluate_counts_wrong_bits_per_sequence_on_masked_steps():
    model = _fake_for_fixed_task()
    # 6 sequences in batches of 4 and 2: sequences 0-3, then 0-1
    result = evaluate(model, FixedTask(), num_sequences=6, batch_size=4)
    assert isinstance(result, EvalResult)
    assert result.num_sequences == 6
    total = sum(_WRONG) + _WRONG[0] + _WRONG[1]  # 7
    assert result.bits_per_sequence == pytest.approx(total / 6)
    # not the mean of the two batch means (1.5 and 0.5), which would be 1.0
    assert result.bits_per_sequence != pytest.approx(1.0)
    assert result.optimal_cost_bits is None


def test_evaluate_loss_and_cost_bits_by_hand():
    model = _fake_for_fixed_task()
    result = evaluate(model, FixedTask(), num_sequences=6, batch_size=4)
    seqs = [0, 1, 2, 3, 0, 1]
    wrong = sum(_WRONG[i] for i in seqs)
    counted_bits = sum(int(_MASKS[i].sum()) * 3 for i in seqs)
    right = counted_bits - wrong
    # a right bit costs bce(+2, 1) = log(1 + e^-2); a wrong one bce(-2, 1) = log(1 + e^2)
    nats = right * math.log1p(math.exp(-_MAGNITUDE)) + wrong * math.log1p(math.exp(_MAGNITUDE))
    assert result.loss == pytest.approx(nats / counted_bits, rel=1e-6)
    assert result.cost_bits == pytest.approx(nats / math.log(2) / 6, rel=1e-6)


def test_evaluate_runs_in_eval_mode_without_gradients_and_restores_the_mode():
    model = _fake_for_fixed_task()
    model.train()
    evaluate(model, FixedTask(), num_sequences=3, batch_size=2)
    assert model.calls == [(False, False), (False, False)]
    assert model.training
    model.eval()
    evaluate(model, FixedTask(), num_sequences=1)
    assert not model.training


def test_evaluate_is_seeded():
    model = small_ntm()
    a = evaluate(model, COPY, num_sequences=10, batch_size=4, seed=3)
    b = evaluate(model, COPY, num_sequences=10, batch_size=4, seed=3)
    c = evaluate(model, COPY, num_sequences=10, batch_size=4, seed=4)
    assert a == b
    assert a.loss != c.loss


class _NGramOracle(nn.Module):
    """Predicts with the optimal Bayesian estimator (or a fair coin with ``coin=True``)."""

    def __init__(self, n: int, coin: bool = False) -> None:
        super().__init__()
        self.config = SimpleNamespace(input_size=1, output_size=1)
        self.dummy = nn.Parameter(torch.zeros(()))
        self.n, self.coin = n, coin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.coin:
            return torch.zeros_like(x)
        p = ngram_optimal_predictions(x.double(), self.n)
        return torch.logit(p).float()


def test_evaluate_ngrams_reports_the_optimal_cost():
    task = NGramsTask(n=3, length=20)
    oracle = evaluate(_NGramOracle(3), task, num_sequences=12, batch_size=5)
    assert oracle.optimal_cost_bits is not None
    # the optimal estimator's own cost is the optimum
    assert oracle.cost_bits == pytest.approx(oracle.optimal_cost_bits, rel=1e-5)
    assert 0 < oracle.optimal_cost_bits < 19
    # a fair coin costs exactly one bit per prediction (19 per sequence), ln 2 nats per bit
    coin = evaluate(_NGramOracle(3, coin=True), task, num_sequences=12, batch_size=5)
    assert coin.cost_bits == pytest.approx(19.0, rel=1e-6)
    assert coin.loss == pytest.approx(math.log(2), rel=1e-6)
    assert coin.optimal_cost_bits == pytest.approx(oracle.optimal_cost_bits)
    assert coin.cost_bits > coin.optimal_cost_bits


def test_evaluate_draws_every_sequence_independently():
    """A same_length task would give every held-out sequence of a batch one length."""
    model = small_ntm()
    same = make_task("copy", bits=4, min_len=1, max_len=3, same_length=True)
    assert evaluate(model, same, num_sequences=30, batch_size=30) == evaluate(
        model, COPY, num_sequences=30, batch_size=30
    )


def test_the_held_out_set_is_fixed_and_drawn_independently():
    same = make_task("copy", bits=4, min_len=1, max_len=3, same_length=True)
    cfg = quick(eval_sequences=40, eval_seed=9)
    model = small_ntm()
    result = train(model, same, cfg, progress=False)
    expected = evaluate(model, COPY, num_sequences=40, batch_size=40, seed=9)
    assert result.final_eval == expected


def test_evaluate_argument_errors():
    model = small_ntm()
    with pytest.raises(ValueError, match="num_sequences"):
        evaluate(model, COPY, num_sequences=0)
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(model, COPY, batch_size=0)
    with pytest.raises(TypeError, match="task"):
        evaluate(model, "copy")


# ----------------------------------------------------------------------------------------
# Learning
# ----------------------------------------------------------------------------------------
def _learning_config() -> TrainConfig:
    return TrainConfig(
        steps=200,
        batch_size=16,
        optimizer="adam",
        lr=3e-3,
        clip_value=None,
        log_every=20,
        eval_every=100,
        eval_sequences=64,
        compile=False,
    )


def test_ntm_training_lowers_the_held_out_cost():
    model = small_ntm(controller_size=32)
    before = evaluate(model, COPY, num_sequences=200, seed=1).bits_per_sequence
    result = train(model, COPY, _learning_config(), progress=False)
    after = evaluate(model, COPY, num_sequences=200, seed=1).bits_per_sequence
    assert result.step == 200 and not result.interrupted
    assert before > 3.0  # about half of the ~8 counted bits: guessing
    assert after < 0.6 * before
    assert result.history.loss[-1] < result.history.loss[0]


def test_lstm_baseline_trains_through_the_same_loop():
    torch.manual_seed(0)
    model = LSTMBaseline(LSTMConfig(input_size=5, output_size=4, hidden_size=32, num_layers=1))
    before = evaluate(model, COPY, num_sequences=200, seed=1).bits_per_sequence
    result = train(model, COPY, _learning_config(), progress=False)
    after = evaluate(model, COPY, num_sequences=200, seed=1).bits_per_sequence
    assert result.step == 200
    assert after < 0.6 * before
    assert result.final_eval.bits_per_sequence == result.history.eval_bits[-1]


def test_training_is_reproducible_from_the_seed():
    a, b = small_ntm(), small_ntm()
    train(a, COPY, quick(), progress=False)
    train(b, COPY, quick(), progress=False)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    c = small_ntm()
    train(c, COPY, quick(seed=1), progress=False)  # other batches, other weights
    assert not torch.equal(a.output.weight, c.output.weight)


# ----------------------------------------------------------------------------------------
# History, early stop, callbacks, interrupts
# ----------------------------------------------------------------------------------------
def test_history_records_every_log_and_eval():
    cfg = quick(steps=10, batch_size=3, log_every=4, eval_every=6, eval_sequences=5)
    result = train(small_ntm(), COPY, cfg, progress=False)
    h = result.history
    assert h.step == [4, 8, 10]  # every log_every steps, and the last step
    assert h.sequences == [12, 24, 30]  # batch_size 3
    assert len(h.loss) == len(h.bits) == len(h.seconds) == 3
    assert h.seconds == sorted(h.seconds) and h.seconds[0] >= 0
    assert h.eval_step == [6, 10]
    # sequences seen at each evaluation, including those not yet logged (step 6: 18)
    assert h.eval_sequences == [18, 30]
    assert len(h.eval_bits) == len(h.eval_loss) == len(h.eval_cost_bits) == len(h.eval_seconds) == 2
    assert all(0 <= b <= 3 * 4 for b in h.eval_bits)  # at most 3 vectors of 4 bits counted
    assert all(0 <= b <= 3 * 4 for b in h.bits)
    assert all(v > 0 for v in h.loss + h.eval_loss)
    assert result.step == 10 and not result.interrupted and not result.reached_target
    assert result.final_eval.num_sequences == 5
    assert result.final_eval.bits_per_sequence == h.eval_bits[-1]


def test_history_round_trips_through_a_dict():
    h = train(small_ntm(), COPY, quick(), progress=False).history
    assert History.from_dict(h.to_dict()) == h
    assert History.from_dict({**h.to_dict(), "unknown": [1]}) == h


def test_early_stop_at_target_cost():
    cfg = quick(steps=20, eval_every=2, target_cost=1000.0)  # any cost meets it
    result = train(small_ntm(), COPY, cfg, progress=False)
    assert result.reached_target
    assert not result.interrupted
    assert result.step == 2 < cfg.steps
    assert result.history.eval_step == [2]


def test_no_early_stop_when_the_target_is_not_met():
    result = train(small_ntm(), COPY, quick(target_cost=0.0), progress=False)
    assert not result.reached_target and result.step == 6


def test_the_target_is_judged_by_the_tasks_measure():
    """N-grams is judged by cross-entropy (``measure = "cost_bits"``), not by wrong bits: a
    target between the two costs must not stop the run (it did, at the first evaluation)."""
    task = NGramsTask(n=3, length=12)
    model = NTM(input_size=1, output_size=1, controller_size=8, N=8, M=4)
    first = train(model, task, quick(steps=1, eval_every=1, lr=1e-12), progress=False)
    ev = first.final_eval
    assert ev.bits_per_sequence < ev.cost_bits  # an untrained guess: ~1 bit each, ~half wrong
    target = (ev.bits_per_sequence + ev.cost_bits) / 2
    cfg = quick(steps=3, eval_every=1, lr=1e-12, target_cost=target)
    result = train(model, task, cfg, progress=False)
    assert not result.reached_target and result.step == 3
    cfg = quick(steps=3, eval_every=1, lr=1e-12, target_cost=ev.cost_bits + 1.0)
    assert train(model, task, cfg, progress=False).step == 1


def test_callbacks_receive_every_event():
    seen: list[tuple[str, int]] = []
    infos: list[dict[str, Any]] = []

    def callback(info: dict[str, Any]) -> None:
        seen.append((info["event"], info["step"]))
        infos.append(info)

    model = small_ntm()
    result = train(model, COPY, quick(), callbacks=[callback], progress=False)
    assert seen == [("log", 2), ("eval", 3), ("log", 4), ("log", 6), ("eval", 6), ("end", 6)]
    assert all(info["model"] is model and info["history"] is result.history for info in infos)
    evals = [info["eval"] for info in infos if info["event"] == "eval"]
    assert [e.bits_per_sequence for e in evals] == result.history.eval_bits


def test_a_callback_returning_true_stops_cleanly():
    def stop_at_4(info: dict[str, Any]) -> bool:
        return info["event"] == "log" and info["step"] == 4

    events: list[str] = []
    result = train(
        small_ntm(),
        COPY,
        quick(steps=20),
        callbacks=[stop_at_4, lambda i: events.append(i["event"])],
        progress=False,
    )
    assert result.interrupted and not result.reached_target
    assert result.step == 4
    assert result.history.step == [2, 4]
    assert events[-1] == "end"


def _assert_checkpoint(path, model: nn.Module, step: int, history: History) -> None:
    loaded = load(path)
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    record = load_record(path)
    assert record["step"] == step
    assert record["history"] == history.to_dict()


def test_keyboard_interrupt_from_a_callback_keeps_model_history_and_checkpoint(tmp_path):
    def interrupt(info: dict[str, Any]) -> None:
        if info["event"] == "log" and info["step"] == 4:
            raise KeyboardInterrupt

    model = small_ntm()
    result = train(
        model,
        COPY,
        quick(steps=20),
        callbacks=[interrupt],
        checkpoint_dir=tmp_path,
        progress=False,
    )
    assert result.interrupted and result.step == 4
    assert result.model is model
    assert result.history.step == [2, 4] and result.history.eval_step == [3]
    _assert_checkpoint(tmp_path, model, 4, result.history)
    assert load_train_state(tmp_path, load(tmp_path), quick(steps=20)).step == 4


class InterruptingTask(Task):
    """Copy, but the ``at``-th call of ``sample`` raises KeyboardInterrupt (a Ctrl-C)."""

    name: ClassVar[str] = "copy"

    def __init__(self, inner: Task, at: int) -> None:
        self.inner, self.at, self.calls = inner, at, 0

    @property
    def input_size(self) -> int:
        return self.inner.input_size

    @property
    def output_size(self) -> int:
        return self.inner.output_size

    def sample(self, batch_size, generator=None):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.inner.sample(batch_size, generator)

    def to_dict(self) -> dict[str, Any]:
        return self.inner.to_dict()


def test_keyboard_interrupt_in_the_sampler_stops_cleanly_and_the_run_resumes(tmp_path):
    cfg = quick(steps=8, log_every=2, eval_every=4)
    # the 5th training batch is interrupted (the held-out set is drawn with its own calls)
    task = InterruptingTask(COPY, at=1_000_000)
    model = small_ntm()
    held_out_calls = 1  # the 4 held-out sequences are drawn first, in one batch
    task.at = held_out_calls + 5
    result = train(model, task, cfg, checkpoint_dir=tmp_path, progress=False)
    assert result.interrupted and result.step == 4
    assert result.history.step == [2, 4]
    _assert_checkpoint(tmp_path, model, 4, result.history)
    assert load_record(tmp_path)["task"] == {"name": "copy", **COPY.to_dict()}

    # continuing from the checkpoint gives the same weights as a run never interrupted
    resumed = load(tmp_path)
    state = load_train_state(tmp_path, resumed, cfg)
    train(resumed, COPY, cfg, state=state, progress=False)
    straight = small_ntm()
    train(straight, COPY, cfg, progress=False)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_checkpoint_every_saves_during_training(tmp_path):
    steps_saved: list[int] = []

    def look(info: dict[str, Any]) -> None:
        if info["event"] == "log" and (tmp_path / "model.json").exists():
            steps_saved.append(load_record(tmp_path)["step"])

    train(
        small_ntm(),
        COPY,
        quick(steps=6, checkpoint_every=2, log_every=1),
        callbacks=[look],
        checkpoint_dir=tmp_path,
        progress=False,
    )
    # at the log of step s the last checkpoint is that of the previous even step
    assert steps_saved == [2, 2, 4, 4]
    assert load_record(tmp_path)["step"] == 6


def test_non_finite_loss_raises_and_names_the_learning_rate():
    class Exploding(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = SimpleNamespace(input_size=5, output_size=4)
            self.w = nn.Parameter(torch.ones(()))

        def forward(self, x):
            return x[..., :4] * self.w * float("nan")

    with pytest.raises(FloatingPointError, match="lr"):
        train(Exploding(), COPY, quick(), progress=False)


# ----------------------------------------------------------------------------------------
# Configuration and argument errors
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field, value",
    [
        ("steps", -1),
        ("steps", 2.5),
        ("batch_size", 0),
        ("batch_size", True),
        ("log_every", 0),
        ("eval_every", 0),
        ("eval_sequences", 0),
        ("optimizer", "sgd"),
        ("lr", 0.0),
        ("lr", -1e-3),
        ("lr", 1.5),
        ("lr", float("nan")),
        ("lr", "fast"),
        ("momentum", 1.0),
        ("momentum", -0.1),
        ("momentum", "high"),
        ("clip_value", 0.0),
        ("clip_value", "10"),
        ("clip_norm", -1.0),
        ("threads", 0),
        ("checkpoint_every", 0),
        ("target_cost", -1.0),
        ("target_cost", "low"),
    ],
)
def test_train_config_errors_name_the_field(field, value):
    with pytest.raises((TypeError, ValueError), match=f"^{field}: "):
        TrainConfig(**{field: value})


def test_train_config_accepts_its_edge_values():
    TrainConfig(steps=0, clip_value=None, clip_norm=None, target_cost=0.0, momentum=0.0, lr=0.5)


def test_train_overrides_are_checked_too():
    with pytest.raises(ValueError, match="^lr: "):
        train(small_ntm(), COPY, quick(), lr=-1.0, progress=False)
    with pytest.raises(TypeError):
        train(small_ntm(), COPY, quick(), no_such_field=1, progress=False)


def test_train_rejects_a_model_that_does_not_fit_the_task():
    wrong_in = NTM(NTMConfig(input_size=9, output_size=4, controller_size=8, N=8, M=4))
    with pytest.raises(ValueError, match="input/output sizes"):
        train(wrong_in, COPY, quick(), progress=False)
    wrong_out = LSTMBaseline(LSTMConfig(input_size=5, output_size=8, hidden_size=8, num_layers=1))
    with pytest.raises(ValueError, match="do not match task 'copy'"):
        train(wrong_out, COPY, quick(), progress=False)


def test_train_rejects_wrong_argument_types():
    with pytest.raises(TypeError, match="task"):
        train(small_ntm(), "copy", quick(), progress=False)
    with pytest.raises(TypeError, match="model"):
        train(object(), COPY, quick(), progress=False)


def test_zero_steps_trains_nothing():
    model = small_ntm()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = train(model, COPY, quick(steps=0), progress=False)
    assert result.step == 0 and result.history.step == []
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# ----------------------------------------------------------------------------------------
# Presets
# ----------------------------------------------------------------------------------------
def test_presets_build_valid_configs_for_every_task():
    for name in ("copy", "repeat_copy", "associative_recall", "ngrams", "priority_sort"):
        for which in ("fast", "paper"):
            for kind in ("ntm", "lstm"):
                p = preset(name, which, kind)
                TrainConfig(**p["train"])
                make_task(name, **p["task"])
    paper = preset("copy", "paper")["train"]
    assert paper["optimizer"] == "rmsprop" and paper["batch_size"] == 1 and paper["lr"] == 1e-4
    assert preset("priority_sort", "paper")["model"]["num_read_heads"] == 5


def test_the_priority_sort_fast_preset_builds_the_shipped_models_architecture():
    shipped = json.loads((Path(ntm_nb.pretrained.path("priority_sort")) / "model.json").read_text())
    p = preset("priority_sort", "fast")
    for key, value in p["model"].items():
        assert shipped["model_config"][key] == value, key
    assert p["train"]["batch_size"] == shipped["train_config"]["batch_size"] == 128
    assert p["model"]["controller"] == "feedforward" and p["model"]["num_write_heads"] == 8
    assert preset("copy", "fast")["train"]["batch_size"] == 32  # the others keep batch 32
    with pytest.raises(ValueError, match="task"):
        preset("sorting")
    with pytest.raises(ValueError, match="preset"):
        preset("copy", "slow")


def test_train_config_round_trips_through_a_dict():
    cfg = quick(target_cost=0.5, clip_norm=50.0)
    assert TrainConfig(**cfg.to_dict()) == cfg
    assert dataclasses.asdict(cfg) == cfg.to_dict()


def test_max_seconds_stops_cleanly_with_a_final_record_and_evaluation():
    from ntm_nb.tasks import CopyTask

    torch.manual_seed(0)
    task = CopyTask(bits=4, min_len=1, max_len=3)
    model = NTM(
        input_size=task.input_size, output_size=task.output_size, controller_size=8, N=8, M=4
    )
    result = train(
        model,
        task,
        steps=100_000,
        batch_size=4,
        compile=False,
        progress=False,
        max_seconds=0.5,
        log_every=1000,
        eval_every=1000,
        eval_sequences=8,
    )
    assert result.out_of_time and not result.interrupted
    assert 0 < result.step < 100_000
    assert result.history.step[-1] == result.step  # the last step is recorded
    assert result.history.eval_step[-1] == result.step  # and evaluated
    assert result.history.seconds[-1] >= 0.5


def test_max_seconds_must_be_positive():
    from ntm_nb.train import TrainConfig

    with pytest.raises(ValueError, match="max_seconds"):
        TrainConfig(max_seconds=0)


def test_train_compiles_with_the_configured_unroll(monkeypatch):
    model = small_ntm()
    seen = []

    def fake_compile_step(enable: bool = True, unroll: int = 1, **kw: Any) -> NTM:
        seen.append(unroll)  # record only; the step stays eager (equivalence: test_compile.py)
        return model

    monkeypatch.setattr(model, "compile_step", fake_compile_step)
    train(model, COPY, quick(steps=1, compile=True, unroll=2), progress=False)
    assert seen == [2]
    assert TrainConfig().unroll == 1


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_unroll_is_checked(bad):
    with pytest.raises((ValueError, TypeError), match="unroll"):
        TrainConfig(unroll=bad)


def test_the_repeat_copy_fast_preset_is_the_measured_curriculum_recipe():
    """32 controller units and two read heads, a paced curriculum of the repeat count with
    its first lesson, counts side by side in a batch of one length, a rollback once the
    range is full (sweeps/repeat-copy-heads2-mixed-rollback), lr 2e-3 decayed to 1e-4, a
    fresh start when the curriculum stalls and rollbacks that keep the lr
    (sweeps/repeat-copy-heads2-mixed-lr2e-3-patience-keeplr) but halve it on a repeated
    rollback to the same best; the LSTM baseline's preset
    keeps the paper's model and no curriculum."""
    p = preset("repeat_copy", "fast")
    assert p["model"] == {"controller_size": 32, "num_read_heads": 2}
    assert p["task"] == {"same_length": True, "same_repeats": False}
    cfg = TrainConfig(**p["train"])
    assert (cfg.curriculum_steps, cfg.curriculum_of, cfg.curriculum_pace) == (
        20000,
        "repeats",
        0.05,
    )
    assert cfg.curriculum_lesson and cfg.rollback == 10.0 and cfg.rollback_after_curriculum
    assert (cfg.lr, cfg.lr_final, cfg.steps, cfg.batch_size) == (2e-3, 1e-4, 20000, 32)
    assert (cfg.curriculum_patience, cfg.rollback_lr_factor) == (3000, 1.0)
    assert cfg.rollback_repeat_lr_factor == 0.5
    assert cfg.curriculum_lesson_patience == 1000 and cfg.restart_schedule
    lstm = preset("repeat_copy", "fast", "lstm")
    assert "curriculum_steps" not in lstm["train"] and lstm["model"]["hidden_size"] == 512
    assert preset("repeat_copy", "paper")["model"] == {}  # the paper's 100 units


def test_the_copy_fast_preset_is_the_measured_recipe_with_restarts():
    """lr 3e-3 and a restart at 1,500 steps of 3,000 (sweeps/copy-lr3e-3-restart), which
    needs the target: the preset stops there. The LSTM baseline's preset has no restart."""
    train_kw = preset("copy", "fast")["train"]
    assert train_kw["lr"] == 3e-3 and train_kw["steps"] == 3000
    assert train_kw["restart_after"] == 1500 and train_kw["target_cost"] == 0.1
    assert TrainConfig(**train_kw).restart_after == 1500
    assert "restart_after" not in preset("copy", "fast", "lstm")["train"]
    assert "restart_after" not in preset("associative_recall", "fast")["train"]
