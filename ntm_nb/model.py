"""The Neural Turing Machine (paper section 3, Figure 1).

One step, ``NTM.step(x_t, state)``:

1. the controller reads [x_t, r_{t-1}] (the input and the previous read vectors);
2. one linear layer turns its output into every head's parameters (``heads.Heads``);
3. every head addresses the memory M_{t-1} (eqs. 5-9), all heads in one batched call;
4. read heads read M_{t-1} (eq. 2); write heads erase and add (eqs. 3-4) to give M_t;
5. the output layer maps [controller output, r_t] to logits for the target bits.

The recurrent state is an explicit ``NTMState`` value: nothing is stored on the modules,
so the same step runs eagerly (readable, traceable) or compiled by ``torch.compile``
(fast), and the sequence loop, the notebooks and the compiled path all share it.

Choices that the paper leaves open or departs from (Collier & Beel, 2018):

* reads happen before the write of the same step, so every head addresses the same
  memory and all heads are addressed with one call;
* the initial read vectors and the initial weightings are learned (as biases); the
  initial weighting starts peaked at row 0 so that location-based iteration has a
  place to start (a uniform weighting is invariant under shifts);
* memory starts at a small constant (1e-6) by default — Collier & Beel found it trains
  about twice as fast as a learned initial memory; "learned" and "random" are options.
"""

from __future__ import annotations

import copy
import shutil
import threading
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from ntm_nb._checks import (
    check_cast_finite,
    check_choice,
    check_finite,
    check_float,
    check_positive_int,
)
from ntm_nb.addressing import _address
from ntm_nb.controller import CONTROLLERS, ControllerState
from ntm_nb.heads import HeadParams, Heads
from ntm_nb.memory import _read, _write

MEMORY_INITS = ("constant", "learned", "random")

#: Accepted ranges of the float fields of ``NTMConfig`` (checked in ``__post_init__``).
#: memory_init_value: memory contents live on the scale of what the heads write (add
#: vectors are tanh, in [-1, 1]); initial_focus: a logit, 0 = uniform; beyond 100 the
#: initial weighting is already one-hot to float32's precision (e^-100 ~ 4e-44).
FLOAT_RANGES = {"memory_init_value": (-1.0, 1.0), "initial_focus": (0.0, 100.0)}


