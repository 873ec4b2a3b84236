"""The paper's five tasks (section 4) as batch generators.

Every task is a frozen ``@dataclass`` whose defaults are the paper's training settings, and
``task.sample(batch_size, generator)`` returns one batch ``(x, y, mask)`` of float32 tensors:

==========  ================  ===========================================================
name        shape             meaning
==========  ================  ===========================================================
x           (B, T, input)     the input at every step
y           (B, T, output)    the target bits at every step, in {0, 1}
mask        (B, T)            1 where the step's output counts (the answer phase), else 0
==========  ================  ===========================================================

Conventions shared by all tasks

* **Padding.** Sequences in one batch may differ in length (copy, repeat copy and
  associative recall draw a length or count per sequence). Each is padded *at the end* to
  the batch's longest: zeros in ``x`` and ``y``, 0 in ``mask``. A model run over the padded
  steps only changes its outputs there, which the mask ignores.
* **same_length.** Those tasks have a field ``same_length`` (default ``False``). With
  ``True`` one length / count is drawn per *batch* and shared by all its sequences, so
  there is no padding and no wasted steps: faster training, at the price of batches that
  are internally less varied. The paper trains at batch size 1, where both are the same.
* **Randomness.** ``sample`` draws only from ``generator`` (the global RNG when it is
  ``None``): the same seed gives the same batch. Tensors are made on the CPU; move them
  with ``.to(device)``.
* **Changing settings.** The dataclasses are frozen, so a task is always valid; use
  ``dataclasses.replace(task, max_len=120)`` (which checks again) for a generalisation
  test or a curriculum, and ``make_task(name, **fields)`` to build one by name.
  ``make_task(task.name, **task.to_dict())`` rebuilds the same task.
* **Cost.** The paper reports "bits per sequence": for the binary tasks, the number of
  wrongly thresholded output bits summed over the masked steps; for n-grams, the
  cross-entropy in bits (``ngram_optimal_cost`` gives the optimum to compare against).
"""

from __future__ import annotations

import abc
import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from ntm_nb._checks import check_positive_int

Batch = tuple[Tensor, Tensor, Tensor]  # (x, y, mask)


# ----------------------------------------------------------------------------------------
# Shared helpers
# ----------------------------------------------------------------------------------------
def _random_bits(shape: tuple[int, ...], generator: torch.Generator | None) -> Tensor:
    """Independent fair coin flips, as float32 0/1."""
    return torch.randint(0, 2, shape, generator=generator, dtype=torch.float32)


def _draw_counts(
    low: int, high: int, batch_size: int, same: bool, generator: torch.Generator | None
) -> Tensor:
    """Integers uniform in [low, high]: one per sequence, or one shared by the batch. (B,)"""
    size = (1,) if same else (batch_size,)
    return torch.randint(low, high + 1, size, generator=generator).expand(batch_size)


