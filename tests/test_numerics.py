"""Numerical safety: no silent NaN anywhere.

* Extreme but finite inputs (float32 memory and key entries up to 1e30, beta up to 1e6,
  gamma up to 1e3, zero rows and keys, one-hot and uniform weightings) give finite
  outputs, finite gradients and weightings that sum to 1; the cosine similarity is still
  right there (scale invariance), not merely finite.
* Non-finite inputs (NaN, +Inf, -Inf) to every checked function and to the models'
  forward raise a ValueError that names the parameter.
* Config float fields are checked: finite and in their accepted range, by name.
* float16 and bfloat16 work: the guards take their floor from ``torch.finfo(dtype)``.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ntm_nb import NTM, LSTMBaseline, LSTMConfig, NTMConfig
from ntm_nb._checks import dist_tol
from ntm_nb.addressing import (
    _cosine_rescaled,
    _cosine_similarity,
    address,
    content_weighting,
    cosine_similarity,
    interpolate,
    sharpen,
    shift,
)
from ntm_nb.memory import read, write
from ntm_nb.model import FLOAT_RANGES

F64 = torch.float64
NON_FINITE = [float("nan"), float("inf"), -float("inf")]
KINDS = ("random", "one-hot", "uniform", "peaked")


def weighting(kind: str, *shape: int, gen: torch.Generator, dtype=torch.float32) -> torch.Tensor:
    N = shape[-1]
    if kind == "one-hot":
        rows = torch.randint(0, N, shape[:-1], generator=gen)
        return torch.nn.functional.one_hot(rows, N).to(dtype)
    if kind == "uniform":
        return torch.full(shape, 1.0 / N, dtype=dtype)
    scale = 30.0 if kind == "peaked" else 2.0
    return torch.softmax(torch.randn(*shape, generator=gen) * scale, -1).to(dtype)


def scaled_randn(*shape: int, exponent: int, gen: torch.Generator) -> torch.Tensor:
    """Standard normal entries times 10**exponent, in float32 (|entries| up to ~5e30)."""
    return (torch.randn(*shape, generator=gen, dtype=F64) * 10.0**exponent).float()


def assert_distribution(w: torch.Tensor, atol: float = 1e-5) -> None:
    assert torch.isfinite(w).all()
    assert (w >= 0).all()
    torch.testing.assert_close(
        w.sum(-1).double(), torch.ones_like(w.sum(-1), dtype=F64), rtol=0, atol=atol
    )


def backward_is_finite(out: torch.Tensor, inputs: dict[str, torch.Tensor], gen) -> None:
    (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum().backward()
    for name, t in inputs.items():
        assert t.grad is not None, name
        assert torch.isfinite(t.grad).all(), name


exponent = st.integers(-30, 30)
seeds = st.integers(0, 2**31 - 1)


# ----------------------------------------------------------------------------------------
# Extreme finite values: finite outputs and gradients, distributions, right answers.
# ----------------------------------------------------------------------------------------
@given(
    seed=seeds,
    H=st.integers(1, 3),
    N=st.integers(1, 20),
    M=st.integers(1, 8),
    mem_exp=exponent,
    key_exp=exponent,
    beta=st.floats(0.0, 1e6),
    zero_rows=st.booleans(),
    zero_key=st.booleans(),
)
def test_content_weighting_extreme_values(
    seed, H, N, M, mem_exp, key_exp, beta, zero_rows, zero_key
):
    gen = torch.Generator().manual_seed(seed)
    memory = scaled_randn(2, N, M, exponent=mem_exp, gen=gen)
    if zero_rows:
        memory[:, torch.randint(0, 2, (N,), generator=gen).bool()] = 0.0
    k = scaled_randn(2, H, M, exponent=key_exp, gen=gen) * (0.0 if zero_key else 1.0)
    inputs = dict(memory=memory, k=k, beta=torch.full((2, H, 1), beta))
    for t in inputs.values():
        t.requires_grad_()
    w = content_weighting(**inputs)
    assert_distribution(w)
    backward_is_finite(w, inputs, gen)


@given(seed=seeds, N=st.integers(1, 12), M=st.integers(1, 8), mem_exp=exponent, key_exp=exponent)
def test_cosine_similarity_is_scale_invariant_up_to_1e30(seed, N, M, mem_exp, key_exp):
    """Not just finite: the same similarities at every scale where the guard is negligible
    (entries ~1e-2 and up against EPS = 1e-8), checked against a float64 reference."""
    mem_exp, key_exp = max(mem_exp, -2), max(key_exp, -2)
    gen = torch.Generator().manual_seed(seed)
    base_m = torch.randn(2, N, M, generator=gen, dtype=F64)
    base_k = torch.randn(2, M, generator=gen, dtype=F64)
    unit_m = base_m / base_m.norm(dim=-1, keepdim=True)
    unit_k = base_k / base_k.norm(dim=-1, keepdim=True)
    expected = torch.einsum("bnm,bm->bn", unit_m, unit_k)
    got = cosine_similarity((base_m * 10.0**mem_exp).float(), (base_k * 10.0**key_exp).float())
    torch.testing.assert_close(got.double(), expected, rtol=0, atol=2e-6)


@pytest.mark.parametrize("scale", [1e19, 1e25, 1e30, 1e37])
def test_content_weighting_at_huge_scale_equals_unit_scale(scale):
    """The faults the plain formula had: inf/inf = NaN with both large; 0 (wrong) with one."""
    gen = torch.Generator().manual_seed(0)
    memory, k = torch.randn(2, 6, 5, generator=gen), torch.randn(2, 5, generator=gen)
    beta = torch.full((2, 1), 3.0)
    want = content_weighting(memory, k, beta)
    for m_scale, k_scale in ((scale, 1.0), (1.0, scale), (scale, scale)):
        got = content_weighting(memory * m_scale, k * k_scale, beta)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_rescaled_kernel_equals_the_plain_formula_and_its_gradient():
    """The rescaled cosine (used by the compiled step, and by the eager one where the plain
    formula overflows) is the plain guarded formula up to rounding, gradients included: its
    scale is detached because the guarded formula does not depend on it."""
    gen = torch.Generator().manual_seed(4)
    memory = torch.randn(3, 7, 5, generator=gen, dtype=F64)
    memory[0, 2] = 0.0
    memory[1, 3] = 1e-9  # below EPS: the guard dominates, in both forms
    k = torch.randn(3, 2, 5, generator=gen, dtype=F64)
    k[2, 1] = 0.0
    torch.testing.assert_close(
        _cosine_rescaled(memory, k), _cosine_similarity(memory, k), rtol=1e-12, atol=1e-15
    )
    clean = (
        torch.randn(2, 4, 3, generator=gen, dtype=F64).requires_grad_(),
        torch.randn(2, 2, 3, generator=gen, dtype=F64).requires_grad_(),
    )
    assert torch.autograd.gradcheck(_cosine_rescaled, clean)  # (finite differences of 1e-6
    memory.requires_grad_()  # would swamp the zero and 1e-9 rows: those are compared below)
    k.requires_grad_()
    g = torch.randn(3, 2, 7, generator=gen, dtype=F64)
    grads = [
        torch.autograd.grad((f(memory, k) * g).sum(), (memory, k))
        for f in (_cosine_rescaled, _cosine_similarity)
    ]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@given(
    seed=seeds,
    N=st.integers(1, 20),
    R=st.integers(0, 3),
    g=st.floats(0.0, 1.0),
    gamma=st.floats(1.0, 1e3),
    kinds=st.tuples(*[st.sampled_from(KINDS)] * 3),
)
def test_interpolate_shift_sharpen_extreme_values(seed, N, R, g, gamma, kinds):
    R = min(R, (N - 1) // 2)
    gen = torch.Generator().manual_seed(seed)
    inputs = dict(
        w_c=weighting(kinds[0], 2, 2, N, gen=gen),
        w_prev=weighting(kinds[1], 2, 2, N, gen=gen),
        g=torch.full((2, 2, 1), g),
        s=weighting(kinds[2], 2, 2, 2 * R + 1, gen=gen),
        gamma=torch.full((2, 2, 1), gamma),
    )
    for t in inputs.values():
        t.requires_grad_()
    w_g = interpolate(inputs["w_c"], inputs["w_prev"], inputs["g"])
    assert_distribution(w_g)
    w_tilde = shift(w_g, inputs["s"])
    assert_distribution(w_tilde)
    w = sharpen(w_tilde, inputs["gamma"])
    assert_distribution(w)
    backward_is_finite(w, inputs, gen)


@given(seed=seeds, N=st.integers(1, 130), gamma=st.floats(1.0, 1e6), kind=st.sampled_from(KINDS))
def test_sharpen_up_to_gamma_1e6_has_finite_gradients(seed, N, gamma, kind):
    gen = torch.Generator().manual_seed(seed)
    w = weighting(kind, 2, 1, N, gen=gen).requires_grad_()
    gamma_t = torch.full((2, 1, 1), gamma, requires_grad=True)
    out = sharpen(w, gamma_t)
    assert_distribution(out)
    backward_is_finite(out, dict(w=w, gamma=gamma_t), gen)


@given(
    seed=seeds,
    H=st.integers(1, 3),
    N=st.integers(1, 20),
    M=st.integers(1, 8),
    R=st.integers(0, 3),
    mem_exp=exponent,
    key_exp=exponent,
    beta=st.floats(0.0, 1e6),
    g=st.floats(0.0, 1.0),
    gamma=st.floats(1.0, 1e3),
    kind=st.sampled_from(KINDS),
    zero_rows=st.booleans(),
)
def test_address_extreme_values(
    seed, H, N, M, R, mem_exp, key_exp, beta, g, gamma, kind, zero_rows
):
    R = min(R, (N - 1) // 2)
    gen = torch.Generator().manual_seed(seed)
    memory = scaled_randn(2, N, M, exponent=mem_exp, gen=gen)
    if zero_rows:
        memory[:, torch.randint(0, 2, (N,), generator=gen).bool()] = 0.0
    inputs = dict(
        memory=memory,
        k=scaled_randn(2, H, M, exponent=key_exp, gen=gen),
        beta=torch.full((2, H, 1), beta),
        g=torch.full((2, H, 1), g),
        s=weighting(kind, 2, H, 2 * R + 1, gen=gen),
        gamma=torch.full((2, H, 1), gamma),
        w_prev=weighting(kind, 2, H, N, gen=gen),
    )
    for t in inputs.values():
        t.requires_grad_()
    w = address(**inputs)
    assert_distribution(w)
    backward_is_finite(w, inputs, gen)


@pytest.mark.parametrize("beta,gamma", [(1e6, 1e6), (1e6, 1e3), (1e3, 1e6)])
def test_address_at_the_papers_sizes_with_beta_and_gamma_1e6(beta, gamma):
    """The audit's case: N=128, M=20, peaked and one-hot weightings, beta and gamma 1e6."""
    gen = torch.Generator().manual_seed(0)
    for kind in KINDS:
        inputs = dict(
            memory=torch.randn(4, 128, 20, generator=gen),
            k=torch.tanh(torch.randn(4, 2, 20, generator=gen)),
            beta=torch.full((4, 2, 1), beta),
            g=torch.rand(4, 2, 1, generator=gen),
            s=weighting(kind, 4, 2, 3, gen=gen),
            gamma=torch.full((4, 2, 1), gamma),
            w_prev=weighting(kind, 4, 2, 128, gen=gen),
        )
        for t in inputs.values():
            t.requires_grad_()
        w = address(**inputs)
        assert_distribution(w)
        backward_is_finite(w, inputs, gen)


