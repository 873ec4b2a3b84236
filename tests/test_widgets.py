"""Widget tests without a browser: build each explorer, set control values, and check the
data behind its plot against the package's functions computed from scratch."""

from __future__ import annotations

import random

import ipywidgets as widgets
import pytest
import torch
from torch.testing import assert_close

from ntm_nb.addressing import content_weighting, interpolate, sharpen, shift
from ntm_nb.memory import read, write
from ntm_nb.widgets import (
    AddressingExplorer,
    ContentAddressingExplorer,
    MemoryExplorer,
    ShiftIterationExplorer,
    focused_weighting,
    shift_distribution,
)

EXPLORERS = [MemoryExplorer, ContentAddressingExplorer, AddressingExplorer, ShiftIterationExplorer]


def _scalar(x: float) -> torch.Tensor:
    return torch.tensor([[float(x)]])


# ------------------------------------------------------------------ expected values, from scratch
def expected_memory(ex: MemoryExplorer) -> dict[str, torch.Tensor]:
    N, M = ex.memory.shape
    w = focused_weighting(N, ex.focus.value, ex.sharpness.value)
    e = torch.full((M,), ex.erase.value)
    a = ex.amplitude.value * ex._pattern_vector()
    after = write(ex.memory[None], w[None], e[None], a[None])[0]
    r = read(after[None], w[None])[0]
    return {"w": w, "e": e, "a": a, "memory_after": after, "read_vector": r}


def expected_content(ex: ContentAddressingExplorer) -> dict[str, torch.Tensor]:
    k = ex.memory[ex.key_row.value] + ex.noise.value * ex._noise
    return {"k": k, "w_c": content_weighting(ex.memory[None], k[None], _scalar(ex.beta.value))[0]}


def expected_pipeline(ex: AddressingExplorer) -> dict[str, torch.Tensor]:
    N = ex.memory.shape[0]
    k = ex.memory[ex.key_row.value]
    w_prev = torch.zeros(N)
    w_prev[ex.prev_row.value] = 1.0
    s = shift_distribution(ex.shift.value, ex.spread.value, ex.shift_range)
    w_c = content_weighting(ex.memory[None], k[None], _scalar(ex.beta.value))
    w_g = interpolate(w_c, w_prev[None], _scalar(ex.g.value))
    w_tilde = shift(w_g, s[None])
    w = sharpen(w_tilde, _scalar(ex.gamma.value))
    return {
        "k": k,
        "w_prev": w_prev,
        "s": s,
        "w_c": w_c[0],
        "w_g": w_g[0],
        "w_tilde": w_tilde[0],
        "w": w[0],
    }


def expected_history(ex: ShiftIterationExplorer) -> dict[str, torch.Tensor]:
    N = ex.memory.shape[0]
    s = shift_distribution(1, ex.spread.value)[None]
    w = torch.zeros(1, N)
    w[0, 0] = 1.0
    plain, rows, plain_rows = w, [w], [w]
    for _ in range(ex.steps.value):
        w = shift(w, s)
        if ex.sharpening.value:
            w = sharpen(w, _scalar(ex.gamma.value))
        plain = shift(plain, s)
        rows.append(w)
        plain_rows.append(plain)
    return {"history": torch.cat(rows), "history_unsharpened": torch.cat(plain_rows)}


EXPECTED = {
    MemoryExplorer: expected_memory,
    ContentAddressingExplorer: expected_content,
    AddressingExplorer: expected_pipeline,
    ShiftIterationExplorer: expected_history,
}


def assert_consistent(ex) -> None:
    for name, value in EXPECTED[type(ex)](ex).items():
        assert_close(
            getattr(ex, name), value, msg=lambda m, name=name: f"{type(ex).__name__}.{name}: {m}"
        )


# ------------------------------------------------------------------ common behaviour
@pytest.mark.parametrize("cls", EXPLORERS)
def test_builds_with_defaults_and_is_consistent(cls):
    ex = cls()
    assert isinstance(ex.widget, widgets.Box)
    assert bytes(ex.image.value[:4]) == b"\x89PNG"
    assert ex.status.value
    assert_consistent(ex)


@pytest.mark.parametrize("cls", EXPLORERS)
def test_defaults_are_seeded(cls):
    a, b = cls(), cls()
    assert_close(a.memory, b.memory)
    assert bytes(a.image.value) == bytes(b.image.value)


@pytest.mark.parametrize("cls", EXPLORERS)
@pytest.mark.parametrize("shape", [(9, 5), (1, 9, 5)])
def test_accepts_a_given_memory(cls, shape):
    memory = torch.randn(shape)
    ex = cls(memory)
    assert ex.memory.shape == (9, 5)
    assert_close(ex.memory, memory.reshape(9, 5))
    assert_consistent(ex)
    memory.zero_()  # the explorer keeps its own copy
    assert ex.memory.abs().sum() > 0


@pytest.mark.parametrize("cls", EXPLORERS)
@pytest.mark.parametrize("bad", [torch.zeros(2, 3, 4), torch.zeros(5), torch.zeros(2, 4)])
def test_rejects_bad_memory(cls, bad):
    with pytest.raises(ValueError, match="memory"):
        cls(bad)