class Task(abc.ABC):
    """What every task provides; the concrete tasks are frozen dataclasses below."""

    name: ClassVar[str]  # the key in ``TASKS``

    @property
    @abc.abstractmethod
    def input_size(self) -> int:
        """Channels of ``x``."""

    @property
    @abc.abstractmethod
    def output_size(self) -> int:
        """Channels of ``y``."""

    @abc.abstractmethod
    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        """One batch ``(x, y, mask)``: shapes (B, T, input_size), (B, T, output_size), (B, T)."""

    def to_dict(self) -> dict[str, Any]:
        """The task's fields, for saving next to a model; ``make_task`` reverses it."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    # -- checks used by the __post_init__ of the dataclasses -------------------------------
    def _check_int(
        self, field: str, low: int, high: int | None = None, *, low_is: str = "", high_is: str = ""
    ) -> None:
        """``field`` must be an integer in [low, high]; ``low_is``/``high_is`` name a bound."""
        value = getattr(self, field)
        where = f"{type(self).__name__}.{field}"
        lo = f"{low_is} = {low}" if low_is else str(low)
        hi = "" if high is None else (f"{high_is} = {high}" if high_is else str(high))
        accepted = f"an integer >= {lo}" if high is None else f"an integer in [{lo}, {hi}]"
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{where}: expected {accepted}, got {value!r}")
        if value < low or (high is not None and value > high):
            raise ValueError(f"{where}: must be {accepted}, got {value}")
        object.__setattr__(self, field, int(value))  # numpy integers become plain ints

    def _check_bool(self, field: str) -> None:
        value = getattr(self, field)
        if not isinstance(value, bool):
            raise TypeError(f"{type(self).__name__}.{field}: expected True or False, got {value!r}")


def _check_batch_size(batch_size: int) -> int:
    return check_positive_int("batch_size", batch_size)


# ----------------------------------------------------------------------------------------
# Copy (section 4.1)
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CopyTask(Task):
    """Copy (section 4.1): read a sequence of random binary vectors, then write it back.

    Layout of one sequence of length L (T = 2L + 1 steps); channels of ``x`` are
    ``[bits data | delimiter]``, channels of ``y`` are the ``bits`` data bits:

    ==============  =============================  ===================  ====
    steps           x                              y                    mask
    ==============  =============================  ===================  ====
    0 .. L-1        the L random vectors           0                    0
    L               delimiter channel = 1          0                    0
    L+1 .. 2L       0 (no input)                   the L vectors again  1
    ==============  =============================  ===================  ====

    The paper tests generalisation at lengths 10, 20, 30, 50 and 120:
    ``replace(task, min_len=120, max_len=120)``. Any length >= 1 works.
    """

    name: ClassVar[str] = "copy"
    bits: int = 8  # width of each random binary vector
    min_len: int = 1  # shortest sequence (paper: 1)
    max_len: int = 20  # longest sequence (paper: 20 in training)
    same_length: bool = False  # True: one length per batch, no padding (see module docstring)

    def __post_init__(self) -> None:
        self._check_int("bits", 1)
        self._check_int("min_len", 1)
        self._check_int("max_len", self.min_len, low_is="min_len")
        self._check_bool("same_length")

    @property
    def input_size(self) -> int:
        return self.bits + 1  # data bits + delimiter

    @property
    def output_size(self) -> int:
        return self.bits

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        B = _check_batch_size(batch_size)
        lengths = _draw_counts(self.min_len, self.max_len, B, self.same_length, generator)  # (B,)
        L = int(lengths.max())
        steps = torch.arange(L)
        valid = steps < lengths[:, None]  # (B, L): step is part of the sequence
        data = _random_bits((B, L, self.bits), generator) * valid[..., None]  # (B, L, bits)

        T = 2 * L + 1
        x = data.new_zeros(B, T, self.input_size)
        y = data.new_zeros(B, T, self.output_size)
        mask = data.new_zeros(B, T)
        rows = torch.arange(B)
        x[:, :L, : self.bits] = data
        x[rows, lengths, self.bits] = 1.0  # the delimiter, right after each sequence
        b, i = valid.nonzero(as_tuple=True)  # every (sequence, step) pair of real data
        out = lengths[b] + 1 + i  # the step at which vector i is to be written back
        y[b, out] = data[b, i]
        mask[b, out] = 1.0
        return x, y, mask


# ----------------------------------------------------------------------------------------
# Repeat copy (section 4.2)
# ----------------------------------------------------------------------------------------
#: The paper's training range of repeat counts; the repeat channel is normalised over it.
PAPER_REPEATS = (1, 10)


def repeat_count_normalisation(min_repeats: int, max_repeats: int) -> tuple[float, float]:
    """Mean and standard deviation of a repeat count uniform over {min_repeats..max_repeats}.

    For n = max - min + 1 equally likely integers: mean = (min + max) / 2 and
    variance = (n^2 - 1) / 12. A single value has variance 0; its std is taken as 1 so that
    the normalisation only centres.
    """
    n = max_repeats - min_repeats + 1
    std = math.sqrt((n * n - 1) / 12)
    return (min_repeats + max_repeats) / 2, (std if std > 0 else 1.0)


@dataclass(frozen=True)
class RepeatCopyTask(Task):
    """Repeat copy (section 4.2): copy a sequence a given number of times, then say "done".

    Channels of ``x``: ``[bits data | delimiter | repeat count]``; channels of ``y``:
    ``[bits data | end marker]``. One sequence of length L repeated R times takes
    T = L + 1 + L*R + 1 steps:

    ==================  ==========================================  ==============  ====
    steps               x                                           y               mask
    ==================  ==========================================  ==============  ====
    0 .. L-1            the L random vectors                        0               0
    L                   delimiter = 1 and repeat channel =          0               0
                        (R - repeats_mean) / repeats_std
    L+1 .. L+L*R        0 (no input)                                the sequence,   1
                                                                    R times
    L+L*R+1             0                                           end marker = 1  1
    ==================  ==========================================  ==============  ====

    The delimiter and the count share one step (the paper shows the count on its own
    channel after the sequence; it does not say whether on the same step).

    **Normalisation.** The paper normalises the count to mean 0 and variance 1. The
    statistics are fields, by default those of the paper's training range 1..10
    (mean 5.5, std 2.872) *whatever min/max_repeats are*, so a generalisation task
    (``replace(task, min_repeats=20, max_repeats=20)``, or ``RepeatCopyTask(max_repeats=20)``)
    encodes counts exactly as training did. To train on another range normalised over
    itself, pass ``*repeat_count_normalisation(lo, hi)`` as ``repeats_mean, repeats_std``.
    """

    name: ClassVar[str] = "repeat_copy"
    bits: int = 8  # width of each random binary vector
    min_len: int = 1  # shortest sequence (paper: 1)
    max_len: int = 10  # longest sequence (paper: 10 in training)
    min_repeats: int = 1  # fewest repeats (paper: 1)
    max_repeats: int = 10  # most repeats (paper: 10 in training)
    repeats_mean: float | None = None  # centre of the count channel; None: 5.5 (paper's 1..10)
    repeats_std: float | None = None  # scale of the count channel; None: 2.872 (paper's 1..10)
    same_length: bool = False  # True: one length and one count per batch, no padding

    def __post_init__(self) -> None:
        self._check_int("bits", 1)
        self._check_int("min_len", 1)
        self._check_int("max_len", self.min_len, low_is="min_len")
        self._check_int("min_repeats", 1)
        self._check_int("max_repeats", self.min_repeats, low_is="min_repeats")
        self._check_bool("same_length")
        mean, std = repeat_count_normalisation(*PAPER_REPEATS)
        for field, default in (("repeats_mean", mean), ("repeats_std", std)):
            value = getattr(self, field)
            if value is None:
                value = default
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"RepeatCopyTask.{field}: expected a real number, got {value!r}")
            if not math.isfinite(value) or (field == "repeats_std" and value <= 0):
                accepted = "a number > 0" if field == "repeats_std" else "a finite number"
                raise ValueError(f"RepeatCopyTask.{field}: must be {accepted}, got {value}")
            object.__setattr__(self, field, float(value))

    @property
    def input_size(self) -> int:
        return self.bits + 2  # data bits + delimiter + repeat count

    @property
    def output_size(self) -> int:
        return self.bits + 1  # data bits + end marker

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        B = _check_batch_size(batch_size)
        same = self.same_length
        lengths = _draw_counts(self.min_len, self.max_len, B, same, generator)  # (B,)
        repeats = _draw_counts(self.min_repeats, self.max_repeats, B, same, generator)  # (B,)
        L = int(lengths.max())
        valid = torch.arange(L) < lengths[:, None]  # (B, L)
        data = _random_bits((B, L, self.bits), generator) * valid[..., None]  # (B, L, bits)

        copies = lengths * repeats  # (B,) output vectors before the end marker
        T = int((lengths + copies).max()) + 2
        x = data.new_zeros(B, T, self.input_size)
        y = data.new_zeros(B, T, self.output_size)
        mask = data.new_zeros(B, T)
        rows = torch.arange(B)
        x[:, :L, : self.bits] = data
        x[rows, lengths, self.bits] = 1.0  # delimiter
        x[rows, lengths, self.bits + 1] = (repeats.float() - self.repeats_mean) / self.repeats_std

        k = torch.arange(int(copies.max()))
        b, j = (k < copies[:, None]).nonzero(as_tuple=True)  # j-th output vector of row b
        out = lengths[b] + 1 + j
        y[b, out, : self.bits] = data[b, j % lengths[b]]  # the sequence, over and over
        mask[b, out] = 1.0
        end = lengths + 1 + copies  # (B,)
        y[rows, end, self.bits] = 1.0  # end marker
        mask[rows, end] = 1.0
        return x, y, mask


# ----------------------------------------------------------------------------------------
# Associative recall (section 4.3)
# ----------------------------------------------------------------------------------------
def _distinct_items(
    batch_size: int, count: int, width: int, generator: torch.Generator | None
) -> Tensor:
    """``count`` random binary items of ``width`` bits per sequence, all different. (B, K, D)

    Draws at random and redraws any item equal to an earlier one until none is; needs
    ``count <= 2**width``. Deterministic given the generator's state.
    """
    items = _random_bits((batch_size, count, width), generator)
    earlier = torch.ones(count, count, dtype=torch.bool).tril(-1)  # [i, j]: j < i
    while True:
        equal = (items[:, :, None, :] == items[:, None, :, :]).all(-1)  # (B, K, K)
        repeated = (equal & earlier).any(-1)  # (B, K): equals an earlier item
        n = int(repeated.sum())
        if n == 0:
            return items
        items[repeated] = _random_bits((n, width), generator)


@dataclass(frozen=True)
class AssociativeRecallTask(Task):
    """Associative recall (section 4.3): after a list of items, given one, recall the next.

    An *item* is ``item_len`` random ``bits``-wide vectors. Channels of ``x``:
    ``[bits data | item delimiter | query delimiter]``; ``y`` has the ``bits`` data bits.
    With K items (each taking S = item_len + 1 steps) and query index q, one episode takes
    T = K*S + 2*item_len + 2 steps:

    =========================  ==================================  ===========  ====
    steps                      x                                   y            mask
    =========================  ==================================  ===========  ====
    i*S                        item delimiter = 1 (item i starts)  0            0
    i*S+1 .. i*S+item_len      the item_len vectors of item i      0            0
    K*S                        query delimiter = 1                 0            0
    K*S+1 .. K*S+item_len      item q again (the query)            0            0
    K*S+item_len+1             query delimiter = 1                 0            0
    the next item_len steps    0 (no input)                        item q+1     1
    =========================  ==================================  ===========  ====

    for i = 0..K-1. The query q is uniform over 0..K-2 (any item but the last, which
    has no successor), so ``min_items`` must be >= 2.

    Departure: the paper does not say whether items may repeat. Here the items of one
    episode are all different, so that the answer is never ambiguous (with the default
    18-bit items a repeat would happen in about 1 episode in 17,000 anyway); hence
    ``max_items`` may not exceed the 2**(bits*item_len) possible items.
    The paper tests generalisation at 6, 10, 15 and 20 items.
    """

    name: ClassVar[str] = "associative_recall"
    bits: int = 6  # width of each vector of an item
    item_len: int = 3  # vectors per item
    min_items: int = 2  # fewest items per episode (paper: 2; the query needs a successor)
    max_items: int = 6  # most items per episode (paper: 6 in training)
    same_length: bool = False  # True: one item count per batch, no padding

    def __post_init__(self) -> None:
        self._check_int("bits", 1)
        self._check_int("item_len", 1)
        self._check_int("min_items", 2)
        possible = 2 ** (self.bits * self.item_len)
        self._check_int(
            "max_items", self.min_items, possible, low_is="min_items", high_is="2**(bits*item_len)"
        )
        self._check_bool("same_length")

    @property
    def input_size(self) -> int:
        return self.bits + 2  # data bits + item delimiter + query delimiter

    @property
    def output_size(self) -> int:
        return self.bits

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        B = _check_batch_size(batch_size)
        n_items = _draw_counts(self.min_items, self.max_items, B, self.same_length, generator)
        K = int(n_items.max())
        il, S, bits = self.item_len, self.item_len + 1, self.bits
        items = _distinct_items(B, K, il * bits, generator).view(B, K, il, bits)
        # query index uniform in 0..n_items-2 (floor of a uniform draw; clamp guards rounding)
        q = (torch.rand(B, generator=generator) * (n_items - 1)).long()
        q = torch.minimum(q, n_items - 2)  # (B,)

        T = K * S + 2 * il + 2
        x = items.new_zeros(B, T, self.input_size)
        y = items.new_zeros(B, T, self.output_size)
        mask = items.new_zeros(B, T)
        # the item list: K blocks of S steps, the same step positions in every sequence
        blocks = items.new_zeros(B, K, S, self.input_size)
        blocks[:, :, 0, bits] = 1.0  # item delimiter
        blocks[:, :, 1:, :bits] = items
        blocks *= (torch.arange(K) < n_items[:, None])[:, :, None, None]  # drop unused items
        x[:, : K * S] = blocks.view(B, K * S, self.input_size)
        # the query and the answer start where each sequence's list ends
        rows = torch.arange(B)
        start = n_items * S  # (B,)
        j = torch.arange(il)
        x[rows, start, bits + 1] = 1.0  # query delimiter
        x[rows[:, None], start[:, None] + 1 + j, :bits] = items[rows, q]  # (B, il, bits)
        x[rows, start + il + 1, bits + 1] = 1.0  # query delimiter again
        answer = start[:, None] + il + 2 + j  # (B, il)
        y[rows[:, None], answer] = items[rows, q + 1]
        mask[rows[:, None], answer] = 1.0
        return x, y, mask


# ----------------------------------------------------------------------------------------
# Dynamic n-grams (section 4.4)
# ----------------------------------------------------------------------------------------
def _context_ids(bits: Tensor, n: int) -> Tensor:
    """The n-1 bits ending at each step t >= n-2, as an integer. (B, T) -> (B, T - n + 2)

    The oldest bit is the most significant: bits b_{t-n+2} .. b_t read as a binary number.
    """
    weights = 2 ** torch.arange(n - 2, -1, -1)  # (n-1,)
    return (bits.long().unfold(1, n - 1, 1) * weights).sum(-1)


@dataclass(frozen=True)
class NGramsTask(Task):
    """Dynamic n-grams (section 4.4): predict the next bit of a sequence from a random n-gram model.

    Each sequence draws its own table of 2**(n-1) probabilities p[c] ~ Beta(1/2, 1/2), one
    per context c of n-1 bits; its first n-1 bits are fair coins and every later bit is 1
    with probability p[context of the previous n-1 bits]. Beta(1/2, 1/2) is sampled by its
    inverse CDF, p = sin^2(pi u / 2) with u uniform, so that ``generator`` alone drives it.

    Layout: one input channel and one output channel, T = length - 1 steps, all counted:

    =========  ============  ================  ====
    step t     x             y                 mask
    =========  ============  ================  ====
    0 .. T-1   bit t         bit t+1 (next)    1
    =========  ============  ================  ====

    Choice: every prediction counts, including the first n-2, whose bits are fair coins
    (1 bit each for any predictor, the optimal one included), so the optimum of
    ``ngram_optimal_cost`` is directly comparable to a model's cost on the same mask.
    """

    name: ClassVar[str] = "ngrams"
    n: int = 6  # n-gram order: each bit depends on the previous n-1 = 5 bits
    length: int = 200  # bits per sequence (paper: 200), giving length-1 predictions

    def __post_init__(self) -> None:
        # n <= 20: the table holds 2**(n-1) probabilities per sequence
        self._check_int("n", 2, 20)
        self._check_int("length", self.n, low_is="n")

    @property
    def input_size(self) -> int:
        return 1

    @property
    def output_size(self) -> int:
        return 1

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        B = _check_batch_size(batch_size)
        n, C = self.n, 2 ** (self.n - 1)
        table = torch.sin(0.5 * math.pi * torch.rand(B, C, generator=generator)) ** 2  # Beta(½,½)
        coins = torch.rand(B, self.length, generator=generator)  # one uniform per bit
        bits = torch.zeros(B, self.length)
        bits[:, : n - 1] = (coins[:, : n - 1] < 0.5).float()  # the first n-1 bits: fair coins
        context = _context_ids(bits[:, : n - 1], n)[:, 0]  # (B,)
        for t in range(n - 1, self.length):
            p = table.gather(1, context[:, None]).squeeze(1)  # p[context], (B,)
            bit = coins[:, t] < p
            bits[:, t] = bit.float()
            context = ((context << 1) | bit.long()) & (C - 1)  # drop the oldest bit
        x = bits[:, :-1, None].contiguous()  # (B, T, 1)
        y = bits[:, 1:, None].contiguous()  # (B, T, 1)
        mask = torch.ones(B, self.length - 1)
        return x, y, mask


def ngram_optimal_predictions(bits: Tensor, n: int = 6) -> Tensor:
    """The optimal Bayesian estimate of the next bit, at every step (section 4.4).

    ``out[:, t] = P(bit t+1 = 1 | bits 0..t)``, aligned with ``NGramsTask``'s ``x`` and ``y``.
    With c the context of the last n-1 bits (bits t-n+2..t), and N1, N0 the number of
    times c was followed by a 1 or a 0 earlier in the *same* sequence,

        P(next = 1) = (N1 + 1/2) / (N1 + N0 + 1)

    (the posterior mean under the Beta(1/2, 1/2) prior). Before n-1 bits have been seen
    the next bit is a fair coin: 1/2.

    bits: (B, T) or (B, T, 1), entries 0/1. Returns float probabilities of the same shape
    (float32 unless ``bits`` is float64). A loop over time; vectorised over the batch.
    """
    if not isinstance(bits, Tensor) or bits.dim() not in (2, 3) or (
        bits.dim() == 3 and bits.shape[-1] != 1
    ):
        shape = tuple(bits.shape) if isinstance(bits, Tensor) else type(bits).__name__
        raise ValueError(f"bits: expected a tensor of shape (B, T) or (B, T, 1), got {shape}")
    check_positive_int("n", n, 2)
    B, T = bits.shape[:2]
    if bool(((bits != 0) & (bits != 1)).any()):
        raise ValueError("bits: entries must be 0 or 1")
    b = bits.reshape(B, T).long()
    dtype = bits.dtype if bits.dtype == torch.float64 else torch.float32
    out = torch.full((B, T), 0.5, dtype=torch.float64)
    if T >= n - 1:
        contexts = _context_ids(b, n)  # (B, T - n + 2): the context ending at step n-2+s
        counts = torch.zeros(B, 2 ** (n - 1), 2, dtype=torch.float64)  # [context, next bit]
        rows = torch.arange(B)
        for t in range(n - 2, T):
            c = contexts[:, t - (n - 2)]
            n0, n1 = counts[rows, c, 0], counts[rows, c, 1]
            out[:, t] = (n1 + 0.5) / (n1 + n0 + 1)
            if t + 1 < T:
                counts[rows, c, b[:, t + 1]] += 1  # now the next bit is seen
    return out.to(dtype).reshape(bits.shape)


def ngram_optimal_cost(x: Tensor, y: Tensor, mask: Tensor, n: int = 6) -> float:
    """The optimal estimator's cost on a batch, in bits per sequence.

    The cross-entropy in bits, -[y log2 p + (1-y) log2 (1-p)], of
    ``ngram_optimal_predictions(x, n)``, summed over the masked steps and averaged over the
    sequences. x, y: (B, T, 1); mask: (B, T). A model's cost on the same batch is to be
    compared with this. On ``NGramsTask()`` (199 predictions) it averages about 132.7 bits
    (5,000 sequences, standard error 0.5) against the paper's "about 133" for 200-bit
    sequences, which may also count the first bit (a fair coin: +1 bit).
    """
    p = ngram_optimal_predictions(x.double(), n).reshape(mask.shape)
    target = y.double().reshape(mask.shape)
    bits = -(target * torch.log2(p) + (1 - target) * torch.log2(1 - p))  # (B, T)
    return float((bits * mask.double()).sum(1).mean())


# ----------------------------------------------------------------------------------------
# Priority sort (section 4.5)
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PrioritySortTask(Task):
    """Priority sort (section 4.5): output the highest-priority vectors, sorted by priority.

    Channels of ``x``: ``[bits data | priority | delimiter]``; ``y`` has the ``bits`` data
    bits. T = num_inputs + 1 + num_outputs steps:

    ===============================  ===========================  ===================  ====
    steps                            x                            y                    mask
    ===============================  ===========================  ===================  ====
    0 .. num_inputs-1                a random vector, and its     0                    0
                                     priority, uniform in [-1,1]
    num_inputs                       delimiter = 1                0                    0
    the next num_outputs steps       0 (no input)                 the num_outputs      1
                                                                  highest-priority
                                                                  vectors, highest
                                                                  first
    ===============================  ===========================  ===================  ====

    Equal priorities (rare with float32) keep their input order.
    """

    name: ClassVar[str] = "priority_sort"
    bits: int = 8  # width of each random binary vector
    num_inputs: int = 20  # vectors presented (paper: 20)
    num_outputs: int = 16  # highest-priority vectors to output, sorted (paper: 16)

    def __post_init__(self) -> None:
        self._check_int("bits", 1)
        self._check_int("num_inputs", 1)
        self._check_int("num_outputs", 1, self.num_inputs, high_is="num_inputs")

    @property
    def input_size(self) -> int:
        return self.bits + 2  # data bits + priority + delimiter

    @property
    def output_size(self) -> int:
        return self.bits

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        B = _check_batch_size(batch_size)
        n_in, n_out, bits = self.num_inputs, self.num_outputs, self.bits
        data = _random_bits((B, n_in, bits), generator)  # (B, n_in, bits)
        priority = torch.rand(B, n_in, generator=generator) * 2 - 1  # uniform in [-1, 1)
        order = priority.argsort(dim=1, descending=True, stable=True)[:, :n_out]  # (B, n_out)
        ranked = data.gather(1, order[..., None].expand(-1, -1, bits))  # (B, n_out, bits)

        T = n_in + 1 + n_out
        x = data.new_zeros(B, T, self.input_size)
        y = data.new_zeros(B, T, self.output_size)
        mask = data.new_zeros(B, T)
        x[:, :n_in, :bits] = data
        x[:, :n_in, bits] = priority
        x[:, n_in, bits + 1] = 1.0  # delimiter
        y[:, n_in + 1 :] = ranked
        mask[:, n_in + 1 :] = 1.0
        return x, y, mask


# ----------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------
TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (CopyTask, RepeatCopyTask, AssociativeRecallTask, NGramsTask, PrioritySortTask)
}


def make_task(name: str, **overrides: Any) -> Task:
    """Build the task called ``name`` (a key of ``TASKS``) with some fields changed.

    Raises ``ValueError`` for an unknown task name or an invalid value, and ``TypeError``
    for an unknown field or a value of the wrong type; the messages say what is accepted.
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; accepted: {', '.join(map(repr, TASKS))}")
    cls = TASKS[name]
    accepted = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise TypeError(
            f"{name}: unknown field(s) {', '.join(unknown)}; accepted: {', '.join(accepted)}"
        )
    return cls(**overrides)
