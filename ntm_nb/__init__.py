"""ntm_nb: the Neural Turing Machine (Graves, Wayne & Danihelka, 2014), built to be read,
trained and explored in Jupyter.

Modules, in dependency order: ``memory`` (eqs. 2-4), ``addressing`` (eqs. 5-9),
``controller``, ``heads``, ``model`` (the NTM), ``baseline`` (the LSTM baseline), ``tasks``
(the paper's five tasks, the Task contract and the registry), ``records`` (histories and
results), ``optim``, ``checkpoint``, ``train``, ``population`` (K models trained as one),
``viz`` (plots), ``widgets`` (the tools), ``pretrained`` (the shipped models) and ``cli``
(the command line).
"""

from ntm_nb import pretrained
from ntm_nb._version import __version__
from ntm_nb.baseline import LSTMBaseline, LSTMConfig
from ntm_nb.checkpoint import CheckpointError, load, save
from ntm_nb.model import NTM, NTMConfig, NTMState, Trace, is_ntm
from ntm_nb.records import EvalResult, History, TrainResult, TrainState
from ntm_nb.sweep import sweep, sweep_summary
from ntm_nb.tasks import TASKS, Task, make_task, register
from ntm_nb.train import TrainConfig, evaluate, preset, train

__all__ = [
    "NTM",
    "NTMConfig",
    "NTMState",
    "Trace",
    "is_ntm",
    "LSTMBaseline",
    "LSTMConfig",
    "TASKS",
    "Task",
    "make_task",
    "register",
    "train",
    "evaluate",
    "preset",
    "sweep",
    "sweep_summary",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "EvalResult",
    "History",
    "save",
    "load",
    "CheckpointError",
    "pretrained",
    "__version__",
]
