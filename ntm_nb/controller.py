"""Controllers: the network that reads the input and the previous reads (section 4).

Two kinds, as in the paper's experiments:

* ``LSTMController`` — a stack of LSTM layers. Its state (h, c per layer) is returned,
  never stored on the module. Each layer is one linear map of [input, h] to the four
  gates, which is the shape ``torch.compile`` fuses best.
* ``FeedForwardController`` — a stack of dense layers with ReLU; it has no state, so all
  recurrence goes through memory (the paper's "feedforward controller").

Both are called as ``out, state = controller(x, state)`` with ``x`` (B, input_size),
``out`` (B, hidden_size) and ``state`` a tuple of tensors (empty for feed-forward).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

ControllerState = tuple[Tensor, ...]


class LSTMController(nn.Module):
    """Stacked LSTM; state is ``(h_1, c_1, h_2, c_2, ...)``, each (B, hidden_size)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.gates = nn.ModuleList(nn.Linear(n + hidden_size, 4 * hidden_size) for n in sizes)
        for layer in self.gates:
            # Forget-gate bias of 1: the usual LSTM initialisation (Gers et al., 2000).
            with torch.no_grad():
                layer.bias[hidden_size : 2 * hidden_size].fill_(1.0)

    def initial_state(self, batch_size: int, like: Tensor) -> ControllerState:
        return tuple(
            like.new_zeros(batch_size, self.hidden_size) for _ in range(2 * self.num_layers)
        )

    def forward(self, x: Tensor, state: ControllerState) -> tuple[Tensor, ControllerState]:
        new_state: list[Tensor] = []
        for layer, gates in enumerate(self.gates):
            h, c = state[2 * layer], state[2 * layer + 1]
            i, f, g, o = gates(torch.cat([x, h], dim=-1)).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            new_state += [h, c]
            x = h
        return x, tuple(new_state)


class FeedForwardController(nn.Module):
    """Dense layers with ReLU; stateless."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.layers = nn.ModuleList(nn.Linear(n, hidden_size) for n in sizes)

    def initial_state(self, batch_size: int, like: Tensor) -> ControllerState:
        return ()

    def forward(self, x: Tensor, state: ControllerState) -> tuple[Tensor, ControllerState]:
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x, ()


CONTROLLERS = {"lstm": LSTMController, "feedforward": FeedForwardController}
