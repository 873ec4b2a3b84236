"""Explorers of trained models (notebooks 05-09): ``TraceExplorer`` steps through one
sequence inside an NTM; ``GeneralizationExplorer`` sets the NTM beside the LSTM beyond the
training range. Both load the shipped models (``ntm_nb.pretrained``) unless given models,
and read everything task-specific from the task (``ntm_nb.tasks``' contract)."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from ntm_nb import pretrained, viz
from ntm_nb._checks import check_positive_int
from ntm_nb.describe import head_rows
from ntm_nb.model import is_ntm
from ntm_nb.tasks import TASKS, SizeSetting, Task, bit_errors, check_fits, make_task, task_class
from ntm_nb.train import evaluate
from ntm_nb.widgets.base import _STYLE, _Explorer, _int_slider, control_name, guarded

__all__ = ["TraceExplorer", "GeneralizationExplorer"]

#: A placeholder for a slider the task does not use (it is hidden).
_UNUSED = SizeSetting("size", 0, 1, 0, 0)


def _task_for(name_or_task: str | Task, model: nn.Module | None) -> Task:
    """A Task: the one given, else the one the model was trained on, else the default."""
    if isinstance(name_or_task, Task):
        return name_or_task
    if not isinstance(name_or_task, str):
        raise TypeError(f"task: expected a task name or a Task, got {name_or_task!r}")
    task_class(name_or_task)  # a clear error for an unknown name
    record = dict((getattr(model, "checkpoint", None) or {}).get("task") or {})
    if record.pop("name", None) == name_or_task:
        return make_task(name_or_task, **record)
    return make_task(name_or_task)


def _setting_label(task: Task) -> str:
    return task.size_setting.field if task.size_setting is not None else "size"


def _sized(base: Task, size: int, extra: int | None) -> Task:
    """``base`` at the explorers' settings (or drawn independently, if it has none)."""
    if base.size_setting is None:
        return base.for_evaluation()
    return base.sized(size, extra if base.extra_setting is not None else None)


def _size_slider(setting: SizeSetting, value: int) -> widgets.IntSlider:
    slider = _int_slider(setting.field, value, setting.low, setting.high)
    slider.continuous_update = False  # every change runs the model
    return slider