@given(
    seed=seeds,
    H=st.integers(1, 3),
    N=st.integers(1, 20),
    M=st.integers(1, 8),
    mem_exp=exponent,
    add_exp=exponent,
    kind=st.sampled_from(KINDS),
)
def test_read_and_write_extreme_values(seed, H, N, M, mem_exp, add_exp, kind):
    gen = torch.Generator().manual_seed(seed)
    memory = scaled_randn(2, N, M, exponent=mem_exp, gen=gen).requires_grad_()
    w = weighting(kind, 2, H, N, gen=gen).requires_grad_()
    e = torch.rand(2, H, M, generator=gen).requires_grad_()
    a = scaled_randn(2, H, M, exponent=add_exp, gen=gen).requires_grad_()
    r = read(memory, w)
    scale = float((w.abs() @ memory.abs()).detach().max())  # float32 rounding of the terms
    torch.testing.assert_close(r.double(), w.double() @ memory.double(), rtol=0, atol=1e-6 * scale)
    backward_is_finite(r, dict(memory=memory, w=w), gen)
    memory.grad = w.grad = None
    new = write(memory, w, e, a)
    assert torch.isfinite(new).all()
    backward_is_finite(new, dict(memory=memory, w=w, e=e, a=a), gen)


# ----------------------------------------------------------------------------------------
# Non-finite inputs: a ValueError naming the parameter, for every tensor argument.
# ----------------------------------------------------------------------------------------
def _args() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    B, N, M = 2, 8, 4
    return dict(
        memory=torch.randn(B, N, M, generator=gen),
        k=torch.randn(B, M, generator=gen),
        beta=torch.full((B, 1), 2.0),
        g=torch.full((B, 1), 0.5),
        s=torch.softmax(torch.randn(B, 3, generator=gen), -1),
        gamma=torch.full((B, 1), 2.0),
        w_prev=torch.softmax(torch.randn(B, N, generator=gen), -1),
        w=torch.softmax(torch.randn(B, N, generator=gen), -1),
        w_c=torch.softmax(torch.randn(B, N, generator=gen), -1),
        e=torch.rand(B, M, generator=gen),
        a=torch.randn(B, M, generator=gen),
    )


