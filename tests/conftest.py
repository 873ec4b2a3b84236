"""Shared test settings for ntm_nb.

Hypothesis runs 50 examples per property by default, with no deadline (the first call of a
torch op can be slow), so the whole core suite stays fast on a laptop. For a longer search:
``NTM_HYPOTHESIS_PROFILE=thorough python -m pytest``.
"""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ntm", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("NTM_HYPOTHESIS_PROFILE", "ntm"))


@pytest.fixture(autouse=True)
def _seed_torch() -> None:
    """Every test starts from the same global torch seed, so failures reproduce."""
    torch.manual_seed(0)
