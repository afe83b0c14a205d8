"""``pqms prove``: the Z3 proof suite on a scenario (spec/proofs.md §7).

Inductive obligations (Init ⇒ I; Inv ∧ Lemmas ∧ T_a ⇒ I′ per action), non-vacuity of every
action, the no-signalling lemmas, and bounded model checking: with ``--mutant`` the mutant's
counterexample (written as an ITF trace under ``--out``), otherwise BMC to ``--depth`` steps
when asked.

Exit 0: every obligation proved (and BMC found nothing); 1: a counterexample trace (BMC);
2: bad input; 3: inconclusive — an obligation unknown or timed out (with Z3's reason), or a
counterexample to induction that no trace confirms. Unknown is never a pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import z3

from pqms_model.cli.check import _write, add_shared_arguments, check_outputs, parse_mutant
from pqms_model.errors import PqmsError
from pqms_model.model.transition import Model
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario
from pqms_model.trace.files import trace_filename
from pqms_model.trace.itf import dumps

__all__ = ["SLOW_QUERY_S", "add_arguments", "run", "run_proofs", "slow_query"]

EXIT = {"proved": 0, "violated": 1, "inconclusive": 3}
DEFAULT_TIMEOUT_MS = 30_000
DEFAULT_MUTANT_DEPTH = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_shared_arguments(parser, "prove")
    parser.add_argument(
        "--depth",
        metavar="K",
        type=int,
        help="bounded model checking to K steps (exhaustive; default: none for the protocol, "
        f"{DEFAULT_MUTANT_DEPTH} for a mutant before the guided search)",
    )
    parser.add_argument(
        "--timeout-ms",
        metavar="N",
        type=int,
        default=DEFAULT_TIMEOUT_MS,
        help=f"per-query Z3 time limit (default {DEFAULT_TIMEOUT_MS}); a time-out is unknown",
    )
    parser.add_argument(
        "--jobs", metavar="N", type=int, default=2, help="worker processes (default 2)"
    )
    parser.add_argument(
        "--no-minimise",
        dest="minimise",
        action="store_false",
        help="keep a mutant's guided BMC trace as found (default: delete steps while Z3 still "
        "finds a violation, until every one-step deletion is proved to have none)",
    )


def _inputs(args: argparse.Namespace) -> tuple[Scenario, Mutant | None]:
    """Validate every argument before anything runs or is written."""
    mutant = parse_mutant(args)
    if args.depth is not None and not 0 <= args.depth <= 200:
        raise PqmsError(f"--depth: must be 0..200 steps, got {args.depth}")
    if args.timeout_ms < 1:
        raise PqmsError(f"--timeout-ms: must be >= 1, got {args.timeout_ms}")
    if not 1 <= args.jobs <= 64:
        raise PqmsError(f"--jobs: must be 1..64, got {args.jobs}")
    scenario = check_outputs(args)
    return scenario, mutant


def _say(line: str) -> None:
    print(line, flush=True)


def _note(line: str) -> None:
    """Progress of the long BMC stages, on stderr (stdout keeps the proof log)."""
    print(f"pqms prove: {line}", file=sys.stderr, flush=True)


SLOW_QUERY_S = 5.0
"""A BMC query at least this long is named in the progress (deep searches take minutes)."""


def slow_query(depth: int, clause: str, res: str, secs: float) -> None:
    """``run_bmc``'s ``on_query``: names a query of ``SLOW_QUERY_S`` or more on stderr."""
    if secs >= SLOW_QUERY_S:
        _note(f"BMC depth {depth}: {clause}: {res} ({secs:.2f} s)")


