"""Tests for ntm_nb.model: the NTM, its configuration, state and trace.

The step is checked against the public, checked equations (``address``, ``read``,
``write``) applied to the trace, with gradcheck for one full step in float64, and with a
tiny copy problem that must learn.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from ntm_nb import NTM, NTMConfig, NTMState, Trace
from ntm_nb.addressing import address
from ntm_nb.memory import read, write

F64 = torch.float64
SMALL = dict(input_size=5, output_size=4, N=8, M=4, controller_size=6)


def small_model(**overrides) -> NTM:
    return NTM(**{**SMALL, **overrides})


def inputs(B: int = 2, T: int = 4, size: int = 5, seed: int = 0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (B, T, size), generator=gen).to(dtype)


def assert_distribution(w: torch.Tensor, atol: float = 1e-5) -> None:
    assert torch.isfinite(w).all()
    assert (w >= 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones_like(w.sum(-1)), rtol=0, atol=atol)


HEADS = [(1, 1), (2, 1), (1, 3), (3, 2), (0, 1), (1, 0)]
CONTROLLERS = ["lstm", "feedforward"]


# ----------------------------------------------------------------------------------------
# Shapes and configuration
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("controller", CONTROLLERS)
@pytest.mark.parametrize("R,W", HEADS)
def test_output_and_trace_shapes(controller, R, W):
    model = small_model(controller=controller, num_read_heads=R, num_write_heads=W, shift_range=2)
    B, T, N, M, H, S = 3, 5, 8, 4, R + W, 5
    x = inputs(B, T)
    logits = model(x)
    assert logits.shape == (B, T, 4)
    logits2, trace = model(x, return_trace=True)
    torch.testing.assert_close(logits2, logits)
    assert isinstance(trace, Trace)
    expected = dict(
        w_read=(B, T, R, N),
        w_write=(B, T, W, N),
        k=(B, T, H, M),
        beta=(B, T, H),
        g=(B, T, H),
        s=(B, T, H, S),
        gamma=(B, T, H),
        e=(B, T, W, M),
        a=(B, T, W, M),
        reads=(B, T, R, M),
        memory=(B, T, N, M),
    )
    assert {name: tuple(getattr(trace, name).shape) for name in expected} == expected
    for name in expected:
        assert not getattr(trace, name).requires_grad, name


@pytest.mark.parametrize("controller", CONTROLLERS)
@pytest.mark.parametrize("layers", [1, 2])
def test_initial_state_shapes(controller, layers):
    model = small_model(
        controller=controller, controller_layers=layers, num_read_heads=2, num_write_heads=1
    )
    state = model.initial_state(3)
    assert isinstance(state, NTMState)
    assert state.memory.shape == (3, 8, 4)
    assert state.w.shape == (3, 3, 8)
    assert state.r.shape == (3, 2, 4)
    assert_distribution(state.w)
    n_ctrl = 2 * layers if controller == "lstm" else 0
    assert len(state.controller) == n_ctrl
    for t in state.controller:
        assert t.shape == (3, 6)


def test_default_config_is_the_papers_copy_setup():
    c = NTMConfig()
    assert (c.N, c.M, c.controller, c.controller_size, c.num_read_heads, c.num_write_heads) == (
        128,
        20,
        "lstm",
        100,
        1,
        1,
    )
    assert (c.memory_init, c.memory_init_value, c.shift_range) == ("constant", 1e-6, 1)


def test_config_and_overrides():
    base = NTMConfig(**SMALL)
    model = NTM(base, M=3, controller="feedforward")
    assert model.config.M == 3 and model.config.controller == "feedforward"
    assert model.config.N == 8
    assert base.M == 4  # the given config is not changed
    assert NTM(base).config == base
    assert NTMConfig(**base.to_dict()) == base
    assert model.num_parameters() == sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------------------
# The step against the public equations, via the trace
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("controller", CONTROLLERS)
@pytest.mark.parametrize("R,W", [(1, 1), (2, 3), (0, 2)])
def test_trace_agrees_with_the_public_equations(controller, R, W):
    """At every step: the weightings are address(M_{t-1}, params_t, w_{t-1}); reads are
    read(M_{t-1}, w_read) (reads come before the write); memory is write(M_{t-1}, ...)."""
    model = small_model(controller=controller, num_read_heads=R, num_write_heads=W).double()
    x = inputs(2, 6, dtype=F64)
    _, tr = model(x, return_trace=True)
    state = model.initial_state(2)
    memory, w_prev = state.memory.detach(), state.w.detach()
    for t in range(6):
        w = address(
            memory,
            tr.k[:, t],
            tr.beta[:, t, :, None],
            tr.g[:, t, :, None],
            tr.s[:, t],
            tr.gamma[:, t, :, None],
            w_prev,
        )
        torch.testing.assert_close(w[:, :R], tr.w_read[:, t])
        torch.testing.assert_close(w[:, R:], tr.w_write[:, t])
        if R:
            torch.testing.assert_close(read(memory, tr.w_read[:, t]), tr.reads[:, t])
        new_memory = write(memory, tr.w_write[:, t], tr.e[:, t], tr.a[:, t])
        torch.testing.assert_close(new_memory, tr.memory[:, t])
        memory, w_prev = tr.memory[:, t], w
    if W:
        assert not torch.allclose(tr.memory[:, -1], state.memory)  # the heads did write


@pytest.mark.parametrize("controller", CONTROLLERS)
def test_forward_equals_stepping_and_trace_ends_at_final_memory(controller):
    model = small_model(controller=controller, num_read_heads=2, num_write_heads=2)
    x = inputs(3, 5)
    logits, tr = model(x, return_trace=True)
    state = model.initial_state(3)
    ys = []
    for t in range(5):
        y, state, params = model.step(x[:, t], state)
        assert params is None
        ys.append(y)
    torch.testing.assert_close(torch.stack(ys, 1), logits)
    torch.testing.assert_close(tr.memory[:, -1], state.memory)
    torch.testing.assert_close(tr.w_read[:, -1], state.w[:, :2])
    torch.testing.assert_close(tr.w_write[:, -1], state.w[:, 2:])
    torch.testing.assert_close(tr.reads[:, -1], state.r)


def test_forward_continues_from_a_given_state():
    model = small_model()
    x = inputs(2, 6)
    full = model(x)
    state = model.initial_state(2)
    for t in range(3):
        _, state, _ = model.step(x[:, t], state)
    torch.testing.assert_close(model(x[:, 3:], state=state), full[:, 3:])


@pytest.mark.parametrize("controller", CONTROLLERS)
def test_trace_weightings_are_distributions_and_params_in_range(controller):
    model = small_model(controller=controller, num_read_heads=2, num_write_heads=2, shift_range=2)
    for scale in (1.0, 100.0):  # x100 saturates every head activation
        _, tr = model(inputs(4, 6) * scale, return_trace=True)
        for name in ("w_read", "w_write", "s"):
            assert_distribution(getattr(tr, name))
        assert (tr.beta >= 0).all()
        assert ((tr.g >= 0) & (tr.g <= 1)).all()
        assert (tr.gamma >= 1).all()
        assert ((tr.e >= 0) & (tr.e <= 1)).all()
        for name in ("k", "a", "reads", "memory"):
            assert torch.isfinite(getattr(tr, name)).all(), name


@pytest.mark.parametrize("controller", CONTROLLERS)
def test_gradients_reach_every_parameter_and_are_finite(controller):
    model = small_model(
        controller=controller, num_read_heads=2, num_write_heads=2, memory_init="learned"
    )
    for scale in (1.0, 100.0):
        model.zero_grad()
        model(inputs(3, 5) * scale).square().mean().backward()
        for name, p in model.named_parameters():
            assert p.grad is not None, name
            assert torch.isfinite(p.grad).all(), name
    model.zero_grad()
    model(inputs(3, 5)).square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad.abs().sum() > 0, name


# ----------------------------------------------------------------------------------------
# gradcheck of one full step in float64
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("controller", CONTROLLERS)
def test_step_gradcheck(controller):
    torch.manual_seed(1)
    model = small_model(controller=controller, num_read_heads=1, num_write_heads=1).double()
    state = model.initial_state(2)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 5, dtype=F64, generator=gen).requires_grad_()
    memory = (0.5 * torch.randn(2, 8, 4, dtype=F64, generator=gen)).requires_grad_()
    r = torch.randn(2, 1, 4, dtype=F64, generator=gen).requires_grad_()

    def one_step(x_t, memory, r):
        y, new, _ = model.step(x_t, state._replace(memory=memory, r=r))
        return y, new.memory, new.w, new.r

    assert torch.autograd.gradcheck(one_step, (x, memory, r))


# ----------------------------------------------------------------------------------------
# Determinism, dtype, memory initialisation
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("memory_init", ["constant", "learned", "random"])
def test_deterministic_under_manual_seed(memory_init):
    def run(seed):
        torch.manual_seed(seed)
        model = small_model(memory_init=memory_init)
        return model(inputs(2, 5))

    torch.testing.assert_close(run(3), run(3), rtol=0, atol=0)
    assert not torch.allclose(run(3), run(4))


def test_float64_path_matches_float32():
    model32 = small_model(num_read_heads=2, num_write_heads=2)
    model64 = small_model(num_read_heads=2, num_write_heads=2)
    model64.load_state_dict(model32.state_dict())
    model64.double()
    x = inputs(2, 6)
    logits64, tr64 = model64(x.double(), return_trace=True)
    assert logits64.dtype == F64
    for name in ("w_read", "w_write", "k", "memory", "reads"):
        assert getattr(tr64, name).dtype == F64, name
    assert model64.initial_state(2).memory.dtype == F64
    torch.testing.assert_close(logits64.float(), model32(x), rtol=1e-4, atol=1e-5)


def test_integer_input_is_accepted_as_bits():
    model = small_model()
    x = inputs(2, 4)
    torch.testing.assert_close(model(x.long()), model(x))


def test_memory_init_constant():
    model = small_model(memory_init="constant", memory_init_value=0.25)
    memory = model.initial_state(3).memory
    assert torch.equal(memory, torch.full((3, 8, 4), 0.25))
    assert model.num_parameters() == small_model(memory_init="random").num_parameters()


def test_memory_init_learned_is_a_parameter_that_learns():
    model = small_model(memory_init="learned")
    params = dict(model.named_parameters())
    memory0 = [p for name, p in params.items() if p.shape == (8, 4)]
    assert len(memory0) == 1
    state = model.initial_state(3)
    assert torch.equal(state.memory, memory0[0].detach().expand(3, 8, 4))
    model(inputs(3, 4)).sum().backward()
    assert memory0[0].grad is not None and memory0[0].grad.abs().sum() > 0
    n_constant = small_model().num_parameters()
    assert small_model(memory_init="learned").num_parameters() == n_constant + 8 * 4


def test_memory_init_random_is_a_fresh_draw_each_episode():
    model = small_model(memory_init="random")
    a, b = model.initial_state(2).memory, model.initial_state(2).memory
    assert a.shape == (2, 8, 4)
    assert not torch.allclose(a, b)
    assert a.std() > 0
    x = inputs(2, 4)
    assert not torch.allclose(model(x), model(x))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    first, second = model.initial_state(2, generator=g1), model.initial_state(2, generator=g2)
    assert torch.equal(first.memory, second.memory)


# ----------------------------------------------------------------------------------------
# It learns: a tiny copy problem
# ----------------------------------------------------------------------------------------
def copy_batch(B: int, L: int, bits: int, gen: torch.Generator):
    """L random bit vectors, then a delimiter on an extra channel, then L blank steps."""
    seq = torch.randint(0, 2, (B, L, bits), generator=gen).float()
    x = torch.zeros(B, 2 * L + 1, bits + 1)
    x[:, :L, :bits] = seq
    x[:, L, bits] = 1.0
    return x, seq


def copy_loss(model: NTM, x: torch.Tensor, seq: torch.Tensor) -> torch.Tensor:
    L = seq.shape[1]
    logits = model(x)[:, L + 1 :]  # the answer comes after the delimiter
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, seq)


@pytest.fixture
def one_thread():
    """Tiny tensors run fastest (and reproducibly) on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_learns_a_tiny_copy_problem(one_thread):
    torch.manual_seed(0)
    model = NTM(input_size=5, output_size=4, controller="lstm", controller_size=64, N=16, M=8)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1)
    held_out = [copy_batch(64, L, 4, torch.Generator().manual_seed(100 + L)) for L in (2, 3)]

    def evaluate() -> float:
        with torch.no_grad():
            return sum(float(copy_loss(model, x, seq)) for x, seq in held_out) / 2

    initial = evaluate()
    assert 0.6 < initial < 0.8  # about ln 2: chance
    for step in range(300):
        x, seq = copy_batch(16, 2 + step % 2, 4, gen)
        loss = copy_loss(model, x, seq)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    final = evaluate()
    assert final < 0.6 * initial, (initial, final)