FUNCTIONS = {
    "cosine_similarity": (cosine_similarity, ("memory", "k")),
    "content_weighting": (content_weighting, ("memory", "k", "beta")),
    "interpolate": (interpolate, ("w_c", "w_prev", "g")),
    "shift": (shift, ("w", "s")),
    "sharpen": (sharpen, ("w", "gamma")),
    "address": (address, ("memory", "k", "beta", "g", "s", "gamma", "w_prev")),
    "read": (read, ("memory", "w")),
    "write": (write, ("memory", "w", "e", "a")),
}
TABLE = [(f, p) for f, (_, params) in FUNCTIONS.items() for p in params]


@pytest.mark.parametrize("bad", NON_FINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("function,param", TABLE, ids=[f"{f}-{p}" for f, p in TABLE])
def test_non_finite_argument_raises_value_error_naming_it(function, param, bad):
    fn, params = FUNCTIONS[function]
    args = _args()
    kwargs = {p: args[p] for p in params}
    fn(**kwargs)  # the good arguments are accepted
    poisoned = kwargs[param].clone()
    poisoned.view(-1)[1] = bad
    kwargs[param] = poisoned
    with pytest.raises(ValueError, match=rf"^{param}: must be finite, got [+-]?(NaN|Inf) at "):
        fn(**kwargs)


def test_non_finite_message_gives_the_first_index_and_the_count():
    args = _args()
    memory = args["memory"].clone()
    memory[1, 2, 3] = float("nan")
    memory[1, 5, 0] = float("inf")
    with pytest.raises(ValueError) as err:
        read(memory, args["w"])
    assert str(err.value) == (
        "memory: must be finite, got NaN at index (1, 2, 3) (2 of 64 entries are NaN or Inf)"
    )


SMALL = dict(input_size=5, output_size=4, N=8, M=4, controller_size=6)


@pytest.mark.parametrize("bad", NON_FINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    "make",
    [
        lambda: NTM(**SMALL),
        lambda: LSTMBaseline(input_size=5, output_size=4, hidden_size=6, num_layers=1),
    ],
    ids=["NTM", "LSTMBaseline"],
)
def test_model_forward_rejects_non_finite_input_by_name(make, bad):
    model = make()
    x = torch.rand(2, 3, 5)
    assert torch.isfinite(model(x)).all()
    x[1, 2, 0] = bad
    with pytest.raises(ValueError, match=r"^x: must be finite, got .* at index \(1, 2, 0\)"):
        model(x)


@pytest.mark.parametrize(
    "make",
    [
        lambda: NTM(**SMALL),
        lambda: LSTMBaseline(input_size=5, output_size=4, hidden_size=6, num_layers=1),
    ],
    ids=["NTM", "LSTMBaseline"],
)
def test_float64_input_beyond_float32_range_is_named_after_the_cast(make):
    x = torch.zeros(2, 3, 5, dtype=F64)
    x[0, 1, 2] = 1e39  # finite in float64, inf in the float32 model
    with pytest.raises(ValueError, match=r"^x: must be finite.*conversion.*float32"):
        make()(x)


@pytest.mark.parametrize("part", ["memory", "w", "r", "controller"])
def test_ntm_forward_rejects_a_non_finite_given_state_by_name(part):
    model = NTM(**SMALL)
    state = model.initial_state(2)
    if part == "controller":
        h = state.controller[0].detach().clone()
        h[0, 0] = float("nan")
        state = state._replace(controller=(h, *state.controller[1:]))
        name = r"state\.controller\[0\]"
    else:
        t = getattr(state, part).detach().clone()
        t.view(-1)[0] = float("nan")
        state = state._replace(**{part: t})
        name = rf"state\.{part}"
    with pytest.raises(ValueError, match=rf"^{name}: must be finite"):
        model(torch.rand(2, 3, 5), state=state)


# ----------------------------------------------------------------------------------------
# Config float fields: finite and in range, by name.
# ----------------------------------------------------------------------------------------
def _float_fields(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.type in ("float", float)]


def test_every_float_field_of_the_configs_has_a_checked_range():
    assert sorted(_float_fields(NTMConfig)) == sorted(FLOAT_RANGES)
    assert _float_fields(LSTMConfig) == []  # all of its fields are integers (checked below)


OUT_OF_RANGE = [(n, v) for n, (lo, hi) in FLOAT_RANGES.items() for v in (lo - 0.5, hi + 1, 1e39)]


@pytest.mark.parametrize("field", sorted(FLOAT_RANGES))
@pytest.mark.parametrize("bad", NON_FINITE, ids=["nan", "inf", "-inf"])
def test_ntm_config_non_finite_float_field_raises_naming_field_and_range(field, bad):
    low, high = FLOAT_RANGES[field]
    with pytest.raises(ValueError, match=rf"^{field}: must be a finite number in \[{low:g}, "):
        NTMConfig(**{field: bad})
    with pytest.raises(ValueError, match=rf"^{field}:"):
        NTM(**{**SMALL, field: bad})


@pytest.mark.parametrize("field,value", OUT_OF_RANGE)
def test_ntm_config_float_field_out_of_range_raises_naming_field_and_range(field, value):
    low, high = FLOAT_RANGES[field]
    with pytest.raises(ValueError, match=rf"^{field}: must lie in \[{low:g}, {high:g}\]"):
        NTMConfig(**{field: value})


@pytest.mark.parametrize("field", sorted(FLOAT_RANGES))
@pytest.mark.parametrize("bad", ["1e-6", None, True, torch.tensor(0.5)])
def test_ntm_config_float_field_of_the_wrong_type_raises_type_error(field, bad):
    with pytest.raises(TypeError, match=rf"^{field}: expected a real number"):
        NTMConfig(**{field: bad})


@pytest.mark.parametrize(
    "field,value",
    [(n, v) for n, rng in FLOAT_RANGES.items() for v in rng] + [("initial_focus", 0)],
)
def test_ntm_config_float_field_at_its_bounds_trains_finitely(field, value):
    torch.manual_seed(0)
    model = NTM(**{**SMALL, field: value})
    assert NTMConfig(**model.config.to_dict()) == model.config
    logits = model(torch.rand(2, 4, 5))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    loss.backward()
    assert torch.isfinite(loss)
    for name, p in model.named_parameters():
        assert torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("cls", [NTMConfig, LSTMConfig])
@pytest.mark.parametrize("bad", NON_FINITE, ids=["nan", "inf", "-inf"])
def test_config_integer_fields_reject_non_finite_floats_by_name(cls, bad):
    for f in dataclasses.fields(cls):
        if f.type in ("int", int):
            with pytest.raises(TypeError, match=rf"^{f.name}: expected an integer"):
                cls(**{f.name: bad})


# ----------------------------------------------------------------------------------------
# float16 and bfloat16: the guards are dtype-aware, so these work.
# ----------------------------------------------------------------------------------------
HALF = [torch.float16, torch.bfloat16]


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("memory_kind", ["zeros", "1e-6", "randn"])
def test_half_precision_addressing_reading_and_writing_are_finite(dtype, memory_kind):
    args = {n: t.to(dtype) for n, t in _args().items()}
    memory = {"zeros": torch.zeros_like, "1e-6": lambda m: torch.full_like(m, 1e-6)}.get(
        memory_kind, lambda m: m
    )(args["memory"])
    for t in (args["k"], args["beta"], args["gamma"]):
        t.requires_grad_()
    w = address(
        memory, args["k"], args["beta"], args["g"], args["s"], args["gamma"], args["w_prev"]
    )
    assert w.dtype == dtype
    assert_distribution(w.float(), atol=dist_tol(dtype))
    w.float().sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in (args["k"], args["beta"], args["gamma"]))
    if memory_kind == "zeros":  # zero rows: similarity 0, not 0/0
        assert (cosine_similarity(memory, args["k"].detach()) == 0).all()
    assert torch.isfinite(read(memory, w.detach())).all()
    assert torch.isfinite(write(memory, w.detach(), args["e"], args["a"])).all()


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("memory_init", ["constant", "learned", "random"])
def test_half_precision_ntm_is_finite_and_close_to_float32(dtype, memory_init):
    """The default constant memory (1e-6) is subnormal in float16: the plain cosine's
    guard EPS^2 rounded to 0 there and every forward was NaN."""
    torch.manual_seed(0)
    model = NTM(**SMALL, memory_init=memory_init)
    half = NTM(**SMALL, memory_init=memory_init)
    half.load_state_dict(model.state_dict())
    half.to(dtype)
    x = torch.randint(0, 2, (3, 12, 5)).float()
    torch.manual_seed(1)
    want = model(x)
    torch.manual_seed(1)
    got = half(x)
    assert got.dtype == dtype and torch.isfinite(got).all()
    torch.testing.assert_close(got.float(), want, rtol=0, atol=2e-2)
    got.float().sum().backward()
    for name, p in half.named_parameters():
        assert torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_half_precision_lstm_baseline_is_finite(dtype):
    torch.manual_seed(0)
    model = LSTMBaseline(input_size=5, output_size=4, hidden_size=6, num_layers=2)
    x = torch.rand(2, 5, 5)
    want = model(x)
    got = model.to(dtype)(x)
    assert got.dtype == dtype and torch.isfinite(got).all()
    torch.testing.assert_close(got.float(), want, rtol=0, atol=2e-2)


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_distribution_tolerance_follows_the_dtype(dtype):
    assert dist_tol(torch.float32) == dist_tol(torch.float64) == 1e-3
    assert dist_tol(dtype) == 4 * torch.finfo(dtype).eps
    w = torch.softmax(torch.randn(64, 128), -1).to(dtype)  # rounded: rows miss 1 by ~eps
    shift(w, torch.tensor([[0.25, 0.5, 0.25]] * 64, dtype=dtype))  # accepted
    with pytest.raises(ValueError, match="^s:"):
        shift(w, torch.tensor([[0.3, 0.5, 0.3]] * 64, dtype=dtype))
