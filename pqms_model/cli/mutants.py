"""``pqms mutants``: the planted-bug variants and the invariants each one breaks (spec §6).

Every checker must refute every mutant; ``pqms check --mutant NAME`` runs the campaign on one.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pqms_model.protocol.mutants import Mutant

__all__ = ["add_arguments", "listing", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def listing() -> list[dict[str, Any]]:
    """``[{"name", "description", "breaks": [invariant ids]}]`` in registry order."""
    return [{"name": m.key, "description": m.description, "breaks": list(m.breaks)} for m in Mutant]


def run(args: argparse.Namespace) -> int:
    rows = listing()
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
        return 0
    name_w = max(len(r["name"]) for r in rows)
    breaks_w = max(len(", ".join(r["breaks"])) for r in rows)
    sys.stdout.write(f"{'mutant':<{name_w}}  {'breaks':<{breaks_w}}  description\n")
    for r in rows:
        sys.stdout.write(
            f"{r['name']:<{name_w}}  {', '.join(r['breaks']):<{breaks_w}}  {r['description']}\n"
        )
    return 0
