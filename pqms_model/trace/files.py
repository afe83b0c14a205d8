"""Counterexample trace files (spec §7): where a failing run's ITF trace is written, and its name.

>>> from pqms_model.protocol.scenario import load_default
>>> from pqms_model.protocol.mutants import Mutant
>>> trace_filename(load_default(), Mutant.EARLY_ADMIT, "causality")
'earth-moon-mars-early-admit-causality.itf.json'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from pqms_model.model.transition import Model
from pqms_model.protocol.actions import Action
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario
from pqms_model.trace.itf import build_trace, dumps

__all__ = ["TRACE_DIR_ENV", "trace_filename", "write_trace"]

TRACE_DIR_ENV = "PQMS_TRACE_DIR"
"""Environment variable naming where a failing pytest run writes its trace."""


def trace_filename(scenario: Scenario, mutant: Mutant | None, invariant_id: str) -> str:
    """``<scenario>-<mutant or protocol>-<invariant>.itf.json``, safe as a file name."""
    parts = (scenario.name, mutant.key if mutant else "protocol", invariant_id)
    return "-".join(re.sub(r"[^A-Za-z0-9._-]+", "_", p) for p in parts) + ".itf.json"


def write_trace(
    model: Model,
    actions: Sequence[Action],
    invariant: str,
    directory: str | Path,
    seed: int | None = None,
) -> Path:
    """Write the ITF trace of a run that violates ``invariant`` into ``directory`` (created if
    missing); the file is named by :func:`trace_filename`."""
    doc = build_trace(model, actions, seed=seed, invariant=invariant)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    path = out / trace_filename(model.scenario, model.mutant, invariant)
    path.write_text(dumps(doc), encoding="utf-8")
    return path
