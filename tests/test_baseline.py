"""Tests for ntm_nb.baseline: the paper's stacked-LSTM baseline."""

from __future__ import annotations

import pytest
import torch

from ntm_nb import LSTMBaseline, LSTMConfig


def lstm_parameter_count(input_size: int, hidden: int, layers: int, output_size: int) -> int:
    """nn.LSTM: per layer 4 gates x (input + recurrent weights + two biases); then a Linear."""
    total = 0
    for layer in range(layers):
        n_in = input_size if layer == 0 else hidden
        total += 4 * hidden * (n_in + hidden) + 2 * 4 * hidden
    return total + hidden * output_size + output_size


def test_default_config_is_the_papers_copy_baseline():
    c = LSTMConfig()
    assert (c.input_size, c.output_size, c.hidden_size, c.num_layers) == (9, 8, 256, 3)


def test_parameter_count_of_the_copy_baseline():
    model = LSTMBaseline()
    expected = lstm_parameter_count(9, 256, 3, 8)
    assert expected == 1_328_136
    assert model.num_parameters() == expected
    assert model.num_parameters() == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("hidden,layers", [(5, 1), (7, 2), (3, 3)])
def test_parameter_count_formula_for_small_configs(hidden, layers):
    model = LSTMBaseline(input_size=4, output_size=2, hidden_size=hidden, num_layers=layers)
    assert model.num_parameters() == lstm_parameter_count(4, hidden, layers, 2)


@pytest.mark.parametrize("B,T", [(1, 1), (3, 7)])
def test_output_shape_and_dtype(B, T):
    model = LSTMBaseline(input_size=4, output_size=2, hidden_size=6, num_layers=2)
    x = torch.randint(0, 2, (B, T, 4)).float()
    y = model(x)
    assert y.shape == (B, T, 2)
    assert y.dtype == torch.float32
    torch.testing.assert_close(model(x.long()), y)  # bits given as integers are accepted
    model64 = LSTMBaseline(input_size=4, output_size=2, hidden_size=6, num_layers=2)
    model64.load_state_dict(model.state_dict())
    model64.double()
    y64 = model64(x.double())
    assert y64.dtype == torch.float64
    torch.testing.assert_close(y64.float(), y, rtol=1e-4, atol=1e-5)


def test_is_causal_and_resets_every_episode():
    model = LSTMBaseline(input_size=4, output_size=2, hidden_size=6, num_layers=2)
    x = torch.randn(2, 6, 4)
    y = model(x)
    x2 = x.clone()
    x2[:, 4:] = torch.randn(2, 2, 4)  # change the future only
    torch.testing.assert_close(model(x2)[:, :4], y[:, :4])
    torch.testing.assert_close(model(x), y)  # no state kept between calls


def test_config_and_overrides():
    base = LSTMConfig(input_size=4, output_size=2, hidden_size=6, num_layers=1)
    model = LSTMBaseline(base, hidden_size=3)
    assert model.config.hidden_size == 3 and model.config.input_size == 4
    assert base.hidden_size == 6
    assert LSTMConfig(**base.to_dict()) == base


@pytest.mark.parametrize("field", ["input_size", "output_size", "hidden_size", "num_layers"])
def test_config_sizes_below_one_raise(field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        LSTMConfig(**{field: 0})
    with pytest.raises(TypeError, match=f"^{field}:"):
        LSTMConfig(**{field: 2.5})


def test_config_of_the_wrong_type_raises_type_error():
    with pytest.raises(TypeError, match="^config:"):
        LSTMBaseline({"hidden_size": 4})


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 3), (2, 4), (1, 2, 3, 4)])
def test_input_of_the_wrong_shape_raises(shape):
    model = LSTMBaseline(input_size=4, output_size=2, hidden_size=6, num_layers=1)
    with pytest.raises(ValueError, match="^x:"):
        model(torch.zeros(shape))


@pytest.mark.parametrize("bad", [[[[0.0] * 4]], None])
def test_non_tensor_input_raises_type_error(bad):
    model = LSTMBaseline(input_size=4, output_size=2, hidden_size=6, num_layers=1)
    with pytest.raises(TypeError, match="^x:"):
        model(bad)
