"""Explorers of the memory and its addressing (notebooks 01-03), on a small seeded memory:
``MemoryExplorer``, ``ContentAddressingExplorer``, ``AddressingExplorer`` and
``ShiftIterationExplorer``."""

from __future__ import annotations

import ipywidgets as widgets
import torch
from torch import Tensor

from ntm_nb import viz
from ntm_nb.addressing import content_weighting, cosine_similarity, interpolate, sharpen, shift
from ntm_nb.memory import read, write
from ntm_nb.widgets.base import (
    _STYLE,
    _as_memory,
    _Explorer,
    _float_slider,
    _fmt,
    _int_slider,
    _one_hot,
    default_memory,
    focused_weighting,
    shift_distribution,
)

__all__ = [
    "MemoryExplorer",
    "ContentAddressingExplorer",
    "AddressingExplorer",
    "ShiftIterationExplorer",
]


# ----------------------------------------------------------------------------------------
# Notebook 01: reading and writing
# ----------------------------------------------------------------------------------------
class MemoryExplorer(_Explorer):
    """One write then one read, with a weighting you shape by hand (eqs. 2-4).

    Controls: ``.focus`` (the row the weighting peaks on), ``.sharpness`` (0 = uniform,
    20 = one-hot), ``.erase`` (every entry of the erase vector e), ``.pattern`` and
    ``.amplitude`` (the add vector a = amplitude x pattern).
    Data: ``.memory`` (N, M) before, ``.w`` (N,), ``.e`` and ``.a`` (M,),
    ``.memory_after`` (N, M) = write(memory, w, e, a) and ``.read_vector`` (M,) =
    read(memory_after, w), i.e. reading back with the same weighting after the write.
    """

    PATTERNS = ("ones", "alternating", "ramp", "first half")

    def __init__(self, memory: Tensor | None = None, *, seed: int = 0) -> None:
        self.memory = _as_memory(memory, 12, 8, seed)
        N, M = self.memory.shape
        self.focus = _int_slider("focus row", min(3, N - 1), 0, N - 1)
        self.sharpness = _float_slider("sharpness", 3.0, 0.0, 20.0, 0.5)
        self.erase = _float_slider("erase e", 1.0, 0.0, 1.0, 0.05)
        self.pattern = widgets.Dropdown(
            options=self.PATTERNS,
            value="alternating",
            description="add pattern",
            style=_STYLE,
            layout=widgets.Layout(width="260px"),
        )
        self.amplitude = _float_slider("add amplitude", 1.0, -1.0, 1.0, 0.05)
        self._update_w()
        self._update_write()
        lim = max(float(self.memory.abs().max()), 1.0)
        fig, self._handles = viz.plot_read_write_with_handles(
            self.memory, self.w, self.memory_after, self.read_vector, vlim=lim
        )
        h = self._handles
        renderer = viz.BlitRenderer(fig, [*h.w_bars, h.after, *h.read_bars])
        self._finish_setup(
            [[self.focus, self.sharpness], [self.erase], [self.pattern, self.amplitude]],
            renderer,
            {
                self.focus: self._update_all,
                self.sharpness: self._update_all,
                self.erase: self._update_write,
                self.pattern: self._update_write,
                self.amplitude: self._update_write,
            },
        )

    def _pattern_vector(self) -> Tensor:
        M = self.memory.shape[1]
        j = torch.arange(M)
        name = self.pattern.value
        if name == "ones":
            return torch.ones(M)
        if name == "alternating":
            return 1.0 - 2.0 * (j % 2).float()
        if name == "ramp":
            return torch.linspace(-1.0, 1.0, M)
        return (j < (M + 1) // 2).float()  # "first half"

    def _update_w(self) -> None:
        self.w = focused_weighting(self.memory.shape[0], self.focus.value, self.sharpness.value)

    def _update_write(self) -> None:
        M = self.memory.shape[1]
        self.e = torch.full((M,), float(self.erase.value))
        self.a = float(self.amplitude.value) * self._pattern_vector()
        w, e, a = self.w[None], self.e[None], self.a[None]
        self.memory_after = write(self.memory[None], w, e, a)[0]  # eqs. (3)-(4)
        self.read_vector = read(self.memory_after[None], w)[0]  # eq. (2)

    def _update_all(self) -> None:
        self._update_w()
        self._update_write()

    def _draw(self) -> None:
        viz.update_bars(self._handles.w_bars, self.w)
        viz.update_image(self._handles.after, self.memory_after)
        viz.update_bars(self._handles.read_bars, self.read_vector)

    def _describe(self) -> str:
        f = self.focus.value
        return (
            f"focus row {f}, sharpness {self.sharpness.value:.1f} → w({f}) = "
            f"{float(self.w[f]):.3f}; erase e = {self.erase.value:.2f}; "
            f"add a = {self.amplitude.value:+.2f} × {self.pattern.value}; "
            f"read r = {_fmt(self.read_vector)}"
        )


# ----------------------------------------------------------------------------------------
# Notebook 02: content addressing
# ----------------------------------------------------------------------------------------
class ContentAddressingExplorer(_Explorer):
    """A key, its cosine similarity with every row (eq. 6) and the content weighting (eq. 5).

    Controls: ``.key_row`` (the key is a copy of this row ...), ``.noise`` (... plus this
    much of a fixed random direction) and ``.beta`` (key strength).
    Data: ``.k`` (M,), ``.similarity`` (N,) and ``.w_c`` (N,).
    The default memory has a duplicate pair (rows ``DUPLICATE``) and an all-zero row
    (``ZERO_ROW``): a key copied from a duplicated row can never pick one of the pair, and
    the zero row has similarity 0 with every key.
    """

    DUPLICATE = (2, 7)
    ZERO_ROW = 10

    def __init__(self, memory: Tensor | None = None, *, seed: int = 0) -> None:
        if memory is None:
            memory = default_memory(12, 6, seed)
            memory[self.DUPLICATE[1]] = memory[self.DUPLICATE[0]]
            memory[self.ZERO_ROW] = 0.0
        self.memory = _as_memory(memory, 12, 6, seed)
        N, M = self.memory.shape
        self._noise = torch.randn(M, generator=torch.Generator().manual_seed(seed + 1))
        self.key_row = _int_slider("key = row", min(4, N - 1), 0, N - 1)
        self.noise = _float_slider("+ noise", 0.0, 0.0, 2.0, 0.05)
        self.beta = _float_slider("β (key strength)", 5.0, 0.0, 50.0, 0.5)
        self._update_key()
        fig, self._bars = viz.plot_similarity_with_handles(
            self.similarity, self.w_c, highlight=self.key_row.value
        )
        renderer = viz.BlitRenderer(fig, [bar for bars in self._bars for bar in bars])
        self._finish_setup(
            [[self.key_row, self.noise], [self.beta]],
            renderer,
            {
                self.key_row: self._update_key,
                self.noise: self._update_key,
                self.beta: self._update_w_c,
            },
        )

    def _update_key(self) -> None:
        self.k = self.memory[self.key_row.value] + float(self.noise.value) * self._noise
        self.similarity = cosine_similarity(self.memory[None], self.k[None])[0]  # eq. (6)
        self._update_w_c()

    def _update_w_c(self) -> None:
        beta = torch.tensor([[float(self.beta.value)]])
        self.w_c = content_weighting(self.memory[None], self.k[None], beta)[0]  # eq. (5)

    def _draw(self) -> None:
        row = self.key_row.value
        viz.update_bars(self._bars[0], self.similarity, highlight=row)
        viz.update_bars(self._bars[1], self.w_c, highlight=row)

    def _describe(self) -> str:
        best = int(self.w_c.argmax())
        return (
            f"key = row {self.key_row.value} + noise {self.noise.value:.2f}; "
            f"β = {self.beta.value:.1f}; "
            f"largest weight w_c({best}) = {float(self.w_c[best]):.3f}, "
            f"cosine similarity {float(self.similarity[best]):+.3f}"
        )


# ----------------------------------------------------------------------------------------
# Notebook 03: the whole addressing pipeline, and shifting over time
# ----------------------------------------------------------------------------------------
class AddressingExplorer(_Explorer):
    """The addressing pipeline of the paper's Figure 2, live (eqs. 5-9).

    Controls: ``.key_row`` (the key is a copy of this row), ``.beta``, ``.prev_row``
    (w_prev is one-hot at this row), ``.g``, ``.shift`` (the offset -R..R that gets most
    of the shift weighting), ``.spread`` (the mass shared among the other offsets) and
    ``.gamma``.
    Data: ``.k`` (M,), ``.w_prev``, ``.w_c``, ``.w_g``, ``.w_tilde``, ``.w`` (N,) and
    ``.s`` (2R+1,) over offsets -R..R.
    """

    def __init__(
        self, memory: Tensor | None = None, *, seed: int = 0, shift_range: int = 1
    ) -> None:
        self.memory = _as_memory(memory, 16, 8, seed)
        N, M = self.memory.shape
        if shift_range < 1 or 2 * shift_range + 1 > N:
            raise ValueError(
                f"shift_range: must lie in 1..{(N - 1) // 2} for N = {N}, got {shift_range}"
            )
        self.shift_range = R = shift_range
        self.key_row = _int_slider("key k = row", min(10, N - 1), 0, N - 1)
        self.beta = _float_slider("β", 20.0, 0.0, 50.0, 0.5)
        self.prev_row = _int_slider("w_prev = row", min(4, N - 1), 0, N - 1)
        self.g = _float_slider("g", 0.8, 0.0, 1.0, 0.05)
        self.shift = _int_slider("shift by", 1, -R, R)
        self.spread = _float_slider("shift spread", 0.2, 0.0, 1.0, 0.05)
        self.gamma = _float_slider("γ", 2.0, 1.0, 20.0, 0.5)
        self._update_key()
        self._update_prev()
        self._update_s()
        self._update_w_c()
        fig, self._bars = viz.plot_weightings_with_handles(
            viz.pipeline_panels(self.w_c, self.w_g, self.w_tilde, self.w), width=11.0
        )
        renderer = viz.BlitRenderer(fig, [bar for bars in self._bars for bar in bars])
        self._finish_setup(
            [
                [self.key_row, self.beta],
                [self.prev_row, self.g],
                [self.shift, self.spread],
                [self.gamma],
            ],
            renderer,
            {
                self.key_row: self._update_key_and_w_c,
                self.beta: self._update_w_c,
                self.prev_row: self._update_prev_and_w_g,
                self.g: self._update_w_g,
                self.shift: self._update_s_and_w_tilde,
                self.spread: self._update_s_and_w_tilde,
                self.gamma: self._update_w,
            },
        )

    # Each stage recomputes itself and everything after it, nothing before it.
    def _update_key(self) -> None:
        self.k = self.memory[self.key_row.value].clone()

    def _update_prev(self) -> None:
        self.w_prev = _one_hot(self.memory.shape[0], self.prev_row.value)

    def _update_s(self) -> None:
        self.s = shift_distribution(self.shift.value, self.spread.value, self.shift_range)

    def _update_w_c(self) -> None:
        beta = torch.tensor([[float(self.beta.value)]])
        self.w_c = content_weighting(self.memory[None], self.k[None], beta)[0]  # eq. (5)
        self._update_w_g()

    def _update_w_g(self) -> None:
        g = torch.tensor([[float(self.g.value)]])
        self.w_g = interpolate(self.w_c[None], self.w_prev[None], g)[0]  # eq. (7)
        self._update_w_tilde()

    def _update_w_tilde(self) -> None:
        self.w_tilde = shift(self.w_g[None], self.s[None])[0]  # eq. (8)
        self._update_w()

    def _update_w(self) -> None:
        gamma = torch.tensor([[float(self.gamma.value)]])
        self.w = sharpen(self.w_tilde[None], gamma)[0]  # eq. (9)

    def _update_key_and_w_c(self) -> None:
        self._update_key()
        self._update_w_c()

    def _update_prev_and_w_g(self) -> None:
        self._update_prev()
        self._update_w_g()

    def _update_s_and_w_tilde(self) -> None:
        self._update_s()
        self._update_w_tilde()

    def _draw(self) -> None:
        viz.update_bars(self._bars[0], self.w_c, highlight=self.key_row.value)
        for bars, w in zip(self._bars[1:], (self.w_g, self.w_tilde, self.w)):
            viz.update_bars(bars, w)

    def _describe(self) -> str:
        s = ", ".join(f"{float(x):.2f}" for x in self.s)
        top = int(self.w.argmax())
        return (
            f"β = {self.beta.value:.1f}, g = {self.g.value:.2f}, s = ({s}) over offsets "
            f"{-self.shift_range}..{self.shift_range}, γ = {self.gamma.value:.1f}; "
            f"content picks row {int(self.w_c.argmax())}, final focus row {top} "
            f"(w = {float(self.w[top]):.3f})"
        )


class ShiftIterationExplorer(_Explorer):
    """Start one-hot at row 0 and apply "shift by +1" again and again (eq. 8), with or
    without sharpening (eq. 9) after each shift.

    With a shift weighting that is not exactly one-hot (``.spread`` > 0) every shift blurs
    the focus a little more; sharpening with gamma > 1 undoes the blur at each step, which
    is how an NTM can iterate over memory for many steps.
    Controls: ``.steps``, ``.spread`` (mass of s on offsets -1 and 0), ``.sharpening``
    (on/off) and ``.gamma``.
    Data: ``.s`` (3,), ``.history`` (steps + 1, N) the weightings shown (row t is w_t),
    ``.history_unsharpened`` the same without sharpening (the dashed reference).
    A memory, if given, only sets N: shifting acts on weightings, not on contents.
    """

    MAX_STEPS = 40

    def __init__(self, memory: Tensor | None = None, *, seed: int = 0) -> None:
        self.memory = _as_memory(memory, 16, 8, seed)
        self.steps = _int_slider("steps", 24, 1, self.MAX_STEPS)
        self.spread = _float_slider("shift spread", 0.3, 0.0, 0.9, 0.05)
        self.sharpening = widgets.ToggleButton(
            value=True, description="sharpening on", tooltip="apply eq. 9 after every shift"
        )
        self.gamma = _float_slider("γ", 2.0, 1.0, 10.0, 0.25)
        self._compute()
        fig, self._handles = viz.plot_shift_iteration_with_handles(
            {"$w_t$ over time (current settings)": self.history},
            reference=self.history_unsharpened,
            reference_label="shift only (no sharpening)",
            max_steps=self.MAX_STEPS,
        )
        h = self._handles
        renderer = viz.BlitRenderer(fig, [*h.images, *h.peak_lines, h.reference_line])
        self._finish_setup(
            [[self.steps, self.spread], [self.sharpening, self.gamma]],
            renderer,
            {
                self.steps: self._compute,
                self.spread: self._compute,
                self.sharpening: self._compute_shown,
                self.gamma: self._compute_shown,
            },
        )

    def _compute(self) -> None:
        """Steps or spread changed: recompute the reference run, then the one shown."""
        self.s = shift_distribution(1, self.spread.value, 1)
        w = _one_hot(self.memory.shape[0], 0)[None]
        plain = [w]
        for _ in range(self.steps.value):
            w = shift(w, self.s[None])  # eq. (8)
            plain.append(w)
        self.history_unsharpened = torch.cat(plain)  # (steps + 1, N)
        self._compute_shown()

    def _compute_shown(self) -> None:
        """Sharpening or gamma changed: only the run shown depends on them."""
        on = self.sharpening.value
        self.sharpening.description = "sharpening on" if on else "sharpening off"
        self.gamma.disabled = not on
        if not on:
            self.history = self.history_unsharpened
            return
        gamma = torch.tensor([[float(self.gamma.value)]])
        w = self.history_unsharpened[:1]
        history = [w]
        for _ in range(self.steps.value):
            w = sharpen(shift(w, self.s[None]), gamma)  # eqs. (8) then (9)
            history.append(w)
        self.history = torch.cat(history)  # (steps + 1, N)

    def _draw(self) -> None:
        viz.update_shift_iteration(
            self._handles, {"w": self.history}, reference=self.history_unsharpened
        )

    def _describe(self) -> str:
        T = self.steps.value
        mode = "sharpening off"
        if self.sharpening.value:
            mode = f"sharpening on (γ = {self.gamma.value:.2f})"
        s = ", ".join(f"{float(x):.2f}" for x in self.s)
        return (
            f"{T} steps of shift by +1 with s(-1, 0, +1) = ({s}), "
            f"{mode}: focus ends on row {int(self.history[-1].argmax())} with weight "
            f"{float(self.history[-1].max()):.3f} "
            f"({float(self.history_unsharpened[-1].max()):.3f} without sharpening)"
        )
