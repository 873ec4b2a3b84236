"""Argument checks for the public entry points.

Each raises a ``TypeError`` or ``ValueError`` whose message names the argument, what was
given and what is accepted. They run once per call of a public function, never inside the
model's per-step hot path. The value checks read a detached tensor: they take no part in
autograd (and ``float()`` of a tensor that requires grad would warn).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

import torch
from torch import Tensor

#: Tolerance for "sums to one" and "is non-negative" checks on weightings (float32 and
#: float64; see ``dist_tol`` for the half-precision dtypes).
DIST_TOL = 1e-3


def dist_tol(dtype: torch.dtype) -> float:
    """``DIST_TOL``, or 4 rounding units where the dtype is coarser (float16: 3.9e-3,
    bfloat16: 3.1e-2), since a weighting rounded to such a dtype cannot sum to 1 closer."""
    return max(DIST_TOL, 4 * torch.finfo(dtype).eps)


def check_tensor(name: str, x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")
    return x


def check_shape(
    name: str,
    x: object,
    ndim: int | Sequence[int],
    expected: str,
    *,
    last: int | None = None,
    batch: int | None = None,
    like: Tensor | None = None,
    heads: int | None = None,
) -> None:
    """Check the number of dimensions (and optionally the last size, batch size, the number
    of heads ``x.shape[1]`` of a 3-dimensional ``(B, H, ...)`` tensor, or a twin)."""
    x = check_tensor(name, x)
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if x.dim() not in allowed:
        raise ValueError(
            f"{name}: expected {expected} ({' or '.join(map(str, allowed))} dimensions), "
            f"got shape {tuple(x.shape)}"
        )
    if last is not None and x.shape[-1] != last:
        raise ValueError(
            f"{name}: expected last dimension {last} ({expected}), got shape {tuple(x.shape)}"
        )
    if batch is not None and x.shape[0] != batch:
        raise ValueError(
            f"{name}: batch size {x.shape[0]} does not match the batch size {batch} "
            f"of the other arguments (got shape {tuple(x.shape)})"
        )
    if heads is not None and x.dim() == 3 and x.shape[1] != heads:
        raise ValueError(
            f"{name}: {x.shape[1]} heads (dimension 1) but the other arguments have {heads} "
            f"(got shape {tuple(x.shape)})"
        )
    if like is not None and x.shape != like.shape:
        raise ValueError(f"{name}: expected shape {tuple(like.shape)}, got {tuple(x.shape)}")


def check_same_batch(**tensors: Tensor) -> None:
    sizes = {n: t.shape[0] for n, t in tensors.items()}
    if len(set(sizes.values())) > 1:
        described = ", ".join(f"{n}={b}" for n, b in sizes.items())
        raise ValueError(f"mismatched batch sizes: {described}; all must be equal")


def _describe(value: float) -> str:
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def _finite(name: str, x: Tensor, where: str = "") -> None:
    """Raise if ``x`` holds a NaN or Inf, naming the first one and where it is."""
    x = x.detach()
    finite = torch.isfinite(x)
    if bool(finite.all()):
        return
    bad = ~finite
    index = tuple(bad.nonzero()[0].tolist())
    raise ValueError(
        f"{name}: must be finite, got {_describe(float(x[index]))} at index {index}{where} "
        f"({int(bad.sum())} of {x.numel()} entries are NaN or Inf)"
    )


def check_finite(name: str, x: Tensor, where: str = "") -> None:
    """No NaN or Inf anywhere in ``x``; ``where`` is added to the message after the index."""
    _finite(name, x, where)


def check_cast_finite(name: str, x: Tensor, like: Tensor) -> Tensor:
    """``x`` finite, cast to the device and dtype of ``like`` (a model parameter), and still
    finite after the cast (a float64 value beyond float32's range becomes inf). One pass over
    x per call of a model's forward, never per step."""
    _finite(name, x)
    cast = x.to(device=like.device, dtype=like.dtype)
    if cast.dtype != x.dtype and cast.is_floating_point():
        _finite(name, cast, f" after conversion to the model's dtype {cast.dtype}")
    return cast


def check_float(name: str, value: object, low: float, high: float) -> float:
    """A real number (int or float, not bool) in [low, high]: a config field, say."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name}: expected a real number in [{low:g}, {high:g}], got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name}: must be a finite number in [{low:g}, {high:g}], got {v}")
    if not low <= v <= high:
        raise ValueError(f"{name}: must lie in [{low:g}, {high:g}], got {v:g}")
    return v


def check_min(name: str, x: Tensor, low: float) -> None:
    x = x.detach()
    _finite(name, x)
    smallest = float(x.min()) if x.numel() else low
    if smallest < low:
        raise ValueError(f"{name}: must be >= {low}, got a value of {smallest:.4g}")


def check_range(name: str, x: Tensor, low: float, high: float) -> None:
    x = x.detach()
    _finite(name, x)
    if x.numel() == 0:
        return
    lo, hi = float(x.min()), float(x.max())
    if lo < low or hi > high:
        raise ValueError(f"{name}: must lie in [{low}, {high}], got values in [{lo:.4g}, {hi:.4g}]")


def check_distribution(name: str, w: Tensor) -> None:
    """A weighting: non-negative entries that sum to 1 along the last dimension, within
    ``dist_tol(w.dtype)`` (the sums are taken in float32 at least)."""
    w = w.detach()
    _finite(name, w)
    if w.numel() == 0:
        return
    tol = dist_tol(w.dtype)
    if float(w.min()) < -tol:
        raise ValueError(
            f"{name}: must be a distribution (entries >= 0, summing to 1 over the last "
            f"dimension); found an entry of {float(w.min()):.4g}"
        )
    sums = w.sum(-1, dtype=torch.promote_types(w.dtype, torch.float32))
    worst = float((sums - 1).abs().max())
    if worst > tol:
        raise ValueError(
            f"{name}: must be a distribution (entries >= 0, summing to 1 over the last "
            f"dimension); a row sums to {float(sums.flatten()[(sums - 1).abs().argmax()]):.4g}"
        )


def check_positive_int(name: str, value: object, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an integer >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{name}: must be an integer >= {low}, got {value}")
    return value


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(
            f"{name}: unknown value {value!r}; accepted: {', '.join(map(repr, choices))}"
        )
    return value  # type: ignore[return-value]
