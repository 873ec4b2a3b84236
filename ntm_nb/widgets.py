"""Interactive explorers: one class a tool, each owning its widgets.

================================  ======================================================
class                             what it shows
================================  ======================================================
``MemoryExplorer``                one write (erase eq. 3, add eq. 4) and one read (eq. 2)
``ContentAddressingExplorer``     cosine similarity (eq. 6) and content weighting (eq. 5)
``AddressingExplorer``            the whole pipeline: w_c, w_g, w~, w (eqs. 5-9)
``ShiftIterationExplorer``        "shift by one" repeated, with and without sharpening
``TraceExplorer``                 a trained NTM step by step: weightings, memory, heads
``GeneralizationExplorer``        NTM and LSTM beyond the training range, with bit errors
``TrainingDashboard``             train any task live (background thread), stop, save
================================  ======================================================

The first four (notebooks 01-03) work on a small memory; the next two on the shipped
trained models (``ntm_nb.pretrained``, notebooks 05-09) or models you pass; the dashboard
(notebook 10) trains with ``ntm_nb.train`` and its callbacks.

Each explorer is built with no arguments (a small seeded memory) or with a memory tensor
``(N, M)`` or ``(1, N, M)``, and shows itself when it is the last value of a cell. Code and
tests drive it without a browser: set a control's ``.value`` (``ex.beta.value = 20``) and
read the data behind the plot (``ex.w_c``). Data attributes have no batch dimension:
memories are ``(N, M)``, weightings ``(N,)``, vectors ``(M,)``. Every number is computed
by the package's own functions (``ntm_nb.memory``, ``ntm_nb.addressing``).

Each control is watched with ``observe(..., names="value")``; a change recomputes only what
depends on it, moves the existing plot artists (``ntm_nb.viz.update_*``) and re-renders
the figure into an ``ipywidgets.Image`` (``.image``; in the browser an
``img.widget-image``). Numbers are shown in a ``Label`` (``.status``). Drawing into an
``Image`` rather than printing into an ``Output`` keeps nbval's strict mode happy and
works the same in JupyterLab, Voila and tests.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from ntm_nb import viz
from ntm_nb._checks import check_positive_int
from ntm_nb.addressing import content_weighting, cosine_similarity, interpolate, sharpen, shift
from ntm_nb.memory import read, write
from ntm_nb.tasks import (
    TASKS,
    AssociativeRecallTask,
    CopyTask,
    NGramsTask,
    PrioritySortTask,
    RepeatCopyTask,
    Task,
    make_task,
)

if TYPE_CHECKING:
    from ntm_nb.train import TrainConfig, TrainResult

__all__ = [
    "MemoryExplorer",
    "ContentAddressingExplorer",
    "AddressingExplorer",
    "ShiftIterationExplorer",
    "focused_weighting",
    "shift_distribution",
    "default_memory",
]

_STYLE = {"description_width": "110px"}  # aligned columns of controls
_WIDTH = "360px"


def _int_slider(description: str, value: int, low: int, high: int) -> widgets.IntSlider:
    return widgets.IntSlider(
        value=value, min=low, max=high, description=description, style=_STYLE,
        layout=widgets.Layout(width=_WIDTH),
    )


def _float_slider(
    description: str, value: float, low: float, high: float, step: float
) -> widgets.FloatSlider:
    return widgets.FloatSlider(
        value=value, min=low, max=high, step=step, description=description, style=_STYLE,
        layout=widgets.Layout(width=_WIDTH),
    )


# ----------------------------------------------------------------------------------------
# Inputs the explorers share
# ----------------------------------------------------------------------------------------
def default_memory(N: int = 16, M: int = 8, seed: int = 0) -> Tensor:
    """A seeded random memory (N, M) with entries of order 1, for the explorers."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, M, generator=g).clamp(-2.0, 2.0)


def _as_memory(memory: Tensor | None, N: int, M: int, seed: int) -> Tensor:
    """Accept (N, M) or (1, N, M); return a detached float copy (N, M)."""
    if memory is None:
        return default_memory(N, M, seed)
    if not isinstance(memory, Tensor):
        raise TypeError(
            f"memory: expected a torch.Tensor (N, M) or (1, N, M), got {type(memory).__name__}"
        )
    if memory.dim() == 3 and memory.shape[0] == 1:
        memory = memory[0]
    if memory.dim() != 2 or memory.shape[0] < 3 or memory.shape[1] < 1:
        raise ValueError(
            "memory: expected shape (N, M) or (1, N, M) with N >= 3 rows, "
            f"got {tuple(memory.shape)}"
        )
    memory = memory.detach().to("cpu")
    return (memory if memory.is_floating_point() else memory.float()).clone()


def focused_weighting(N: int, focus: int, sharpness: float) -> Tensor:
    """A weighting (N,) peaked at row ``focus``: w(i) proportional to exp(-sharpness d(i)^2),
    d the circular distance from ``focus``. Sharpness 0 gives the uniform weighting; 20 is
    one-hot to float precision. A teaching device for notebook 01, not a paper equation."""
    i = torch.arange(N)
    d = torch.minimum((i - focus) % N, (focus - i) % N).float()
    return torch.softmax(-float(sharpness) * d * d, dim=0)


