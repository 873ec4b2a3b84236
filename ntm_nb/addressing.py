"""Addressing: how a head decides where to read and write (paper section 3.3, eqs. 5-9).

Notation (the paper's, in ASCII)

==========  =========================================  ==================
symbol      meaning                                    shape
==========  =========================================  ==================
memory      the memory matrix M_t                      (B, N, M)
k           key vector                                 (B, M)
beta        key strength, beta >= 0                    (B, 1)
g           interpolation gate, 0 <= g <= 1            (B, 1)
s           shift weighting over offsets -R..R         (B, 2R+1)
gamma       sharpening exponent, gamma >= 1            (B, 1)
w_prev      the head's weighting at t-1                (B, N)
w           a weighting: w(i) >= 0, sum_i w(i) = 1     (B, N)
==========  =========================================  ==================

Every function also accepts an extra head dimension after the batch, ``(B, H, ...)``:
the model addresses all of its heads with one call. The public functions check their
arguments and then call the unchecked kernel of the same name with a leading underscore;
the model's step uses the kernels directly, so validation never slows the hot path.

Departures from the paper (each marked ``DEPARTURE`` where it happens):

* cosine similarity guards both norms with ``EPS`` so a zero key or zero row gives
  similarity 0 instead of 0/0, and rescales each vector by its largest entry where the
  plain formula would overflow (float32 entries beyond ~1e19);
* sharpening is computed in log space, softmax(gamma * log(w / max w)) (the same
  quotient), with the base clamped away from 0, so that 0**gamma, the sum and the
  gradients stay finite.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ntm_nb._checks import (
    check_distribution,
    check_finite,
    check_min,
    check_range,
    check_same_batch,
    check_shape,
)

#: Guard for the vector norms of the cosine similarity (eq. 6).
EPS = 1e-8


# ----------------------------------------------------------------------------------------
# Kernels: the equations themselves, no checks. Shapes: (B, [H,] ...).
# ----------------------------------------------------------------------------------------
def _scaled(x: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """``x / c`` and the guarded norm ``sqrt(|x|^2 + eps^2) / c`` for a positive c per vector:
    its largest absolute entry, clamped to [eps, 1 / tiny] so that 1 / c is a normal number.

    ``x / sqrt(|x|^2 + eps^2)`` is the same function of x whatever c is (the guard is
    divided by c too), so c is detached: no gradient flows through it and none is missed.
    """
    tiny = torch.finfo(x.dtype).tiny
    inv = 1 / x.detach().abs().amax(-1, keepdim=True).clamp(eps, 1 / tiny)  # (..., 1)
    scaled = x * inv  # entries in [-4, 4]: squares, sums and dot products stay in range
    return scaled, torch.sqrt((scaled * scaled).sum(-1, keepdim=True) + (eps * inv) ** 2)


def _cosine_rescaled(memory: Tensor, k: Tensor) -> Tensor:
    """Eq. (6) with both vectors divided by their largest absolute entry: overflow-safe."""
    eps = max(EPS, torch.finfo(memory.dtype).tiny)  # EPS rounds to 0 in float16
    k_s, k_norm = _scaled(k, eps)  # (B, H, M), (B, H, 1)
    m_s, m_norm = _scaled(memory, eps)  # (B, N, M), (B, N, 1)
    if torch.compiler.is_compiling():  # the same dot products, fused by inductor (cf. _read)
        dots = (k_s.unsqueeze(-2) * m_s.unsqueeze(-3)).sum(-1)  # (B, H, N)
    else:
        dots = k_s @ m_s.transpose(-1, -2)  # (B, H, N)
    return dots / (k_norm * m_norm.transpose(-1, -2))


def _cosine_similarity(memory: Tensor, k: Tensor) -> Tensor:
    """K[k, M(i)] for every row i, eq. (6). memory (B, N, M), k (B, H, M) -> (B, H, N).

    DEPARTURE (numerics only): both norms are guarded, sqrt(|x|^2 + EPS^2) instead of
    |x|, so a zero key or zero row gives similarity 0 instead of 0/0.

    Safeguard against overflow: the plain formula overflows to inf/inf = NaN (or to a
    wrong 0) once |x|^2 or |k| |M(i)| exceeds the dtype's range (float32 entries of
    ~1e19), and its guard EPS^2 rounds to 0 in float16. ``_cosine_rescaled`` divides each
    vector by its largest absolute entry first, which leaves the result unchanged up to
    rounding (the guard is divided by the same factor; in float16 it is at least the
    dtype's smallest normal number, 6.1e-5) and keeps every intermediate in range. The
    compiled step always uses it: inductor fuses the extra work (one more reduction over
    each row), about 2-3% of a compiled CPU training step in a same-process A/B test.
    The eager step on the CPU computes the plain formula, which needs fewer kernels, and
    falls back to the rescaled one where a norm, or a product of norms, is out of range
    (the check reads two small maxima; on an accelerator it would wait for the device,
    so there, in float16 and under a torch.func transform such as ``vmap``, where a
    data-dependent branch cannot run, the rescaled formula is used directly).
    """
    dtype = memory.dtype
    if (
        torch.compiler.is_compiling()
        or torch._C._are_functorch_transforms_active()  # vmap: no data-dependent branch
        or memory.device.type != "cpu"
        or torch.finfo(dtype).tiny > EPS * EPS  # float16: EPS^2 rounds to 0
    ):
        return _cosine_rescaled(memory, k)
    k_norm = torch.sqrt((k * k).sum(-1, keepdim=True) + EPS * EPS)  # (B, H, 1)
    m_norm = torch.sqrt((memory * memory).sum(-1) + EPS * EPS).unsqueeze(-2)  # (B, 1, N)
    # Every product of norms, and so every |dot| <= |k| |M(i)|, is below half the dtype's
    # largest value (a margin for rounding); False for inf and NaN too.
    if (
        k.numel() == 0
        or memory.numel() == 0
        or bool(k_norm.amax() * m_norm.amax() < torch.finfo(dtype).max / 2)
    ):
        return (k @ memory.transpose(-1, -2)) / (k_norm * m_norm)
    return _cosine_rescaled(memory, k)


def _content_weighting(memory: Tensor, k: Tensor, beta: Tensor) -> Tensor:
    """Eq. (5): softmax over rows of beta * K[k, M(i)]. k (B, H, M), beta (B, H, 1)."""
    return torch.softmax(beta * _cosine_similarity(memory, k), dim=-1)


def _interpolate(w_c: Tensor, w_prev: Tensor, g: Tensor) -> Tensor:
    """Eq. (7): w_g = g * w_c + (1 - g) * w_prev."""
    return g * w_c + (1 - g) * w_prev


def _shift(w: Tensor, s: Tensor) -> Tensor:
    """Eq. (8): circular convolution w~(i) = sum_j w(j) s(i - j), indices modulo N.

    ``s[..., R + o]`` is the weight of offset ``o`` in -R..R; offset +1 moves focus from
    row i to row i+1. Implemented as 2R+1 shifted slices of w padded circularly by R on
    both sides: slice ``R - o`` of the padding holds w(i - o) at position i.
    """
    R = (s.shape[-1] - 1) // 2
    N = w.shape[-1]
    padded = torch.cat([w[..., N - R :], w, w[..., :R]], dim=-1) if R else w  # (..., N + 2R)
    out = s[..., R : R + 1] * w  # offset 0
    for o in range(1, R + 1):
        out = out + s[..., R + o : R + o + 1] * padded[..., R - o : R - o + N]  # w(i - o)
        out = out + s[..., R - o : R - o + 1] * padded[..., R + o : R + o + N]  # w(i + o)
    return out


def _sharpen(w: Tensor, gamma: Tensor) -> Tensor:
    """Eq. (9): w(i)^gamma / sum_j w(j)^gamma."""
    # DEPARTURE (numerics only): computed in log space, softmax(gamma * log(w / max w)),
    # which is the same quotient. Dividing by the largest weight puts the largest exponent
    # at 0, so gamma * log(...) cannot overflow (float16 included) and the sum is at least
    # 1: it cannot underflow to 0 (a uniform weighting over 128 rows raised to gamma = 50
    # would); the softmax's backward is out * (g - <out, g>). The clamp keeps the log
    # finite at w = 0, where d(w^gamma)/d(gamma) = w^gamma log(w) would be 0 * -inf.
    # Outputs and gradients stay finite for beta and gamma up to 1e6 and beyond
    # (tests/test_numerics.py); a gradient overflows only where the true one, of the order
    # of beta * gamma * N, exceeds the dtype's range (float32: beta * gamma ~ 1e35).
    tiny = torch.finfo(w.dtype).tiny
    inv = 1 / w.detach().amax(-1, keepdim=True).clamp_min(tiny)
    return torch.softmax(gamma * torch.log((w * inv).clamp_min(tiny)), dim=-1)


def _address(
    memory: Tensor, k: Tensor, beta: Tensor, g: Tensor, s: Tensor, gamma: Tensor, w_prev: Tensor
) -> Tensor:
    """Eqs. (5)-(9) in order: content, interpolation, shift, sharpening."""
    w_c = _content_weighting(memory, k, beta)
    w_g = _interpolate(w_c, w_prev, g)
    w_tilde = _shift(w_g, s)
    return _sharpen(w_tilde, gamma)


# ----------------------------------------------------------------------------------------
# Public API: checked. Heads dimension optional: pass (B, N) or (B, H, N).
# ----------------------------------------------------------------------------------------
def _with_heads(x: Tensor, ndim: int) -> tuple[Tensor, bool]:
    """Add a head dimension to a (B, ...) tensor of ``ndim`` dims; report whether we did."""
    if x.dim() == ndim:
        return x.unsqueeze(1), True
    return x, False


def _check_memory(memory: Tensor) -> None:
    check_shape("memory", memory, 3, "(B, N, M)")
    if memory.shape[1] < 1 or memory.shape[2] < 1:
        raise ValueError(
            f"memory: N and M must be >= 1, got shape {tuple(memory.shape)} (expected (B, N, M))"
        )


def cosine_similarity(memory: Tensor, k: Tensor) -> Tensor:
    """Similarity measure, section 3.3.1, eq. (6): K[k, M(i)] for every row i.

    ``K[u, v] = u.v / (|u| |v|)``, both norms guarded by ``EPS`` (a zero key or row gives 0).

    Args:
        memory: (B, N, M) memory matrix.
        k: (B, M) key, or (B, H, M) one key per head.
    Returns:
        (B, N) similarities in [-1, 1], or (B, H, N).
    """
    _check_memory(memory)
    B, N, M = memory.shape
    check_shape("k", k, (2, 3), f"(B, M) = ({B}, {M})", last=M, batch=B)
    check_finite("memory", memory)
    check_finite("k", k)
    k3, squeeze = _with_heads(k, 2)
    similarity = _cosine_similarity(memory, k3)
    return similarity.squeeze(1) if squeeze else similarity


def content_weighting(memory: Tensor, k: Tensor, beta: Tensor) -> Tensor:
    """Content-based addressing, paper section 3.3.1, eqs. (5) and (6).

    ``w_c(i) = exp(beta * K[k, M(i)]) / sum_j exp(beta * K[k, M(j)])``, with
    ``K[u, v] = u.v / (|u| |v|)`` (cosine similarity).

    Args:
        memory: (B, N, M) memory matrix.
        k: (B, M) key, or (B, H, M) one key per head.
        beta: (B, 1) key strength >= 0, or (B, H, 1).
    Returns:
        (B, N) weighting, or (B, H, N).
    """
    _check_memory(memory)
    B, N, M = memory.shape
    check_shape("k", k, (2, 3), f"(B, M) = ({B}, {M})", last=M, batch=B)
    H = k.shape[1] if k.dim() == 3 else None
    check_shape("beta", beta, k.dim(), f"(B, 1) = ({B}, 1)", last=1, batch=B, heads=H)
    check_same_batch(memory=memory, k=k, beta=beta)
    check_finite("memory", memory)
    check_finite("k", k)
    check_min("beta", beta, 0.0)
    k3, squeeze = _with_heads(k, 2)
    beta3, _ = _with_heads(beta, 2)
    w = _content_weighting(memory, k3, beta3)
    return w.squeeze(1) if squeeze else w


def interpolate(w_c: Tensor, w_prev: Tensor, g: Tensor) -> Tensor:
    """Interpolation with the previous weighting, section 3.3.2, eq. (7).

    w_g = g * w_c + (1 - g) * w_prev.

    Args:
        w_c: (B, N) content weighting.
        w_prev: (B, N) the head's weighting at the previous step.
        g: (B, 1) interpolation gate in [0, 1].
    """
    check_shape("w_c", w_c, (2, 3), "(B, N)")
    check_shape("w_prev", w_prev, w_c.dim(), f"like w_c {tuple(w_c.shape)}", like=w_c)
    H = w_c.shape[1] if w_c.dim() == 3 else None
    check_shape("g", g, w_c.dim(), "(B, 1)", last=1, batch=w_c.shape[0], heads=H)
    check_same_batch(w_c=w_c, w_prev=w_prev, g=g)
    check_range("g", g, 0.0, 1.0)
    check_distribution("w_c", w_c)
    check_distribution("w_prev", w_prev)
    return _interpolate(w_c, w_prev, g)


def shift(w: Tensor, s: Tensor) -> Tensor:
    """Circular shift (convolutional shift), section 3.3.2, eq. (8).

    w~(i) = sum_j w(j) s(i - j), indices modulo N. ``s`` is (B, 2R+1) over offsets -R..R;
    the weight on offset +1 moves focus from row i to row i+1. Needs 2R+1 <= N.
    """
    check_shape("w", w, (2, 3), "(B, N)")
    check_shape("s", s, w.dim(), "(B, 2R+1)", batch=w.shape[0])
    check_same_batch(w=w, s=s)
    n_shifts, N = s.shape[-1], w.shape[-1]
    if n_shifts % 2 != 1:
        raise ValueError(f"s: the last dimension must be odd (2R+1 offsets -R..R), got {n_shifts}")
    if n_shifts > N:
        raise ValueError(
            f"s: 2R+1 = {n_shifts} offsets is more than the N = {N} memory rows; "
            f"accepted: 2R+1 <= N"
        )
    if w.dim() == 3 and s.shape[1] != w.shape[1]:
        raise ValueError(f"s: {s.shape[1]} heads but w has {w.shape[1]}")
    check_finite("w", w)
    check_distribution("s", s)
    return _shift(w, s)


def sharpen(w: Tensor, gamma: Tensor) -> Tensor:
    """Sharpening, section 3.3.2, eq. (9).

    w(i) = w~(i)^gamma / sum_j w~(j)^gamma, gamma >= 1.

    Args:
        w: (B, N) non-negative weighting (normally the shifted w~, a distribution); each
            row needs a positive entry. Or (B, H, N).
        gamma: (B, 1) sharpening exponent >= 1, or (B, H, 1).
    """
    check_shape("w", w, (2, 3), "(B, N)")
    H = w.shape[1] if w.dim() == 3 else None
    check_shape("gamma", gamma, w.dim(), "(B, 1)", last=1, batch=w.shape[0], heads=H)
    check_same_batch(w=w, gamma=gamma)
    check_min("gamma", gamma, 1.0)
    check_min("w", w, 0.0)
    if w.shape[-1] and bool((w.detach().amax(-1) <= 0).any()):
        # An all-zero row has no distribution to sharpen (0^gamma / 0 would be NaN).
        raise ValueError(
            "w: every row needs a positive entry (an all-zero row cannot be sharpened)"
        )
    return _sharpen(w, gamma)


def address(
    memory: Tensor,
    k: Tensor,
    beta: Tensor,
    g: Tensor,
    s: Tensor,
    gamma: Tensor,
    w_prev: Tensor,
) -> Tensor:
    """The whole addressing pipeline of Figure 2: eqs. (5)-(9).

    Content weighting from (k, beta), interpolation with w_prev by g, circular shift by s,
    sharpening by gamma. Shapes as in the module docstring, with an optional head
    dimension after the batch.
    """
    _check_memory(memory)
    B, N, M = memory.shape
    check_shape("k", k, (2, 3), f"(B, M) = ({B}, {M})", last=M, batch=B)
    d = k.dim()
    H = k.shape[1] if d == 3 else None
    check_shape("beta", beta, d, "(B, 1)", last=1, batch=B, heads=H)
    check_shape("g", g, d, "(B, 1)", last=1, batch=B, heads=H)
    check_shape("gamma", gamma, d, "(B, 1)", last=1, batch=B, heads=H)
    check_shape("w_prev", w_prev, d, f"(B, N) = ({B}, {N})", last=N, batch=B, heads=H)
    check_shape("s", s, d, "(B, 2R+1)", batch=B, heads=H)
    check_same_batch(memory=memory, k=k, beta=beta, g=g, s=s, gamma=gamma, w_prev=w_prev)
    if s.shape[-1] % 2 != 1 or s.shape[-1] > N:
        raise ValueError(f"s: needs an odd number 2R+1 <= N = {N} of offsets, got {s.shape[-1]}")
    check_finite("memory", memory)
    check_finite("k", k)
    check_min("beta", beta, 0.0)
    check_range("g", g, 0.0, 1.0)
    check_min("gamma", gamma, 1.0)
    check_distribution("s", s)
    check_distribution("w_prev", w_prev)
    args = [_with_heads(x, 2)[0] for x in (k, beta, g, s, gamma, w_prev)]
    w = _address(memory, *args)
    return w.squeeze(1) if d == 2 else w
