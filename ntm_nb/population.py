"""Populations: K independent NTMs of one config, trained as one batched model.

``Population(models)`` stacks the parameters of K NTMs (``torch.func.stack_module_state``)
and runs ``NTM.step`` — the same step as a single model, not a second copy of it — under
``torch.func.vmap`` over the members (``functional_call``). Each member keeps its own
weights, its own batch and its own optimizer state; nothing is shared but the kernels, so
member k of a population trains exactly as model k would alone (equal within float
rounding: ``tests/test_population.py``). On a GPU, where one NTM at batch 32 leaves the
device idle, K members should cost about as much as one (not yet measured); on a 2-core
CPU 8 members train 1.37x the sequences per second of one model when they share each
step's length (``benchmarks/README.md``). In use::

    pop = Population([NTM(seed) ...])            # or Population.from_seeds(config, seeds)
    opt = torch.optim.Adam(pop.parameters(), lr=1e-3)   # elementwise: K independent Adams
    x, y, mask = stack_batches([task.sample(32, g) for g in generators])  # (K, B, T, ...)
    loss = pop.loss(x, y, mask)                  # (K,) each member's loss
    opt.zero_grad(); loss.sum().backward()       # the sum: member k's gradient is its own
    pop.clip_grad_norm_(50.0)                    # per member, as clip_grad_norm_ would
    opt.step()
    pop.write_back()                             # the trained weights into the K models

or all of that, with evaluation and a stop at the target, for seeds of one recipe::

    results = train_population(Population.from_seeds(config, range(10)), task, train_config)
    # results[k]: seed k's TrainResult, as train(...) with seed k would give (within rounding)

Adam, RMSprop and SGD update each element from its own gradient and state, so one
optimizer over the stacked parameters is K independent optimizers with the same
hyper-parameters; a global-norm clip is not elementwise, hence ``clip_grad_norm_``.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from ntm_nb.evaluation import eval_batches, evaluate_batches, masked_loss
from ntm_nb.model import NTM, NTMConfig, NTMState
from ntm_nb.optim import make_optimizer
from ntm_nb.records import History, TrainResult
from ntm_nb.schedules import scheduled_lr
from ntm_nb.tasks import Batch, Task, bit_errors
from ntm_nb.train import TrainConfig, _train_config

__all__ = ["Population", "stack_batches", "train_population"]

#: TrainConfig levers that act on one run at a time (a member's own restart, rollback or
#: curriculum draw): not (yet) available to a population.
PER_RUN_LEVERS = ("restart_after", "rollback", "curriculum_steps", "fast_start")


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
            if m.r0.device != models[0].r0.device:
                raise ValueError(
                    f"models[{k}]: every member needs to be on one device; member {k} is on "
                    f"{m.r0.device}, member 0 on {models[0].r0.device}"
                )
        self.models = models
        self.seeds: list[int] | None = None  # set by from_seeds: each member's run seed
        self.config: NTMConfig = models[0].config
        members = [_Member(m) for m in models]
        self.params, self.buffers = stack_module_state(members)
        # The module functional_call runs: the architecture only, its tensors on "meta".
        self._base = _Member(NTM(self.config)).to("meta")
        # a "random" initial memory: a fresh draw per member, as each model alone draws its own
        self._init_fn = vmap(self._initial, in_dims=(0, 0, None), randomness="different")
        self.compile_step(False)

    @classmethod
    def from_seeds(cls, config: NTMConfig, seeds: Sequence[int]) -> Population:
        """One fresh NTM per seed: member k is ``NTM(config)`` built after
        ``torch.manual_seed(seeds[k])``, the model a single run with that seed starts from."""
        models = []
        for seed in seeds:
            torch.manual_seed(seed)
            models.append(NTM(config))
        pop = cls(models)
        pop.seeds = list(seeds)
        return pop

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
        if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not max_norm > 0:
            raise ValueError(f"max_norm: must be a number > 0, got {max_norm!r}")
        grads = [p.grad for p in self.params.values() if p.grad is not None]
        K = len(self)
        if not grads:
            return torch.zeros(K, device=self.parameters()[0].device)
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


def train_population(
    pop: Population,
    task: Task,
    config: TrainConfig | None = None,
    *,
    seeds: Sequence[int] | None = None,
    progress: bool = True,
    **overrides: Any,
) -> list[TrainResult]:
    """Train every member as ``train(model_k, task, config)`` with ``seed=seeds[k]`` would,
    all K in one batched step; returns one ``TrainResult`` per member.

    Member k draws its batches from its own generator seeded with ``seeds[k]`` (default:
    ``pop.seeds``, set by ``Population.from_seeds``), so it sees the batches its single run
    sees; members of different lengths are padded exactly (``stack_batches``). Every
    ``eval_every`` steps each member is evaluated on the held-out set; a member that reaches
    ``target_cost`` is done: its weights are kept as they were then (the population trains
    on until every member is done or ``steps`` are spent). The learning-rate schedule and
    both clips apply as in ``train``; the levers that act on one run at a time
    (``PER_RUN_LEVERS``) are refused. No checkpoints: a population is a unit of compute.
    """
    config = _train_config(config, overrides)
    K = len(pop)
    seeds = list(seeds) if seeds is not None else pop.seeds
    if seeds is None or len(seeds) != K:
        raise ValueError(
            f"seeds: need one seed per member ({K}), got "
            f"{'none' if seeds is None else len(seeds)} (Population.from_seeds sets them)"
        )
    for name in PER_RUN_LEVERS:
        if getattr(config, name):
            raise ValueError(
                f"{name}: acts on one run at a time, which a population does not support; "
                f"use train() for it (accepted here: {name}=0 or None)"
            )
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    if config.compile:
        pop.compile_step()
    opt = make_optimizer(pop, config)  # elementwise: K independent optimizers
    device = pop.parameters()[0].device
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    held_out = eval_batches(
        task, config.eval_sequences, min(config.eval_sequences, 256), config.eval_seed
    )
    results = [TrainResult(model=m, history=History(), step=0) for m in pop.models]
    kept: dict[int, dict[str, Tensor]] = {}  # member -> its weights when it reached the target
    run_loss, run_bits, run_n = torch.zeros(K), torch.zeros(K), 0
    start = time.perf_counter()
    bar = tqdm(total=config.steps, disable=not progress, desc=f"train {K} x {task.name}")
    step = 0
    try:
        while step < config.steps and len(kept) < K:
            batch = stack_batches([task.sample(config.batch_size, g) for g in gens])
            x, y, mask = (t.to(device) for t in batch)
            logits = pop(x)
            losses = vmap(masked_loss)(logits, y, mask)  # (K,)
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            if config.clip_value is not None:
                torch.nn.utils.clip_grad_value_(pop.parameters(), config.clip_value)
            if config.clip_norm is not None:
                pop.clip_grad_norm_(config.clip_norm)
            if config.warmup_steps or config.lr_final is not None:
                for group in opt.param_groups:
                    group["lr"] = scheduled_lr(config, step)
            opt.step()
            step += 1
            bar.update(1)
            values = losses.detach().cpu()
            bad = [seeds[k] for k in range(K) if k not in kept and not math.isfinite(values[k])]
            if bad:
                raise FloatingPointError(
                    f"training loss became non-finite at step {step} for seed(s) {bad}; try a "
                    f"lower lr (now {config.lr}) or clipping (clip_norm={config.clip_norm})"
                )
            run_loss += values
            run_bits += torch.stack(
                [bit_errors(logits[k].detach(), y[k], mask[k]).mean() for k in range(K)]
            ).cpu()
            run_n += 1
            last = step == config.steps
            if step % config.log_every == 0 or last:
                seconds = time.perf_counter() - start
                for k, r in enumerate(results):
                    if k in kept:
                        continue
                    r.history.record_training(
                        step,
                        step * config.batch_size,
                        seconds,
                        float(run_loss[k]) / run_n,
                        float(run_bits[k]) / run_n,
                    )
                run_loss, run_bits, run_n = torch.zeros(K), torch.zeros(K), 0
            if step % config.eval_every == 0 or last:
                _evaluate_members(pop, task, held_out, results, kept, step, config, start)
    finally:
        bar.close()
    pop.write_back()
    for k, weights in kept.items():
        pop.models[k].load_state_dict(weights)
    for k, r in enumerate(results):
        r.step = r.history.eval_step[-1] if k in kept else step
        r.model.eval()
    return results


def _evaluate_members(
    pop: Population,
    task: Task,
    held_out: list[Batch],
    results: list[TrainResult],
    kept: dict[int, dict[str, Tensor]],
    step: int,
    config: TrainConfig,
    start: float,
) -> None:
    """Evaluate every member not yet done; keep the weights of those at the target."""
    pop.write_back()
    seconds = time.perf_counter() - start
    for k, (model, r) in enumerate(zip(pop.models, results)):
        if k in kept:
            continue
        r.final_eval = ev = evaluate_batches(model, task, held_out)
        r.history.record_eval(step, step * config.batch_size, seconds, ev)
        if config.target_cost is not None and ev.bits_per_sequence <= config.target_cost:
            r.reached_target = True
            kept[k] = copy.deepcopy(model.state_dict())