def shift_distribution(offset: int, spread: float, shift_range: int = 1) -> Tensor:
    """A shift weighting s (2R+1,) over offsets -R..R: 1 - spread on ``offset``, the rest
    shared equally by the other offsets. Spread 0 is an exact shift by ``offset``."""
    n = 2 * shift_range + 1
    if not -shift_range <= offset <= shift_range:
        raise ValueError(f"offset: must lie in -{shift_range}..{shift_range}, got {offset}")
    s = torch.full((n,), float(spread) / (n - 1))
    s[shift_range + offset] = 1.0 - float(spread)
    return s


def _one_hot(N: int, row: int) -> Tensor:
    w = torch.zeros(N)
    w[row] = 1.0
    return w


def _fmt(v: Tensor) -> str:
    return "[" + ", ".join(f"{float(x):+.2f}" for x in v) + "]"


# ----------------------------------------------------------------------------------------
# The shared shell: controls, a status label and a figure rendered into an Image
# ----------------------------------------------------------------------------------------
class _Explorer:
    """Owns ``.widget`` (the top-level container), ``.image`` and ``.status``.

    Subclasses build their controls and figure, then call ``_finish_setup``; a control
    change calls the handler registered for it, then ``_refresh`` re-renders.
    """

    widget: widgets.VBox
    image: widgets.Image
    status: widgets.Label

    def _finish_setup(
        self,
        rows: list[list[widgets.Widget]],
        renderer: viz.BlitRenderer,
        handlers: dict[widgets.Widget, Callable[[], None]],
    ) -> None:
        self._renderer = renderer
        self.status = widgets.Label()
        width = int(round(renderer.fig.bbox.width))  # the PNG's width in pixels
        # Natural size where there is room, scaled down (never up, which blurs) where not.
        self.image = widgets.Image(
            format="png", layout=widgets.Layout(width="100%", max_width=f"{width}px")
        )
        controls = widgets.VBox([widgets.HBox(row) for row in rows])
        self.widget = widgets.VBox([controls, self.status, self.image])
        for control, handler in handlers.items():
            control.observe(self._make_callback(handler), names="value")
        self._refresh()

    def _make_callback(self, handler: Callable[[], None]) -> Callable[[dict], None]:
        def callback(change: dict) -> None:
            handler()
            self._refresh()

        return callback

    def _refresh(self) -> None:
        self._draw()
        self.image.value = self._renderer.render()
        self.status.value = self._describe()

    # Subclasses: move the artists to the current data / describe it in one line.
    def _draw(self) -> None:
        raise NotImplementedError

    def _describe(self) -> str:
        raise NotImplementedError

    @property
    def figure(self):
        """The matplotlib Figure behind ``.image`` (its changing artists are animated, so
        render it with ``.image`` or ``_renderer.render()``, not ``savefig``)."""
        return self._renderer.fig

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)  # short and stable (the container's repr holds PNG bytes)
        return bundle

    def __repr__(self) -> str:
        N, M = self.memory.shape
        return f"{type(self).__name__}(N={N}, M={M})"


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
            options=self.PATTERNS, value="alternating", description="add pattern", style=_STYLE,
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


# ========================================================================================
# Notebooks 05-10: trained models
# ========================================================================================
# ``TraceExplorer``           step through one sequence inside a trained NTM
# ``GeneralizationExplorer``  NTM and LSTM beside each other beyond the training range
# ``TrainingDashboard``       train any task live, in a background thread
#
# The first two load the shipped models (``ntm_nb.pretrained``) unless given models.


@dataclass(frozen=True)
class SizeSetting:
    """The setting of a task that a slider changes, and its range (beyond training)."""

    field: str  # what the slider sets: "length", "items" or "inputs"
    low: int  # the slider's range
    high: int
    trace_default: int  # the TraceExplorer's first value (short: readable traces)
    generalization_default: int  # the GeneralizationExplorer's first value (beyond training)


#: One slider per task ("length" of copy and repeat copy, "items" of associative recall,
#: "length" of an N-grams sequence, "inputs" of priority sort); repeat copy has a second
#: one for the repeat count (``REPEATS``).
TASK_SIZES: dict[str, SizeSetting] = {
    "copy": SizeSetting("length", 1, 120, 10, 50),
    "repeat_copy": SizeSetting("length", 1, 20, 5, 20),
    "associative_recall": SizeSetting("items", 2, 20, 4, 12),
    "ngrams": SizeSetting("length", 10, 400, 60, 200),
    "priority_sort": SizeSetting("inputs", 2, 40, 20, 20),
}
REPEATS = SizeSetting("repeats", 1, 20, 3, 10)


def training_range(task: Task) -> tuple[int, int]:
    """The range of the task's size setting (``TASK_SIZES``) that ``task`` draws from."""
    if isinstance(task, (CopyTask, RepeatCopyTask)):
        return task.min_len, task.max_len
    if isinstance(task, AssociativeRecallTask):
        return task.min_items, task.max_items
    if isinstance(task, NGramsTask):
        return task.length, task.length
    if isinstance(task, PrioritySortTask):
        return task.num_inputs, task.num_inputs
    raise TypeError(f"task: expected one of ntm_nb.tasks.TASKS, got {type(task).__name__}")


