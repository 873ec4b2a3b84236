"""Tests for ntm_nb.tasks: each batch is checked against a plain-Python reading of the layout.

The reference checkers below walk one sequence at a time, the way a person would read the
input, and compute the answer with ordinary Python (lists, ``sorted``, dicts). The
generators themselves are vectorised, so agreement is a real check.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ntm_nb.tasks import (
    TASKS,
    AssociativeRecallTask,
    CopyTask,
    NGramsTask,
    PrioritySortTask,
    RepeatCopyTask,
    make_task,
    ngram_optimal_cost,
    ngram_optimal_predictions,
    repeat_count_normalisation,
)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def rows(t: torch.Tensor) -> list:
    return t.tolist()


# ----------------------------------------------------------------------------------------
# Reference checkers: one sequence at a time, plain Python
# ----------------------------------------------------------------------------------------
def check_common(task, x, y, mask, B):
    """Shapes, dtypes, value sets, and that targets are zero wherever the mask is 0."""
    T = x.shape[1]
    assert x.shape == (B, T, task.input_size)
    assert y.shape == (B, T, task.output_size)
    assert mask.shape == (B, T)
    for t in (x, y, mask):
        assert t.dtype == torch.float32
        assert bool(torch.isfinite(t).all())
    assert set(y.unique().tolist()) <= {0.0, 1.0}
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    assert bool((y[mask == 0] == 0).all()), "targets outside the answer phase must be 0"
    assert bool((mask.sum(1) > 0).all()), "every sequence has an answer phase"


def check_copy(task: CopyTask, x, y, mask):
    B, T, _ = x.shape
    check_common(task, x, y, mask, B)
    bits = task.bits
    lengths = []
    for b in range(B):
        xb, yb, mb = rows(x[b]), rows(y[b]), rows(mask[b])
        delim = [t for t in range(T) if xb[t][bits] == 1]
        assert len(delim) == 1
        L = delim[0]
        lengths.append(L)
        assert task.min_len <= L <= task.max_len
        assert all(v in (0, 1) for t in range(L) for v in xb[t][:bits])
        assert all(v == 0 for t in range(L, T) for v in xb[t][:bits]), "no data after delimiter"
        assert [yb[L + 1 + i] for i in range(L)] == [xb[i][:bits] for i in range(L)]
        assert mb == [1.0 if L + 1 <= t <= 2 * L else 0.0 for t in range(T)]
    assert T == 2 * max(lengths) + 1, "padded to the longest sequence, no further"
    return lengths


def check_repeat_copy(task: RepeatCopyTask, x, y, mask):
    B, T, _ = x.shape
    check_common(task, x, y, mask, B)
    bits = task.bits
    ends = []
    for b in range(B):
        xb, yb, mb = rows(x[b]), rows(y[b]), rows(mask[b])
        delim = [t for t in range(T) if xb[t][bits] == 1]
        assert len(delim) == 1
        L = delim[0]
        count = [t for t in range(T) if xb[t][bits + 1] != 0]
        assert count == [L], "the repeat count sits on the delimiter step only"
        R_float = xb[L][bits + 1] * task.repeats_std + task.repeats_mean
        R = round(R_float)
        assert abs(R_float - R) < 1e-4
        assert task.min_len <= L <= task.max_len
        assert task.min_repeats <= R <= task.max_repeats
        assert all(v == 0 for t in range(L, T) for v in xb[t][:bits])
        sequence = [xb[i][:bits] for i in range(L)]
        expected = sequence * R  # the sequence, R times over
        assert [yb[L + 1 + k][:bits] for k in range(L * R)] == expected
        end = L + 1 + L * R
        assert [t for t in range(T) if yb[t][bits] == 1] == [end], "one end marker, right after"
        assert yb[end][:bits] == [0.0] * bits
        assert mb == [1.0 if L + 1 <= t <= end else 0.0 for t in range(T)]
        ends.append(end)
    assert T == max(ends) + 1
    return ends


def check_associative_recall(task: AssociativeRecallTask, x, y, mask):
    B, T, _ = x.shape
    check_common(task, x, y, mask, B)
    bits, il = task.bits, task.item_len
    counts = []
    for b in range(B):
        xb, yb, mb = rows(x[b]), rows(y[b]), rows(mask[b])
        # read the item list: an item delimiter, then item_len vectors, until the query
        items, t = [], 0
        while xb[t][bits] == 1:
            assert xb[t][bits + 1] == 0 and xb[t][:bits] == [0.0] * bits
            items.append(tuple(tuple(v[:bits]) for v in xb[t + 1 : t + 1 + il]))
            assert all(v[bits] == 0 and v[bits + 1] == 0 for v in xb[t + 1 : t + 1 + il])
            t += il + 1
        assert task.min_items <= len(items) <= task.max_items
        assert len(set(items)) == len(items), "items of an episode are distinct"
        assert xb[t][bits + 1] == 1, "query delimiter"
        query = tuple(tuple(v[:bits]) for v in xb[t + 1 : t + 1 + il])
        assert xb[t + il + 1][bits + 1] == 1, "closing query delimiter"
        answer_start = t + il + 2
        assert all(v == [0.0] * task.input_size for v in xb[answer_start:]), "no input after"
        # brute force: where does the query occur, and what follows it?
        found = [i for i, item in enumerate(items) if item == query]
        assert len(found) == 1 and found[0] < len(items) - 1, "query is an item with a successor"
        expected = [list(v) for v in items[found[0] + 1]]
        assert yb[answer_start : answer_start + il] == expected
        assert mb == [1.0 if answer_start <= s < answer_start + il else 0.0 for s in range(T)]
        counts.append(len(items))
    assert T == max(counts) * (il + 1) + 2 * il + 2
    return counts


def check_priority_sort(task: PrioritySortTask, x, y, mask):
    B, T, _ = x.shape
    check_common(task, x, y, mask, B)
    bits, n_in, n_out = task.bits, task.num_inputs, task.num_outputs
    assert T == n_in + 1 + n_out
    for b in range(B):
        xb, yb, mb = rows(x[b]), rows(y[b]), rows(mask[b])
        vectors = [xb[t][:bits] for t in range(n_in)]
        priorities = [xb[t][bits] for t in range(n_in)]
        assert all(-1 <= p <= 1 for p in priorities)
        assert [xb[t][bits + 1] for t in range(T)] == [1.0 if t == n_in else 0.0 for t in range(T)]
        assert all(v == [0.0] * task.input_size for v in xb[n_in + 1 :])
        ranked = sorted(range(n_in), key=lambda i: -priorities[i])[:n_out]
        assert yb[n_in + 1 :] == [vectors[i] for i in ranked]
        assert mb == [0.0] * (n_in + 1) + [1.0] * n_out


CHECKERS = {
    "copy": check_copy,
    "repeat_copy": check_repeat_copy,
    "associative_recall": check_associative_recall,
    "priority_sort": check_priority_sort,
}


# ----------------------------------------------------------------------------------------
# Every task
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(TASKS))
def test_registry_defaults_shapes_and_reproducibility(name):
    task = make_task(name)
    assert type(task).name == name and isinstance(task, TASKS[name])
    x1, y1, m1 = task.sample(16, gen(7))
    check_common(task, x1, y1, m1, 16)
    if name in CHECKERS:
        CHECKERS[name](task, x1, y1, m1)
    x2, y2, m2 = task.sample(16, gen(7))
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and torch.equal(m1, m2)
    x3, _, _ = task.sample(16, gen(8))
    assert x3.shape != x1.shape or not torch.equal(x1, x3)


@pytest.mark.parametrize("name", list(TASKS))
def test_uses_only_the_given_generator(name):
    task = make_task(name)
    torch.manual_seed(0)
    first = task.sample(4, gen(3))
    torch.manual_seed(123)  # a different global state changes nothing
    second = task.sample(4, gen(3))
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    global_state = torch.get_rng_state()
    task.sample(4, gen(3))
    assert torch.equal(torch.get_rng_state(), global_state), "global RNG untouched"
    torch.manual_seed(5)
    a = task.sample(4)  # no generator: the global RNG
    torch.manual_seed(5)
    b = task.sample(4)
    assert all(torch.equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize("name", list(TASKS))
@pytest.mark.parametrize("batch_size", [0, -3])
def test_bad_batch_size_value(name, batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        make_task(name).sample(batch_size)


@pytest.mark.parametrize("name", list(TASKS))
@pytest.mark.parametrize("batch_size", [2.0, True, "4"])
def test_bad_batch_size_type(name, batch_size):
    with pytest.raises(TypeError, match="batch_size"):
        make_task(name).sample(batch_size)


@pytest.mark.parametrize("name", list(TASKS))
def test_to_dict_round_trip_and_frozen(name):
    task = make_task(name)
    assert make_task(name, **task.to_dict()) == task
    field = dataclasses.fields(task)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(task, field, 3)


def test_make_task_errors():
    with pytest.raises(ValueError, match="'copy'.*'priority_sort'"):
        make_task("copy_task")
    with pytest.raises(TypeError, match="length.*accepted: bits, min_len, max_len"):
        make_task("copy", length=5)
    with pytest.raises(ValueError, match="max_len"):
        make_task("copy", max_len=0)
    with pytest.raises(TypeError, match="bits"):
        make_task("copy", bits="8")
    assert make_task("copy", max_len=30).max_len == 30


# Each invalid setting: (class, fields, exception, a phrase the message must contain).
INVALID = [
    (CopyTask, dict(bits=0), ValueError, "CopyTask.bits: must be an integer >= 1"),
    (CopyTask, dict(min_len=0), ValueError, "min_len"),
    (CopyTask, dict(min_len=5, max_len=4), ValueError, "max_len: must be an integer >= min_len"),
    (CopyTask, dict(max_len=2.5), TypeError, "max_len"),
    (CopyTask, dict(bits=True), TypeError, "bits"),
    (CopyTask, dict(same_length=1), TypeError, "same_length"),
    (RepeatCopyTask, dict(bits=0), ValueError, "bits"),
    (RepeatCopyTask, dict(min_len=0), ValueError, "min_len"),
    (RepeatCopyTask, dict(min_len=3, max_len=2), ValueError, "max_len"),
    (RepeatCopyTask, dict(min_repeats=0), ValueError, "min_repeats"),
    (RepeatCopyTask, dict(min_repeats=4, max_repeats=3), ValueError, "max_repeats"),
    (RepeatCopyTask, dict(repeats_std=0.0), ValueError, "repeats_std: must be a number > 0"),
    (RepeatCopyTask, dict(repeats_std=-1.0), ValueError, "repeats_std"),
    (RepeatCopyTask, dict(repeats_mean=math.nan), ValueError, "repeats_mean"),
    (RepeatCopyTask, dict(repeats_mean="5"), TypeError, "repeats_mean"),
    (RepeatCopyTask, dict(same_length=None), TypeError, "same_length"),
    (AssociativeRecallTask, dict(bits=0), ValueError, "bits"),
    (AssociativeRecallTask, dict(item_len=0), ValueError, "item_len"),
    (AssociativeRecallTask, dict(min_items=1), ValueError, "min_items: must be an integer >= 2"),
    (AssociativeRecallTask, dict(min_items=5, max_items=4), ValueError, "max_items"),
    (
        AssociativeRecallTask,
        dict(bits=1, item_len=2, min_items=2, max_items=5),
        ValueError,
        "max_items: must be an integer in [min_items = 2, 2**(bits*item_len) = 4]",
    ),
    (AssociativeRecallTask, dict(same_length="yes"), TypeError, "same_length"),
    (NGramsTask, dict(n=1), ValueError, "NGramsTask.n: must be an integer in [2, 20]"),
    (NGramsTask, dict(n=21), ValueError, "n"),
    (NGramsTask, dict(length=5), ValueError, "length: must be an integer >= n = 6"),
    (NGramsTask, dict(n=6.0), TypeError, "n"),
    (PrioritySortTask, dict(bits=0), ValueError, "bits"),
    (PrioritySortTask, dict(num_inputs=0), ValueError, "num_inputs"),
    (PrioritySortTask, dict(num_outputs=0), ValueError, "num_outputs"),
    (
        PrioritySortTask,
        dict(num_inputs=20, num_outputs=21),
        ValueError,
        "num_outputs: must be an integer in [1, num_inputs = 20]",
    ),
]


@pytest.mark.parametrize("cls, fields, exc, phrase", INVALID)
def test_invalid_settings_raise(cls, fields, exc, phrase):
    with pytest.raises(exc) as info:
        cls(**fields)
    assert phrase in str(info.value)
    with pytest.raises(exc):
        make_task(cls.name, **fields)
    with pytest.raises(exc):
        dataclasses.replace(cls(), **fields)  # replace checks again


# ----------------------------------------------------------------------------------------
# Copy
# ----------------------------------------------------------------------------------------
def test_copy_defaults_and_padding():
    task = CopyTask()
    assert (task.bits, task.min_len, task.max_len, task.same_length) == (8, 1, 20, False)
    assert (task.input_size, task.output_size) == (9, 8)
    x, y, mask = task.sample(64, gen(0))
    lengths = check_copy(task, x, y, mask)
    assert len(set(lengths)) > 1, "lengths vary within a batch"
    assert mask.sum(1).tolist() == [float(L) for L in lengths]
    for b, L in enumerate(lengths):  # padding: zeros everywhere past the sequence's end
        assert bool((x[b, 2 * L + 1 :] == 0).all()) and bool((y[b, 2 * L + 1 :] == 0).all())


def test_copy_same_length_has_no_padding():
    task = CopyTask(same_length=True)
    for seed in range(5):
        x, y, mask = task.sample(8, gen(seed))
        lengths = check_copy(task, x, y, mask)
        assert len(set(lengths)) == 1
        assert x.shape[1] == 2 * lengths[0] + 1


def test_copy_long_sequences_and_fixed_length():
    task = CopyTask(min_len=150, max_len=150)
    x, y, mask = task.sample(3, gen(1))
    assert check_copy(task, x, y, mask) == [150] * 3
    assert x.shape == (3, 301, 9)


def test_copy_lengths_cover_the_range():
    task = CopyTask(min_len=2, max_len=5)
    x, y, mask = task.sample(400, gen(2))
    assert set(mask.sum(1).int().tolist()) == {2, 3, 4, 5}


# ----------------------------------------------------------------------------------------
# Repeat copy
# ----------------------------------------------------------------------------------------
def test_repeat_copy_defaults_and_reference():
    task = RepeatCopyTask()
    assert (task.bits, task.min_len, task.max_len, task.min_repeats, task.max_repeats) == (
        8,
        1,
        10,
        1,
        10,
    )
    assert (task.input_size, task.output_size) == (10, 9)
    for seed in range(3):
        x, y, mask = task.sample(32, gen(seed))
        ends = check_repeat_copy(task, x, y, mask)
        assert len(set(ends)) > 1


def test_repeat_count_normalisation():
    mean, std = repeat_count_normalisation(1, 10)
    counts = list(range(1, 11))
    assert mean == pytest.approx(statistics.fmean(counts))
    assert std == pytest.approx(statistics.pstdev(counts))
    normalised = [(c - mean) / std for c in counts]
    assert statistics.fmean(normalised) == pytest.approx(0, abs=1e-12)
    assert statistics.pvariance(normalised) == pytest.approx(1)
    assert repeat_count_normalisation(4, 4) == (4.0, 1.0)
    task = RepeatCopyTask()
    assert (task.repeats_mean, task.repeats_std) == (mean, std)
    # a generalisation task keeps the training normalisation, whichever way it is made
    for test_task in (
        RepeatCopyTask(min_repeats=20, max_repeats=20),
        dataclasses.replace(task, min_repeats=11, max_repeats=20),
        make_task("repeat_copy", max_repeats=20),
    ):
        assert (test_task.repeats_mean, test_task.repeats_std) == (mean, std)
    custom = RepeatCopyTask(max_repeats=20, repeats_mean=10.5, repeats_std=2.0)
    x, y, mask = custom.sample(16, gen(0))
    check_repeat_copy(custom, x, y, mask)


def test_repeat_copy_generalisation_and_same_length():
    task = RepeatCopyTask(min_len=20, max_len=20, min_repeats=20, max_repeats=20)
    x, y, mask = task.sample(2, gen(0))
    assert check_repeat_copy(task, x, y, mask) == [20 + 1 + 400] * 2
    assert float(x[0, 20, 9]) == pytest.approx((20 - 5.5) / math.sqrt(99 / 12))
    same = RepeatCopyTask(same_length=True)
    for seed in range(5):
        x, y, mask = same.sample(8, gen(seed))
        ends = check_repeat_copy(same, x, y, mask)
        assert len(set(ends)) == 1 and x.shape[1] == ends[0] + 1
        assert len(set(x[:, :, 9].sum(1).tolist())) == 1, "one repeat count per batch"


# ----------------------------------------------------------------------------------------
# Associative recall
# ----------------------------------------------------------------------------------------
def test_associative_recall_defaults_and_reference():
    task = AssociativeRecallTask()
    assert (task.bits, task.item_len, task.min_items, task.max_items) == (6, 3, 2, 6)
    assert (task.input_size, task.output_size) == (8, 6)
    counts = []
    for seed in range(4):
        x, y, mask = task.sample(32, gen(seed))
        counts += check_associative_recall(task, x, y, mask)
        assert mask.sum(1).tolist() == [3.0] * 32
    assert set(counts) == {2, 3, 4, 5, 6}


def test_associative_recall_query_covers_every_item_but_the_last():
    task = AssociativeRecallTask(min_items=4, max_items=4, bits=2, item_len=1)
    x, _, _ = task.sample(300, gen(0))
    # item i's bits are at step 2i+1; the query's at step 4*2+1 = 9
    positions = set()
    for b in range(300):
        query = x[b, 9, :2]
        positions |= {i for i in range(4) if torch.equal(x[b, 2 * i + 1, :2], query)}
    assert positions == {0, 1, 2}


def test_associative_recall_small_item_space_is_distinct():
    # 4 possible items, 4 per episode: every episode is a permutation of all of them
    task = AssociativeRecallTask(bits=1, item_len=2, min_items=4, max_items=4)
    x, y, mask = task.sample(50, gen(3))
    check_associative_recall(task, x, y, mask)


def test_associative_recall_generalisation_and_same_length():
    task = AssociativeRecallTask(min_items=20, max_items=20)
    x, y, mask = task.sample(4, gen(0))
    assert check_associative_recall(task, x, y, mask) == [20] * 4
    same = AssociativeRecallTask(same_length=True)
    for seed in range(5):
        x, y, mask = same.sample(8, gen(seed))
        counts = check_associative_recall(same, x, y, mask)
        assert len(set(counts)) == 1


# ----------------------------------------------------------------------------------------
# Priority sort
# ----------------------------------------------------------------------------------------
def test_priority_sort_defaults_and_reference():
    task = PrioritySortTask()
    assert (task.bits, task.num_inputs, task.num_outputs) == (8, 20, 16)
    assert (task.input_size, task.output_size) == (10, 8)
    x, y, mask = task.sample(32, gen(0))
    assert x.shape == (32, 37, 10)
    check_priority_sort(task, x, y, mask)
    assert mask.sum().item() == 32 * 16
    priorities = x[:, :20, 8]
    assert float(priorities.min()) < -0.9 and float(priorities.max()) > 0.9


def test_priority_sort_all_outputs():
    task = PrioritySortTask(bits=3, num_inputs=5, num_outputs=5)
    x, y, mask = task.sample(20, gen(1))
    check_priority_sort(task, x, y, mask)


# ----------------------------------------------------------------------------------------
# Dynamic n-grams
# ----------------------------------------------------------------------------------------
def reference_ngram_sequences(task: NGramsTask, batch_size: int, seed: int) -> list[list[int]]:
    """The generative process written out one bit at a time, drawing the same numbers."""
    g = gen(seed)
    C = 2 ** (task.n - 1)
    tables = (torch.sin(0.5 * math.pi * torch.rand(batch_size, C, generator=g)) ** 2).tolist()
    coins = torch.rand(batch_size, task.length, generator=g).tolist()
    sequences = []
    for table, u in zip(tables, coins):
        bits = [int(c < 0.5) for c in u[: task.n - 1]]
        for t in range(task.n - 1, task.length):
            context = int("".join(map(str, bits[t - task.n + 1 : t])), 2)  # oldest bit first
            bits.append(int(u[t] < table[context]))
        sequences.append(bits)
    return sequences


def test_ngrams_layout_and_reference_process():
    task = NGramsTask()
    assert (task.n, task.length, task.input_size, task.output_size) == (6, 200, 1, 1)
    x, y, mask = task.sample(4, gen(5))
    assert x.shape == y.shape == (4, 199, 1)
    assert torch.equal(mask, torch.ones(4, 199))
    assert torch.equal(x[:, 1:], y[:, :-1]), "the target is the next input bit"
    bits = torch.cat([x[:, :1, 0], y[:, :, 0]], 1).int().tolist()
    assert bits == reference_ngram_sequences(task, 4, 5)
    small = NGramsTask(n=3, length=30)
    x, y, _ = small.sample(3, gen(6))
    assert torch.cat([x[:, :1, 0], y[:, :, 0]], 1).int().tolist() == reference_ngram_sequences(
        small, 3, 6
    )


def test_ngrams_beta_half_half_moments():
    # p = sin^2(pi u / 2) with u uniform is Beta(1/2, 1/2): mean 1/2, variance 1/8, and
    # P(p < 0.1) = (2/pi) asin(sqrt(0.1)) ~ 0.205
    p = torch.sin(0.5 * math.pi * torch.rand(200_000, generator=gen(0), dtype=torch.float64)) ** 2
    assert float(p.mean()) == pytest.approx(0.5, abs=0.005)
    assert float(p.var()) == pytest.approx(0.125, abs=0.002)
    assert float((p < 0.1).double().mean()) == pytest.approx(
        2 / math.pi * math.asin(math.sqrt(0.1)), abs=0.005
    )


def brute_force_predictions(bits: list[int], n: int) -> list[float]:
    """P(next bit = 1) after each prefix, counting contexts with a dict."""
    seen: dict[tuple[int, ...], list[int]] = {}
    out = []
    for t in range(len(bits)):
        if t >= n - 1:  # bit t has a full context before it: count it first
            counts = seen.setdefault(tuple(bits[t - n + 1 : t]), [0, 0])
            counts[bits[t]] += 1
        if t + 1 < n - 1:  # the next bit is one of the first n-1: a fair coin
            out.append(0.5)
        else:
            context = tuple(bits[t - n + 2 : t + 1])
            n0, n1 = seen.get(context, [0, 0])
            out.append((n1 + 0.5) / (n1 + n0 + 1))
    return out


def test_ngram_optimal_predictions_hand_example():
    # n = 2: context = the previous bit. Bits 0 1 0 1 0:
    # t=0: ctx 0 unseen -> 1/2; then 0->1 counted. t=1: ctx 1 unseen -> 1/2; 1->0 counted.
    # t=2: ctx 0 seen once followed by 1 -> 1.5/2; t=3: ctx 1 (once, by 0) -> 0.5/2;
    # t=4: ctx 0 twice followed by 1 -> 2.5/3.
    out = ngram_optimal_predictions(torch.tensor([[0.0, 1, 0, 1, 0]]), n=2)
    assert out[0].tolist() == pytest.approx([0.5, 0.5, 0.75, 0.25, 2.5 / 3])


@pytest.mark.parametrize("n", [2, 3, 6])
def test_ngram_optimal_predictions_vs_dict_count(n):
    bits = torch.randint(0, 2, (5, 60), generator=gen(n)).float()
    bits[0, :30] = 1  # long runs: a context seen many times
    got = ngram_optimal_predictions(bits, n)
    assert got.shape == bits.shape and got.dtype == torch.float32
    expected = [brute_force_predictions(row, n) for row in bits.int().tolist()]
    assert got.tolist() == [pytest.approx(row) for row in expected]
    assert ngram_optimal_predictions(bits[..., None], n).shape == (5, 60, 1)
    assert ngram_optimal_predictions(bits.double(), n).dtype == torch.float64


def test_ngram_optimal_predictions_short_and_invalid():
    assert ngram_optimal_predictions(torch.zeros(2, 3), n=6).tolist() == [[0.5] * 3] * 2
    with pytest.raises(ValueError, match="bits"):
        ngram_optimal_predictions(torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match="0 or 1"):
        ngram_optimal_predictions(torch.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="n"):
        ngram_optimal_predictions(torch.zeros(2, 3), n=1)


def test_ngram_optimal_cost_vs_python():
    x, y, mask = NGramsTask(n=4, length=40).sample(3, gen(2))
    mask[1, 10:] = 0  # a mask counts only its steps
    got = ngram_optimal_cost(x, y, mask, n=4)
    total = 0.0
    for b in range(3):
        sequence = [int(v) for v in x[b, :1, 0].tolist() + y[b, :, 0].tolist()]
        p = brute_force_predictions(sequence[:-1], 4)
        for t, (pt, target) in enumerate(zip(p, sequence[1:])):
            if mask[b, t]:
                total += -math.log2(pt if target else 1 - pt)
    assert got == pytest.approx(total / 3)


def test_ngram_optimal_cost_matches_the_paper():
    # Paper: optimum ~133 bits per 200-bit sequence. Here 199 predictions are counted (the
    # first bit has no predecessor); the mean is ~132.7, standard error ~1.1 at 1000 sequences.
    x, y, mask = NGramsTask().sample(1000, gen(0))
    cost = ngram_optimal_cost(x, y, mask)
    assert 128 < cost < 137
    coin_cost = float(mask.sum(1).mean())  # predicting 1/2 always: 1 bit per step
    assert coin_cost == 199 and cost < coin_cost


# ----------------------------------------------------------------------------------------
# Property tests over settings
# ----------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    bits=st.integers(1, 5),
    lens=st.tuples(st.integers(1, 6), st.integers(0, 6)),
    reps=st.tuples(st.integers(1, 4), st.integers(0, 4)),
    same=st.booleans(),
    batch=st.integers(1, 6),
    seed=st.integers(0, 2**31),
)
def test_copy_and_repeat_copy_any_setting(bits, lens, reps, same, batch, seed):
    lo, extra = lens
    copy = CopyTask(bits=bits, min_len=lo, max_len=lo + extra, same_length=same)
    check_copy(copy, *copy.sample(batch, gen(seed)))
    r_lo, r_extra = reps
    repeat = RepeatCopyTask(
        bits=bits,
        min_len=lo,
        max_len=lo + extra,
        min_repeats=r_lo,
        max_repeats=r_lo + r_extra,
        same_length=same,
    )
    check_repeat_copy(repeat, *repeat.sample(batch, gen(seed)))


@settings(max_examples=25, deadline=None)
@given(
    bits=st.integers(1, 4),
    item_len=st.integers(1, 3),
    items=st.tuples(st.integers(2, 5), st.integers(0, 4)),
    same=st.booleans(),
    batch=st.integers(1, 6),
    seed=st.integers(0, 2**31),
)
def test_associative_recall_any_setting(bits, item_len, items, same, batch, seed):
    lo, extra = items
    hi = min(lo + extra, 2 ** (bits * item_len))
    lo = min(lo, hi)
    if lo < 2:
        return
    task = AssociativeRecallTask(
        bits=bits, item_len=item_len, min_items=lo, max_items=hi, same_length=same
    )
    check_associative_recall(task, *task.sample(batch, gen(seed)))


@settings(max_examples=15, deadline=None)
@given(
    bits=st.integers(1, 4),
    sizes=st.tuples(st.integers(1, 12), st.integers(0, 11)),
    seed=st.integers(0, 2**31),
)
def test_priority_sort_any_setting(bits, sizes, seed):
    n_in, fewer = sizes
    task = PrioritySortTask(bits=bits, num_inputs=n_in, num_outputs=max(1, n_in - fewer))
    check_priority_sort(task, *task.sample(4, gen(seed)))


# ----------------------------------------------------------------------------------------
# Speed
# ----------------------------------------------------------------------------------------
def median_ms(task, batch_size: int) -> float:
    task.sample(batch_size, gen(0))
    times = []
    for seed in range(15):
        start = time.perf_counter()
        task.sample(batch_size, gen(seed))
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def test_generation_is_fast():
    # One intra-op thread: on a small, shared CPU the thread pool's wake-ups (not this code)
    # can cost milliseconds per op, and batches this small gain nothing from threads.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert median_ms(CopyTask(), 64) < 5
        assert median_ms(RepeatCopyTask(), 64) < 10
        assert median_ms(AssociativeRecallTask(), 64) < 10
        assert median_ms(PrioritySortTask(), 64) < 5
        assert median_ms(NGramsTask(), 32) < 50
    finally:
        torch.set_num_threads(threads)
