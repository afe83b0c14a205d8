"""``pqms replay TRACE``: re-execute an ITF trace on the model (spec §7).

Every action is stepped again and every recorded state compared with the model's. Exit 0: the
trace replays and no invariant is violated; 1: it replays to the first violated invariant (the
step and the reason are printed); 2: the trace is malformed, a recorded state differs, or an
action is not enabled (one line naming the file, the step and the reason; nothing written).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pqms_model.errors import PqmsError, TraceError
from pqms_model.protocol.mutants import Mutant
from pqms_model.trace.itf import load_trace, replay_doc

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", metavar="TRACE", help="ITF JSON trace (e.g. from pqms check)")
    parser.add_argument("--mutant", metavar="NAME", help="replay on a planted-bug variant")
    parser.add_argument(
        "--json", metavar="FILE", help='write {"invariant", "step", "steps"} as JSON'
    )


def _recorded_mutant(doc: dict[str, object]) -> str | None:
    meta = doc.get("#meta")
    key = meta.get("mutant") if isinstance(meta, dict) else None
    return key if isinstance(key, str) else None


def run(args: argparse.Namespace) -> int:
    mutant = None
    if args.mutant is not None:
        try:
            mutant = Mutant.parse(args.mutant)
        except ValueError as e:
            raise PqmsError(f"--mutant: {e}") from None
    if args.json is not None and not Path(args.json).parent.is_dir():
        raise PqmsError(f"--json: directory {Path(args.json).parent} does not exist")
    doc = load_trace(args.trace)
    try:
        result = replay_doc(doc, args.trace, mutant)
    except TraceError as e:
        recorded = _recorded_mutant(doc)
        if recorded is not None and recorded != (mutant.key if mutant else None):
            raise TraceError(
                e.source, e.where, f"{e.reason} (the trace was recorded with --mutant {recorded})"
            ) from None
        raise
    if result.violation is not None:
        print(
            f"pqms replay: {args.trace}: step {result.step} of {result.steps} violates "
            f"{result.violation.invariant}: {result.violation.reason}"
        )
    else:
        print(f"pqms replay: {args.trace}: {result.steps} steps replayed, every invariant holds")
    if args.json is not None:
        try:
            Path(args.json).write_text(json.dumps(result.as_json()) + "\n", encoding="utf-8")
        except OSError as e:
            raise PqmsError(f"--json: cannot write {args.json} ({e.strerror or e})") from None
    return 1 if result.violation is not None else 0
