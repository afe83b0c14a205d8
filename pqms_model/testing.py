"""The invariant suite for your own scenario (README, "Use the invariant suite on your own
scenario"): the public entry point; the machinery lives in :mod:`pqms_model.check.suite`.

>>> callable(invariant_suite)
True
"""

from __future__ import annotations

from pqms_model.check.suite import invariant_suite

__all__ = ["invariant_suite"]
