"""The paper's five tasks (section 4) as batch generators, and the contract a task of your
own follows to plug in everywhere.

Every task is a frozen ``@dataclass`` whose defaults are the paper's training settings, and
``task.sample(batch_size, generator)`` returns one batch ``(x, y, mask)`` of float32 tensors:

==========  ================  ===========================================================
name        shape             meaning
==========  ================  ===========================================================
x           (B, T, input)     the input at every step
y           (B, T, output)    the target bits at every step, in {0, 1}
mask        (B, T)            1 where the step's output counts (the answer phase), else 0
==========  ================  ===========================================================

Conventions shared by all tasks

* **Padding.** Sequences in one batch may differ in length (copy, repeat copy and
  associative recall draw a length or count per sequence). Each is padded *at the end* to
  the batch's longest: zeros in ``x`` and ``y``, 0 in ``mask``. A model run over the padded
  steps only changes its outputs there, which the mask ignores.
* **same_length.** Those tasks have a field ``same_length`` (default ``False``). With
  ``True`` one length / count is drawn per *batch* and shared by all its sequences, so
  there is no padding and no wasted steps: faster training, at the price of batches that
  are internally less varied. The paper trains at batch size 1, where both are the same.
* **Randomness.** ``sample`` draws only from ``generator`` (the global RNG when it is
  ``None``): the same seed gives the same batch. Tensors are made on the CPU; move them
  with ``.to(device)``.
* **Changing settings.** The dataclasses are frozen, so a task is always valid; use
  ``dataclasses.replace(task, max_len=120)`` (which checks again) for a generalisation
  test or a curriculum, and ``make_task(name, **fields)`` to build one by name.
  ``make_task(task.name, **task.to_dict())`` rebuilds the same task.
* **Cost.** The paper reports "bits per sequence": for the binary tasks, the number of
  wrongly thresholded output bits summed over the masked steps; for n-grams, the
  cross-entropy in bits (``ngram_optimal_cost`` gives the optimum to compare against).

The Task contract (a task of your own)
======================================

Subclass ``Task`` (a frozen ``@dataclass`` is recommended: its fields are then saved with a
model and checked by ``make_task``) and register it with one call::

    from dataclasses import dataclass
    from ntm_nb.tasks import SizeSetting, Task, register

    @register
    @dataclass(frozen=True)
    class ReverseCopyTask(Task):
        name = "reverse_copy"                               # its key in TASKS and the CLI
        size_setting = SizeSetting("length", 1, 40, 8, 30)  # what the explorers' slider sets
        bits: int = 8
        min_len: int = 1
        max_len: int = 20
        ...

After that the task works wherever a built-in one does: ``make_task``, ``train``,
``evaluate``, ``preset``, ``TraceExplorer(task=...)``, ``GeneralizationExplorer``,
``TrainingDashboard``, checkpoints, and the command line
(``ntm-nb train reverse_copy --task-module my_tasks``).

==========================  =========  ====================================================
member                      needed     what it is
==========================  =========  ====================================================
``name``                    yes        a class attribute, a Python identifier
``input_size``              yes        channels of ``x`` (a property)
``output_size``             yes        channels of ``y``; targets are bits in {0, 1}
``sample(B, generator)``    yes        one batch ``(x, y, mask)`` (table above), drawn only
                                       from ``generator``
``to_dict()``               dataclass  the fields, for checkpoints (a dataclass has it);
                                       ``make_task(name, **task.to_dict())`` rebuilds it
``size_setting``            explorers  a ``SizeSetting``: the slider of ``TraceExplorer`` and
                                       ``GeneralizationExplorer`` (None: no slider)
``training_range()``        with it    (low, high) of that setting in training
``sized(size, extra)``      with it    the task with every sequence at that size
``extra_setting``,          optional   a second slider (repeat copy's repeat count)
``extra_training_range()``
``measure``                 optional   ``"bits_per_sequence"`` (wrong bits, the default) or
                                       ``"cost_bits"`` (cross-entropy: N-grams)
``optimal_cost(x, y, m)``   optional   the best possible cost on a batch, where known
``presets``                 optional   a ``TaskPresets``: how ``preset(name)`` trains it
``for_evaluation()``        optional   the task with sequences drawn independently (the
                                       default turns a ``same_length`` field off)
==========================  =========  ====================================================

A ``sample`` of your own can start with ``check_batch_size(B)`` and
``check_generator(generator)``, as the built-in ones do: a bad argument then gets an
error that names it.
"""

from ntm_nb.tasks.base import (
    MEASURES,
    TASKS,
    Batch,
    SizeSetting,
    Task,
    TaskPresets,
    bit_errors,
    check_batch_size,
    check_fits,
    check_generator,
    make_task,
    register,
    task_class,
)

# isort: off
# The built-in tasks register themselves on import, in the paper's order (sections 4.1-4.5):
# that order is TASKS' order, and the order of every menu that lists tasks.
from ntm_nb.tasks.copy import PAPER_REPEATS, CopyTask, RepeatCopyTask, repeat_count_normalisation
from ntm_nb.tasks.recall import AssociativeRecallTask
from ntm_nb.tasks.ngrams import NGramsTask, ngram_optimal_cost, ngram_optimal_predictions
from ntm_nb.tasks.priority_sort import PrioritySortTask

# isort: on

__all__ = [
    "Task",
    "SizeSetting",
    "TaskPresets",
    "Batch",
    "TASKS",
    "MEASURES",
    "register",
    "task_class",
    "make_task",
    "bit_errors",
    "check_fits",
    "check_batch_size",
    "check_generator",
    "CopyTask",
    "RepeatCopyTask",
    "AssociativeRecallTask",
    "NGramsTask",
    "PrioritySortTask",
    "PAPER_REPEATS",
    "repeat_count_normalisation",
    "ngram_optimal_predictions",
    "ngram_optimal_cost",
]
