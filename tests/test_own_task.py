"""A task written in a file outside the package, registered with one call, works everywhere
a built-in one does: make_task, preset, train, evaluate, checkpoints, the plots, both
explorers, the dashboard and the command line (``--task-module``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from ntm_nb import NTM, LSTMBaseline, LSTMConfig, NTMConfig, evaluate, make_task, preset, train, viz
from ntm_nb.checkpoint import load, save, task_from_record
from ntm_nb.cli import main
from ntm_nb.cli_parser import import_task_module
from ntm_nb.tasks import TASKS, SizeSetting, Task, register
from ntm_nb.widgets import GeneralizationExplorer, TraceExplorer, TrainingDashboard

# A user's module: reverse copy (write the sequence back in reverse order).
SOURCE = textwrap.dedent(
    """
    from dataclasses import dataclass, replace
    from typing import ClassVar

    import torch

    from ntm_nb.tasks import SizeSetting, Task, TaskPresets, register


    @register
    @dataclass(frozen=True)
    class ReverseCopyTask(Task):
        name: ClassVar[str] = "reverse_copy"
        size_setting: ClassVar[SizeSetting] = SizeSetting("length", 1, 12, 3, 8)
        presets: ClassVar[TaskPresets] = TaskPresets(fast_steps=7, fast_eval_every=7)
        bits: int = 4
        min_len: int = 1
        max_len: int = 4

        @property
        def input_size(self):
            return self.bits + 1

        @property
        def output_size(self):
            return self.bits

        def training_range(self):
            return self.min_len, self.max_len

        def sized(self, size, extra=None):
            return replace(self, min_len=size, max_len=size)

        def sample(self, batch_size, generator=None):
            L = int(torch.randint(self.min_len, self.max_len + 1, (1,), generator=generator))
            data = torch.randint(0, 2, (batch_size, L, self.bits), generator=generator).float()
            T = 2 * L + 1
            x = torch.zeros(batch_size, T, self.input_size)
            y = torch.zeros(batch_size, T, self.output_size)
            mask = torch.zeros(batch_size, T)
            x[:, :L, : self.bits] = data
            x[:, L, self.bits] = 1.0
            y[:, L + 1 :] = data.flip(1)
            mask[:, L + 1 :] = 1.0
            return x, y, mask
    """
)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """The user's file, in a folder of its own, imported as ``my_tasks``; unregistered after."""
    (tmp_path / "my_tasks.py").write_text(SOURCE)
    monkeypatch.chdir(tmp_path)
    yield tmp_path / "my_tasks.py"
    TASKS.pop("reverse_copy", None)
    sys.modules.pop("my_tasks", None)


def tiny_ntm(task) -> NTM:
    torch.manual_seed(0)
    config = NTMConfig(task.input_size, task.output_size, controller_size=8, N=8, M=4)
    return NTM(config)