# ----------------------------------------------------------------------------------------
# Bad input: the error names the argument.
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field,value",
    [
        ("N", 0),
        ("M", 0),
        ("N", -3),
        ("input_size", 0),
        ("output_size", 0),
        ("controller_size", 0),
        ("controller_layers", 0),
        ("num_read_heads", -1),
        ("num_write_heads", -1),
        ("shift_range", -1),
    ],
)
def test_config_sizes_below_minimum_raise(field, value):
    with pytest.raises(ValueError, match=f"^{field}:"):
        NTMConfig(**{field: value})
    with pytest.raises(ValueError, match=f"^{field}:"):
        NTM(**{**SMALL, field: value})


@pytest.mark.parametrize(
    "field,value", [("N", 8.0), ("M", "4"), ("shift_range", True), ("N", None)]
)
def test_config_non_integer_sizes_raise_type_error(field, value):
    with pytest.raises(TypeError, match=f"^{field}:"):
        NTMConfig(**{field: value})


@pytest.mark.parametrize("N,shift_range", [(2, 1), (4, 2), (8, 4), (1, 1)])
def test_config_shift_range_too_large_for_memory_raises(N, shift_range):
    with pytest.raises(ValueError, match="^shift_range:"):
        NTMConfig(N=N, shift_range=shift_range)