def sized_task(task: Task, size: int, repeats: int | None = None) -> Task:
    """``task`` with its size setting fixed at ``size`` (and the repeat count at ``repeats``).

    Copy and repeat copy: every sequence has length ``size``; associative recall: ``size``
    items; N-grams: ``size`` bits; priority sort: ``size`` inputs, of which the
    ``min(num_outputs, size)`` highest-priority are to be output.
    """
    if isinstance(task, CopyTask):
        return dataclasses.replace(task, min_len=size, max_len=size, same_length=False)
    if isinstance(task, RepeatCopyTask):
        r = {} if repeats is None else {"min_repeats": repeats, "max_repeats": repeats}
        # the count channel keeps the training normalisation: the task's repeats_mean/std
        return dataclasses.replace(task, min_len=size, max_len=size, same_length=False, **r)
    if isinstance(task, AssociativeRecallTask):
        return dataclasses.replace(task, min_items=size, max_items=size, same_length=False)
    if isinstance(task, NGramsTask):
        return dataclasses.replace(task, length=size)
    if isinstance(task, PrioritySortTask):
        return dataclasses.replace(task, num_inputs=size, num_outputs=min(task.num_outputs, size))
    raise TypeError(f"task: expected one of ntm_nb.tasks.TASKS, got {type(task).__name__}")


def _task_for(name_or_task: str | Task, model: nn.Module | None) -> Task:
    """A Task: the one given, else the one the model was trained on, else the paper's."""
    if isinstance(name_or_task, Task):
        return name_or_task
    if not isinstance(name_or_task, str) or name_or_task not in TASKS:
        raise ValueError(f"task: unknown task {name_or_task!r}; accepted: {', '.join(TASKS)}")
    record = dict((getattr(model, "checkpoint", None) or {}).get("task") or {})
    if record.pop("name", None) == name_or_task:
        return make_task(name_or_task, **record)
    return make_task(name_or_task)


def _check_model_fits(model: nn.Module, task: Task, what: str) -> None:
    config = getattr(model, "config", None)
    if getattr(config, "input_size", None) != task.input_size or getattr(
        config, "output_size", None
    ) != task.output_size:
        raise ValueError(
            f"{what}: input/output sizes ({getattr(config, 'input_size', '?')}, "
            f"{getattr(config, 'output_size', '?')}) do not match task {task.name!r} "
            f"({task.input_size}, {task.output_size})"
        )


def _size_slider(setting: SizeSetting, value: int) -> widgets.IntSlider:
    slider = _int_slider(setting.field, value, setting.low, setting.high)
    slider.continuous_update = False  # every change runs the model
    return slider


def _shipped(kind: str) -> list[str]:
    from ntm_nb import pretrained

    return [name for name, k in pretrained.available() if k == kind]


class _StaticRenderer:
    """The renderer of a figure rebuilt on every change (a plain ``savefig``)."""

    def __init__(self, fig: Figure) -> None:
        self.fig = fig

    def render(self) -> bytes:
        return viz.figure_to_png(self.fig)


class _ModelExplorer(_Explorer):
    """An explorer whose handlers may change other controls: changes they cause are ignored
    (``_quiet``), and each handler leaves everything consistent itself."""

    _quiet = False

    def _make_callback(self, handler: Callable[[], None]) -> Callable[[dict], None]:
        def callback(change: dict) -> None:
            if self._quiet:
                return
            self._quiet = True
            try:
                handler()
            finally:
                self._quiet = False
            self._refresh()

        return callback

    def _set_image_width(self) -> None:
        width = int(round(self._renderer.fig.bbox.width))
        self.image.layout.max_width = f"{width}px"

    def _set_size_controls(self, task: Task, value: int | None, repeats: int | None, default: str) -> None:
        """Point the size slider (and the repeats slider) at ``task``'s setting."""
        setting = TASK_SIZES[task.name]
        self.length.description = setting.field
        self.length.max = max(self.length.max, setting.high)  # keep min <= max at every step
        self.length.min = setting.low
        self.length.max = setting.high
        self.length.value = value if value is not None else getattr(setting, default)
        is_repeat = isinstance(task, RepeatCopyTask)
        self.repeats.disabled = not is_repeat
        self.repeats.layout.visibility = "visible" if is_repeat else "hidden"
        if repeats is not None:
            self.repeats.value = repeats


