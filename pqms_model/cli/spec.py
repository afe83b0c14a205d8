"""``pqms spec``: the invariant and mutant registries, as the checkers see them.

The reviewed specification is ``spec/pqms.md`` in the source tree; this command prints what the
installed package actually checks (ids, kinds, meanings, whitepaper sections), so a reader can
hold the two side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pqms_model.invariants import INVARIANTS
from pqms_model.protocol.mutants import Mutant

__all__ = ["add_arguments", "registry", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", help="also write the registries as JSON")


def registry() -> dict[str, Any]:
    """The registries as plain data (what ``--json`` writes)."""
    return {
        "invariants": [
            {"id": i.id, "kind": i.kind.value, "meaning": i.meaning, "whitepaper": i.whitepaper}
            for i in INVARIANTS.values()
        ],
        "mutants": [
            {"name": m.key, "description": m.description, "breaks": list(m.breaks)} for m in Mutant
        ],
    }


def run(args: argparse.Namespace) -> int:
    data = registry()
    out = sys.stdout
    out.write("Invariants (spec/pqms.md §5):\n")
    width = max(len(i["id"]) for i in data["invariants"])
    for i in data["invariants"]:
        out.write(f"  {i['id']:<{width}}  {i['kind']:<6}  §{i['whitepaper']:<4} {i['meaning']}\n")
    out.write("\nMutants (spec/pqms.md §6), each refuted by the checkers:\n")
    width = max(len(m["name"]) for m in data["mutants"])
    for m in data["mutants"]:
        out.write(f"  {m['name']:<{width}}  breaks {', '.join(m['breaks'])}\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
    return 0