@pytest.mark.parametrize("N,shift_range", [(3, 1), (5, 2), (1, 0)])
def test_config_largest_shift_range_is_accepted(N, shift_range):
    model = small_model(N=N, shift_range=shift_range)
    _, tr = model(inputs(2, 3), return_trace=True)
    assert tr.s.shape[-1] == 2 * shift_range + 1
    assert_distribution(tr.w_read)


def test_config_needs_a_head():
    with pytest.raises(ValueError, match="num_read_heads"):
        NTMConfig(num_read_heads=0, num_write_heads=0)


@pytest.mark.parametrize(
    "field,value", [("controller", "gru"), ("controller", "LSTM"), ("memory_init", "zeros")]
)
def test_config_unknown_names_raise(field, value):
    with pytest.raises(ValueError, match=f"^{field}:.*{value}"):
        NTMConfig(**{field: value})


def test_config_of_the_wrong_type_raises_type_error():
    with pytest.raises(TypeError, match="^config:"):
        NTM(SMALL)


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 3, 6), (2, 5), (5,), (1, 2, 3, 5), (0, 3, 5)])
def test_model_input_of_the_wrong_shape_raises(shape):
    with pytest.raises(ValueError, match="^x:"):
        small_model()(torch.zeros(shape))


@pytest.mark.parametrize("bad", [[[[0.0] * 5]], None, 1.0])
def test_model_non_tensor_input_raises_type_error(bad):
    with pytest.raises(TypeError, match="^x:"):
        small_model()(bad)


# ----------------------------------------------------------------------------------------
# Input edge cases and error reporting of forward
# ----------------------------------------------------------------------------------------
def test_model_input_with_no_time_steps_raises_value_error():
    with pytest.raises(ValueError, match="^x:"):
        small_model()(torch.zeros(2, 0, 5))


def test_error_in_the_eager_step_is_not_blamed_on_torch_compile():
    model = small_model()
    state = model.initial_state(2)
    bad = state._replace(memory=torch.zeros(2, 9, 4))  # 9 rows, weightings cover 8
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError):
            model(inputs(2, 3), state=bad)
    assert not [w for w in caught if "torch.compile" in str(w.message)]


def test_float64_input_on_a_float32_model_is_cast_or_rejected_by_name():
    model = small_model()
    try:
        logits = model(inputs(2, 3, dtype=F64))
    except (TypeError, ValueError) as err:
        assert str(err).startswith("x:")
    else:
        assert logits.dtype == torch.float32