class TraceExplorer(_ModelExplorer):
    """Step through one sequence inside a trained NTM (the paper's Figs. 6, 9, 12, 15, 17).

    ``TraceExplorer()`` loads the shipped copy NTM; ``TraceExplorer("repeat_copy")``
    another shipped one; ``TraceExplorer(task, model)`` any NTM and task (a name or a
    ``Task``).
    Controls: ``.task_name`` (the shipped NTMs; fixed when a model is given),
    ``.length`` (sequence length, items or inputs, as the task has it), ``.repeats``
    (repeat copy only), ``.seed`` (which sequence), ``.head`` (-1: all heads summed, or
    one head) and ``.time`` (the step shown).
    Data, for the sequence shown (batch dimension dropped): ``.task`` (the sized task),
    ``.x``, ``.y``, ``.mask``, ``.probs`` (output probabilities), ``.trace`` (the whole
    ``Trace``, batch of one), ``.rows`` (the memory rows drawn), and at the step ``.t``:
    ``.cursor`` (where the cursors stand), ``.memory`` (N, M) = ``trace.memory[0, t]``,
    ``.w_read`` (R, N), ``.w_write`` (W, N) and ``.params`` (beta, g, s, gamma of every
    head at t, read heads first), also shown in the table ``.readout``.
    """

    def __init__(
        self,
        task: str | Task = "copy",
        model: nn.Module | None = None,
        *,
        length: int | None = None,
        repeats: int | None = None,
        seed: int = 0,
    ) -> None:
        from ntm_nb import pretrained

        name = task.name if isinstance(task, Task) else task
        self._given = model is not None
        if model is None:
            model = pretrained.load(name)
        self._set_model(model, _task_for(task, model))
        options = [name] if self._given else sorted(set(_shipped("ntm")) | {name}, key=list(TASKS).index)
        self.task_name = widgets.Dropdown(
            options=options, value=name, description="task", style=_STYLE,
            layout=widgets.Layout(width="300px"), disabled=self._given,
        )
        setting = TASK_SIZES[name]
        self.length = _size_slider(setting, setting.trace_default)
        self.repeats = _size_slider(REPEATS, REPEATS.trace_default)
        self.seed = widgets.BoundedIntText(
            value=seed, min=0, max=10**6, description="sequence seed", style=_STYLE,
            layout=widgets.Layout(width="220px"),
        )
        self.head = widgets.Dropdown(description="heads", style=_STYLE, layout=widgets.Layout(width="220px"))
        self.time = _int_slider("time step t", 0, 0, 1)
        self.time.layout.width = "560px"
        self.readout = widgets.HTML()
        self._set_size_controls(self.base_task, length, repeats, "trace_default")
        self._set_head_options()
        self._new_sample()
        self._finish_setup(
            [[self.task_name, self.seed], [self.length, self.repeats], [self.head], [self.time]],
            self._renderer,
            {
                self.task_name: self._change_task,
                self.length: self._new_sample,
                self.repeats: self._new_sample,
                self.seed: self._new_sample,
                self.head: self._new_figure,
                self.time: self._move,
            },
        )
        self._set_image_width()
        self.widget.children = (*self.widget.children[:2], self.readout, self.widget.children[2])

    # -- state ---------------------------------------------------------------------------
    def _set_model(self, model: nn.Module, task: Task) -> None:
        from ntm_nb.model import NTM

        if not isinstance(model, NTM):
            raise TypeError(f"model: expected an NTM (a trace needs its heads), got {type(model).__name__}")
        _check_model_fits(model, task, "model")
        self.model, self.base_task = model.eval(), task

    def _set_head_options(self) -> None:
        c = self.model.config
        n = max(c.num_read_heads, c.num_write_heads)
        options = [("all heads (summed)", -1)] + [(f"head {i + 1}", i) for i in range(n)]
        self.head.options = options if n > 1 else [("head 1", -1)]
        self.head.value = -1
        self.head.disabled = n == 1

    def _change_task(self) -> None:
        from ntm_nb import pretrained

        model = pretrained.load(self.task_name.value)
        self._set_model(model, _task_for(self.task_name.value, model))
        self._set_size_controls(self.base_task, None, None, "trace_default")
        self._set_head_options()
        self._new_sample()

    def _new_sample(self) -> None:
        """Draw the sequence for the current settings, run the model, rebuild the figure."""
        repeats = self.repeats.value if isinstance(self.base_task, RepeatCopyTask) else None
        self.task = sized_task(self.base_task, self.length.value, repeats)
        x, y, mask = self.task.sample(1, torch.Generator().manual_seed(int(self.seed.value)))
        with torch.no_grad():
            logits, self.trace = self.model(x, return_trace=True)
        self.x, self.y, self.mask = x[0], y[0], mask[0]
        self.probs = torch.sigmoid(logits[0])
        wrong = ((self.probs > 0.5).float() != self.y).float() * self.mask[:, None]
        self.wrong_bits = int(wrong.sum())
        T = self.x.shape[0]
        answer = torch.nonzero(self.mask).flatten()
        self.time.max = T - 1
        self.time.value = int(answer[0]) if len(answer) else 0  # the first counted step
        self._new_figure()

    def _head_index(self) -> int | None:
        return None if self.head.value == -1 else int(self.head.value)

    def _new_figure(self) -> None:
        head = self._head_index()
        w = np.stack(
            [viz.head_weightings(self.trace, "read", head), viz.head_weightings(self.trace, "write", head)],
            axis=1,
        )
        self.rows = viz.used_rows(w)
        fig, self._handles = viz.plot_trace_step_with_handles(
            self.x, self.y, self.probs, self.mask, self.trace, self.time.value,
            rows=self.rows, head=head,
        )
        h = self._handles
        self._renderer = viz.BlitRenderer(fig, [*h.cursors, h.memory, h.read_focus, h.write_focus, h.legend])
        if hasattr(self, "image"):
            self._set_image_width()
        self._move()

    def _move(self) -> None:
        t = self.t = int(self.time.value)
        self.cursor = t
        tr = self.trace
        self.memory = tr.memory[0, t]
        self.w_read, self.w_write = tr.w_read[0, t], tr.w_write[0, t]
        self.params = {"beta": tr.beta[0, t], "g": tr.g[0, t], "s": tr.s[0, t], "gamma": tr.gamma[0, t]}

    # -- drawing -------------------------------------------------------------------------
    def _draw(self) -> None:
        viz.update_trace_step(self._handles, self.trace, self.t, self.rows, self._head_index())

    def _refresh(self) -> None:
        super()._refresh()
        self.readout.value = self._table()

    def _table(self) -> str:
        """The heads' parameters at step t, one row a head (read heads first)."""
        c = self.model.config
        R = c.num_read_heads
        S = c.shift_range
        offsets = "".join(f"<th>s({o:+d})</th>" for o in range(-S, S + 1))
        rows = []
        for i in range(R + c.num_write_heads):
            kind, k = ("read", i) if i < R else ("write", i - R)
            w = (self.w_read if i < R else self.w_write)[k]
            s = "".join(f"<td>{float(v):.2f}</td>" for v in self.params["s"][i])
            rows.append(
                f"<tr><td>{kind} {k + 1}</td><td>{float(self.params['beta'][i]):.2f}</td>"
                f"<td>{float(self.params['g'][i]):.2f}</td>{s}"
                f"<td>{float(self.params['gamma'][i]):.2f}</td>"
                f"<td>{int(w.argmax())}</td><td>{float(w.max()):.2f}</td></tr>"
            )
        head = (
            "<tr><th>head</th><th>β (key strength)</th><th>g (gate)</th>"
            f"{offsets}<th>γ (sharpening)</th><th>focus row</th><th>its weight</th></tr>"
        )
        style = "<style>.ntm-heads td, .ntm-heads th {padding: 1px 8px; text-align: right}</style>"
        return f"{style}<table class='ntm-heads'>{head}{''.join(rows)}</table>"

    def _describe(self) -> str:
        t, T = self.t, self.x.shape[0]
        phase = "answer phase (counted)" if float(self.mask[t]) > 0 else "input phase (not counted)"
        wrong = int(
            (((self.probs[t] > 0.5).float() != self.y[t]).float() * self.mask[t]).sum()
        )
        return (
            f"{self.task.name}, {TASK_SIZES[self.task.name].field} {self.length.value}: step t = {t} "
            f"of 0..{T - 1}, {phase}; wrong bits at this step {wrong}, "
            f"in the whole sequence {self.wrong_bits}"
        )

    def __repr__(self) -> str:
        return (
            f"TraceExplorer(task={self.task.name!r}, {TASK_SIZES[self.task.name].field}="
            f"{self.length.value}, t={self.t})"
        )


