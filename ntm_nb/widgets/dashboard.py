"""``TrainingDashboard`` (notebook 10): train any task live, in a background thread."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import ipywidgets as widgets
import torch

from ntm_nb import viz
from ntm_nb._checks import check_positive_int
from ntm_nb.baseline import LSTMBaseline, LSTMConfig
from ntm_nb.checkpoint import save
from ntm_nb.model import NTM, NTMConfig, is_ntm
from ntm_nb.records import History, TrainResult, TrainState
from ntm_nb.tasks import TASKS, make_task, task_class
from ntm_nb.train import TrainConfig, make_optimizer, preset, train
from ntm_nb.widgets.base import _STYLE, _WIDTH, _WRAP, Tool, _row, control_name, guarded

__all__ = ["TrainingDashboard"]


class TrainingDashboard(Tool):
    """Train an NTM or the LSTM baseline on any task, live, without blocking the notebook.

    Controls: ``.task_name``, ``.model_kind`` ("ntm-lstm", "ntm-feedforward", "lstm"),
    ``.size`` (controller units, or LSTM units per layer), ``.memory_rows`` (N) and
    ``.heads`` (read heads = write heads), then ``.batch_size``, ``.lr`` (Adam),
    ``.steps`` (steps per run), ``.seed``, ``.compile`` (torch.compile, on by default with
    the fast start: training begins on the eager step while the compiled one builds in
    the background, and switches to it when ready);
    buttons ``.start_button``, ``.stop_button``, ``.save_button`` (to ``.path``) and
    ``.new_button`` (a fresh model from the controls). An NTM run also takes the task's
    fast preset's levers (copy: a restart at 1,500 steps and a stop at the target; see
    ``TaskPresets.fast_train``), so that the dashboard trains the recipe the sweeps measured.
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
        compile: bool = True,
    ) -> None:
        task_class(task)  # a clear error for an unknown task
        if kind not in self.KINDS:
            raise ValueError(f"kind: expected one of {', '.join(self.KINDS)}, got {kind!r}")
        for name, value in (
            ("steps", steps),
            ("log_every", log_every),
            ("eval_every", eval_every),
            ("eval_sequences", eval_sequences),
            ("memory_rows", memory_rows),
        ):
            check_positive_int(name, value)
        self.task_overrides = dict(task_overrides or {})
        self.log_every, self.eval_every, self.eval_sequences = log_every, eval_every, eval_sequences
        self.redraw_every = float(redraw_every)
        box = widgets.Layout(width="250px")
        self.task_name = widgets.Dropdown(
            options=list(TASKS), value=task, description="task", style=_STYLE, layout=box
        )
        self.model_kind = widgets.Dropdown(
            options=[
                ("NTM, LSTM controller", "ntm-lstm"),
                ("NTM, feed-forward", "ntm-feedforward"),
                ("LSTM baseline", "lstm"),
            ],
            value=kind,
            description="model",
            style=_STYLE,
            layout=widgets.Layout(width="300px"),  # "NTM, LSTM controller" in full
        )
        self.size = widgets.BoundedIntText(
            value=1, min=1, max=4096, description="units", style=_STYLE, layout=box
        )
        self.memory_rows = widgets.BoundedIntText(
            value=memory_rows,
            min=3,
            max=4096,
            description="memory rows N",
            style=_STYLE,
            layout=box,
        )
        self.heads = widgets.BoundedIntText(
            value=1, min=1, max=16, description="heads (R = W)", style=_STYLE, layout=box
        )
        self.batch_size = widgets.BoundedIntText(
            value=32, min=1, max=4096, description="batch size", style=_STYLE, layout=box
        )
        self.lr = widgets.FloatLogSlider(
            value=1e-3,
            base=10,
            min=-5,
            max=-1,
            step=0.1,
            description="learning rate",
            style=_STYLE,
            readout_format=".1e",
            layout=widgets.Layout(width=_WIDTH),
        )
        self.steps = widgets.BoundedIntText(
            value=steps, min=1, max=10**7, description="steps per run", style=_STYLE, layout=box
        )
        self.seed = widgets.BoundedIntText(
            value=seed, min=0, max=10**6, description="seed", style=_STYLE, layout=box
        )
        if not isinstance(compile, bool):
            raise TypeError(f"compile: expected True or False, got {compile!r}")
        self.compile = widgets.Checkbox(
            value=compile,
            description="torch.compile",
            indent=False,
            layout=widgets.Layout(width="140px"),
        )
        self.start_button = widgets.Button(description="start", button_style="success", icon="play")
        self.stop_button = widgets.Button(
            description="stop", button_style="warning", icon="stop", disabled=True
        )
        self.save_button = widgets.Button(description="save", icon="save")
        self.new_button = widgets.Button(description="new model", icon="refresh")
        self.path = widgets.Text(
            value=path or f"runs/dashboard-{task}",
            description="save to",
            style=_STYLE,
            layout=widgets.Layout(width="360px"),
        )
        self.status = self._status_line()
        self.curve_image = self._image(720)  # each set to its PNG's width when drawn
        self.sample_image = self._image(720)
        self._architecture = (
            self.task_name,
            self.model_kind,
            self.size,
            self.memory_rows,
            self.heads,
        )
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
            control.observe(guarded(self, control_name, self._on_architecture), names="value")
        for button, action in (
            (self.start_button, self.start),
            (self.stop_button, self.stop),
            (self.save_button, self.save),
            (self.new_button, self._on_new),
        ):
            # a click's error is shown in the status line, not lost in the widget machinery
            button.on_click(
                guarded(self, lambda _, b=button: b.description, lambda _, a=action: a())
            )
        self.widget = widgets.VBox(
            [
                _row([self.task_name, self.model_kind]),
                _row([self.size, self.memory_rows, self.heads]),
                _row([self.batch_size, self.lr]),
                _row([self.steps, self.seed, self.compile]),
                _row(
                    [
                        self.start_button,
                        self.stop_button,
                        self.new_button,
                        self.save_button,
                        self.path,
                    ]
                ),
                self.status,
                # side by side where there is room
                widgets.Box(
                    [self.curve_image, self.sample_image],
                    layout=widgets.Layout(align_items="flex-start", **_WRAP),
                ),
            ],
            layout=widgets.Layout(max_width="100%"),
        )

    # -- building --------------------------------------------------------------------------
    def _apply_preset(self, size=None, heads=None, batch_size=None, lr=None) -> None:
        """Fill the controls with the task's "fast" preset (``ntm_nb.preset``)."""
        kind = "lstm" if self.model_kind.value == "lstm" else "ntm"
        p = preset(self.task_name.value, "fast", kind)
        model = p["model"]
        default_size = model.get("hidden_size" if kind == "lstm" else "controller_size", 100)
        self.size.value = size if size is not None else default_size
        self.heads.value = heads if heads is not None else model.get("num_read_heads", 1)
        self.batch_size.value = batch_size if batch_size is not None else p["train"]["batch_size"]
        self.lr.value = lr if lr is not None else p["train"]["lr"]
        is_ntm = kind == "ntm"
        self.memory_rows.disabled = self.heads.disabled = not is_ntm
        self.size.description = "controller units" if is_ntm else "units per layer"

    def _new_model(self) -> None:
        """A fresh model and task from the controls; the history starts over."""
        name, kind = self.task_name.value, self.model_kind.value
        p = preset(name, "fast", "lstm" if kind == "lstm" else "ntm")
        self.task = make_task(name, **{**p["task"], **self.task_overrides})
        torch.manual_seed(int(self.seed.value))
        sizes = {"input_size": self.task.input_size, "output_size": self.task.output_size}
        if kind == "lstm":
            self.model = LSTMBaseline(
                LSTMConfig(**sizes, hidden_size=self.size.value, num_layers=3)
            )
        else:
            self.model = NTM(
                NTMConfig(
                    **sizes,
                    controller="lstm" if kind == "ntm-lstm" else "feedforward",
                    controller_size=self.size.value,
                    controller_layers=p["model"].get("controller_layers", 1),
                    num_read_heads=self.heads.value,
                    num_write_heads=self.heads.value,
                    N=self.memory_rows.value,
                    memory_init=p["model"].get("memory_init", "constant"),
                )
            )
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
                if change["owner"] is self.task_name and self.model_kind.value != "lstm":
                    # the task's fast preset names its controller (priority sort: feed-forward)
                    controller = preset(self.task_name.value)["model"].get("controller", "lstm")
                    self.model_kind.value = f"ntm-{controller}"
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

    def _train_config(self) -> TrainConfig:
        """The next run's settings from the controls; a bad value raises ``ValueError``."""
        lr = self.lr.value
        if not isinstance(lr, (int, float)) or not 0 < lr < 1:  # also catches NaN
            raise ValueError(f"learning rate: must be a number in (0, 1), got {lr!r}")
        for control in (self.steps, self.batch_size, self.seed):
            if not isinstance(control.value, int):
                raise ValueError(
                    f"{control.description}: expected an integer, got {control.value!r}"
                )
        done = self.state.step if self.state is not None else 0
        controlled = dict(
            steps=done + int(self.steps.value),
            batch_size=int(self.batch_size.value),
            optimizer="adam",
            lr=float(self.lr.value),
            clip_value=None,
            clip_norm=50.0,
            seed=int(self.seed.value),
            log_every=self.log_every,
            eval_every=self.eval_every,
            eval_sequences=self.eval_sequences,
            compile=bool(self.compile.value),
            fast_start=True,  # the first step at once; the compiled step takes over when built
        )
        # An NTM run also takes what its fast preset sets beyond the controls: the levers
        # (``TaskPresets.fast_train``: a restart, a curriculum, ...) the sweeps measured.
        levers = {}
        if self.model_kind.value != "lstm":
            train = preset(self.task_name.value, "fast")["train"]
            levers = {k: v for k, v in train.items() if k not in controlled}
        return TrainConfig(**levers, **controlled)

    def start(self, wait: bool = False) -> None:
        """Train for ``.steps`` more steps in a background thread (``wait``: until done).

        A bad setting (say a learning rate of NaN) raises ``ValueError`` naming it, shows
        it in the status line and leaves the dashboard as it was: ready to start again."""
        with self._lock:
            if self._running:
                return
            self._running = True
        try:
            self._prepare_run()
        except BaseException as err:
            self._report("start", err)
            self._running = False  # nothing started: the dashboard stays usable
            self.start_button.disabled, self.stop_button.disabled = False, True
            for control in self._architecture:
                control.disabled = self.state is not None and self.state.step > 0
            raise
        self._thread = threading.Thread(target=self._run, args=(self.config,), daemon=True)
        self._thread.start()
        if wait:
            self.wait()

    def _prepare_run(self) -> None:
        self._stop_requested = False
        self.error = None
        self.config = config = self._train_config()
        if self.state is None:
            self.state = TrainState(
                step=0,
                optimizer=make_optimizer(self.model, config),
                generator=torch.Generator().manual_seed(config.seed),
                history=self.history,
            )
        for group in self.state.optimizer.param_groups:
            group["lr"] = config.lr  # a changed learning rate applies to the next run
        for control in self._architecture:
            control.disabled = True
        self.start_button.disabled, self.stop_button.disabled = True, False
        self._show_status("starting")

    def _run(self, config: TrainConfig) -> None:
        try:
            self.result = train(
                self.model,
                self.task,
                config,
                state=self.state,
                callbacks=[self._on_event],
                progress=False,
                command="ntm_nb.widgets.TrainingDashboard",
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
        config = getattr(self, "config", None) or self._train_config()
        out = save(
            self.model,
            path,
            task=self.task,
            history=self.history,
            train_config=config,
            train_state=self.state,
            command="ntm_nb.widgets.TrainingDashboard",
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
        self._show_png(
            self.curve_image,
            viz.figure_to_png(
                viz.plot_learning_curve(self.history, title=f"{label} on {self.task.name}")
            ),
        )
        x, y, mask = self.sample["x"], self.sample["y"], self.sample["mask"]
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            if is_ntm(self.model):
                logits, trace = self.model(x, return_trace=True)
            else:
                logits, trace = self.model(x), None
        self.model.train(was_training)
        self.sample_probs = torch.sigmoid(logits)[0]
        self._show_png(
            self.sample_image,
            viz.figure_to_png(viz.plot_example(x, y, self.sample_probs, mask, trace)),
        )

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
        self._set_status(" · ".join(parts))

    def _static_png(self) -> bytes:
        return bytes(self.curve_image.value)

    def __repr__(self) -> str:
        step = self.state.step if self.state is not None else 0
        kind = self.model_kind.value
        return f"TrainingDashboard(task={self.task.name!r}, model={kind!r}, step={step})"
