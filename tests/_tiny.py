"""The flags of a tiny, fast ``ntm-nb train`` run, shared by the command-line tests."""

from __future__ import annotations


def tiny_flags(
    batch_size: int, eval_every: int, eval_sequences: int, max_len: int, progress: bool = False
) -> list[str]:
    """A controller of 8 units, 8 x 4 memory, copy lengths up to ``max_len``, no compile."""
    flags = ["--batch-size", str(batch_size), "--eval-every", str(eval_every),
             "--eval-sequences", str(eval_sequences), "--no-compile", "--controller-size", "8",
             "--memory-rows", "8", "--memory-width", "4", "--max-len", str(max_len)]  # fmt: skip
    return flags if progress else [*flags, "--no-progress"]