def test_one_call_registers_the_task_and_it_works_everywhere(user_module, tmp_path):
    import_task_module("my_tasks")  # the module's @register is the one call
    assert "reverse_copy" in TASKS
    task = make_task("reverse_copy", max_len=3)
    assert (task.input_size, task.output_size) == (5, 4)
    assert preset("reverse_copy")["train"]["steps"] == 7

    model = tiny_ntm(task)
    result = train(
        model,
        task,
        steps=6,
        batch_size=4,
        eval_every=3,
        eval_sequences=8,
        compile=False,
        progress=False,
        optimizer="adam",
        lr=1e-2,
    )
    assert result.step == 6 and len(result.history.eval_bits) == 2
    ev = evaluate(model, task, num_sequences=16, batch_size=8)
    assert 0 <= ev.bits_per_sequence <= 3 * task.output_size and ev.optimal_cost_bits is None

    path = save(model, tmp_path / "ckpt", task=task, history=result.history)
    loaded = load(path)
    assert loaded.checkpoint["task_module"] == "my_tasks"
    assert task_from_record(loaded.checkpoint) == task

    x, y, mask = task.sample(1, torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits, trace = model(x, return_trace=True)
    fig = viz.plot_example(x[0], y[0], torch.sigmoid(logits[0]), mask[0], trace=trace)
    assert len(fig.axes) >= 3

    trace_ex = TraceExplorer(task, model)
    assert trace_ex.length.description == "length" and trace_ex.length.max == 12
    assert trace_ex.repeats.layout.visibility == "hidden"  # the task has no second setting
    trace_ex.length.value = 5
    assert trace_ex.x.shape[0] == 2 * 5 + 1 and repr(trace_ex).startswith("TraceExplorer(")

    torch.manual_seed(1)
    lstm = LSTMBaseline(LSTMConfig(task.input_size, task.output_size, hidden_size=8, num_layers=1))
    gen = GeneralizationExplorer(task, ntm=model, lstm=lstm, num_sequences=4)
    gen.length.value = 9
    assert gen.task.min_len == gen.task.max_len == 9
    assert "trained on length 1-3" in gen.status.value

    dash = TrainingDashboard(
        "reverse_copy", steps=2, size=8, memory_rows=8, log_every=1, eval_every=2, eval_sequences=4
    )
    dash.compile.value = False
    dash.start(wait=True)
    assert dash.error is None and dash.state.step == 2


def test_the_command_line_trains_evaluates_and_plots_it(user_module, tmp_path, capsys):
    out = tmp_path / "run"
    tiny = [
        "--steps",
        "3",
        "--batch-size",
        "2",
        "--eval-every",
        "3",
        "--eval-sequences",
        "4",
        "--no-compile",
        "--no-progress",
        "--controller-size",
        "8",
        "--memory-rows",
        "8",
        "--memory-width",
        "4",
    ]
    assert (
        main(
            [
                "train",
                "reverse_copy",
                "--task-module",
                "my_tasks",
                "--out",
                str(out),
                "--max-len",
                "3",
                *tiny,
            ]
        )
        == 0
    )
    assert (
        main(["eval", str(out), "--task-module", "my_tasks", "--num-sequences", "8", "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["task"]["name"] == "reverse_copy" and result["task"]["max_len"] == 3
    assert (
        main(
            [
                "plot",
                str(out),
                "--task-module",
                str(user_module),
                "--out-dir",
                str(tmp_path / "png"),
            ]
        )
        == 0
    )
    assert (tmp_path / "png" / "example.png").is_file()

    # without the module, the checkpoint's task is unknown: one line that says what to do
    TASKS.pop("reverse_copy")
    assert main(["eval", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--task-module my_tasks" in err


def test_a_fresh_process_imports_the_module_from_the_current_folder(user_module, tmp_path):
    """The ``ntm-nb`` script's own folder is on sys.path, not the user's: the CLI adds it."""
    code = subprocess.run(
        [
            sys.executable,
            "-m",
            "ntm_nb",
            "train",
            "reverse_copy",
            "--task-module",
            "my_tasks",
            "--steps",
            "1",
            "--eval-every",
            "1",
            "--eval-sequences",
            "2",
            "--batch-size",
            "2",
            "--no-compile",
            "--no-progress",
            "--controller-size",
            "8",
            "--memory-rows",
            "8",
            "--out",
            str(tmp_path / "fresh"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert code.returncode == 0, code.stderr[-1000:]
    assert "training ntm on reverse_copy" in code.stdout


def test_register_refuses_what_is_not_a_task_and_names_taken_by_another_class():
    with pytest.raises(TypeError, match="subclass of ntm_nb.tasks.Task"):
        register(int)

    class NoName(Task):
        input_size = output_size = 1

        def sample(self, batch_size, generator=None):
            raise NotImplementedError

    with pytest.raises(ValueError, match="must be a Python identifier"):
        register(NoName)
    NoName.name = "copy"
    with pytest.raises(ValueError, match="taken by ntm_nb.tasks.copy.CopyTask"):
        register(NoName)
    assert TASKS["copy"].__name__ == "CopyTask"
    with pytest.raises(ValueError, match="unknown task 'nope'.*--task-module"):
        make_task("nope")


def test_a_task_without_a_size_setting_hides_the_sliders(user_module):
    import_task_module("my_tasks")
    cls = TASKS["reverse_copy"]
    bare = type("BareReverse", (cls,), {"size_setting": None, "__module__": "my_tasks"})
    task = bare()
    model = tiny_ntm(task)
    ex = TraceExplorer(task, model)
    assert ex.length.layout.visibility == "hidden" and ex.length.disabled
    assert SizeSetting("size", 0, 1, 0, 0).field == "size"
