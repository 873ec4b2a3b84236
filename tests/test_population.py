"""Populations: K NTMs trained as one vmapped model equal K models trained alone."""

from __future__ import annotations

import copy

import pytest
import torch

import ntm_nb
from ntm_nb.population import Population, stack_batches, train_population
from ntm_nb.tasks import CopyTask
from ntm_nb.train import masked_loss

SMALL = {"controller_size": 12, "N": 10, "M": 6}


def members(k: int, **kw) -> list[ntm_nb.NTM]:
    out = []
    for seed in range(k):
        torch.manual_seed(seed)
        out.append(ntm_nb.NTM(**{**SMALL, **kw}))
    return out


@torch.no_grad()
def max_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max(float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters()))


def train_alone(model, batches, lr, clip):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for x, y, mask in batches:
        opt.zero_grad()
        masked_loss(model(x), y, mask).backward()
        torch.nn.utils.clip_grad_norm_(list(model.parameters()), clip)
        opt.step()


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_training_a_population_equals_training_each_member_alone(controller):
    K, steps, lr, clip = 3, 4, 3e-3, 0.07  # a clip that acts on some members, not all
    models = members(K, controller=controller)
    alone = [copy.deepcopy(m) for m in models]
    task = CopyTask(max_len=5)  # members draw their own lengths: padding is exercised
    gens = [torch.Generator().manual_seed(10 + k) for k in range(K)]
    batches = [[task.sample(4, g) for _ in range(steps)] for g in gens]  # [member][step]
    assert len({x.shape[1] for member in batches for x, _, _ in member}) > 1  # lengths differ

    pop = Population(models)
    opt = torch.optim.Adam(pop.parameters(), lr=lr)
    clipped = False
    for step in range(steps):
        x, y, mask = stack_batches([batches[k][step] for k in range(K)])
        opt.zero_grad()
        pop.loss(x, y, mask).sum().backward()
        clipped |= bool((pop.clip_grad_norm_(clip) > clip).any())
        opt.step()
    assert clipped
    pop.write_back()
    for k in range(K):
        train_alone(alone[k], batches[k], lr, clip)
        assert max_diff(models[k], alone[k]) < 1e-5
    # ... and the members did train, each its own way
    assert max_diff(models[0], members(1, controller=controller)[0]) > 1e-3
    assert max_diff(models[0], models[1]) > 1e-2


def test_population_logits_and_losses_are_each_members_own():
    models = members(2)
    pop = Population(models)
    task = CopyTask(max_len=6)
    batches = [task.sample(3, torch.Generator().manual_seed(k)) for k in range(2)]
    x, y, mask = stack_batches(batches)
    with torch.no_grad():
        logits, losses = pop(x), pop.loss(x, y, mask)
        for k, (xb, yb, mb) in enumerate(batches):
            T = xb.shape[1]
            torch.testing.assert_close(logits[k, :, :T], models[k](xb), atol=1e-6, rtol=1e-5)
            torch.testing.assert_close(losses[k], masked_loss(models[k](xb), yb, mb))


def test_compiled_population_step_matches_the_eager_one():
    task = CopyTask(min_len=3, max_len=3)
    x, y, mask = stack_batches([task.sample(2, torch.Generator().manual_seed(k)) for k in range(2)])
    grads = []
    for compiled in (False, True):
        pop = Population(members(2)).compile_step(compiled)
        pop.loss(x, y, mask).sum().backward()
        grads.append([p.grad for p in pop.parameters()])
    for eager, comp in zip(*grads):
        torch.testing.assert_close(comp, eager, atol=1e-5, rtol=1e-4)


def test_from_seeds_builds_the_models_a_single_run_starts_from():
    config = ntm_nb.NTMConfig(**SMALL)
    pop = Population.from_seeds(config, [3, 5])
    torch.manual_seed(5)
    assert max_diff(pop.models[1], ntm_nb.NTM(config)) == 0
    assert len(pop) == 2


