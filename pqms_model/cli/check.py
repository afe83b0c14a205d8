"""``pqms check``: the property campaign on a scenario (DESIGN.md "Command line", spec §8).

Exit 0: every invariant holds in the campaign; 1: a violation (the shrunk counterexample is
printed one step a line and written as an ITF trace under ``--out``); 2: bad input (nothing is
run or written); 3: inconclusive (time budget spent first, or nothing was delivered).

Each invariant is reported with the engines that established it: ``walks`` (the campaign,
:data:`campaign.ENGINE`) and ``z3-induction`` (every inductive obligation of the invariant
proved: Init and each action, see ``pqms prove``). The proofs run after the walks; their result
is shown per invariant, and the verdict stays the walks' (a proof that is not complete adds no
engine, and never turns a violation into a pass). ``--no-proofs`` skips them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from pqms_model.check.campaign import (
    DEFAULT_BUDGET_S,
    ENGINE,
    CampaignResult,
    Counterexample,
    InvariantResult,
    run_campaign,
)
from pqms_model.check.walk import Coverage
from pqms_model.errors import PqmsError
from pqms_model.model.transition import Model
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario, load_default, load_scenario
from pqms_model.trace.files import trace_filename
from pqms_model.trace.itf import build_trace, dumps, replay_doc

__all__ = [
    "EXIT_CODES",
    "add_arguments",
    "add_shared_arguments",
    "check_outputs",
    "parse_mutant",
    "run",
]

EXIT_CODES = {"hold": 0, "violated": 1, "inconclusive": 3}
_QUIET_S = 3.0  # no progress lines for runs shorter than this
_EVERY_S = 2.0


def add_shared_arguments(parser: argparse.ArgumentParser, verb: str) -> None:
    """SCENARIO, ``--mutant``, ``--json`` and ``--out``: the same for ``check`` and ``prove``
    (validated by :func:`parse_mutant` and :func:`check_outputs`)."""
    parser.add_argument(
        "scenario",
        nargs="?",
        metavar="SCENARIO",
        help="scenario TOML file (default: the embedded earth-moon-mars mesh)",
    )
    parser.add_argument("--mutant", metavar="NAME", help=f"{verb} a planted-bug variant instead")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="counterexamples",
        help="where counterexample traces go (default: ./counterexamples)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_shared_arguments(parser, "check")
    parser.add_argument(
        "--budget",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_BUDGET_S,
        help=f"the walks' time: stop them and report inconclusive after this long (default "
        f"{DEFAULT_BUDGET_S:g}; the Z3 proofs that follow are not counted: --no-proofs)",
    )
    parser.add_argument("--seed", metavar="N", type=int, default=0, help="campaign seed (0)")
    parser.add_argument(
        "--no-proofs", action="store_true", help="run the walks only (skip the Z3 proofs)"
    )


def parse_mutant(args: argparse.Namespace) -> Mutant | None:
    """``--mutant NAME`` as a Mutant (bad input: one line naming the valid names)."""
    if args.mutant is None:
        return None
    try:
        return Mutant.parse(args.mutant)
    except ValueError as e:
        raise PqmsError(f"--mutant: {e}") from None


def check_outputs(args: argparse.Namespace) -> Scenario:
    """``--json`` and ``--out`` are writable, then the scenario loads: all before any work."""
    if args.json is not None:
        target = Path(args.json)
        if target.is_dir():
            raise PqmsError(f"--json: {target} is a directory; give a file name")
        if not target.parent.is_dir():
            raise PqmsError(f"--json: directory {target.parent} does not exist")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise PqmsError(f"--out: {out} exists and is not a directory")
    return load_default() if args.scenario is None else load_scenario(args.scenario)


def _inputs(args: argparse.Namespace) -> tuple[Scenario, Mutant | None]:
    """Validate every argument before anything runs or is written."""
    mutant = parse_mutant(args)
    if not (math.isfinite(args.budget) and args.budget >= 0):
        raise PqmsError(f"--budget: must be a number of seconds >= 0, got {args.budget}")
    if args.seed < 0:
        raise PqmsError(f"--seed: must be >= 0, got {args.seed}")
    return check_outputs(args), mutant


class _Progress:
    """Progress lines on stderr, for runs longer than a few seconds."""

    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self, done: int, total: int, cov: Coverage, elapsed: float) -> None:
        if elapsed >= _QUIET_S and elapsed - self.last >= _EVERY_S:
            self.last = elapsed
            print(
                f"pqms check: round {done}/{total}, {cov.runs} walks, {cov.steps} steps, "
                f"{cov.delivered_uses} uses delivered, {elapsed:.1f} s",
                file=sys.stderr,
            )


def _trace(scenario: Scenario, mutant: Mutant | None, c: Counterexample, seed: int) -> str:
    """The counterexample's ITF text, checked to replay to the same violation."""
    doc = build_trace(
        Model(scenario, mutant), c.actions, seed=seed, invariant=c.invariant, engine=ENGINE
    )
    again = replay_doc(doc, "<counterexample>", mutant)
    if again.violation is None or again.violation.invariant != c.invariant:
        raise AssertionError(f"counterexample for {c.invariant} does not replay: {again}")
    return dumps(doc)