@pytest.mark.parametrize("cls", EXPLORERS)
def test_rejects_non_tensor(cls):
    with pytest.raises(TypeError, match="memory"):
        cls([[1.0, 2.0]] * 4)


@pytest.mark.parametrize("cls", EXPLORERS)
def test_displays_as_its_widget_with_a_stable_text_repr(cls):
    ex = cls()
    bundle = ex._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ex.widget.model_id
    N, M = ex.memory.shape
    assert bundle["text/plain"] == repr(ex) == f"{cls.__name__}(N={N}, M={M})"


CONTROL_TYPES = (widgets.IntSlider, widgets.FloatSlider, widgets.Dropdown, widgets.ToggleButton)


def _controls(ex) -> dict[str, widgets.ValueWidget]:
    return {name: w for name, w in vars(ex).items() if isinstance(w, CONTROL_TYPES)}


def _random_value(control, rng: random.Random):
    if isinstance(control, widgets.Dropdown):
        return rng.choice(control.options)
    if isinstance(control, widgets.ToggleButton):
        return rng.random() < 0.5
    if isinstance(control, widgets.IntSlider):
        return rng.randint(control.min, control.max)
    return round(rng.uniform(control.min, control.max) / control.step) * control.step


@pytest.mark.parametrize("cls", EXPLORERS)
def test_every_control_changes_the_picture_and_the_label(cls):
    for name in _controls(cls()):
        ex = cls()  # from the defaults, where every control matters
        control = getattr(ex, name)
        before_image, before_status = bytes(ex.image.value), ex.status.value
        if isinstance(control, widgets.Dropdown):
            control.value = next(o for o in control.options if o != control.value)
        elif isinstance(control, widgets.ToggleButton):
            control.value = not control.value
        else:  # the far end of the slider (weights saturate near their current end)
            control.value = control.min if control.value != control.min else control.max
        assert ex.status.value != before_status, name
        assert bytes(ex.image.value) != before_image, name
        assert_consistent(ex)


@pytest.mark.parametrize("cls", EXPLORERS)
def test_rapid_changes_end_consistent_with_the_last_values(cls):
    ex = cls()
    controls = list(_controls(ex).values())
    rng = random.Random(0)
    for _ in range(300):
        control = rng.choice(controls)
        control.value = _random_value(control, rng)
    assert_consistent(ex)
    fresh = cls()  # a new explorer set to the same values draws the same picture
    for name, control in _controls(ex).items():
        getattr(fresh, name).value = control.value
    assert bytes(fresh.image.value) == bytes(ex.image.value)
    assert fresh.status.value == ex.status.value


# ------------------------------------------------------------------ MemoryExplorer
def test_erase_one_with_one_hot_weighting_clears_that_row():
    ex = MemoryExplorer()
    ex.amplitude.value = 0.0
    ex.sharpness.value = ex.sharpness.max  # one-hot to float precision
    ex.focus.value = 5
    ex.erase.value = 1.0
    assert_close(ex.w, torch.eye(ex.memory.shape[0])[5])
    assert_close(ex.memory_after[5], torch.zeros(ex.memory.shape[1]))
    others = torch.arange(ex.memory.shape[0]) != 5
    assert_close(ex.memory_after[others], ex.memory[others])
    assert_close(ex.read_vector, torch.zeros(ex.memory.shape[1]))


def test_erase_one_then_add_reads_back_the_add_vector():
    ex = MemoryExplorer()
    ex.sharpness.value = ex.sharpness.max
    ex.erase.value = 1.0
    ex.pattern.value = "ramp"
    ex.amplitude.value = 0.5
    assert_close(ex.read_vector, ex.a)
    assert_close(ex.a, 0.5 * torch.linspace(-1, 1, ex.memory.shape[1]))


def test_no_erase_no_add_leaves_memory_unchanged():
    ex = MemoryExplorer()
    ex.erase.value = 0.0
    ex.amplitude.value = 0.0
    assert_close(ex.memory_after, ex.memory)
    assert_close(ex.read_vector, ex.w @ ex.memory)  # eq. (2) as a weighted sum of rows


def test_sharpness_zero_gives_uniform_weighting():
    ex = MemoryExplorer()
    ex.sharpness.value = 0.0
    N = ex.memory.shape[0]
    assert_close(ex.w, torch.full((N,), 1.0 / N))


# ------------------------------------------------------------------ ContentAddressingExplorer
def test_raising_beta_concentrates_on_the_best_matching_row():
    ex = ContentAddressingExplorer()
    ex.key_row.value = 4
    ex.noise.value = 0.5
    best = int(ex.similarity.argmax())
    peaks = []
    for beta in (0.0, 2.0, 10.0, 50.0):
        ex.beta.value = beta
        peaks.append(float(ex.w_c[best]))
        assert int(ex.w_c.argmax()) == best or beta == 0.0
    assert peaks == sorted(peaks) and peaks[0] < peaks[-1]
    assert peaks[-1] > 0.9