def run_proofs(
    scenario: Scenario,
    mutant: Mutant | None,
    *,
    depth: int | None,
    timeout_ms: int,
    jobs: int,
    log: bool = True,
    minimise: bool = True,
) -> dict[str, Any]:
    """Run the suite; return the JSON document (``trace`` entries hold ITF documents)."""
    from pqms_model.check.campaign import walks_skeleton
    from pqms_model.proofs.bmc import run_bmc
    from pqms_model.proofs.counterexample import find_counterexample, minimise_counterexample
    from pqms_model.proofs.no_signalling import EXPECTED, prove_no_signalling
    from pqms_model.proofs.suite import prove_all

    t0 = time.perf_counter()
    say = _say if log else (lambda _line: None)
    print(
        f"pqms prove: {scenario.name}, {'mutant ' + mutant.key if mutant else 'the protocol'}, "
        f"z3 {z3.get_version_string()}, {jobs} job(s), {timeout_ms} ms per query",
        file=sys.stderr,
    )
    suite = prove_all(scenario, mutant, jobs=jobs, timeout_ms=timeout_ms)
    for r in suite.results:
        verb = "establishes" if r.action == "init" else "preserves"
        say(f"checking {r.action} {verb} {r.invariant} ... {r.status} ({r.seconds:.2f} s)")
        if r.status != "proved" and r.reason:
            say("    " + r.reason.replace("\n", "\n    "))
    for r in suite.enabled:
        ok = "sat" if r.status == "proved" else r.status
        say(f"checking {r.action} can fire under the invariants ... {ok} ({r.seconds:.2f} s)")
    lemmas = prove_no_signalling(timeout_ms)
    for lr in lemmas:
        want = "" if EXPECTED[lr.name] == "proved" else f", expected {EXPECTED[lr.name]}"
        say(f"checking {lr.name} ... {lr.status} ({lr.seconds:.2f} s{want})")
    counterexamples: list[dict[str, Any]] = []
    bmc: dict[str, Any] | None = None
    if mutant is not None or depth is not None:
        model = Model(scenario, mutant)
        if mutant is not None:
            found = find_counterexample(
                model,
                exhaustive_depth=DEFAULT_MUTANT_DEPTH if depth is None else depth,
                skeleton=lambda: walks_skeleton(scenario, mutant, seed=0),
                timeout_ms=timeout_ms,
                progress=_note if log else None,
            )
            if minimise:
                found = minimise_counterexample(
                    model, found, progress=(lambda m: _note(f"minimising: {m}")) if log else None
                )
        else:
            found = run_bmc(
                model,
                depth or 0,
                timeout_ms=timeout_ms,
                hints=True,  # the protocol: a proof of absence is what is expected
                progress=(lambda k, res, secs: _note(f"BMC depth {k}: {res} ({secs:.2f} s)"))
                if log
                else None,
                on_query=slow_query if log else None,
            )
        bmc = {
            "status": found.status,
            "engine": found.engine,
            "length": found.depth,
            "no_counterexample_up_to": found.exhaustive_depth,
            "shortest": found.shortest,
            "seconds": round(found.seconds, 3),
            "reason": found.reason,
        }
        if found.minimised_from is not None:
            bmc["minimised_from"] = found.minimised_from
            bmc["one_step_deletions_undecided"] = found.undecided
            bmc["one_minimal"] = found.undecided == 0
            bmc["minimise_seconds"] = round(found.minimise_seconds, 3)
        if found.status == "counterexample" and found.trace is not None:
            counterexamples.append(
                {"invariant": found.invariant, "trace": found.trace, "length": found.depth}
            )
        first = found.depth if found.minimised_from is None else found.minimised_from
        say(
            f"bounded model checking ({found.engine}) ... {found.status}"
            + (f": {found.invariant} after {first} steps" if found.invariant else "")
            + (f" ({found.reason})" if found.status == "unknown" and found.reason else "")
            + f"; none of {found.exhaustive_depth} steps or fewer ({found.seconds:.2f} s)"
        )
        targets = ", ".join(mutant.breaks) if mutant is not None else "any invariant"
        if found.shortest:
            say(f"shortest: no trace of {found.depth - 1} steps or fewer violates {targets}")
        if found.minimised_from is not None:
            proof = (
                f"1-minimal: without any one of its steps, Z3 proves no data violates "
                f"{found.invariant}"
                if found.undecided == 0
                else f"1-minimality not established: {found.undecided} one-step deletion(s) "
                "undecided within Z3's resource budget"
            )
            say(
                f"minimising the trace ... {found.minimised_from} -> {found.depth} steps; "
                f"{proof} ({found.minimise_seconds:.2f} s)"
            )
    everything = [*suite.results, *suite.enabled]
    unknown = [r for r in everything if r.status == "unknown"]
    cti = [r for r in everything if r.status == "counterexample"]
    bad_lemmas = [lr for lr in lemmas if lr.status != EXPECTED[lr.name]]
    if counterexamples:
        verdict = "violated"
        reason = f"{counterexamples[0]['invariant']} violated after "
        reason += f"{counterexamples[0]['length']} steps (BMC trace)"
    elif unknown or cti or bad_lemmas or (bmc and bmc["status"] == "unknown"):
        verdict = "inconclusive"
        reason = f"{len(unknown)} unknown, {len(cti)} counterexample(s) to induction"
        if bad_lemmas:
            reason += f", {len(bad_lemmas)} lemma(s) not proved"
        if unknown:
            reason += f" (first unknown: {unknown[0].name}: {unknown[0].reason or 'no reason'})"
    else:
        verdict = "proved"
        reason = f"{len(suite.results)} obligations proved for any number of pairs, messages and "
        reason += f"routes (constants of {scenario.name}), every action can fire"
    return {
        "verdict": verdict,
        "reason": reason,
        "scenario": scenario.name,
        "mutant": mutant.key if mutant else None,
        "obligations": [
            {
                "action": r.action,
                "invariant": r.invariant,
                "status": r.status,
                "seconds": round(r.seconds, 3),
                "kind": r.kind,
                "needs": r.core,
            }
            for r in suite.results
        ],
        "enabled": [
            {"action": r.action, "status": "sat" if r.status == "proved" else r.status}
            for r in suite.enabled
        ],
        "lemmas": [
            {"name": lr.name, "status": lr.status, "expected": EXPECTED[lr.name]} for lr in lemmas
        ],
        "bmc": bmc,
        "counterexamples": counterexamples,
        "elapsed_s": round(time.perf_counter() - t0, 3),
        "z3_version": z3.get_version_string(),
    }


def run(args: argparse.Namespace) -> int:
    scenario, mutant = _inputs(args)
    doc = run_proofs(
        scenario,
        mutant,
        depth=args.depth,
        timeout_ms=args.timeout_ms,
        jobs=args.jobs,
        minimise=args.minimise,
    )
    for c in doc["counterexamples"]:
        path = Path(args.out) / trace_filename(scenario, mutant, c["invariant"])
        _write(path, dumps(c["trace"]), "--out")
        c["trace"] = str(path)
        print(f"counterexample: {c['invariant']} after {c['length']} steps (trace: {path})")
    print(f"\nverdict: {doc['verdict']}: {doc['reason']} ({doc['elapsed_s']:.1f} s)")
    if args.json is not None:
        _write(Path(args.json), json.dumps(doc, indent=1) + "\n", "--json")
    return EXIT[doc["verdict"]]
