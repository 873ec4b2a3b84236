"""Memory: reading and writing (paper sections 3.1 and 3.2, eqs. 2-4).

Notation

==========  ===============================  =================================
symbol      meaning                          shape
==========  ===============================  =================================
memory      the memory matrix M_t            (B, N, M): N rows of width M
w           a head's weighting over rows     (B, N), or (B, H, N) for H heads
e           erase vector, entries in [0, 1]  (B, M), or (B, H, M)
a           add vector                       (B, M), or (B, H, M)
r           read vector                      (B, M), or (B, H, M)
==========  ===============================  =================================

Memory is a value: ``write`` returns a new tensor and never changes its argument.
With several write heads the erases multiply and the adds sum (section 3.2), so the
order of the heads does not matter.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ntm_nb._checks import (
    check_distribution,
    check_finite,
    check_range,
    check_same_batch,
    check_shape,
)


# ----------------------------------------------------------------------------------------
# Kernels (no checks): w is (B, H, N), e and a are (B, H, M).
# ----------------------------------------------------------------------------------------
def _read(memory: Tensor, w: Tensor) -> Tensor:
    """Eq. (2): r = sum_i w(i) M(i). (B, H, N) x (B, N, M) -> (B, H, M)."""
    if torch.compiler.is_compiling():
        # The same sum, written out: inductor fuses it (forward and backward) with the
        # neighbouring addressing kernels instead of calling a batched GEMM of 1 x N by
        # N x M per sequence; ~5% faster training at batch 64 (benchmarks/README.md).
        return (w.unsqueeze(-1) * memory.unsqueeze(-3)).sum(-2)
    return w @ memory


def _write(memory: Tensor, w: Tensor, e: Tensor, a: Tensor) -> Tensor:
    """Eqs. (3)-(4) for H write heads: erase M~ = M * prod_h (1 - w_h e_h^T), then add."""
    if w.shape[1] == 1:  # one write head: a single fused elementwise expression
        w = w.transpose(1, 2)  # (B, N, 1)
        return memory * (1 - w * e) + w * a
    erase = torch.prod(1 - w.unsqueeze(-1) * e.unsqueeze(-2), dim=1)  # (B, N, M)
    add = w.transpose(1, 2) @ a  # sum_h w_h a_h^T: (B, N, H) @ (B, H, M) -> (B, N, M)
    return memory * erase + add


# ----------------------------------------------------------------------------------------
# Public API (checked)
# ----------------------------------------------------------------------------------------
def _check_memory_and_w(memory: Tensor, w: Tensor) -> tuple[int, int, int]:
    check_shape("memory", memory, 3, "(B, N, M)")
    B, N, M = memory.shape
    if N < 1 or M < 1:
        raise ValueError(f"memory: N and M must be >= 1, got shape {tuple(memory.shape)}")
    check_shape("w", w, (2, 3), f"(B, N) = ({B}, {N})", last=N)
    check_same_batch(memory=memory, w=w)
    check_finite("memory", memory)
    check_distribution("w", w)
    return B, N, M


def read(memory: Tensor, w: Tensor) -> Tensor:
    """Reading, section 3.1, eq. (2): r_t = sum_i w_t(i) M_t(i).

    Args:
        memory: (B, N, M).
        w: (B, N) weighting (a distribution over rows), or (B, H, N) for H heads.
    Returns:
        (B, M) read vector, or (B, H, M).
    """
    _check_memory_and_w(memory, w)
    if w.dim() == 2:
        return _read(memory, w.unsqueeze(1)).squeeze(1)
    return _read(memory, w)


def write(memory: Tensor, w: Tensor, e: Tensor, a: Tensor) -> Tensor:
    """Writing, section 3.2: erase (eq. 3) then add (eq. 4).

    M~_t(i) = M_{t-1}(i) * [1 - w_t(i) e_t]      (3)
    M_t(i)  = M~_t(i) + w_t(i) a_t               (4)

    Args:
        memory: (B, N, M) memory before the write; not modified.
        w: (B, N) write weighting, or (B, H, N) for H write heads.
        e: (B, M) erase vector in [0, 1], or (B, H, M).
        a: (B, M) add vector, or (B, H, M).
    Returns:
        (B, N, M) the new memory.
    """
    B, N, M = _check_memory_and_w(memory, w)
    for name, x in (("e", e), ("a", a)):
        check_shape(name, x, w.dim(), f"(B, M) = ({B}, {M})", last=M, batch=B)
        if w.dim() == 3 and x.shape[1] != w.shape[1]:
            raise ValueError(f"{name}: {x.shape[1]} heads but w has {w.shape[1]}")
    check_range("e", e, 0.0, 1.0)
    check_finite("a", a)
    if w.dim() == 2:
        w, e, a = w.unsqueeze(1), e.unsqueeze(1), a.unsqueeze(1)
    return _write(memory, w, e, a)