def test_beta_zero_is_uniform():
    ex = ContentAddressingExplorer()
    ex.beta.value = 0.0
    N = ex.memory.shape[0]
    assert_close(ex.w_c, torch.full((N,), 1.0 / N))


def test_duplicate_rows_share_the_weight_and_the_zero_row_has_similarity_zero():
    ex = ContentAddressingExplorer()
    i, j = ex.DUPLICATE
    ex.key_row.value = i
    ex.beta.value = 50.0
    assert_close(ex.w_c[i], ex.w_c[j])
    assert abs(float(ex.w_c[i]) - 0.5) < 0.01
    assert float(ex.similarity[ex.ZERO_ROW]) == 0.0
    assert_close(ex.similarity[i], torch.tensor(1.0))


def test_similarity_is_cosine():
    ex = ContentAddressingExplorer()
    ex.noise.value = 1.0
    k, m = ex.k.double(), ex.memory.double()
    norms = m.norm(dim=1)
    cos = torch.where(norms > 0, m @ k / (norms.clamp_min(1e-12) * k.norm()), torch.zeros(()))
    assert_close(ex.similarity.double(), cos, atol=1e-6, rtol=1e-5)


# ------------------------------------------------------------------ AddressingExplorer
def _exact_location(ex: AddressingExplorer) -> None:
    """Exact inputs: one-hot content weighting, no blur, no sharpening."""
    ex.beta.value = 50.0
    ex.spread.value = 0.0
    ex.gamma.value = 1.0


def test_shift_plus_one_moves_the_argmax_by_one():
    ex = AddressingExplorer()
    _exact_location(ex)
    ex.g.value = 1.0
    N = ex.memory.shape[0]
    for offset in (-1, 0, 1):
        ex.shift.value = offset
        assert int(ex.w_tilde.argmax()) == (int(ex.w_g.argmax()) + offset) % N
        assert int(ex.w.argmax()) == (ex.key_row.value + offset) % N


def test_shift_wraps_around():
    ex = AddressingExplorer()
    _exact_location(ex)
    ex.g.value = 0.0
    ex.prev_row.value = ex.memory.shape[0] - 1
    ex.shift.value = 1
    assert int(ex.w.argmax()) == 0


def test_gamma_one_leaves_w_tilde_unchanged():
    ex = AddressingExplorer()
    ex.gamma.value = 1.0
    assert_close(ex.w, ex.w_tilde)


def test_gamma_above_one_never_lowers_the_largest_weight():
    ex = AddressingExplorer()
    for gamma in (1.0, 1.5, 3.0, 10.0):
        ex.gamma.value = gamma
        assert float(ex.w.max()) >= float(ex.w_tilde.max()) - 1e-6


def test_g_zero_gives_previous_weighting_and_g_one_the_content_weighting():
    ex = AddressingExplorer()
    ex.g.value = 0.0
    assert_close(ex.w_g, ex.w_prev)
    ex.g.value = 1.0
    assert_close(ex.w_g, ex.w_c)


def test_spread_zero_gives_one_hot_shift_weighting():
    ex = AddressingExplorer()
    ex.spread.value = 0.0
    ex.shift.value = -1
    assert_close(ex.s, torch.tensor([1.0, 0.0, 0.0]))
    ex.spread.value = 0.3
    assert_close(ex.s, torch.tensor([0.7, 0.15, 0.15]))


def test_weightings_are_distributions():
    ex = AddressingExplorer()
    for w in (ex.w_c, ex.w_g, ex.w_tilde, ex.w, ex.s):
        assert float(w.min()) >= 0.0
        assert_close(w.sum(), torch.tensor(1.0))


def test_wider_shift_range():
    ex = AddressingExplorer(shift_range=2)
    assert ex.s.shape == (5,)
    _exact_location(ex)
    ex.g.value = 1.0
    ex.shift.value = -2
    assert int(ex.w.argmax()) == (ex.key_row.value - 2) % ex.memory.shape[0]
    with pytest.raises(ValueError, match="shift_range"):
        AddressingExplorer(torch.randn(4, 3), shift_range=2)


# ------------------------------------------------------------------ ShiftIterationExplorer
def test_exact_shift_walks_one_row_per_step():
    ex = ShiftIterationExplorer()
    ex.spread.value = 0.0
    ex.steps.value = 20
    N = ex.memory.shape[0]
    assert ex.history.shape == (21, N)
    assert ex.history.argmax(dim=1).tolist() == [t % N for t in range(21)]


def test_blur_without_sharpening_and_sharpening_keeps_focus():
    ex = ShiftIterationExplorer()
    ex.spread.value = 0.3
    ex.steps.value = 30
    ex.sharpening.value = False
    blurred = float(ex.history[-1].max())
    assert blurred < 0.3
    assert_close(ex.history, ex.history_unsharpened)
    ex.sharpening.value = True
    ex.gamma.value = 3.0
    assert float(ex.history[-1].max()) > 0.8
    assert ex.history.shape[0] == 31


def test_gamma_is_disabled_while_sharpening_is_off():
    ex = ShiftIterationExplorer()
    ex.sharpening.value = False
    assert ex.gamma.disabled
    ex.sharpening.value = True
    assert not ex.gamma.disabled
