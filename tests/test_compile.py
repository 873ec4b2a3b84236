"""The compiled fast path is the same model: same outputs and gradients as eager."""

from __future__ import annotations

import importlib
import warnings

import pytest
import torch

import ntm_nb
from ntm_nb import model as model_module
from ntm_nb.train import masked_loss


def small(**kw) -> ntm_nb.NTM:
    torch.manual_seed(0)
    cfg = dict(input_size=5, output_size=4, controller_size=16, N=16, M=8)
    cfg.update(kw)
    return ntm_nb.NTM(**cfg)


def grads(m: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in m.named_parameters()}


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_compiled_step_matches_eager_outputs_and_gradients(controller):
    eager = small(controller=controller, num_read_heads=2, num_write_heads=1)
    fast = small(controller=controller, num_read_heads=2, num_write_heads=1)
    fast.load_state_dict(eager.state_dict())
    fast.compile_step()
    assert fast.is_compiled
    g = torch.Generator().manual_seed(1)
    for T in (3, 6):  # two sequence lengths through one compiled step
        x = torch.rand(4, T, 5, generator=g)
        target = torch.rand(4, T, 4, generator=g).round()
        for m in (eager, fast):
            m.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(m(x), target)
            loss.backward()
        torch.testing.assert_close(fast(x), eager(x), atol=1e-5, rtol=1e-5)
        ge, gf = grads(eager), grads(fast)
        for name in ge:
            torch.testing.assert_close(gf[name], ge[name], atol=1e-5, rtol=1e-5, msg=name)
    assert fast.is_compiled  # no silent fallback to eager happened


def test_unrolled_compilation_matches_eager_including_the_remainder_steps():
    eager = small(num_read_heads=1, num_write_heads=2)
    fast = small(num_read_heads=1, num_write_heads=2)
    fast.load_state_dict(eager.state_dict())
    fast.compile_step(unroll=3)
    assert fast.is_compiled and fast.unroll == 3
    g = torch.Generator().manual_seed(2)
    for T in (2, 7):  # T < K (one step at a time), and 2 calls of 3 steps + 1 single step
        x = torch.rand(3, T, 5, generator=g)
        target = torch.rand(3, T, 4, generator=g).round()
        outs = {}
        for name, m in (("eager", eager), ("fast", fast)):
            m.zero_grad()
            outs[name] = m(x)
            torch.nn.functional.binary_cross_entropy_with_logits(outs[name], target).backward()
        assert outs["fast"].shape == (3, T, 4) and outs["fast"].is_contiguous()
        torch.testing.assert_close(outs["fast"], outs["eager"], atol=1e-5, rtol=1e-5)
        ge, gf = grads(eager), grads(fast)
        for name in ge:
            torch.testing.assert_close(gf[name], ge[name], atol=1e-5, rtol=1e-5, msg=name)
    assert fast.is_compiled


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_unroll_must_be_a_positive_integer(bad):
    with pytest.raises((ValueError, TypeError), match="unroll"):
        small().compile_step(unroll=bad)


def test_compile_step_false_resets_unroll():
    m = small().compile_step(unroll=2)
    m.compile_step(False)
    assert not m.is_compiled and m.unroll == 1


def test_no_compiler_falls_back_to_eager_with_a_warning(monkeypatch):
    monkeypatch.setattr(model_module.shutil, "which", lambda name: None)
    m = small()
    with pytest.warns(UserWarning, match="no C\\+\\+ compiler"):
        m.compile_step()
    assert not m.is_compiled
    x = torch.rand(2, 3, 5)
    torch.testing.assert_close(m(x), small()(x))


def broken_compile(calls: list | None = None):
    """A stand-in for ``torch.compile`` whose compiled function fails when called (each call
    is recorded in ``calls``), with a two-line message."""

    def compile(fn, **kwargs):
        def run(*args, **kw):
            if calls is not None:
                calls.append(1)
            raise RuntimeError("simulated compiler failure\nwith a second line")

        return run

    return compile


