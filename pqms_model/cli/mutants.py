"""``pqms mutants``: the planted-bug variants, what each changes in the protocol, and the
invariants each one breaks (spec §6).

A mutant is the correct protocol with a choice or two set otherwise
(:class:`~pqms_model.protocol.settings.Protocol`); the listing shows exactly those choices.
Every checker must refute every mutant; ``pqms check --mutant NAME`` runs the campaign on one.
"""

from __future__ import annotations

import argparse
import enum
import json
import sys
from typing import Any

from pqms_model.protocol.mutants import Mutant

__all__ = ["add_arguments", "listing", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def _value(v: Any) -> Any:
    return v.value if isinstance(v, enum.Enum) else v


def listing() -> list[dict[str, Any]]:
    """``[{"name", "description", "breaks": [invariant ids], "protocol": {field: {"correct",
    "mutant"}}}]`` in registry order; ``protocol`` holds the choices that differ."""
    return [
        {
            "name": m.key,
            "description": m.description,
            "breaks": list(m.breaks),
            "protocol": {
                f: {"correct": _value(a), "mutant": _value(b)}
                for f, (a, b) in m.differences().items()
            },
        }
        for m in Mutant
    ]


def run(args: argparse.Namespace) -> int:
    rows = listing()
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
        return 0
    for r in rows:
        sys.stdout.write(f"{r['name']}  (breaks {', '.join(r['breaks'])})\n")
        sys.stdout.write(f"    {r['description']}\n")
        for f, v in r["protocol"].items():
            sys.stdout.write(f"    {f}: {v['correct']} -> {v['mutant']}\n")
    return 0
