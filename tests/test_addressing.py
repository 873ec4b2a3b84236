"""Tests for ntm_nb.addressing: content (eqs. 5-6), interpolation (7), shift (8),
sharpening (9) and the whole pipeline.

The trusted answer is each formula written as an explicit Python loop over rows, in
float64 (the circular sum of eq. 8 included); autograd is checked with gradcheck; the
invariants (weightings are distributions, sharpening never lowers the largest weight,
shifts compose) and numerical safety at extreme parameters are property tests.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ntm_nb.addressing import address, content_weighting, interpolate, sharpen, shift

F64 = torch.float64


# ----------------------------------------------------------------------------------------
# References: the paper's formulas, one row at a time, in float64 Python arithmetic.
# All take a head dimension: (B, H, ...).
# ----------------------------------------------------------------------------------------
def ref_cosine(u: list[float], v: list[float]) -> float:
    """Eq. (6): K[u, v] = u.v / (|u| |v|)."""
    dot = sum(x * y for x, y in zip(u, v))
    nu = math.sqrt(sum(x * x for x in u))
    nv = math.sqrt(sum(y * y for y in v))
    return dot / (nu * nv)


def ref_content_weighting(memory, k, beta):
    """Eq. (5): w(i) = exp(beta K[k, M(i)]) / sum_j exp(beta K[k, M(j)])."""
    B, N, _ = memory.shape
    H = k.shape[1]
    out = torch.zeros(B, H, N, dtype=F64)
    for b in range(B):
        for h in range(H):
            key, strength = k[b, h].tolist(), float(beta[b, h, 0])
            scores = [strength * ref_cosine(key, memory[b, i].tolist()) for i in range(N)]
            top = max(scores)  # subtracting the max leaves the ratio unchanged
            exps = [math.exp(x - top) for x in scores]
            for i in range(N):
                out[b, h, i] = exps[i] / sum(exps)
    return out


def ref_interpolate(w_c, w_prev, g):
    """Eq. (7): w_g(i) = g w_c(i) + (1 - g) w_prev(i)."""
    B, H, N = w_c.shape
    out = torch.zeros(B, H, N, dtype=F64)
    for b in range(B):
        for h in range(H):
            gate = float(g[b, h, 0])
            for i in range(N):
                out[b, h, i] = gate * float(w_c[b, h, i]) + (1 - gate) * float(w_prev[b, h, i])
    return out


def ref_shift(w, s):
    """Eq. (8): w~(i) = sum_j w(j) s(i - j), indices modulo N.

    ``s[..., R + o]`` is the weight of offset o in -R..R. An offset o stands for the
    residue o mod N, so s(d) for a residue d is the weight of the offset o = d (mod N).
    """
    B, H, N = w.shape
    R = (s.shape[-1] - 1) // 2
    out = torch.zeros(B, H, N, dtype=F64)
    for b in range(B):
        for h in range(H):
            for i in range(N):
                total = 0.0
                for j in range(N):
                    d = (i - j) % N
                    for o in range(-R, R + 1):
                        if o % N == d:
                            total += float(w[b, h, j]) * float(s[b, h, R + o])
                out[b, h, i] = total
    return out


def ref_sharpen(w, gamma):
    """Eq. (9): w(i) = w~(i)^gamma / sum_j w~(j)^gamma."""
    B, H, N = w.shape
    out = torch.zeros(B, H, N, dtype=F64)
    for b in range(B):
        for h in range(H):
            p = float(gamma[b, h, 0])
            powered = [float(w[b, h, i]) ** p for i in range(N)]
            for i in range(N):
                out[b, h, i] = powered[i] / sum(powered)
    return out


def ref_address(memory, k, beta, g, s, gamma, w_prev):
    """Figure 2: content, interpolation, shift, sharpening, each by its reference."""
    w_c = ref_content_weighting(memory, k, beta)
    return ref_sharpen(ref_shift(ref_interpolate(w_c, w_prev, g), s), gamma)


# ----------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------
def dist(*shape, generator=None, scale=2.0, dtype=F64):
    return torch.softmax(torch.randn(*shape, generator=generator, dtype=F64) * scale, -1).to(dtype)


def address_args(B=2, H=3, N=8, M=4, R=1, seed=0):
    """Inputs strictly inside the valid ranges (so gradcheck's perturbations stay valid)."""
    gen = torch.Generator().manual_seed(seed)
    return dict(
        memory=torch.randn(B, N, M, generator=gen, dtype=F64),
        k=torch.randn(B, H, M, generator=gen, dtype=F64),
        beta=0.5 + 5 * torch.rand(B, H, 1, generator=gen, dtype=F64),
        g=0.1 + 0.8 * torch.rand(B, H, 1, generator=gen, dtype=F64),
        s=dist(B, H, 2 * R + 1, generator=gen),
        gamma=1.1 + 3 * torch.rand(B, H, 1, generator=gen, dtype=F64),
        w_prev=dist(B, H, N, generator=gen),
    )


def drop_heads(args: dict) -> dict:
    """The same arguments without the head dimension (first head only)."""
    return {n: (t if n == "memory" else t[:, 0]) for n, t in args.items()}


def assert_distribution(w: torch.Tensor, atol: float = 1e-5) -> None:
    assert torch.isfinite(w).all()
    assert (w >= 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones_like(w.sum(-1)), rtol=0, atol=atol)


EXACT = dict(rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------------------
# Eqs. (5)-(6): content weighting
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("B,H,N,M", [(1, 1, 1, 1), (2, 1, 5, 3), (2, 3, 8, 4), (1, 2, 17, 6)])
def test_content_weighting_matches_loop(B, H, N, M):
    a = address_args(B, H, N, M, R=0, seed=N)
    w = content_weighting(a["memory"], a["k"], a["beta"])
    assert w.shape == (B, H, N)
    expected = ref_content_weighting(a["memory"], a["k"], a["beta"])
    torch.testing.assert_close(w, expected, **EXACT)
    a2 = drop_heads(a)
    w2 = content_weighting(a2["memory"], a2["k"], a2["beta"])
    assert w2.shape == (B, N)
    torch.testing.assert_close(w2, expected[:, 0], **EXACT)


def test_content_weighting_large_beta_focuses_on_most_similar_row():
    memory = torch.eye(4, dtype=F64).unsqueeze(0)  # (1, 4, 4): rows are basis vectors
    k = torch.tensor([[0.1, 0.2, 3.0, -0.5]], dtype=F64)
    w = content_weighting(memory, k, torch.tensor([[1e3]], dtype=F64))
    torch.testing.assert_close(w, torch.tensor([[0.0, 0.0, 1.0, 0.0]], dtype=F64))


def test_content_weighting_is_scale_invariant_in_key_and_rows():
    a = drop_heads(address_args(seed=4))
    w = content_weighting(a["memory"], a["k"], a["beta"])
    scaled = content_weighting(a["memory"] * 7.0, a["k"] * 0.01, a["beta"])
    torch.testing.assert_close(w, scaled, **EXACT)


def test_content_weighting_beta_zero_is_uniform():
    a = drop_heads(address_args(N=6, seed=5))
    w = content_weighting(a["memory"], a["k"], torch.zeros(2, 1, dtype=F64))
    torch.testing.assert_close(w, torch.full((2, 6), 1 / 6, dtype=F64), **EXACT)


def test_content_weighting_zero_key_or_zero_row_has_similarity_zero():
    # DEPARTURE of the package: the guarded norms give K = 0 for a zero vector, not 0/0.
    memory = torch.tensor([[[1.0, 0.0], [0.0, 0.0], [-1.0, 0.0]]], dtype=F64)
    beta = torch.tensor([[2.0]], dtype=F64)
    w_zero_key = content_weighting(memory, torch.zeros(1, 2, dtype=F64), beta)
    torch.testing.assert_close(w_zero_key, torch.full((1, 3), 1 / 3, dtype=F64), **EXACT)
    w = content_weighting(memory, torch.tensor([[1.0, 0.0]], dtype=F64), beta)
    scores = torch.tensor([2.0, 0.0, -2.0], dtype=F64)  # beta * K with K(zero row) = 0
    torch.testing.assert_close(w[0], torch.softmax(scores, -1), **EXACT)


def test_content_weighting_gradcheck():
    a = address_args(B=2, H=2, N=5, M=3, seed=1)
    inputs = tuple(a[n].requires_grad_() for n in ("memory", "k", "beta"))
    assert torch.autograd.gradcheck(content_weighting, inputs)
    assert torch.autograd.gradcheck(lambda m, k, b: content_weighting(m, k[:, 0], b[:, 0]), inputs)


# ----------------------------------------------------------------------------------------
# Eq. (7): interpolation
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("H", [1, 3])
def test_interpolate_matches_loop(H):
    gen = torch.Generator().manual_seed(H)
    w_c, w_prev = dist(2, H, 7, generator=gen), dist(2, H, 7, generator=gen)
    g = torch.rand(2, H, 1, generator=gen, dtype=F64)
    expected = ref_interpolate(w_c, w_prev, g)
    torch.testing.assert_close(interpolate(w_c, w_prev, g), expected, **EXACT)
    one_head = interpolate(w_c[:, 0], w_prev[:, 0], g[:, 0])
    torch.testing.assert_close(one_head, expected[:, 0], **EXACT)


def test_interpolate_gate_endpoints():
    w_c, w_prev = dist(2, 6), dist(2, 6)
    torch.testing.assert_close(interpolate(w_c, w_prev, torch.ones(2, 1, dtype=F64)), w_c)
    torch.testing.assert_close(interpolate(w_c, w_prev, torch.zeros(2, 1, dtype=F64)), w_prev)


def test_interpolate_gradcheck():
    gen = torch.Generator().manual_seed(2)
    w_c, w_prev = dist(2, 3, 6, generator=gen), dist(2, 3, 6, generator=gen)
    g = 0.1 + 0.8 * torch.rand(2, 3, 1, generator=gen, dtype=F64)
    inputs = tuple(t.requires_grad_() for t in (w_c, w_prev, g))
    assert torch.autograd.gradcheck(interpolate, inputs)


# ----------------------------------------------------------------------------------------
# Eq. (8): circular shift
# ----------------------------------------------------------------------------------------
SHIFT_CASES = [(N, R) for N in (1, 2, 3, 4, 5, 8, 9) for R in range(0, 5) if 2 * R + 1 <= N]


@pytest.mark.parametrize("N,R", SHIFT_CASES)
def test_shift_matches_circular_loop_for_every_R(N, R):
    gen = torch.Generator().manual_seed(100 * N + R)
    w, s = dist(2, 2, N, generator=gen), dist(2, 2, 2 * R + 1, generator=gen)
    expected = ref_shift(w, s)
    torch.testing.assert_close(shift(w, s), expected, **EXACT)
    torch.testing.assert_close(shift(w[:, 0], s[:, 0]), expected[:, 0], **EXACT)


@pytest.mark.parametrize("N", [3, 5, 8])
@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_shift_convention_offset_plus_one_moves_row_i_to_i_plus_one(N, offset):
    R = 1
    s = torch.zeros(1, 2 * R + 1, dtype=F64)
    s[0, R + offset] = 1.0
    for i in range(N):
        w = torch.zeros(1, N, dtype=F64)
        w[0, i] = 1.0
        expected = torch.zeros(1, N, dtype=F64)
        expected[0, (i + offset) % N] = 1.0  # row N-1 shifted by +1 wraps to row 0
        torch.testing.assert_close(shift(w, s), expected, rtol=0, atol=0)


@pytest.mark.parametrize("N,R", [(5, 2), (7, 3), (9, 2)])
def test_shift_far_offsets_wrap_around(N, R):
    for offset in range(-R, R + 1):
        s = torch.zeros(1, 2 * R + 1, dtype=F64)
        s[0, R + offset] = 1.0
        w = torch.zeros(1, N, dtype=F64)
        w[0, 1] = 1.0
        assert int(shift(w, s).argmax()) == (1 + offset) % N


@pytest.mark.parametrize("N,R", [(3, 1), (5, 2), (8, 1), (8, 3)])
def test_shift_gradcheck(N, R):
    gen = torch.Generator().manual_seed(N + R)
    w, s = dist(2, 2, N, generator=gen), dist(2, 2, 2 * R + 1, generator=gen)
    inputs = (w.requires_grad_(), s.requires_grad_())
    assert torch.autograd.gradcheck(shift, inputs)


# ----------------------------------------------------------------------------------------
# Eq. (9): sharpening
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("H", [1, 2])
@pytest.mark.parametrize("gamma_value", [1.0, 1.7, 5.0, 30.0])
def test_sharpen_matches_loop(H, gamma_value):
    w = dist(3, H, 9, generator=torch.Generator().manual_seed(7))
    gamma = torch.full((3, H, 1), gamma_value, dtype=F64)
    expected = ref_sharpen(w, gamma)
    torch.testing.assert_close(sharpen(w, gamma), expected, **EXACT)
    torch.testing.assert_close(sharpen(w[:, 0], gamma[:, 0]), expected[:, 0], **EXACT)


def test_sharpen_normalises_unnormalised_weights_with_zeros():
    w = torch.tensor([[0.0, 2.0, 1.0, 0.0]], dtype=F64)
    gamma = torch.tensor([[2.0]], dtype=F64)
    torch.testing.assert_close(
        sharpen(w, gamma), torch.tensor([[0.0, 0.8, 0.2, 0.0]], dtype=F64), **EXACT
    )


def test_sharpen_uniform_over_many_rows_with_large_gamma_stays_uniform():
    # (1/128)^50 underflows to 0 in float32; eq. (9) still gives the uniform weighting.
    w = torch.full((2, 128), 1 / 128)
    out = sharpen(w, torch.full((2, 1), 50.0))
    torch.testing.assert_close(out, w)


def test_sharpen_gradcheck():
    gen = torch.Generator().manual_seed(3)
    w = dist(2, 3, 6, generator=gen, scale=1.0)  # entries strictly positive
    gamma = 1.1 + 4 * torch.rand(2, 3, 1, generator=gen, dtype=F64)
    inputs = (w.requires_grad_(), gamma.requires_grad_())
    assert torch.autograd.gradcheck(sharpen, inputs)


# ----------------------------------------------------------------------------------------
# Eqs. (5)-(9): the whole pipeline
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "B,H,N,M,R", [(1, 1, 3, 2, 1), (2, 3, 8, 4, 1), (2, 2, 9, 3, 2), (1, 1, 5, 3, 0)]
)
def test_address_matches_loop(B, H, N, M, R):
    a = address_args(B, H, N, M, R, seed=N + M)
    expected = ref_address(**a)
    w = address(**a)
    assert w.shape == (B, H, N)
    torch.testing.assert_close(w, expected, **EXACT)
    torch.testing.assert_close(address(**drop_heads(a)), expected[:, 0], **EXACT)


def test_address_is_the_composition_of_the_public_steps():
    a = address_args(seed=11)
    w_c = content_weighting(a["memory"], a["k"], a["beta"])
    expected = sharpen(shift(interpolate(w_c, a["w_prev"], a["g"]), a["s"]), a["gamma"])
    torch.testing.assert_close(address(**a), expected, **EXACT)


def test_address_gate_zero_ignores_content():
    a = address_args(seed=12)
    a["g"] = torch.zeros_like(a["g"])
    w = address(**a)
    a["memory"] = torch.randn_like(a["memory"])
    a["k"] = torch.randn_like(a["k"])
    torch.testing.assert_close(address(**a), w, **EXACT)


def test_address_gradcheck():
    a = address_args(B=2, H=2, N=6, M=3, R=1, seed=13)
    names = ("memory", "k", "beta", "g", "s", "gamma", "w_prev")
    inputs = tuple(a[n].requires_grad_() for n in names)
    assert torch.autograd.gradcheck(address, inputs)


# ----------------------------------------------------------------------------------------
# Properties (hypothesis): distributions, sharpening, shifts, numerical safety.
# ----------------------------------------------------------------------------------------
WEIGHTING_KINDS = ("random", "one-hot", "uniform", "peaked")


def make_weighting(
    kind: str, B: int, H: int, N: int, gen: torch.Generator, dtype=torch.float32
) -> torch.Tensor:
    if kind == "one-hot":
        rows = torch.randint(0, N, (B, H), generator=gen)
        return torch.nn.functional.one_hot(rows, N).to(dtype)
    if kind == "uniform":
        return torch.full((B, H, N), 1.0 / N, dtype=dtype)
    scale = 30.0 if kind == "peaked" else 2.0
    return torch.softmax(torch.randn(B, H, N, generator=gen, dtype=dtype) * scale, -1)


sizes = dict(
    seed=st.integers(0, 2**31 - 1),
    H=st.integers(1, 3),
    N=st.integers(1, 20),
    M=st.integers(1, 8),
)


@given(**sizes, beta=st.floats(0.0, 1e3), zero_rows=st.booleans(), zero_key=st.booleans())
def test_content_weighting_is_a_distribution(seed, H, N, M, beta, zero_rows, zero_key):
    gen = torch.Generator().manual_seed(seed)
    memory = torch.randn(2, N, M, generator=gen)
    if zero_rows:
        memory[:, torch.randint(0, 2, (N,), generator=gen).bool()] = 0.0
    k = torch.zeros(2, H, M) if zero_key else torch.randn(2, H, M, generator=gen)
    assert_distribution(content_weighting(memory, k, torch.full((2, H, 1), beta)))


@given(
    seed=st.integers(0, 2**31 - 1),
    N=st.integers(1, 20),
    g=st.floats(0.0, 1.0),
    kinds=st.tuples(st.sampled_from(WEIGHTING_KINDS), st.sampled_from(WEIGHTING_KINDS)),
)
def test_interpolate_is_a_distribution(seed, N, g, kinds):
    gen = torch.Generator().manual_seed(seed)
    w_c, w_prev = (make_weighting(kind, 2, 2, N, gen) for kind in kinds)
    assert_distribution(interpolate(w_c, w_prev, torch.full((2, 2, 1), g)))


@given(
    seed=st.integers(0, 2**31 - 1),
    N=st.integers(1, 20),
    R=st.integers(0, 5),
    kind=st.sampled_from(WEIGHTING_KINDS),
    s_kind=st.sampled_from(WEIGHTING_KINDS),
)
def test_shift_is_a_distribution_and_preserves_mass(seed, N, R, kind, s_kind):
    R = min(R, (N - 1) // 2)
    gen = torch.Generator().manual_seed(seed)
    w = make_weighting(kind, 2, 2, N, gen)
    s = make_weighting(s_kind, 2, 2, 2 * R + 1, gen)
    assert_distribution(shift(w, s))


@given(seed=st.integers(0, 2**31 - 1), N=st.integers(1, 20), R=st.integers(1, 5))
def test_shift_plus_then_minus_is_identity_for_one_hot(seed, N, R):
    R = min(R, (N - 1) // 2)
    gen = torch.Generator().manual_seed(seed)
    w = make_weighting("one-hot", 3, 2, N, gen)
    plus, minus = torch.zeros(3, 2, 2 * R + 1), torch.zeros(3, 2, 2 * R + 1)
    plus[..., min(R + 1, 2 * R)] = 1.0  # offset +1 (offset 0 when R = 0, i.e. N <= 2)
    minus[..., max(R - 1, 0)] = 1.0  # offset -1
    moved = shift(w, plus)
    if R > 0 and N > 1:
        assert not torch.equal(moved, w)  # it did move
        assert torch.equal(moved, w.roll(1, dims=-1))
    assert torch.equal(shift(moved, minus), w)


@given(
    seed=st.integers(0, 2**31 - 1),
    N=st.integers(1, 20),
    gamma=st.floats(1.0, 50.0),
    kind=st.sampled_from(WEIGHTING_KINDS),
)
def test_sharpen_is_a_distribution_and_never_lowers_the_largest_weight(seed, N, gamma, kind):
    gen = torch.Generator().manual_seed(seed)
    w = make_weighting(kind, 2, 2, N, gen, dtype=F64)
    out = sharpen(w, torch.full((2, 2, 1), gamma, dtype=F64))
    assert_distribution(out, atol=1e-12)
    assert (out.amax(-1) >= w.amax(-1) - 1e-12).all()
    assert torch.equal(out.argmax(-1), w.argmax(-1)) or kind == "uniform"


@given(
    **sizes,
    R=st.integers(0, 3),
    beta=st.floats(0.0, 1e3),
    g=st.floats(0.0, 1.0),
    gamma=st.floats(1.0, 50.0),
    kind=st.sampled_from(WEIGHTING_KINDS),
    zero_memory=st.sampled_from(["none", "some rows", "all"]),
    zero_key=st.booleans(),
)
def test_address_extreme_parameters_give_finite_distributions_and_gradients(
    seed, H, N, M, R, beta, g, gamma, kind, zero_memory, zero_key
):
    """Zero rows, zero keys, beta up to 1e3, gamma up to 50, one-hot and uniform w_prev:
    forward and backward stay finite (float32, the model's dtype)."""
    R = min(R, (N - 1) // 2)
    gen = torch.Generator().manual_seed(seed)
    B = 2
    memory = torch.randn(B, N, M, generator=gen)
    if zero_memory == "all":
        memory.zero_()
    elif zero_memory == "some rows":
        memory[:, torch.randint(0, 2, (N,), generator=gen).bool()] = 0.0
    k = torch.zeros(B, H, M) if zero_key else torch.randn(B, H, M, generator=gen)
    s = make_weighting(kind, B, H, 2 * R + 1, gen)
    args = dict(
        memory=memory,
        k=k,
        beta=torch.full((B, H, 1), beta),
        g=torch.full((B, H, 1), g),
        s=s,
        gamma=torch.full((B, H, 1), gamma),
        w_prev=make_weighting(kind, B, H, N, gen),
    )
    for t in args.values():
        t.requires_grad_()
    w = address(**args)
    assert_distribution(w)
    (w * torch.randn(w.shape, generator=gen)).sum().backward()
    for name, t in args.items():
        assert t.grad is not None, name
        assert torch.isfinite(t.grad).all(), name


@given(
    seed=st.integers(0, 2**31 - 1),
    N=st.integers(1, 20),
    gamma=st.floats(1.0, 50.0),
    kind=st.sampled_from(WEIGHTING_KINDS),
)
def test_sharpen_extreme_gamma_has_finite_gradients(seed, N, gamma, kind):
    gen = torch.Generator().manual_seed(seed)
    w = make_weighting(kind, 2, 1, N, gen).requires_grad_()
    gamma_t = torch.full((2, 1, 1), gamma, requires_grad=True)
    out = sharpen(w, gamma_t)
    (out * torch.randn(out.shape, generator=gen)).sum().backward()
    assert torch.isfinite(w.grad).all() and torch.isfinite(gamma_t.grad).all()


# ----------------------------------------------------------------------------------------
# Bad input: the error names the argument.
# ----------------------------------------------------------------------------------------
def good(B=2, N=8, M=4, R=1):
    return drop_heads(address_args(B, 1, N, M, R))


ADDRESS_NAMES = ("memory", "k", "beta", "g", "s", "gamma", "w_prev")


@pytest.mark.parametrize("name", ADDRESS_NAMES)
@pytest.mark.parametrize("bad", [[0.5], 0.5, None, "w"])
def test_address_non_tensor_raises_type_error(name, bad):
    a = good()
    a[name] = bad
    with pytest.raises(TypeError, match=f"^{name}:"):
        address(**a)


@pytest.mark.parametrize("name", ADDRESS_NAMES)
def test_address_integer_tensor_raises_type_error(name):
    a = good()
    a[name] = a[name].long()
    with pytest.raises(TypeError, match=f"^{name}:"):
        address(**a)


@pytest.mark.parametrize(
    "name,shape",
    [
        ("memory", (8, 4)),
        ("k", (2, 5)),  # M = 4
        ("k", (2,)),
        ("beta", (2,)),
        ("beta", (2, 2)),
        ("g", (2, 3)),
        ("gamma", (2, 1, 1)),
        ("w_prev", (2, 7)),  # N = 8
        ("s", (2, 1, 3)),
    ],
)
def test_address_wrong_shape_raises_value_error(name, shape):
    a = good()
    a[name] = torch.full(shape, 0.5, dtype=F64)
    with pytest.raises(ValueError, match=f"^{name}:"):
        address(**a)


@pytest.mark.parametrize("name", ["beta", "g", "s", "gamma", "w_prev"])
def test_address_head_count_mismatch_raises_value_error(name):
    a = address_args(H=3)
    a[name] = a[name][:, :2]
    with pytest.raises(ValueError, match=f"^{name}:"):
        address(**a)


@pytest.mark.parametrize("name", ["k", "beta", "g", "s", "gamma", "w_prev"])
def test_address_mismatched_batch_raises_value_error(name):
    a = good()
    a[name] = a[name][:1]
    with pytest.raises(ValueError, match=f"{name}.*batch|batch.*{name}"):
        address(**a)


@pytest.mark.parametrize("shape", [(2, 0, 4), (2, 8, 0)])
def test_memory_with_a_zero_dimension_raises(shape):
    a = good()
    a["memory"] = torch.zeros(shape, dtype=F64)
    with pytest.raises(ValueError, match="^memory:"):
        address(**a)
    with pytest.raises(ValueError, match="^memory:"):
        content_weighting(a["memory"], a["k"], a["beta"])


@pytest.mark.parametrize(
    "name,value",
    [
        ("beta", -0.01),
        ("beta", float("nan")),
        ("g", -0.01),
        ("g", 1.01),
        ("g", float("inf")),
        ("gamma", 0.99),
        ("gamma", 0.0),
        ("gamma", float("nan")),
    ],
)
def test_address_scalar_parameter_out_of_range_raises(name, value):
    a = good()
    a[name] = a[name].clone()
    a[name][1, 0] = value
    with pytest.raises(ValueError, match=f"^{name}:"):
        address(**a)


@pytest.mark.parametrize("name", ["s", "w_prev"])
@pytest.mark.parametrize("how", ["sums to 2", "negative", "nan"])
def test_address_non_distribution_raises(name, how):
    a = good()
    t = a[name].clone()
    if how == "sums to 2":
        t = t * 2
    elif how == "negative":
        t[0, 0], t[0, 1] = -0.5, t[0, 1] + 0.5 + t[0, 0]
    else:
        t[0, 0] = float("nan")
    a[name] = t
    with pytest.raises(ValueError, match=f"^{name}:"):
        address(**a)


@pytest.mark.parametrize("n_shifts", [9, 11, 2, 4])
def test_address_too_many_or_even_shifts_raises(n_shifts):
    a = good(N=8)
    a["s"] = torch.full((2, n_shifts), 1.0 / n_shifts, dtype=F64)
    with pytest.raises(ValueError, match="^s:"):
        address(**a)


def test_content_weighting_bad_input():
    a = good()
    memory, k, beta = a["memory"], a["k"], a["beta"]
    with pytest.raises(ValueError, match="^beta:"):
        content_weighting(memory, k, -beta)
    with pytest.raises(ValueError, match="^k:"):
        content_weighting(memory, k[:, :3], beta)
    with pytest.raises(ValueError, match="^beta:"):
        three_keys, two_betas = k.unsqueeze(1).expand(2, 3, 4), beta.unsqueeze(1).expand(2, 2, 1)
        content_weighting(memory, three_keys, two_betas)
    with pytest.raises(ValueError, match="batch"):
        content_weighting(memory[:1], k, beta)
    with pytest.raises(TypeError, match="^k:"):
        content_weighting(memory, k.tolist(), beta)


def test_interpolate_bad_input():
    w_c, w_prev, g = dist(2, 6), dist(2, 6), torch.full((2, 1), 0.5, dtype=F64)
    for bad_g in (g - 0.6, g + 0.6):
        with pytest.raises(ValueError, match="^g:"):
            interpolate(w_c, w_prev, bad_g)
    with pytest.raises(ValueError, match="^w_prev:"):
        interpolate(w_c, w_prev[:, :5], g)
    with pytest.raises(ValueError, match="^w_c:"):
        interpolate(w_c * 3, w_prev * 3, g)
    with pytest.raises(ValueError, match="^w_prev:"):
        interpolate(w_c, w_prev * 3, g)
    with pytest.raises(ValueError, match="^g:"):
        interpolate(w_c, w_prev, g[:1])
    with pytest.raises(ValueError, match="^g:"):
        interpolate(dist(2, 3, 6), dist(2, 3, 6), torch.full((2, 2, 1), 0.5, dtype=F64))
    with pytest.raises(TypeError, match="^g:"):
        interpolate(w_c, w_prev, 0.5)


@pytest.mark.parametrize("N,n_shifts", [(1, 3), (2, 3), (4, 5), (8, 9), (8, 11)])
def test_shift_more_offsets_than_rows_raises(N, n_shifts):
    w = torch.full((1, N), 1.0 / N, dtype=F64)
    s = torch.full((1, n_shifts), 1.0 / n_shifts, dtype=F64)
    with pytest.raises(ValueError, match="^s:.*2R\\+1"):
        shift(w, s)


def test_shift_bad_input():
    w = dist(2, 8)
    s = torch.tensor([[0.2, 0.5, 0.3]] * 2, dtype=F64)
    with pytest.raises(ValueError, match="^s:.*odd"):
        shift(w, torch.full((2, 4), 0.25, dtype=F64))
    with pytest.raises(ValueError, match="^s:"):
        shift(w, s * 2)
    with pytest.raises(ValueError, match="^s:"):
        shift(w, torch.tensor([[1.2, -0.2, 0.0]] * 2, dtype=F64))
    with pytest.raises(ValueError, match="^s:"):
        shift(dist(2, 3, 8), dist(2, 2, 3))
    with pytest.raises(ValueError, match="^s:"):
        shift(w, s[:1])
    with pytest.raises(ValueError, match="^w:"):
        shift(w[0], s)
    with pytest.raises(TypeError, match="^w:"):
        shift(w.numpy(), s)


def test_sharpen_bad_input():
    w, gamma = dist(2, 6), torch.full((2, 1), 2.0, dtype=F64)
    with pytest.raises(ValueError, match="^gamma:"):
        sharpen(w, gamma * 0.4)
    with pytest.raises(ValueError, match="^w:"):
        sharpen(w - 0.5, gamma)
    with pytest.raises(ValueError, match="^w:"):
        sharpen(torch.zeros(2, 6, dtype=F64), gamma)  # 0 / 0: no weighting to sharpen
    with pytest.raises(ValueError, match="^gamma:"):
        sharpen(w, gamma[:, :0])
    with pytest.raises(ValueError, match="^gamma:"):
        sharpen(dist(2, 3, 6), torch.full((2, 2, 1), 2.0, dtype=F64))
    with pytest.raises(TypeError, match="^gamma:"):
        sharpen(w, 2.0)


def test_cosine_similarity_matches_a_float64_loop_and_handles_zero_rows():
    from ntm_nb.addressing import cosine_similarity

    g = torch.Generator().manual_seed(3)
    memory = torch.randn(2, 5, 4, generator=g, dtype=torch.float64)
    memory[0, 2] = 0.0  # a zero row: similarity 0, not NaN
    k = torch.randn(2, 4, generator=g, dtype=torch.float64)
    got = cosine_similarity(memory, k)
    for b in range(2):
        for i in range(5):
            u, v = k[b], memory[b, i]
            den = float(u.norm() * v.norm())
            want = float(u @ v) / den if den > 0 else 0.0
            assert abs(float(got[b, i]) - want) < 1e-6
    assert float(got[0, 2]) == 0.0
    with pytest.raises(ValueError, match="^k:"):
        cosine_similarity(memory, torch.randn(2, 3, dtype=torch.float64))