class GeneralizationExplorer(_ModelExplorer):
    """The NTM and the LSTM baseline beyond their training range (the paper's Figs. 4, 5, 8, 11).

    ``GeneralizationExplorer()`` loads the shipped copy models; pass a task name (or a
    ``Task``) for another, and ``ntm=`` / ``lstm=`` to compare models of your own.
    Controls: ``.task_name``, ``.length`` (sequence length, items or inputs),
    ``.repeats`` (repeat copy only), ``.seed`` (which example sequence).
    Data: ``.task`` (the sized task), ``.x``, ``.y``, ``.mask`` (the example, batch
    dimension dropped), ``.probs`` (label -> output probabilities of the example),
    ``.errors`` (label -> wrong bits in the example) and ``.bits`` (label -> bits per
    sequence over ``num_sequences`` sequences drawn from ``seed``, by ``ntm_nb.evaluate``).
    The N-grams task is not offered: a thresholded bit says little there (notebook 08
    compares costs with the optimal estimator instead).
    """

    TASKS = ("copy", "repeat_copy", "associative_recall", "priority_sort")

    def __init__(
        self,
        task: str | Task = "copy",
        ntm: nn.Module | None = None,
        lstm: nn.Module | None = None,
        *,
        length: int | None = None,
        repeats: int | None = None,
        num_sequences: int = 20,
        seed: int = 0,
    ) -> None:
        name = task.name if isinstance(task, Task) else task
        if name not in self.TASKS:
            raise ValueError(f"task: expected one of {', '.join(self.TASKS)}, got {name!r}")
        check_positive_int("num_sequences", num_sequences)
        self.num_sequences = num_sequences
        self._given = ntm is not None or lstm is not None
        self._load(task, ntm, lstm)
        shipped = set(_shipped("ntm")) & set(_shipped("lstm"))
        options = [name] if self._given else [n for n in self.TASKS if n in shipped | {name}]
        self.task_name = widgets.Dropdown(
            options=options, value=name, description="task", style=_STYLE,
            layout=widgets.Layout(width="300px"), disabled=self._given,
        )
        setting = TASK_SIZES[name]
        self.length = _size_slider(setting, setting.generalization_default)
        self.repeats = _size_slider(REPEATS, REPEATS.generalization_default)
        self.seed = widgets.BoundedIntText(
            value=seed, min=0, max=10**6, description="sequence seed", style=_STYLE,
            layout=widgets.Layout(width="220px"),
        )
        self._set_size_controls(self.base_task, length, repeats, "generalization_default")
        self._compute()
        self._finish_setup(
            [[self.task_name, self.seed], [self.length, self.repeats]],
            self._renderer,
            {
                self.task_name: self._change_task,
                self.length: self._compute,
                self.repeats: self._compute,
                self.seed: self._compute,
            },
        )
        self._set_image_width()

    def _load(self, task: str | Task, ntm: nn.Module | None, lstm: nn.Module | None) -> None:
        from ntm_nb import pretrained

        name = task.name if isinstance(task, Task) else task
        ntm = ntm if ntm is not None else pretrained.load(name)
        lstm = lstm if lstm is not None else pretrained.load(name, kind="lstm")
        self.base_task = _task_for(task, ntm)
        _check_model_fits(ntm, self.base_task, "ntm")
        _check_model_fits(lstm, self.base_task, "lstm")
        self.models = {"NTM": ntm.eval(), "LSTM": lstm.eval()}

    def _change_task(self) -> None:
        self._load(self.task_name.value, None, None)
        self._set_size_controls(self.base_task, None, None, "generalization_default")
        self._compute()

    def _compute(self) -> None:
        from ntm_nb.train import evaluate

        repeats = self.repeats.value if isinstance(self.base_task, RepeatCopyTask) else None
        self.task = sized_task(self.base_task, self.length.value, repeats)
        seed = int(self.seed.value)
        x, y, mask = self.task.sample(1, torch.Generator().manual_seed(seed))
        self.x, self.y, self.mask = x[0], y[0], mask[0]
        self.probs, self.errors, self.bits = {}, {}, {}
        for label, model in self.models.items():
            with torch.no_grad():
                probs = torch.sigmoid(model(x))[0]
            self.probs[label] = probs
            wrong = ((probs > 0.5).float() != self.y).float() * self.mask[:, None]
            self.errors[label] = int(wrong.sum())
            result = evaluate(model, self.task, self.num_sequences, self.num_sequences, seed=seed)
            self.bits[label] = result.bits_per_sequence
        low, high = training_range(self.base_task)
        field = TASK_SIZES[self.task.name].field
        fig = viz.plot_outputs(
            self.y, {f"{k} output" : v for k, v in self.probs.items()}, self.mask,
            title=f"{self.task.name}, {field} {self.length.value} (trained on {low}-{high})",
        )
        self._renderer = _StaticRenderer(fig)
        if hasattr(self, "image"):
            self._set_image_width()

    def _draw(self) -> None:
        pass  # the figure is rebuilt by _compute

    def _describe(self) -> str:
        low, high = training_range(self.base_task)
        field = TASK_SIZES[self.task.name].field
        setting = f"{field} {self.length.value}"
        if isinstance(self.task, RepeatCopyTask):
            setting += f", repeats {self.repeats.value} (trained on {self.base_task.min_repeats}-{self.base_task.max_repeats})"
        costs = ", ".join(f"{k} {v:.2f}" for k, v in self.bits.items())
        example = ", ".join(f"{k} {v}" for k, v in self.errors.items())
        return (
            f"{setting}; trained on {field} {low}-{high}. Bits per sequence over "
            f"{self.num_sequences} sequences: {costs}. Wrong bits in this example: {example}"
        )

    def __repr__(self) -> str:
        field = TASK_SIZES[self.task.name].field
        return f"GeneralizationExplorer(task={self.task.name!r}, {field}={self.length.value})"


