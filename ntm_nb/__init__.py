"""ntm_nb: the Neural Turing Machine (Graves, Wayne & Danihelka, 2014), built to be read,
trained and explored in Jupyter.

Modules, in dependency order: ``memory`` (eqs. 2-4), ``addressing`` (eqs. 5-9),
``controller``, ``heads``, ``model`` (the NTM), ``baseline`` (the LSTM baseline).
"""

from ntm_nb.baseline import LSTMBaseline, LSTMConfig
from ntm_nb.checkpoint import CheckpointError, load, save
from ntm_nb.model import NTM, NTMConfig, NTMState, Trace
from ntm_nb.tasks import TASKS, make_task
from ntm_nb import pretrained
from ntm_nb.train import EvalResult, History, TrainConfig, TrainResult, evaluate, preset, train

__version__ = "0.1.0"

__all__ = [
    "NTM", "NTMConfig", "NTMState", "Trace", "LSTMBaseline", "LSTMConfig",
    "TASKS", "make_task", "train", "evaluate", "preset", "TrainConfig", "TrainResult",
    "EvalResult", "History", "save", "load", "CheckpointError", "pretrained", "__version__",
]
