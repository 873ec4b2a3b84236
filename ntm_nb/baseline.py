"""The paper's baseline: a stack of LSTM layers (section 4: 3 layers for every task).

Same call convention as ``NTM``: ``model(x)`` with ``x`` (B, T, input_size) returns
logits (B, T, output_size). The state is reset every episode.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from torch import Tensor, nn

from ntm_nb._checks import check_cast_finite, check_positive_int


@dataclass
class LSTMConfig:
    """Hyper-parameters of the LSTM baseline; defaults are the paper's copy baseline."""

    input_size: int = 9  # bits per input step
    output_size: int = 8  # bits per output step
    hidden_size: int = 256  # units per layer (paper: 256 for copy, 512 repeat copy, ...)
    num_layers: int = 3  # the paper's baselines all have 3 layers

    def __post_init__(self) -> None:
        for name in ("input_size", "output_size", "hidden_size", "num_layers"):
            check_positive_int(name, getattr(self, name))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LSTMBaseline(nn.Module):
    """Stacked LSTM with a linear read-out, the paper's comparison model."""

    def __init__(self, config: LSTMConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        if config is None:
            config = LSTMConfig(**overrides)
        elif overrides:
            config = LSTMConfig(**{**config.to_dict(), **overrides})
        if not isinstance(config, LSTMConfig):
            raise TypeError(f"config: expected an LSTMConfig, got {type(config).__name__}")
        self.config = config
        self.lstm = nn.LSTM(
            config.input_size, config.hidden_size, config.num_layers, batch_first=True
        )
        self.output = nn.Linear(config.hidden_size, config.output_size)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, T, input_size), finite -> logits (B, T, output_size)."""
        if not isinstance(x, Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 3 or x.shape[-1] != self.config.input_size:
            raise ValueError(
                f"x: expected shape (B, T, input_size={self.config.input_size}), "
                f"got {tuple(x.shape)}"
            )
        h, _ = self.lstm(check_cast_finite("x", x, self.output.weight))
        return self.output(h)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