class TrainingDashboard:
    """Train an NTM or the LSTM baseline on any task, live, without blocking the notebook.

    Controls: ``.task_name``, ``.model_kind`` ("ntm-lstm", "ntm-feedforward", "lstm"),
    ``.size`` (controller units, or LSTM units per layer), ``.memory_rows`` (N) and
    ``.heads`` (read heads = write heads), then ``.batch_size``, ``.lr`` (Adam),
    ``.steps`` (steps per run), ``.seed``, ``.compile`` (torch.compile; slow to start);
    buttons ``.start_button``, ``.stop_button``, ``.save_button`` (to ``.path``) and
    ``.new_button`` (a fresh model from the controls).
    The model and task controls are locked once the model has trained (press "new
    model" to change them); the training controls apply to the next run. Every run
    continues the same model, optimizer and history.

    Training runs ``ntm_nb.train`` in a background thread; its callbacks update
    ``.status``, the learning curve ``.curve_image`` and a prediction on a fixed
    example ``.sample_image`` (at most every ``redraw_every`` seconds). Stop ends the
    run at the next record (every ``log_every`` steps) and keeps the model.
    Data: ``.model``, ``.task`` (the ``Task``), ``.history`` (``History``), ``.state``
    (``TrainState``: optimizer, batch generator, step), ``.result`` (the last
    ``TrainResult``), ``.sample`` (x, y, mask of the example) and ``.sample_probs``.
    Methods: ``.start(wait=False)``, ``.stop()``, ``.wait()``, ``.save(path=None)``.
    """

    KINDS = ("ntm-lstm", "ntm-feedforward", "lstm")

    def __init__(
        self,
        task: str = "copy",
        kind: str = "ntm-lstm",
        *,
        steps: int = 1000,
        size: int | None = None,
        memory_rows: int = 128,
        heads: int | None = None,
        batch_size: int | None = None,
        lr: float | None = None,
        seed: int = 0,
        task_overrides: dict[str, Any] | None = None,
        log_every: int = 10,
        eval_every: int = 100,
        eval_sequences: int = 64,
        redraw_every: float = 1.0,
        path: str | None = None,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f"task: unknown task {task!r}; accepted: {', '.join(TASKS)}")
        if kind not in self.KINDS:
            raise ValueError(f"kind: expected one of {', '.join(self.KINDS)}, got {kind!r}")
        for name, value in (("steps", steps), ("log_every", log_every), ("eval_every", eval_every),
                            ("eval_sequences", eval_sequences), ("memory_rows", memory_rows)):
            check_positive_int(name, value)
        self.task_overrides = dict(task_overrides or {})
        self.log_every, self.eval_every, self.eval_sequences = log_every, eval_every, eval_sequences
        self.redraw_every = float(redraw_every)
        box = widgets.Layout(width="250px")
        self.task_name = widgets.Dropdown(options=list(TASKS), value=task, description="task", style=_STYLE, layout=box)
        self.model_kind = widgets.Dropdown(
            options=[("NTM, LSTM controller", "ntm-lstm"), ("NTM, feed-forward", "ntm-feedforward"),
                     ("LSTM baseline", "lstm")],
            value=kind, description="model", style=_STYLE, layout=box,
        )
        self.size = widgets.BoundedIntText(value=1, min=1, max=4096, description="units", style=_STYLE, layout=box)
        self.memory_rows = widgets.BoundedIntText(
            value=memory_rows, min=3, max=4096, description="memory rows N", style=_STYLE, layout=box
        )
        self.heads = widgets.BoundedIntText(value=1, min=1, max=16, description="heads (R = W)", style=_STYLE, layout=box)
        self.batch_size = widgets.BoundedIntText(value=32, min=1, max=4096, description="batch size", style=_STYLE, layout=box)
        self.lr = widgets.FloatLogSlider(
            value=1e-3, base=10, min=-5, max=-1, step=0.1, description="learning rate", style=_STYLE,
            readout_format=".1e", layout=widgets.Layout(width=_WIDTH),
        )
        self.steps = widgets.BoundedIntText(value=steps, min=1, max=10**7, description="steps per run", style=_STYLE, layout=box)
        self.seed = widgets.BoundedIntText(value=seed, min=0, max=10**6, description="seed", style=_STYLE, layout=box)
        self.compile = widgets.Checkbox(value=False, description="torch.compile", indent=False,
                                        layout=widgets.Layout(width="140px"))
        self.start_button = widgets.Button(description="start", button_style="success", icon="play")
        self.stop_button = widgets.Button(description="stop", button_style="warning", icon="stop", disabled=True)
        self.save_button = widgets.Button(description="save", icon="save")
        self.new_button = widgets.Button(description="new model", icon="refresh")
        self.path = widgets.Text(value=path or f"runs/dashboard-{task}", description="save to", style=_STYLE, layout=widgets.Layout(width="360px"))
        self.status = widgets.Label()
        self.curve_image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="720px"))
        self.sample_image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="800px"))
        self._architecture = (self.task_name, self.model_kind, self.size, self.memory_rows, self.heads)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._running = False
        self._stop_requested = False
        self._save_request: str | None = None
        self._last_redraw = -math.inf
        self.result: TrainResult | None = None
        self.error: BaseException | None = None
        self._apply_preset(size=size, heads=heads, batch_size=batch_size, lr=lr)
        self._new_model()
        for control in self._architecture + (self.seed,):
            control.observe(self._on_architecture, names="value")
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.save_button.on_click(lambda _: self.save())
        self.new_button.on_click(lambda _: self._on_new())
        self.widget = widgets.VBox([
            widgets.HBox([self.task_name, self.model_kind]),
            widgets.HBox([self.size, self.memory_rows, self.heads]),
            widgets.HBox([self.batch_size, self.lr]),
            widgets.HBox([self.steps, self.seed, self.compile]),
            widgets.HBox([self.start_button, self.stop_button, self.new_button, self.save_button, self.path]),
            self.status,
            self.curve_image,
            self.sample_image,
        ])

    # -- building --------------------------------------------------------------------------
    def _apply_preset(self, size=None, heads=None, batch_size=None, lr=None) -> None:
        """Fill the controls with the task's "fast" preset (``ntm_nb.preset``)."""
        from ntm_nb.train import preset

        kind = "lstm" if self.model_kind.value == "lstm" else "ntm"
        p = preset(self.task_name.value, "fast", kind)
        model = p["model"]
        default_size = model.get("hidden_size", 100) if kind == "lstm" else 100
        self.size.value = size if size is not None else default_size
        self.heads.value = heads if heads is not None else model.get("num_read_heads", 1)
        self.batch_size.value = batch_size if batch_size is not None else p["train"]["batch_size"]
        self.lr.value = lr if lr is not None else p["train"]["lr"]
        is_ntm = kind == "ntm"
        self.memory_rows.disabled = self.heads.disabled = not is_ntm
        self.size.description = "controller units" if is_ntm else "units per layer"

    def _new_model(self) -> None:
        """A fresh model and task from the controls; the history starts over."""
        from ntm_nb.baseline import LSTMBaseline, LSTMConfig
        from ntm_nb.model import NTM, NTMConfig
        from ntm_nb.train import History, preset

        name, kind = self.task_name.value, self.model_kind.value
        p = preset(name, "fast", "lstm" if kind == "lstm" else "ntm")
        self.task = make_task(name, **{**p["task"], **self.task_overrides})
        torch.manual_seed(int(self.seed.value))
        sizes = {"input_size": self.task.input_size, "output_size": self.task.output_size}
        if kind == "lstm":
            self.model = LSTMBaseline(LSTMConfig(**sizes, hidden_size=self.size.value, num_layers=3))
        else:
            self.model = NTM(NTMConfig(
                **sizes, controller="lstm" if kind == "ntm-lstm" else "feedforward",
                controller_size=self.size.value,
                controller_layers=p["model"].get("controller_layers", 1),
                num_read_heads=self.heads.value, num_write_heads=self.heads.value,
                N=self.memory_rows.value,
            ))
        self.history = History()
        self.state = None
        self.result = None
        self.error = None
        x, y, mask = self.task.sample(1, torch.Generator().manual_seed(int(self.seed.value) + 1))
        self.sample = {"x": x, "y": y, "mask": mask}
        for control in self._architecture:
            control.disabled = False
        self.memory_rows.disabled = self.heads.disabled = kind == "lstm"
        self._redraw(force=True)
        self._show_status("ready")

    def _on_architecture(self, change: dict) -> None:
        if self._rebuilding:
            return
        if change["owner"] in (self.task_name, self.model_kind):
            self._rebuilding = True
            try:
                self._apply_preset()
                self.path.value = f"runs/dashboard-{self.task_name.value}"
            finally:
                self._rebuilding = False
        if self.state is None or self.state.step == 0:
            self._new_model()

    _rebuilding = False

    def _on_new(self) -> None:
        if self._running:
            self._show_status("stop the run first")
            return
        self._new_model()

    # -- training --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    def _train_config(self) -> "TrainConfig":
        from ntm_nb.train import TrainConfig

        done = self.state.step if self.state is not None else 0
        return TrainConfig(
            steps=done + int(self.steps.value), batch_size=int(self.batch_size.value),
            optimizer="adam", lr=float(self.lr.value), clip_value=None, clip_norm=50.0,
            seed=int(self.seed.value), log_every=self.log_every, eval_every=self.eval_every,
            eval_sequences=self.eval_sequences, compile=bool(self.compile.value),
        )

    def start(self, wait: bool = False) -> None:
        """Train for ``.steps`` more steps in a background thread (``wait``: until done)."""
        from ntm_nb.train import TrainState, make_optimizer

        with self._lock:
            if self._running:
                return
            self._running = True
        self._stop_requested = False
        self.error = None
        self.config = config = self._train_config()
        if self.state is None:
            self.state = TrainState(
                step=0, optimizer=make_optimizer(self.model, config),
                generator=torch.Generator().manual_seed(config.seed), history=self.history,
            )
        for group in self.state.optimizer.param_groups:
            group["lr"] = config.lr  # a changed learning rate applies to the next run
        for control in self._architecture:
            control.disabled = True
        self.start_button.disabled, self.stop_button.disabled = True, False
        self._show_status("starting")
        self._thread = threading.Thread(target=self._run, args=(config,), daemon=True)
        self._thread.start()
        if wait:
            self.wait()

    def _run(self, config: "TrainConfig") -> None:
        from ntm_nb.train import train

        try:
            self.result = train(
                self.model, self.task, config, state=self.state, callbacks=[self._on_event],
                progress=False, command="ntm_nb.widgets.TrainingDashboard",
            )
        except Exception as err:  # shown in the status line; the model is kept
            self.error = err
        finally:
            self._running = False
            self.start_button.disabled, self.stop_button.disabled = False, True
            self._redraw(force=True)
            if self.error is not None:
                self._show_status(f"stopped by an error: {type(self.error).__name__}: {self.error}")
            else:
                self._show_status("stopped" if self._stop_requested else "done")

    def _on_event(self, info: dict[str, Any]) -> bool:
        """Called by ``train`` in the training thread at every record."""
        if self._save_request is not None:
            path, self._save_request = self._save_request, None
            self._save_now(path)
        if info["event"] in ("log", "eval"):
            self._redraw()
            self._show_status("running")
        return self._stop_requested

    def stop(self) -> None:
        """Ask the run to stop at its next record; the model and history are kept."""
        self._stop_requested = True
        if self._running:
            self._show_status("stopping")

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current run has ended (for scripts and tests)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def save(self, path: str | None = None) -> str | None:
        """Save the model, task, history and training state (``ntm_nb.save``) to ``path``
        (default: ``.path``). During a run the save happens at the next record, in the
        training thread, and ``None`` is returned; otherwise the weights file's path."""
        path = path or self.path.value
        if self._running:
            self._save_request = path
            self._show_status(f"will save to {path} at the next record")
            return None
        return self._save_now(path)

    def _save_now(self, path: str) -> str:
        from ntm_nb.checkpoint import save

        config = getattr(self, "config", None) or self._train_config()
        out = save(
            self.model, path, task=self.task, history=self.history, train_config=config,
            train_state=self.state, command="ntm_nb.widgets.TrainingDashboard",
        )
        self.saved_path = str(out)
        self._show_status(f"saved to {out}")
        return str(out)

    # -- display ---------------------------------------------------------------------------
    def _redraw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_redraw < self.redraw_every:
            return
        self._last_redraw = now
        label = "LSTM" if self.model_kind.value == "lstm" else "NTM"
        self.curve_image.value = viz.figure_to_png(
            viz.plot_learning_curve(self.history, title=f"{label} on {self.task.name}")
        )
        x, y, mask = self.sample["x"], self.sample["y"], self.sample["mask"]
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            if hasattr(self.model, "heads"):
                logits, trace = self.model(x, return_trace=True)
            else:
                logits, trace = self.model(x), None
        self.model.train(was_training)
        self.sample_probs = torch.sigmoid(logits)[0]
        self.sample_image.value = viz.figure_to_png(viz.plot_example(x, y, self.sample_probs, mask, trace))

    def _show_status(self, what: str) -> None:
        h = self.history
        step = self.state.step if self.state is not None else 0
        parts = [f"{what}", f"step {step}", f"{h.sequences[-1] if h.sequences else 0:,} sequences"]
        if h.seconds:
            parts.append(f"{h.seconds[-1]:.0f} s")
        if h.bits:
            parts.append(f"training bits/seq {h.bits[-1]:.2f}")
        if h.eval_bits:
            parts.append(f"held-out bits/seq {h.eval_bits[-1]:.2f}")
        self.status.value = " · ".join(parts)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        step = self.state.step if self.state is not None else 0
        return f"TrainingDashboard(task={self.task.name!r}, model={self.model_kind.value!r}, step={step})"


__all__ += [
    "TraceExplorer",
    "GeneralizationExplorer",
    "TrainingDashboard",
    "TASK_SIZES",
    "sized_task",
    "training_range",
]