def _write(path: Path, text: str, what: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise PqmsError(f"{what}: cannot write {path} ({e.strerror or e})") from None


def _report(result: CampaignResult, written: dict[str, str]) -> None:
    out = sys.stdout
    for c in result.counterexamples:
        out.write(f"\ncounterexample: {c.invariant} violated after {c.length} steps")
        out.write(f" (trace: {written[c.invariant]})\n" if c.invariant in written else "\n")
        for line in c.lines():
            out.write(f"  {line}\n")
    width = max(len(r.id) for r in result.invariants)
    out.write(f"\n{'invariant':<{width}}  {'status':<12}  engines\n")
    for r in result.invariants:
        out.write(f"{r.id:<{width}}  {r.status:<12}  {r.engine}\n")
    cov = result.coverage
    out.write(
        f"\nverdict: {result.verdict}: {result.reason} ({result.elapsed_s:.1f} s; "
        f"{cov.delivered_uses} uses delivered, {cov.near_threshold_uses} near the threshold)\n"
    )


STATUSES = ("proved", "counterexample", "unknown")


def _proofs(scenario: Scenario, mutant: Mutant | None) -> dict[str, Any]:
    """The inductive obligations (as ``pqms prove`` without BMC), summarised per invariant."""
    from pqms_model.proofs.suite import prove_all, statuses

    suite = prove_all(scenario, mutant, jobs=2)
    per = statuses(suite.results)
    vacuous = [r.action for r in suite.enabled if r.status != "proved"]
    counts = {s: sum(r.status == s for r in suite.results) for s in STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    summary += f" of {len(suite.results)} obligations ({suite.seconds:.1f} s"
    summary += f"; cannot fire: {', '.join(vacuous)})" if vacuous else ")"
    return {"per_invariant": per, "summary": summary, "obligations": counts,
            "elapsed_s": round(suite.seconds, 3)}  # fmt: skip


def _engines(result: CampaignResult, proofs: dict[str, Any]) -> tuple[InvariantResult, ...]:
    out = []
    for r in result.invariants:
        proof = proofs["per_invariant"].get(r.id, "unknown")
        engines = [r.engine] if r.status == "hold" else []
        if proof == "proved":
            engines.append("z3-induction")
        status = "hold" if proof == "proved" and r.status != "violated" else r.status
        note = "" if proof == "proved" else f" (z3: {proof})"
        out.append(InvariantResult(r.id, status, "+".join(engines) + note or "-"))
    return tuple(out)


def run(args: argparse.Namespace) -> int:
    scenario, mutant = _inputs(args)
    variant = f"mutant {mutant.key}" if mutant else "the protocol"
    engines = "walks" if args.no_proofs else "walks + z3-induction"
    print(f"pqms check: {scenario.name}, {variant}, seed {args.seed}, engines {engines}")
    started = time.monotonic()
    result = run_campaign(
        scenario, mutant, seed=args.seed, budget_s=args.budget, progress=_Progress()
    )
    written: dict[str, str] = {}
    for c in result.counterexamples:
        path = Path(args.out) / trace_filename(scenario, mutant, c.invariant)
        _write(path, _trace(scenario, mutant, c, args.seed), "--out")
        written[c.invariant] = str(path)
    proofs = None if args.no_proofs else _proofs(scenario, mutant)
    if proofs is not None:
        result = dataclasses.replace(result, invariants=_engines(result, proofs))
    _report(result, written)
    if proofs is not None:
        sys.stdout.write(f"proofs: {proofs['summary']}\n")
    if args.json is not None:
        doc: dict[str, Any] = result.as_json(written)
        if proofs is not None:
            doc["proofs"] = {k: v for k, v in proofs.items() if k != "per_invariant"}
        doc["elapsed_s"] = round(time.monotonic() - started, 3)
        _write(Path(args.json), json.dumps(doc, indent=1) + "\n", "--json")
    return EXIT_CODES[result.verdict]
