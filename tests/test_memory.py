"""Tests for ntm_nb.memory: reading (eq. 2) and writing (eqs. 3-4).

The trusted answer is the paper's formula written as an explicit Python loop over rows,
in float64; autograd is checked with ``torch.autograd.gradcheck``.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ntm_nb.memory import read, write

F64 = torch.float64


# ----------------------------------------------------------------------------------------
# References: the formulas, one row at a time.
# ----------------------------------------------------------------------------------------
def ref_read(memory: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Eq. (2): r = sum_i w(i) M(i). memory (B, N, M), w (B, H, N) -> (B, H, M)."""
    B, N, M = memory.shape
    H = w.shape[1]
    r = torch.zeros(B, H, M, dtype=F64)
    for b in range(B):
        for h in range(H):
            for i in range(N):
                r[b, h] += float(w[b, h, i]) * memory[b, i].double()
    return r


def ref_write(
    memory: torch.Tensor, w: torch.Tensor, e: torch.Tensor, a: torch.Tensor
) -> torch.Tensor:
    """Eqs. (3)-(4) for H heads: erases multiply, adds sum. w (B, H, N), e, a (B, H, M)."""
    B, N, M = memory.shape
    H = w.shape[1]
    out = torch.zeros(B, N, M, dtype=F64)
    for b in range(B):
        for i in range(N):
            row = memory[b, i].double().clone()
            for h in range(H):  # (3): M~(i) = M(i) * prod_h [1 - w_h(i) e_h]
                row = row * (1 - float(w[b, h, i]) * e[b, h].double())
            for h in range(H):  # (4): M(i) = M~(i) + sum_h w_h(i) a_h
                row = row + float(w[b, h, i]) * a[b, h].double()
            out[b, i] = row
    return out


def random_weighting(*shape: int, generator: torch.Generator | None = None) -> torch.Tensor:
    return torch.softmax(torch.randn(*shape, dtype=F64, generator=generator) * 2, dim=-1)