@dataclass
class NTMConfig:
    """Hyper-parameters of an NTM; the defaults are the paper's copy-task setup.

    Every field is checked when the config is made: sizes are integers, names are known,
    and the float fields are finite and inside ``FLOAT_RANGES`` (a NaN or an Inf there
    would only show up later, as NaN logits that look like a learning-rate problem).
    """

    input_size: int = 9  # bits per input step (copy: 8 data bits + 1 delimiter)
    output_size: int = 8  # bits per output step (copy: 8 data bits)
    controller: str = "lstm"  # "lstm" or "feedforward"
    controller_size: int = 100  # units per controller layer (paper: 100 for copy)
    controller_layers: int = 1  # number of controller layers
    num_read_heads: int = 1  # R, read heads
    num_write_heads: int = 1  # W, write heads
    N: int = 128  # memory rows (locations); the paper uses 128 for every task
    M: int = 20  # memory word width; the paper uses 20 for every task
    shift_range: int = 1  # shifts over offsets -shift_range..shift_range
    memory_init: str = "constant"  # "constant" (Collier & Beel), "learned" or "random"
    memory_init_value: float = 1e-6  # value of the constant initial memory, in [-1, 1]
    initial_focus: float = 10.0  # logit of row 0 in the initial weightings: 0 (uniform) to 100

    def __post_init__(self) -> None:
        for name in ("input_size", "output_size", "controller_size", "controller_layers", "N", "M"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("num_read_heads", self.num_read_heads, 0)
        check_positive_int("num_write_heads", self.num_write_heads, 0)
        check_positive_int("shift_range", self.shift_range, 0)
        if self.num_read_heads + self.num_write_heads < 1:
            raise ValueError("num_read_heads + num_write_heads: need at least one head, got 0")
        if 2 * self.shift_range + 1 > self.N:
            raise ValueError(
                f"shift_range: 2*shift_range+1 = {2 * self.shift_range + 1} offsets exceed "
                f"N = {self.N} rows; accepted: 0 <= shift_range <= {(self.N - 1) // 2}"
            )
        check_choice("controller", self.controller, tuple(CONTROLLERS))
        check_choice("memory_init", self.memory_init, MEMORY_INITS)
        for name, (low, high) in FLOAT_RANGES.items():  # a NaN here would be a NaN loss later
            check_float(name, getattr(self, name), low, high)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class NTMState(NamedTuple):
    """Everything an NTM carries from one step to the next.

    ``controller``: the controller's state (LSTM: h, c per layer; feed-forward: empty);
    ``memory`` (B, N, M); ``w`` (B, R + W, N) the previous weighting of every head, read
    heads first; ``r`` (B, R, M) the previous read vectors.
    """

    controller: ControllerState
    memory: Tensor
    w: Tensor
    r: Tensor


@dataclass
class Trace:
    """What happened inside the NTM at every step, for plots. Time is dimension 1.

    ``w_read`` (B, T, R, N), ``w_write`` (B, T, W, N), ``k`` (B, T, H, M), ``beta``,
    ``g``, ``gamma`` (B, T, H), ``s`` (B, T, H, 2S+1), ``e`` and ``a`` (B, T, W, M),
    ``reads`` (B, T, R, M), ``memory`` (B, T, N, M) after each step's write. Heads are
    ordered read heads first, as in ``HeadParams``.
    """

    w_read: Tensor
    w_write: Tensor
    k: Tensor
    beta: Tensor
    g: Tensor
    s: Tensor
    gamma: Tensor
    e: Tensor
    a: Tensor
    reads: Tensor
    memory: Tensor


StepFn = Callable[..., tuple[Tensor, NTMState, Any]]


def warn_compile_failed(err: BaseException, where: str = "") -> None:
    """The one-line warning given when torch.compile fails and the eager step takes over."""
    first_line = (str(err).strip().splitlines() or [""])[0][:200]
    warnings.warn(
        f"ntm_nb: torch.compile failed{where} ({type(err).__name__}: {first_line}); "
        "using the eager step",
        stacklevel=3,
    )


def is_ntm(model: object) -> bool:
    """True for an ``NTM`` (it has heads and a memory to trace), False for anything else,
    such as the LSTM baseline. The one test of "is this an NTM" the package uses."""
    return isinstance(model, NTM)


class NTM(nn.Module):
    """Neural Turing Machine: a controller, read and write heads, and a memory.

    ``model(x)`` with ``x`` (B, T, input_size) returns logits (B, T, output_size);
    ``model(x, return_trace=True)`` returns ``(logits, Trace)``. Apply a sigmoid to the
    logits for bit probabilities. ``model.compile_step()`` switches training to a step
    compiled with ``torch.compile`` (same function, same results, faster).
    """

    def __init__(self, config: NTMConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        if config is None:
            config = NTMConfig(**overrides)
        elif overrides:
            config = NTMConfig(**{**config.to_dict(), **overrides})
        if not isinstance(config, NTMConfig):
            raise TypeError(f"config: expected an NTMConfig, got {type(config).__name__}")
        self.config = c = config
        R, W = c.num_read_heads, c.num_write_heads
        self.controller = CONTROLLERS[c.controller](
            c.input_size + R * c.M, c.controller_size, c.controller_layers
        )
        self.heads = Heads(c.controller_size, R, W, c.M, c.shift_range)
        self.output = nn.Linear(c.controller_size + R * c.M, c.output_size)
        # Learned initial state (Collier & Beel: "learn initial reads and weightings as biases").
        self.r0 = nn.Parameter(torch.randn(R, c.M) * 0.01)  # initial read vectors
        w0 = torch.zeros(R + W, c.N)
        w0[:, 0] = c.initial_focus
        self.w0_logits = nn.Parameter(w0)  # initial weightings = softmax(w0_logits)
        if c.memory_init == "learned":
            self.memory0 = nn.Parameter(torch.randn(c.N, c.M) * 0.01)
        self._step_fn: StepFn = self.step
        self._steps_fn: Callable[[Tensor, NTMState], tuple[Tensor, NTMState]] = self.steps
        self._compiled = False
        self._unroll = 1
        self._background: _BackgroundCompile | None = None

    # ------------------------------------------------------------------------------------
    def initial_state(self, batch_size: int, generator: torch.Generator | None = None) -> NTMState:
        """The state before the first step of an episode (everything is reset per episode)."""
        c = self.config
        like = self.r0
        if c.memory_init == "constant":
            memory = like.new_full((batch_size, c.N, c.M), c.memory_init_value)
        elif c.memory_init == "learned":
            memory = self.memory0.expand(batch_size, -1, -1)
        else:  # "random": a fresh draw each episode
            memory = (
                torch.randn(
                    batch_size, c.N, c.M, generator=generator, device=like.device, dtype=like.dtype
                )
                * 0.1
            )
        w = torch.softmax(self.w0_logits, dim=-1).expand(batch_size, -1, -1)
        r = self.r0.expand(batch_size, -1, -1)
        controller = self.controller.initial_state(batch_size, like)
        if torch.is_grad_enabled() and not torch._C._are_functorch_transforms_active():
            # Leaves that require grad, as every later state does: the compiled step then
            # sees the same kind of input at t = 0 as later, and compiles once, not twice.
            # (Not under a torch.func transform, as in a ``Population``: there the state
            # is a batched tensor, which cannot be made a leaf, and it needs no such help.)
            for leaf in (*controller, memory):
                if leaf.is_leaf:
                    leaf.requires_grad_()
        # Contiguous copies, for the same reason (same strides at every step).
        return NTMState(controller, memory.contiguous(), w.contiguous(), r.contiguous())

    def step(
        self, x: Tensor, state: NTMState, trace: bool = False
    ) -> tuple[Tensor, NTMState, HeadParams | None]:
        """One time step. x: (B, input_size) -> logits (B, output_size), new state.

        With ``trace=True`` the third value holds this step's head parameters.
        This is the function that ``compile_step`` compiles: no checks, no Python state.
        """
        R = self.config.num_read_heads
        h, ctrl = self.controller(torch.cat([x, state.r.flatten(1)], dim=-1), state.controller)
        p = self.heads(h)
        w = _address(state.memory, p.k, p.beta, p.g, p.s, p.gamma, state.w)  # (B, R+W, N)
        r = _read(state.memory, w[:, :R])  # (B, R, M)
        memory = _write(state.memory, w[:, R:], p.e, p.a)  # (B, N, M)
        y = self.output(torch.cat([h, r.flatten(1)], dim=-1))
        return y, NTMState(ctrl, memory, w, r), (p if trace else None)

    def steps(self, xs: Tensor, state: NTMState) -> tuple[Tensor, NTMState]:
        """``K = xs.shape[0]`` steps in a row: xs (K, B, input_size) -> logits (K, B, output_size).

        Nothing but ``step`` called K times; ``compile_step(unroll=K)`` compiles this, so
        one compiled call runs K steps (less per-call overhead, one larger fused graph).
        """
        ys = []
        for i in range(xs.shape[0]):
            y, state, _ = self.step(xs[i], state)
            ys.append(y)
        return torch.stack(ys), state

    # ------------------------------------------------------------------------------------
    def compile_step(
        self,
        enable: bool = True,
        unroll: int = 1,
        background: bool = False,
        **compile_kwargs: Any,
    ) -> NTM:
        """Use ``torch.compile(self.step)`` for training (calls with gradients enabled).

        ``unroll=K`` (K >= 2) also compiles ``steps``, K steps per compiled call, and runs
        sequences K steps at a time (the last ``T % K`` steps one at a time). Same
        results; it trades a second, larger compilation (about 10-15 s more on a 2-core
        CPU) for fewer calls per sequence: ~10-20% faster training steps at batch 64
        (benchmarks/README.md). Worth it for long runs, not for a one-minute one.

        ``background=True`` (the fast start): training starts at once on the eager step
        while a daemon thread compiles the same step on a copy of the model (so that the
        training's updates never touch the tensors the compiler holds); at the first
        training call after it is ready, the model switches to the compiled step, which
        then needs no compilation of its own. ``is_compiled`` turns True at the switch.
        The switch step depends on timing, so a run is not bit-for-bit repeatable (the
        eager and compiled steps agree to ~1e-6, not exactly); leave it off where that
        matters.

        Falls back to the eager step, with a one-line warning, where no compiler is
        available (e.g. no C++ toolchain) or compilation fails. Returns ``self``.
        """
        check_positive_int("unroll", unroll)
        if not isinstance(background, bool):
            raise TypeError(f"background: expected True or False, got {background!r}")
        self._background = None
        if not enable:
            self._step_fn, self._steps_fn, self._compiled, self._unroll = (
                self.step,
                self.steps,
                False,
                1,
            )
            return self
        if not hasattr(torch, "compile") or (
            shutil.which("c++") is None
            and shutil.which("g++") is None
            and shutil.which("cc") is None
        ):
            warnings.warn(
                "ntm_nb: no C++ compiler found; torch.compile disabled, using the eager step",
                stacklevel=2,
            )
            return self
        # Dynamo inspects `.grad` of the state tensors while tracing, which makes torch warn
        # about non-leaf tensors once per trace: noise from torch's internals, not our code.
        warnings.filterwarnings(
            "ignore", message="The .grad attribute of a Tensor that is not a leaf"
        )
        compile_kwargs.setdefault("dynamic", False)
        # A C++ wrapper around the generated kernels instead of a Python one: measured
        # 1.2-1.35x faster training steps on a 2-core CPU (benchmarks/README.md).
        # CPU only: on CUDA (torch 2.11) it fails at the first call ("CudaKernelParamCache
        # not populated"), measured on an H200.
        if self.r0.device.type == "cpu":
            compile_kwargs.setdefault("options", {"cpp_wrapper": True})
        if background:
            self.compile_step(False)
            self._background = _BackgroundCompile(self, unroll, compile_kwargs)
            return self
        self._use_compiled(unroll, compile_kwargs)
        return self

    def _use_compiled(self, unroll: int, compile_kwargs: dict[str, Any]) -> None:
        self._step_fn = torch.compile(self.step, **compile_kwargs)
        self._steps_fn = torch.compile(self.steps, **compile_kwargs) if unroll > 1 else self.steps
        self._compiled, self._unroll = True, unroll

    def _poll_background(self, x: Tensor) -> None:
        """Start the background compilation for x's batch, or switch to it once ready."""
        bg = self._background
        if bg is None:
            return
        if not bg.started:
            bg.start(x)
        elif bg.ready.is_set():
            self._background = None
            if bg.error is not None:
                warn_compile_failed(bg.error, " in the background")
            else:
                self._use_compiled(bg.unroll, bg.compile_kwargs)

    @property
    def is_compiling(self) -> bool:
        """True while a background compilation (``compile_step(background=True)``) is pending."""
        return self._background is not None

    @property
    def is_compiled(self) -> bool:
        return self._compiled

    @property
    def unroll(self) -> int:
        """Steps per compiled call in training (1 unless ``compile_step(unroll=K)``)."""
        return self._unroll

    def _check_input(self, x: Any) -> Tensor:
        """Type, shape and finiteness of x (once per call: the step itself has no checks),
        cast to the model's device and dtype."""
        if not isinstance(x, Tensor):
            raise TypeError(
                f"x: expected a torch.Tensor of shape (B, T, input_size), got {type(x).__name__}"
            )
        size = self.config.input_size
        if x.dim() != 3 or x.shape[-1] != size:
            raise ValueError(f"x: expected shape (B, T, input_size={size}), got {tuple(x.shape)}")
        if x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(
                f"x: needs at least one sequence and one time step, got shape {tuple(x.shape)}"
            )
        return check_cast_finite("x", x, self.r0)

    @staticmethod
    def _check_state(state: NTMState) -> None:
        """A given state must be finite (a NaN in it would silently become NaN logits)."""
        for name, t in (("memory", state.memory), ("w", state.w), ("r", state.r)):
            check_finite(f"state.{name}", t)
        for i, t in enumerate(state.controller):
            check_finite(f"state.controller[{i}]", t)

    def forward(
        self, x: Tensor, return_trace: bool = False, state: NTMState | None = None
    ) -> Tensor | tuple[Tensor, Trace]:
        """Run a whole sequence. x: (B, T, input_size) -> logits (B, T, output_size)."""
        x = self._check_input(x)
        B, T, _ = x.shape
        if state is None:
            state = self.initial_state(B)
        else:
            self._check_state(state)
        # The compiled step serves training (gradients on); evaluation and traces run eagerly,
        # which avoids a second compilation for every new batch size or for no_grad.
        if self._background is not None and torch.is_grad_enabled() and not return_trace:
            self._poll_background(x)
        use_compiled = self._compiled and not return_trace and torch.is_grad_enabled()
        step = self._step_fn if use_compiled else self.step
        # (T, B, input) with standard strides, so every x_t has the same strides whatever T
        # (``.contiguous()`` would keep a B=1 view's T-dependent stride).
        xs = x.new_empty((T, B, x.shape[2])).copy_(x.transpose(0, 1))
        ys: list[Tensor] = []  # (K, B, output_size) each
        steps: list[tuple[NTMState, HeadParams]] = []
        K = self._unroll if use_compiled else 1
        t = 0
        while t < T:
            k = K if t + K <= T else 1  # K steps per compiled call, the remainder one by one
            try:
                if k > 1:
                    y, state = self._steps_fn(xs[t : t + k], state)
                else:
                    y1, state, p = step(xs[t], state, return_trace)
                    y = y1.unsqueeze(0)
            except Exception as err:  # compiler missing or broken: fall back once, loudly
                if not use_compiled:
                    raise
                warn_compile_failed(err)
                self.compile_step(False)
                use_compiled, step, K = False, self.step, 1
                continue  # redo this step eagerly
            ys.append(y)
            if return_trace:
                steps.append((state, p))
            t += k
        logits = torch.cat(ys).transpose(0, 1).contiguous()  # (B, T, output_size)
        if not return_trace:
            return logits
        return logits, self._make_trace(steps)

    def _make_trace(self, steps: list[tuple[NTMState, HeadParams]]) -> Trace:
        R = self.config.num_read_heads

        def stack(get: Callable[[tuple[NTMState, HeadParams]], Tensor]) -> Tensor:
            return torch.stack([get(item) for item in steps], dim=1).detach()

        return Trace(
            w_read=stack(lambda sp: sp[0].w[:, :R]),
            w_write=stack(lambda sp: sp[0].w[:, R:]),
            k=stack(lambda sp: sp[1].k),
            beta=stack(lambda sp: sp[1].beta[..., 0]),
            g=stack(lambda sp: sp[1].g[..., 0]),
            s=stack(lambda sp: sp[1].s),
            gamma=stack(lambda sp: sp[1].gamma[..., 0]),
            e=stack(lambda sp: sp[1].e),
            a=stack(lambda sp: sp[1].a),
            reads=stack(lambda sp: sp[0].r),
            memory=stack(lambda sp: sp[0].memory),
        )

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class _BackgroundCompile:
    """``torch.compile`` of an NTM's step, built by a daemon thread on a copy of the model.

    The thread calls the compiled step of the copy (forward and backward, with the shapes
    of the first training batch), which compiles it; the copy's parameters are its own,
    so the optimizer's in-place updates of the real model never meet the tensors that the
    compiled graph saved for its backward. Dynamo keys what it compiled on the step's code
    and guards on shapes and dtypes, not on the module object, so ``torch.compile`` of the
    real model's step then finds the compiled graphs ready.
    """

    def __init__(self, model: NTM, unroll: int, compile_kwargs: dict[str, Any]) -> None:
        self.shadow = copy.deepcopy(model)
        self.unroll, self.compile_kwargs = unroll, compile_kwargs
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.started = False

    def start(self, x: Tensor) -> None:
        self.started = True
        threading.Thread(
            target=self._warm, args=(x.shape[0],), daemon=True, name="ntm_nb-compile"
        ).start()

    def _warm(self, batch_size: int) -> None:
        shadow, unroll = self.shadow, self.unroll
        try:
            shadow._use_compiled(unroll, self.compile_kwargs)
            with torch.enable_grad():
                state = shadow.initial_state(batch_size)
                x = shadow.r0.new_zeros(batch_size, shadow.config.input_size)
                y, state, _ = shadow._step_fn(x, state)  # a first step (leaf state) ...
                y, state, _ = shadow._step_fn(x, state)  # ... and a later one
                total = y.sum() + state.memory.sum()
                if unroll > 1:
                    ys, state = shadow._steps_fn(x.expand(unroll, -1, -1).contiguous(), state)
                    total = total + ys.sum()
                params = [p for p in shadow.parameters() if p.requires_grad]
                torch.autograd.grad(total, params, allow_unused=True)  # compiles the backward
        except Exception as err:  # reported by the model at the next training call
            self.error = err
        finally:
            self.shadow = None  # type: ignore[assignment]
            self.ready.set()
