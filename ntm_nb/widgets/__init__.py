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

The first four (``widgets.addressing``, notebooks 01-03) work on a small memory; the next
two (``widgets.trained``) on the shipped trained models (``ntm_nb.pretrained``, notebooks
05-09) or models you pass; the dashboard (``widgets.dashboard``, notebook 10) trains with
``ntm_nb.train`` and its callbacks. All build on ``widgets.base.Tool``. Everything that
depends on the task (its sliders, its measure, its presets) comes from the task itself
(``ntm_nb.tasks``), so a task of your own opens in every tool once it is registered.

Each explorer is built with no arguments (a small seeded memory) or with a memory tensor
``(N, M)`` or ``(1, N, M)``, and shows itself when it is the last value of a cell. Code and
tests drive it without a browser: set a control's ``.value`` (``ex.beta.value = 20``) and
read the data behind the plot (``ex.w_c``). Data attributes have no batch dimension:
memories are ``(N, M)``, weightings ``(N,)``, vectors ``(M,)``. Every number is computed
by the package's own functions (``ntm_nb.memory``, ``ntm_nb.addressing``).

Each control is watched with ``observe(..., names="value")``; a change recomputes only what
depends on it, moves the existing plot artists (``ntm_nb.viz.update_*``) and re-renders
the figure into an ``ipywidgets.Image`` (``.image``; in the browser an
``img.widget-image``). Numbers are shown in a status line (``.status``, an ``HTML``
widget of escaped text, which wraps; ``div.ntm-status``). Drawing into an
``Image`` rather than printing into an ``Output`` keeps nbval's strict mode happy and
works the same in JupyterLab, Voila and tests.
"""

from ntm_nb.widgets import addressing, base, dashboard, trained
from ntm_nb.widgets.addressing import *  # noqa: F403
from ntm_nb.widgets.base import *  # noqa: F403
from ntm_nb.widgets.dashboard import *  # noqa: F403
from ntm_nb.widgets.trained import *  # noqa: F403

__all__ = [*base.__all__, *addressing.__all__, *trained.__all__, *dashboard.__all__]
