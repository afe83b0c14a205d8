"""Hypothesis profiles for the whole test suite, chosen by ``HYPOTHESIS_PROFILE`` (default ``ci``).

- ``ci``: deterministic and quick: derandomized, no example database, no deadline. Every run of
  the suite explores the same examples, so a red CI is reproducible on any machine.
- ``deep``: many examples and long stateful runs with fresh randomness, for a nightly or a
  pre-release soak: ``HYPOTHESIS_PROFILE=deep pytest tests/check/test_stateful.py``.

Tests do not hard-code example counts; they scale with the profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    stateful_step_count=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=False,
)
settings.register_profile(
    "deep",
    deadline=None,
    max_examples=2000,
    stateful_step_count=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
