"""Populations: K independent NTMs of one config, trained as one batched model.

``Population(models)`` stacks the parameters of K NTMs (``torch.func.stack_module_state``)
and runs ``NTM.step`` — the same step as a single model, not a second copy of it — under
``torch.func.vmap`` over the members (``functional_call``). Each member keeps its own
weights, its own batch and its own optimizer state; nothing is shared but the kernels, so
member k of a population trains exactly as model k would alone (equal within float
rounding: ``tests/test_population.py``). On a GPU, where one NTM at batch 32 leaves the
device idle, K members cost about as much as one; on a 2-core CPU they cost about K times
as much (``benchmarks/README.md``). In use::

    pop = Population([NTM(seed) ...])            # or Population.from_seeds(config, seeds)
    opt = torch.optim.Adam(pop.parameters(), lr=1e-3)   # elementwise: K independent Adams
    x, y, mask = stack_batches([task.sample(32, g) for g in generators])  # (K, B, T, ...)
    loss = pop.loss(x, y, mask)                  # (K,) each member's loss
    opt.zero_grad(); loss.sum().backward()       # the sum: member k's gradient is its own
    pop.clip_grad_norm_(50.0)                    # per member, as clip_grad_norm_ would
    opt.step()
    pop.write_back()                             # the trained weights into the K models

Adam, RMSprop and SGD update each element from its own gradient and state, so one
optimizer over the stacked parameters is K independent optimizers with the same
hyper-parameters; a global-norm clip is not elementwise, hence ``clip_grad_norm_``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from ntm_nb.evaluation import masked_loss
from ntm_nb.model import NTM, NTMConfig, NTMState
from ntm_nb.tasks import Batch

__all__ = ["Population", "stack_batches"]


class _Member(nn.Module):
    """One member, seen by ``functional_call``: ``forward`` is the NTM's step, or its
    initial state (``batch_size`` given, no input)."""

    def __init__(self, ntm: NTM) -> None:
        super().__init__()
        self.ntm = ntm

    def forward(self, x: Tensor | None, state: NTMState | None, batch_size: int = 0) -> Any:
        if x is None:
            return self.ntm.initial_state(batch_size)
        y, state, _ = self.ntm.step(x, state)
        return y, state


def stack_batches(batches: Sequence[Batch]) -> Batch:
    """One batch per member -> ``(x, y, mask)`` of shapes (K, B, T, in), (K, B, T, out),
    (K, B, T), T the longest member's. Shorter members are padded at the end with zeros and
    mask 0: steps after a member's last target change none of its outputs before them, so
    its loss and gradients are those of its unpadded batch."""
    if not batches:
        raise ValueError("batches: need at least one (one per member), got none")
    B = batches[0][0].shape[0]
    for k, (x, _, _) in enumerate(batches):
        if x.shape[0] != B:
            raise ValueError(f"batches: member {k} has batch size {x.shape[0]}, member 0 has {B}")
    T = max(x.shape[1] for x, _, _ in batches)

    def pad(t: Tensor) -> Tensor:
        return nn.functional.pad(t, (0, 0) * (t.dim() - 2) + (0, T - t.shape[1]))

    x, y, mask = (torch.stack([pad(b[i]) for b in batches]) for i in range(3))
    return x, y, mask


class Population:
    """K NTMs of one config as one batched model; see the module docstring."""

    def __init__(self, models: Sequence[NTM]) -> None:
        models = list(models)
        if not models:
            raise ValueError("models: need at least one NTM, got none")
        for k, m in enumerate(models):
            if not isinstance(m, NTM):
                raise TypeError(f"models[{k}]: expected an NTM, got {type(m).__name__}")
            if m.config != models[0].config:
                raise ValueError(
                    f"models[{k}]: every member needs the same NTMConfig; "
                    f"member {k} has {m.config}, member 0 has {models[0].config}"
                )
        self.models = models
        self.config: NTMConfig = models[0].config
        members = [_Member(m) for m in models]
        self.params, self.buffers = stack_module_state(members)
        # The module functional_call runs: the architecture only, its tensors on "meta".
        self._base = _Member(NTM(self.config)).to("meta")
        # a "random" initial memory: a fresh draw per member, as each model alone draws its own
        self._init_fn = vmap(self._initial, in_dims=(0, 0, None), randomness="different")
        self._step_fn = vmap(self._step)
        self._compiled = False

    @classmethod
    def from_seeds(cls, config: NTMConfig, seeds: Sequence[int]) -> Population:
        """One fresh NTM per seed: member k is ``NTM(config)`` built after
        ``torch.manual_seed(seeds[k])``, the model a single run with that seed starts from."""
        models = []
        for seed in seeds:
            torch.manual_seed(seed)
            models.append(NTM(config))
        return cls(models)

    def __len__(self) -> int:
        return len(self.models)

    def parameters(self) -> list[Tensor]:
        """The stacked parameters, each (K, ...): what the optimizer updates."""
        return list(self.params.values())

    def compile_step(self, enable: bool = True, **compile_kwargs: Any) -> Population:
        """``torch.compile`` the vmapped step (gradients on); ``enable=False``: eager."""
        compile_kwargs.setdefault("dynamic", False)
        step = vmap(self._step)
        self._step_fn = torch.compile(step, **compile_kwargs) if enable else step
        self._compiled = enable
        return self

    # ------------------------------------------------------------------------------------
    def _initial(self, params: dict, buffers: dict, batch_size: int) -> NTMState:
        return functional_call(self._base, (params, buffers), (None, None, batch_size))

    def _step(
        self, params: dict, buffers: dict, x: Tensor, state: NTMState
    ) -> tuple[Tensor, NTMState]:
        return functional_call(self._base, (params, buffers), (x, state))

    def __call__(self, x: Tensor) -> Tensor:
        """x (K, B, T, input_size) -> logits (K, B, T, output_size); member k sees x[k]."""
        K, c = len(self), self.config
        if x.dim() != 4 or x.shape[0] != K or x.shape[-1] != c.input_size:
            raise ValueError(
                f"x: expected shape (K, B, T, input_size) = ({K}, B, T, {c.input_size}), "
                f"got {tuple(x.shape)}"
            )
        _, B, T, _ = x.shape
        state = self._init_fn(self.params, self.buffers, B)
        # (T, K, B, input) with standard strides: every step's slice has the same strides.
        xs = x.new_empty((T, K, B, x.shape[-1])).copy_(x.permute(2, 0, 1, 3))
        ys = []
        for t in range(T):
            y, state = self._step_fn(self.params, self.buffers, xs[t], state)
            ys.append(y)
        return torch.stack(ys, dim=2)  # (K, B, T, output_size)

    def loss(self, x: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        """(K,) every member's ``masked_loss`` on its own batch x[k], y[k], mask[k]."""
        return vmap(masked_loss)(self(x), y, mask)

    @torch.no_grad()
    def clip_grad_norm_(self, max_norm: float) -> Tensor:
        """Scale each member's gradients as ``torch.nn.utils.clip_grad_norm_`` would scale
        that member's alone; returns the (K,) norms before clipping."""
        grads = [p.grad for p in self.params.values() if p.grad is not None]
        K = len(self)
        if not grads:
            return torch.zeros(K)
        norms = torch.stack([g.reshape(K, -1).norm(dim=1) for g in grads]).norm(dim=0)  # (K,)
        scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.view(K, *([1] * (g.dim() - 1))))
        return norms

    @torch.no_grad()
    def write_back(self) -> list[NTM]:
        """Copy the stacked parameters into the K member models; returns them."""
        for name, stacked in self.params.items():
            key = name.removeprefix("ntm.")
            for k, model in enumerate(self.models):
                model.get_parameter(key).copy_(stacked[k])
        return self.models