def _shipped(kind: str) -> list[str]:
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
        def run(change: dict) -> None:
            if self._quiet:
                return
            self._quiet = True
            try:
                handler()
            finally:
                self._quiet = False
            self._refresh()

        return guarded(self, control_name, run)

    def _task_and_size_controls(self, options: list[str], name: str, seed: int) -> None:
        """The controls both explorers share: ``.task_name`` (fixed when models are given),
        ``.length`` and ``.repeats`` (pointed at the task by ``_set_size_controls``), ``.seed``."""
        self.task_name = widgets.Dropdown(
            options=options,
            value=name,
            description="task",
            style=_STYLE,
            layout=widgets.Layout(width="300px"),
            disabled=self._given,
        )
        self.length = _size_slider(_UNUSED, 0)
        self.repeats = _size_slider(_UNUSED, 0)
        self.seed = widgets.BoundedIntText(
            value=seed,
            min=0,
            max=10**6,
            description="sequence seed",
            style=_STYLE,
            layout=widgets.Layout(width="220px"),
        )

    def _set_image_width(self) -> None:
        width = int(round(self._renderer.fig.bbox.width))
        self.image.layout.width = f"{width}px"  # scaled down to the room there is, never up

    def _set_size_controls(
        self, task: Task, value: int | None, repeats: int | None, default: str
    ) -> None:
        """Point the size slider (and the second, ``.repeats``) at ``task``'s settings;
        a slider the task has no setting for is hidden."""
        for slider, setting, given in (
            (self.length, task.size_setting, value),
            (self.repeats, task.extra_setting, repeats),
        ):
            used = setting is not None
            setting = setting or _UNUSED
            slider.description = setting.field
            slider.max = max(slider.max, setting.high)  # keep min <= max at every step
            slider.min = setting.low
            slider.max = setting.high
            slider.value = given if given is not None else getattr(setting, default)
            slider.disabled = not used
            slider.layout.visibility = "visible" if used else "hidden"


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
    head at t, read heads first), also shown in the table ``.readout``, in the
    collapsible ``.heads_table`` (open where the model has at most ``OPEN_TABLE_ROWS``
    heads, closed where the table would push the figure out of a laptop's window).
    """

    OPEN_TABLE_ROWS = 4

    def __init__(
        self,
        task: str | Task = "copy",
        model: nn.Module | None = None,
        *,
        length: int | None = None,
        repeats: int | None = None,
        seed: int = 0,
    ) -> None:
        name = task.name if isinstance(task, Task) else task
        self._given = model is not None
        if model is None:
            model = pretrained.load(name)
        self._set_model(model, _task_for(task, model))
        options = (
            [name] if self._given else sorted(set(_shipped("ntm")) | {name}, key=list(TASKS).index)
        )
        self._task_and_size_controls(options, name, seed)
        self.head = widgets.Dropdown(
            description="heads", style=_STYLE, layout=widgets.Layout(width="280px")
        )
        self.time = _int_slider("time step t", 0, 0, 1)
        self.time.layout.width = "560px"
        self.readout = widgets.HTML(layout=widgets.Layout(max_width="100%", overflow="auto"))
        self.heads_table = widgets.Accordion(
            [self.readout], titles=("the heads at step t",), layout=widgets.Layout(width="auto")
        )
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
        self.panel.children = (*self.panel.children, self.heads_table)

    # -- state ---------------------------------------------------------------------------
    def _set_model(self, model: nn.Module, task: Task) -> None:
        if not is_ntm(model):
            raise TypeError(
                f"model: expected an NTM (a trace needs its heads), got {type(model).__name__}"
            )
        check_fits(model, task, "model")
        self.model, self.base_task = model.eval(), task

    def _set_head_options(self) -> None:
        c = self.model.config
        n = max(c.num_read_heads, c.num_write_heads)
        options = [("all heads (summed)", -1)] + [(f"head {i + 1}", i) for i in range(n)]
        self.head.options = options if n > 1 else [("head 1", -1)]
        self.head.value = -1
        self.head.disabled = n == 1
        rows = c.num_read_heads + c.num_write_heads
        self.heads_table.selected_index = 0 if rows <= self.OPEN_TABLE_ROWS else None

    def _change_task(self) -> None:
        if self._given:  # the menu holds only the given model's task: nothing to change
            self.task_name.value = self.base_task.name
            return
        model = pretrained.load(self.task_name.value)
        self._set_model(model, _task_for(self.task_name.value, model))
        self._set_size_controls(self.base_task, None, None, "trace_default")
        self._set_head_options()
        self._new_sample()

    def _new_sample(self) -> None:
        """Draw the sequence for the current settings, run the model, rebuild the figure."""
        self.task = _sized(self.base_task, self.length.value, self.repeats.value)
        x, y, mask = self.task.sample(1, torch.Generator().manual_seed(int(self.seed.value)))
        with torch.no_grad():
            logits, self.trace = self.model(x, return_trace=True)
        self.x, self.y, self.mask = x[0], y[0], mask[0]
        self.logits = logits[0]
        self.probs = torch.sigmoid(self.logits)
        self.wrong_bits = int(bit_errors(logits, y, mask)[0])
        # the cross-entropy, in bits, at every step (the N-grams measure), and the optimum's
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
        self.step_bits = (bce.sum(-1) * mask)[0] / float(np.log(2))
        self.optimal_bits = self.task.optimal_cost(x, y, mask)
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
            [
                viz.head_weightings(self.trace, "read", head),
                viz.head_weightings(self.trace, "write", head),
            ],
            axis=1,
        )
        self.rows = viz.used_rows(w)
        fig, self._handles = viz.plot_trace_step_with_handles(
            self.x,
            self.y,
            self.probs,
            self.mask,
            self.trace,
            self.time.value,
            rows=self.rows,
            head=head,
            measure=self.task.measure,
        )
        h = self._handles
        self._renderer = viz.BlitRenderer(fig, [*h.cursors, h.memory, h.read_focus, h.write_focus])
        if hasattr(self, "image"):
            self._set_image_width()
        self._move()

    def _move(self) -> None:
        t = self.t = int(self.time.value)
        self.cursor = t
        tr = self.trace
        self.memory = tr.memory[0, t]
        self.w_read, self.w_write = tr.w_read[0, t], tr.w_write[0, t]
        self.params = {
            "beta": tr.beta[0, t],
            "g": tr.g[0, t],
            "s": tr.s[0, t],
            "gamma": tr.gamma[0, t],
        }

    # -- drawing -------------------------------------------------------------------------
    def _draw(self) -> None:
        viz.update_trace_step(self._handles, self.trace, self.t, self.rows, self._head_index())

    def _refresh(self) -> None:
        super()._refresh()
        self.readout.value = self._table()

    def _table(self) -> str:
        """The heads' parameters at step t, one row a head (read heads first)."""
        S = self.model.config.shift_range
        offsets = "".join(f"<th>s({o:+d})</th>" for o in range(-S, S + 1))
        rows = []
        for row in head_rows(self.trace, self.t):
            s = "".join(f"<td>{v:.2f}</td>" for v in row["s"])
            rows.append(
                f"<tr><td>{row['head']}</td><td>{row['beta']:.2f}</td><td>{row['g']:.2f}</td>"
                f"{s}<td>{row['gamma']:.2f}</td><td>{row['focus']}</td>"
                f"<td>{row['weight']:.2f}</td></tr>"
            )
        head = (
            "<tr><th>head</th><th>β (key strength)</th><th>g (gate)</th>"
            f"{offsets}<th>γ (sharpening)</th><th>focus row</th><th>its weight</th></tr>"
        )
        style = (
            "<style>.ntm-heads td, .ntm-heads th "
            "{padding: 1px 8px; text-align: right; line-height: 1.4}</style>"
        )
        return f"{style}<table class='ntm-heads'>{head}{''.join(rows)}</table>"

    def _describe(self) -> str:
        t, T = self.t, self.x.shape[0]
        phase = "answer phase (counted)" if float(self.mask[t]) > 0 else "input phase (not counted)"
        where = (
            f"{self.task.name}, {_setting_label(self.task)} {self.length.value}: step t = {t} "
            f"of 0..{T - 1}, {phase}"
        )
        if self.task.measure == "cost_bits":  # judged by cross-entropy against the optimum
            optimum = "" if self.optimal_bits is None else f" (optimum {self.optimal_bits:.1f})"
            return (
                f"{where}; cross-entropy at this step {float(self.step_bits[t]):.2f} bits, "
                f"in the whole sequence {float(self.step_bits.sum()):.1f} bits{optimum}"
            )
        step = slice(t, t + 1)
        wrong = int(bit_errors(self.logits[None, step], self.y[None, step], self.mask[None, step]))
        return f"{where}; wrong bits at this step {wrong}, in the whole sequence {self.wrong_bits}"

    def __repr__(self) -> str:
        return (
            f"TraceExplorer(task={self.task.name!r}, {_setting_label(self.task)}="
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
    Offered: every task judged by wrong bits (``Task.measure``); N-grams is judged by
    cross-entropy, where a thresholded bit says little (notebook 08 compares costs with the
    optimal estimator instead).
    """

    @staticmethod
    def tasks() -> list[str]:
        """The tasks this explorer can show: those judged by wrong bits."""
        return [n for n, cls in TASKS.items() if cls.measure == "bits_per_sequence"]

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
        if name not in self.tasks():
            raise ValueError(f"task: expected one of {', '.join(self.tasks())}, got {name!r}")
        check_positive_int("num_sequences", num_sequences)
        self.num_sequences = num_sequences
        self._given = ntm is not None or lstm is not None
        self._load(task, ntm, lstm)
        shipped = set(_shipped("ntm")) & set(_shipped("lstm"))
        options = [name] if self._given else [n for n in self.tasks() if n in shipped | {name}]
        self._task_and_size_controls(options, name, seed)
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
        name = task.name if isinstance(task, Task) else task
        ntm = ntm if ntm is not None else pretrained.load(name)
        lstm = lstm if lstm is not None else pretrained.load(name, kind="lstm")
        self.base_task = _task_for(task, ntm)
        check_fits(ntm, self.base_task, "ntm")
        check_fits(lstm, self.base_task, "lstm")
        self.models = {"NTM": ntm.eval(), "LSTM": lstm.eval()}

    def _change_task(self) -> None:
        if self._given:  # the menu holds only the given models' task: nothing to change
            self.task_name.value = self.base_task.name
            return
        self._load(self.task_name.value, None, None)
        self._set_size_controls(self.base_task, None, None, "generalization_default")
        self._compute()

    def _compute(self) -> None:
        self.task = _sized(self.base_task, self.length.value, self.repeats.value)
        seed = int(self.seed.value)
        x, y, mask = self.task.sample(1, torch.Generator().manual_seed(seed))
        self.x, self.y, self.mask = x[0], y[0], mask[0]
        self.probs, self.errors, self.bits = {}, {}, {}
        for label, model in self.models.items():
            with torch.no_grad():
                logits = model(x)
            self.probs[label] = torch.sigmoid(logits)[0]
            self.errors[label] = int(bit_errors(logits, y, mask)[0])
            result = evaluate(model, self.task, self.num_sequences, self.num_sequences, seed=seed)
            self.bits[label] = result.bits_per_sequence
        fig = viz.plot_outputs(
            self.y,
            {f"{k} output": v for k, v in self.probs.items()},
            self.mask,
            title=f"{self.task.name}, {self._title_setting()}",
        )
        self._renderer = _StaticRenderer(fig)
        if hasattr(self, "image"):
            self._set_image_width()

    def _title_setting(self) -> str:
        base = self.base_task
        if base.size_setting is None:
            return "the training settings"
        low, high = base.training_range()
        return f"{base.size_setting.field} {self.length.value} (trained on {low}-{high})"

    def _draw(self) -> None:
        pass  # the figure is rebuilt by _compute

    def _describe(self) -> str:
        base = self.base_task
        setting = "the training settings"
        if base.size_setting is not None:
            field = base.size_setting.field
            low, high = base.training_range()
            setting = f"{field} {self.length.value}"
            if base.extra_setting is not None:
                lo, hi = base.extra_training_range()
                setting += (
                    f", {base.extra_setting.field} {self.repeats.value} (trained on {lo}-{hi})"
                )
            setting += f"; trained on {field} {low}-{high}"
        costs = ", ".join(f"{k} {v:.2f}" for k, v in self.bits.items())
        example = ", ".join(f"{k} {v}" for k, v in self.errors.items())
        return (
            f"{setting}. Bits per sequence over "
            f"{self.num_sequences} sequences: {costs}. Wrong bits in this example: {example}"
        )

    def __repr__(self) -> str:
        field = _setting_label(self.task)
        return f"GeneralizationExplorer(task={self.task.name!r}, {field}={self.length.value})"