def test_bad_populations_and_inputs_name_what_is_wrong():
    with pytest.raises(ValueError, match="models: need at least one NTM"):
        Population([])
    with pytest.raises(TypeError, match=r"models\[1\]: expected an NTM"):
        Population([members(1)[0], torch.nn.Linear(2, 2)])
    with pytest.raises(ValueError, match=r"models\[1\]: every member needs the same NTMConfig"):
        Population([members(1)[0], ntm_nb.NTM(**{**SMALL, "M": 4})])
    on_meta = members(1)[0].to("meta")
    with pytest.raises(ValueError, match=r"models\[1\]: every member needs to be on one device"):
        Population([members(1)[0], on_meta])
    pop = Population(members(2))
    for bad in (0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="max_norm: must be a number > 0"):
            pop.clip_grad_norm_(bad)
    with pytest.raises(ValueError, match=r"x: expected shape \(K, B, T, input_size\) = \(2, B"):
        pop(torch.zeros(3, 1, 4, 9))
    with pytest.raises(ValueError, match="batches: need at least one"):
        stack_batches([])
    task = CopyTask(max_len=3)
    with pytest.raises(ValueError, match="batches: member 1 has batch size 3, member 0 has 2"):
        stack_batches([task.sample(2), task.sample(3)])


@pytest.mark.parametrize("memory_init", ["learned", "random"])
def test_every_initial_memory_runs_in_a_population(memory_init):
    pop = Population(members(2, memory_init=memory_init))
    x, y, mask = stack_batches([CopyTask(max_len=3).sample(2) for _ in range(2)])
    loss = pop.loss(x, y, mask)
    loss.sum().backward()
    assert torch.isfinite(loss).all() and all(p.grad is not None for p in pop.parameters())


def test_train_population_gives_each_seed_the_run_train_gives_it():
    """Member k of train_population is train(...) with seed k: the same batches, the same
    evaluations and (within rounding) the same weights."""
    config = ntm_nb.NTMConfig(**SMALL, input_size=5, output_size=4)
    task = CopyTask(bits=4, max_len=3)
    train_config = ntm_nb.TrainConfig(
        steps=30, batch_size=8, lr=3e-3, eval_every=10, eval_sequences=16, log_every=5,
        compile=False, clip_norm=1.0,
    )  # fmt: skip
    seeds = [0, 1, 2]
    pop = Population.from_seeds(config, seeds)
    results = train_population(pop, task, train_config, progress=False)
    for seed, pr in zip(seeds, results):
        torch.manual_seed(seed)
        alone = ntm_nb.NTM(config)
        sr = ntm_nb.train(alone, task, train_config, seed=seed, progress=False)
        assert pr.step == sr.step == 30 and not pr.reached_target
        assert pr.history.eval_step == sr.history.eval_step == [10, 20, 30]
        assert pr.history.sequences == sr.history.sequences
        assert pr.history.loss == pytest.approx(sr.history.loss, rel=1e-4)
        assert pr.history.eval_loss == pytest.approx(sr.history.eval_loss, rel=1e-4)
        assert max_diff(pr.model, alone) < 1e-4
    assert max_diff(results[0].model, results[1].model) > 1e-2  # each its own run


def test_a_member_at_the_target_is_done_and_keeps_its_weights_from_then():
    config = ntm_nb.NTMConfig(**SMALL, input_size=5, output_size=4)
    task = CopyTask(bits=4, max_len=2)
    train_config = ntm_nb.TrainConfig(
        steps=80, batch_size=8, lr=1e-2, eval_every=10, eval_sequences=16, log_every=5,
        compile=False, target_cost=1.3, clip_norm=1.0,
    )  # fmt: skip
    pop = Population.from_seeds(config, [0, 1, 2])
    results = train_population(pop, task, train_config, progress=False)
    assert all(r.reached_target for r in results)  # it acts within the 80 steps
    for r in results:
        h = r.history
        assert h.eval_bits[-1] <= 1.3 and all(b > 1.3 for b in h.eval_bits[:-1])
        assert r.step == h.eval_step[-1] and h.step[-1] <= r.step
        again = ntm_nb.evaluate(
            r.model, task, train_config.eval_sequences, seed=train_config.eval_seed
        )
        assert again.bits_per_sequence == h.eval_bits[-1]  # the weights of that evaluation


def test_train_population_refuses_what_it_cannot_do():
    pop = Population.from_seeds(ntm_nb.NTMConfig(**SMALL), [0, 1])
    task = CopyTask(max_len=3)
    with pytest.raises(ValueError, match="rollback: acts on one run at a time"):
        train_population(pop, task, steps=2, rollback=5.0, progress=False)
    with pytest.raises(ValueError, match=r"seeds: need one seed per member \(2\), got 3"):
        train_population(pop, task, steps=2, seeds=[0, 1, 2], progress=False)
    with pytest.raises(ValueError, match="seeds: need one seed per member"):
        train_population(Population(members(2)), task, steps=2, progress=False)