def write_args(B: int, H: int, N: int, M: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    memory = torch.randn(B, N, M, dtype=F64, generator=gen)
    w = random_weighting(B, H, N, generator=gen)
    e = torch.rand(B, H, M, dtype=F64, generator=gen)
    a = torch.randn(B, H, M, dtype=F64, generator=gen)
    return memory, w, e, a


# ----------------------------------------------------------------------------------------
# Eq. (2): read
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("B,N,M", [(1, 1, 1), (2, 5, 3), (3, 16, 7)])
def test_read_matches_loop_single_head(B, N, M):
    memory, w, _, _ = write_args(B, 1, N, M)
    r = read(memory, w[:, 0])
    assert r.shape == (B, M)
    torch.testing.assert_close(r, ref_read(memory, w)[:, 0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("H", [1, 2, 4])
def test_read_matches_loop_several_heads(H):
    memory, w, _, _ = write_args(3, H, 9, 5, seed=H)
    r = read(memory, w)
    assert r.shape == (3, H, 5)
    torch.testing.assert_close(r, ref_read(memory, w), rtol=1e-12, atol=1e-12)


def test_read_gradcheck():
    memory, w, _, _ = write_args(2, 3, 6, 4)
    memory.requires_grad_()
    w.requires_grad_()
    assert torch.autograd.gradcheck(read, (memory, w))
    assert torch.autograd.gradcheck(lambda m, v: read(m, v[:, 0]), (memory, w))


@given(seed=st.integers(0, 2**31 - 1), N=st.integers(1, 12), M=st.integers(1, 6))
def test_read_one_hot_returns_that_row(seed, N, M):
    gen = torch.Generator().manual_seed(seed)
    memory = torch.randn(2, N, M, generator=gen)
    rows = torch.randint(0, N, (2,), generator=gen)
    w = torch.nn.functional.one_hot(rows, N).float()
    torch.testing.assert_close(read(memory, w), memory[torch.arange(2), rows])


# ----------------------------------------------------------------------------------------
# Eqs. (3)-(4): write
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("B,N,M", [(1, 1, 1), (2, 5, 3), (3, 16, 7)])
def test_write_matches_loop_single_head(B, N, M):
    memory, w, e, a = write_args(B, 1, N, M)
    out = write(memory, w[:, 0], e[:, 0], a[:, 0])
    assert out.shape == (B, N, M)
    torch.testing.assert_close(out, ref_write(memory, w, e, a), rtol=1e-12, atol=1e-12)
    # The (B, 1, N) head form takes the kernel's one-head branch; same answer.
    torch.testing.assert_close(write(memory, w, e, a), out, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("H", [2, 3, 5])
def test_write_several_heads_erases_multiply_adds_sum(H):
    memory, w, e, a = write_args(2, H, 7, 4, seed=H)
    out = write(memory, w, e, a)
    torch.testing.assert_close(out, ref_write(memory, w, e, a), rtol=1e-12, atol=1e-12)


def test_write_several_heads_order_does_not_matter():
    memory, w, e, a = write_args(2, 4, 7, 4, seed=1)
    perm = torch.tensor([2, 0, 3, 1])
    torch.testing.assert_close(
        write(memory, w[:, perm], e[:, perm], a[:, perm]),
        write(memory, w, e, a),
        rtol=1e-12,
        atol=1e-12,
    )


def test_write_two_heads_is_not_two_sequential_writes():
    # Sequential writes would erase the first head's add; the paper's rule does not.
    memory, w, e, a = write_args(1, 2, 5, 3, seed=3)
    both = write(memory, w, e, a)
    sequential = write(write(memory, w[:, 0], e[:, 0], a[:, 0]), w[:, 1], e[:, 1], a[:, 1])
    assert not torch.allclose(both, sequential)


def test_write_zero_heads_leaves_memory_unchanged():
    memory = torch.randn(2, 5, 3, dtype=F64)
    empty = torch.zeros(2, 0, 3, dtype=F64)
    out = write(memory, torch.zeros(2, 0, 5, dtype=F64), empty, empty)
    torch.testing.assert_close(out, memory, rtol=0, atol=0)


@pytest.mark.parametrize("H", [1, 3])
def test_write_gradcheck(H):
    memory, w, e, a = write_args(2, H, 5, 3, seed=H)
    e = 0.05 + 0.9 * e  # strictly inside [0, 1], so gradcheck's perturbations stay valid
    inputs = tuple(t.requires_grad_() for t in (memory, w, e, a))
    assert torch.autograd.gradcheck(write, inputs)
    if H == 1:
        assert torch.autograd.gradcheck(
            lambda m, v, ee, aa: write(m, v[:, 0], ee[:, 0], aa[:, 0]), inputs
        )


@given(
    seed=st.integers(0, 2**31 - 1),
    N=st.integers(1, 12),
    M=st.integers(1, 6),
    H=st.integers(1, 3),
)
def test_write_full_erase_at_one_hot_row_replaces_exactly_that_row(seed, N, M, H):
    gen = torch.Generator().manual_seed(seed)
    memory = torch.randn(2, N, M, generator=gen)
    row = int(torch.randint(0, N, (1,), generator=gen))
    a = torch.randn(2, M, generator=gen)
    w = torch.zeros(2, N)
    w[:, row] = 1.0
    out = write(memory, w, torch.ones(2, M), a)
    torch.testing.assert_close(out[:, row], a)
    others = [i for i in range(N) if i != row]
    assert torch.equal(out[:, others], memory[:, others])


@given(seed=st.integers(0, 2**31 - 1), H=st.integers(1, 3))
def test_write_never_mutates_its_arguments(seed, H):
    memory, w, e, a = write_args(2, H, 6, 3, seed=seed)
    before = [t.clone() for t in (memory, w, e, a)]
    out = write(memory, w, e, a)
    for t, b in zip((memory, w, e, a), before):
        assert torch.equal(t, b)
    out.add_(1.0)  # the result is a new value: changing it leaves the argument alone
    assert torch.equal(memory, before[0])
    out1 = write(memory, w[:, 0], e[:, 0], a[:, 0])
    out1.mul_(0.0)
    assert torch.equal(memory, before[0])


# ----------------------------------------------------------------------------------------
# Bad input: the error names the argument.
# ----------------------------------------------------------------------------------------
def _good(B=2, N=5, M=3):
    return (
        torch.randn(B, N, M),
        torch.full((B, N), 1.0 / N),
        torch.full((B, M), 0.5),
        torch.randn(B, M),
    )


@pytest.mark.parametrize("position,name", [(0, "memory"), (1, "w"), (2, "e"), (3, "a")])
@pytest.mark.parametrize("bad", [[[1.0]], 3.0, None])
def test_write_non_tensor_raises_type_error(position, name, bad):
    args = list(_good())
    args[position] = bad
    with pytest.raises(TypeError, match=f"^{name}:"):
        write(*args)


@pytest.mark.parametrize("position,name", [(0, "memory"), (1, "w")])
def test_read_non_tensor_raises_type_error(position, name):
    args = list(_good()[:2])
    args[position] = args[position].tolist()
    with pytest.raises(TypeError, match=f"^{name}:"):
        read(*args)


def test_integer_memory_raises_type_error():
    memory, w, _, _ = _good()
    with pytest.raises(TypeError, match="^memory:"):
        read(memory.long(), w)


@pytest.mark.parametrize("shape", [(0, 3), (5, 0), (0, 0)])
def test_memory_with_a_zero_dimension_raises(shape):
    memory = torch.zeros(2, *shape)
    w = torch.zeros(2, shape[0])
    with pytest.raises(ValueError, match="^memory:"):
        read(memory, w)
    with pytest.raises(ValueError, match="^memory:"):
        write(memory, w, torch.zeros(2, shape[1]), torch.zeros(2, shape[1]))


@pytest.mark.parametrize(
    "position,name,bad",
    [
        (0, "memory", torch.randn(5, 3)),  # no batch dimension
        (0, "memory", torch.randn(1, 2, 5, 3)),
        (1, "w", torch.full((2, 4), 0.25)),  # N = 4, memory has 5 rows
        (1, "w", torch.full((2, 1, 1, 5), 0.2)),
        (2, "e", torch.full((2, 4), 0.5)),  # M = 4, memory has 3 columns
        (2, "e", torch.full((2, 1, 3), 0.5)),  # a head dimension w does not have
        (3, "a", torch.randn(2, 2)),
        (3, "a", torch.randn(3, 3)),  # batch 3, others 2
    ],
)
def test_write_wrong_shape_raises_value_error(position, name, bad):
    args = list(_good())
    args[position] = bad
    with pytest.raises(ValueError, match=f"^{name}:"):
        write(*args)


def test_read_wrong_shape_raises_value_error():
    memory, w, _, _ = _good()
    with pytest.raises(ValueError, match="^w:"):
        read(memory, w[:, :4])
    with pytest.raises(ValueError, match="^memory:"):
        read(memory[0], w)


def test_mismatched_batch_sizes_raise():
    memory, w, e, a = _good()
    with pytest.raises(ValueError, match="batch.*memory=2, w=3"):
        read(memory, torch.full((3, 5), 0.2))
    with pytest.raises(ValueError, match="batch.*memory=2, w=1"):
        write(memory, w[:1], e, a)


def test_write_head_count_mismatch_raises():
    memory, w, e, a = write_args(2, 3, 5, 4)
    with pytest.raises(ValueError, match="^e:"):
        write(memory, w, e[:, :2], a)
    with pytest.raises(ValueError, match="^a:"):
        write(memory, w, e, a[:, :1])


@pytest.mark.parametrize(
    "bad_w",
    [
        torch.full((2, 5), 0.3),  # sums to 1.5
        torch.tensor([[1.5, -0.5, 0.0, 0.0, 0.0]] * 2),  # sums to 1, a negative entry
        torch.tensor([[float("nan"), 1.0, 0.0, 0.0, 0.0]] * 2),
    ],
)
def test_weighting_that_is_not_a_distribution_raises(bad_w):
    memory, _, e, a = _good()
    with pytest.raises(ValueError, match="^w:"):
        read(memory, bad_w)
    with pytest.raises(ValueError, match="^w:"):
        write(memory, bad_w, e, a)


@pytest.mark.parametrize("value", [-0.1, 1.1, float("nan"), float("inf")])
def test_erase_outside_unit_interval_raises(value):
    memory, w, e, a = _good()
    e = e.clone()
    e[1, 2] = value
    with pytest.raises(ValueError, match="^e:"):
        write(memory, w, e, a)


def test_erase_at_bounds_is_accepted():
    memory, w, _, a = _good()
    write(memory, w, torch.zeros(2, 3), a)
    write(memory, w, torch.ones(2, 3), a)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_write_rejects_a_non_finite_add_vector_by_name(bad):
    memory = torch.zeros(1, 4, 3)
    w = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    e = torch.zeros(1, 3)
    a = torch.tensor([[0.0, bad, 0.0]])
    with pytest.raises(ValueError, match="^a:"):
        write(memory, w, e, a)