@pytest.mark.parametrize("unroll", [1, 2])
def test_failing_compiler_falls_back_once_with_a_one_line_warning(monkeypatch, unroll):
    calls = []
    monkeypatch.setattr(torch, "compile", broken_compile(calls))
    m = small().compile_step(unroll=unroll)
    assert m.is_compiled
    x = torch.rand(2, 3, 5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = m(x)
    messages = [str(w.message) for w in caught if "torch.compile failed" in str(w.message)]
    assert len(messages) == 1 and "\n" not in messages[0]
    assert not m.is_compiled and m.unroll == 1 and len(calls) == 1
    torch.testing.assert_close(out, small()(x))


def test_cpp_wrapper_is_asked_for_on_cpu_only(monkeypatch):
    # the C++ wrapper speeds up CPU steps, but breaks CUDA compilation (torch 2.11, H200)
    seen = []

    def recording_compile(fn, **kwargs):
        seen.append(kwargs.get("options"))
        return fn

    monkeypatch.setattr(torch, "compile", recording_compile)
    small().compile_step()
    meta = small().to("meta")  # any non-CPU device takes the same branch as CUDA
    meta.compile_step()
    assert seen == [{"cpp_wrapper": True}, None]


def test_a_compile_failure_in_the_backward_pass_falls_back_to_eager_training(monkeypatch):
    from torch._inductor.exc import InductorError

    train_module = importlib.import_module("ntm_nb.train")

    real_backward, calls = train_module._backward, []

    def backward_failing_once(loss):
        calls.append(1)
        if len(calls) == 1:
            raise InductorError(AssertionError("CudaKernelParamCache not populated"), "simulated")
        real_backward(loss)

    monkeypatch.setattr(train_module, "_backward", backward_failing_once)
    m = small(input_size=9, output_size=8)  # the copy task's sizes for 8-bit vectors
    task = ntm_nb.tasks.CopyTask(bits=8, min_len=1, max_len=3)
    with pytest.warns(UserWarning, match="backward pass"):
        result = ntm_nb.train(m, task, steps=3, eval_every=3, eval_sequences=4, progress=False)
    assert result.step == 3 and not m.is_compiled and len(calls) == 4


def test_other_errors_in_the_backward_pass_are_not_swallowed(monkeypatch):
    train_module = importlib.import_module("ntm_nb.train")

    def broken(loss):
        raise RuntimeError("not a compiler error")

    monkeypatch.setattr(train_module, "_backward", broken)
    m = small(input_size=9, output_size=8)
    task = ntm_nb.tasks.CopyTask(bits=8, min_len=1, max_len=3)
    with pytest.raises(RuntimeError, match="not a compiler error"):
        ntm_nb.train(m, task, steps=2, eval_every=2, eval_sequences=4, progress=False)


# -- the fast start: eager at once, compiled in the background ---------------------------
def test_fast_start_trains_eagerly_at_once_then_switches_to_the_compiled_step():
    m = small(input_size=9, output_size=8).compile_step(background=True)
    assert m.is_compiling and not m.is_compiled
    task = ntm_nb.tasks.CopyTask(bits=8, min_len=2, max_len=2)
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    steps = 0
    while not m.is_compiled and steps < 100_000:  # trains on while the thread compiles
        x, y, mask = task.sample(4, gen)
        loss = masked_loss(m(x), y, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
        if m.is_compiling:
            m._background.ready.wait(0.05)  # keep the eager loop from starving the compiler
    assert m.is_compiled and not m.is_compiling and steps >= 1  # the first step was eager
    # the compiled step is the same model: equal outputs and gradients to the eager step
    eager = small(input_size=9, output_size=8)
    eager.load_state_dict(m.state_dict())
    x = torch.rand(4, 5, 9)
    out_fast, out_eager = m(x), eager(x)
    torch.testing.assert_close(out_fast, out_eager, atol=1e-5, rtol=1e-5)
    target = torch.rand(4, 5, 8).round()
    m.zero_grad()  # the training loop's last gradients
    torch.nn.functional.binary_cross_entropy_with_logits(out_fast, target).backward()
    torch.nn.functional.binary_cross_entropy_with_logits(out_eager, target).backward()
    for name, p in m.named_parameters():
        torch.testing.assert_close(
            p.grad, dict(eager.named_parameters())[name].grad, atol=1e-5, rtol=1e-4
        )


def test_train_with_fast_start_records_the_switch(monkeypatch):
    m = small(input_size=9, output_size=8)
    task = ntm_nb.tasks.CopyTask(bits=8, min_len=1, max_len=3)

    def slow_callback(info):  # slow steps, so that the compiler finishes within the run
        if m.is_compiling and m._background.started:
            m._background.ready.wait(0.2)

    result = ntm_nb.train(
        m,
        task,
        steps=400,
        batch_size=4,
        log_every=1,
        eval_every=400,
        eval_sequences=4,
        fast_start=True,
        progress=False,
        callbacks=[slow_callback],
    )
    assert result.step == 400 and m.is_compiled
    assert result.compiled_at_step is not None and 1 <= result.compiled_at_step < 400


def test_a_failing_background_compile_warns_once_and_stays_eager(monkeypatch):
    monkeypatch.setattr(torch, "compile", broken_compile())
    m = small().compile_step(background=True)
    x = torch.rand(2, 3, 5)
    m(x)  # starts the thread
    m._background.ready.wait(30)
    with pytest.warns(UserWarning, match="in the background"):
        out = m(x)
    assert not m.is_compiled and not m.is_compiling
    torch.testing.assert_close(out, small()(x))


def test_fast_start_is_checked():
    with pytest.raises(TypeError, match="background: expected True or False"):
        small().compile_step(background="yes")
    with pytest.raises(TypeError, match="fast_start: expected True or False"):
        ntm_nb.TrainConfig(fast_start=1)
