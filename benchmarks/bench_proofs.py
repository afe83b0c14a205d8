"""Proof-suite figures (issue: Z3 proofs), run by hand, not in CI.

    python benchmarks/bench_proofs.py                 # the whole suite, default scenario
    python benchmarks/bench_proofs.py --mutants       # each mutant's BMC counterexample
    python benchmarks/bench_proofs.py --mutants --induction  # ... and which obligations fail
    python benchmarks/bench_proofs.py --mutants --minimise   # ... and the minimised traces
    python benchmarks/bench_proofs.py --mutants --fresh      # ... each in a fresh process
    python benchmarks/bench_proofs.py --bmc-depth 30  # exhaustive BMC of the protocol
    python benchmarks/bench_proofs.py --bmc-depth 4 --no-hints  # ... without hints
    python benchmarks/bench_proofs.py --bmc-depth 6 --query-timeout 3600  # a query may take 1 h

Prints one line per measurement: wall seconds and what was established. The suite is the
inductive obligations and the non-vacuity checks in ``--jobs`` processes, plus the
no-signalling lemmas; a mutant's figure is ``find_counterexample`` (exhaustive BMC to
``--exhaustive`` steps, then guided BMC on the walks' skeleton) including the replay; with
``--minimise``, ``minimise_counterexample`` (as ``pqms prove`` runs it) is timed separately.
Z3's time depends on what ran before in the same process; ``--fresh`` times each mutant's
``find_counterexample`` in a new Python process (the figure excludes the imports; the process's
whole wall time is printed beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from pqms_model.check.campaign import walks_skeleton
from pqms_model.cli.prove import slow_query
from pqms_model.model.transition import Model
from pqms_model.proofs.bmc import run_bmc
from pqms_model.proofs.counterexample import find_counterexample, minimise_counterexample
from pqms_model.proofs.no_signalling import prove_no_signalling
from pqms_model.proofs.suite import prove_all
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import load_default
from pqms_model.trace.itf import replay_doc


def suite(jobs: int) -> None:
    t0 = time.perf_counter()
    r = prove_all(load_default(), jobs=jobs)
    lemmas = prove_no_signalling()
    wall = time.perf_counter() - t0
    counts = {s: len(r.by_status(s)) for s in ("proved", "counterexample", "unknown")}
    cpu = sum(x.seconds for x in r.results + r.enabled)
    print(f"suite: {wall:.2f} s wall ({jobs} jobs; {cpu:.1f} s in Z3), {counts}, "
          f"{len(r.results)} obligations, {len(lemmas)} lemmas")  # fmt: skip


_FRESH = """
import json, sys, time
sys.path.insert(0, {root!r})
from pqms_model.model.transition import Model
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import load_default
from pqms_model.proofs.counterexample import find_counterexample
from pqms_model.check.campaign import walks_skeleton
model = Model(load_default(), Mutant.parse({key!r}))
t0 = time.perf_counter()
found = find_counterexample(model, exhaustive_depth={depth},
                            skeleton=lambda: walks_skeleton(model.scenario, model.mutant, 0))
print(json.dumps({{"seconds": time.perf_counter() - t0, "status": found.status,
                  "length": found.depth, "invariant": found.invariant,
                  "shortest": found.shortest, "engine": found.engine}}))
"""


def fresh_mutants(exhaustive: int) -> None:
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    for m in Mutant:
        t0 = time.perf_counter()
        code = _FRESH.format(root=root, key=m.key, depth=exhaustive)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{m.key:20s} {r['status']:15s} {r['engine']:14s} length {r['length']:3d} "
              f"shortest={r['shortest']} {r['invariant']} {r['seconds']:.2f} s "
              f"(process {time.perf_counter() - t0:.2f} s)")  # fmt: skip


def mutants(exhaustive: int, induction: bool, minimise: bool) -> None:
    for m in Mutant:
        if induction:  # the inductive obligations under the mutant: which fail
            r = prove_all(load_default(), m, jobs=2)
            cti = [x.name for x in r.by_status("counterexample")]
            print(f"{m.key:20s} induction: {len(cti)} counterexample(s) to induction, "
                  f"{len(r.by_status('unknown'))} unknown: {', '.join(cti[:4])}")  # fmt: skip
        t0 = time.perf_counter()
        found = find_counterexample(
            Model(load_default(), m),
            exhaustive_depth=exhaustive,
            skeleton=lambda m=m: walks_skeleton(load_default(), m, 0),
        )
        ok = found.trace is not None and (
            (again := replay_doc(found.trace, "<bmc>", m)).violation is not None
            and again.violation.invariant == found.invariant
        )
        print(f"{m.key:20s} {found.status:15s} {found.engine:14s} length {found.depth:3d} "
              f"(none <= {found.exhaustive_depth}, shortest={found.shortest}) "
              f"{found.invariant} replays={ok} "
              f"{time.perf_counter() - t0:.2f} s")  # fmt: skip
        if minimise:
            small = minimise_counterexample(Model(load_default(), m), found)
            ok = small.trace is not None and (
                (again := replay_doc(small.trace, "<bmc>", m)).violation is not None
                and again.violation.invariant == small.invariant
            )
            how = (
                "shortest (exhaustive stage)"
                if small.minimised_from is None
                else "1-minimal"
                if small.undecided == 0
                else f"{small.undecided} undecided"
            )
            print(f"{'':20s} minimised to length {small.depth:3d}, {how}, replays={ok} "
                  f"{small.minimise_seconds:.2f} s")  # fmt: skip


def bmc(depth: int, budget_s: float, hints: bool = True, query_timeout_s: float = 600.0) -> None:
    t0 = time.perf_counter()

    def show(k: int, res: str, secs: float) -> None:
        print(f"  depth {k:3d}: {res} ({secs:.2f} s; {time.perf_counter() - t0:.1f} s total)")
        if time.perf_counter() - t0 > budget_s:
            raise TimeoutError

    try:
        r = run_bmc(Model(load_default()), depth, timeout_ms=round(query_timeout_s * 1000),
                    progress=show, hints=hints, on_query=slow_query)  # fmt: skip
        print(f"bmc: {r.status} to depth {r.depth} in {r.seconds:.2f} s" +
              (f" ({r.reason})" if r.reason else ""))  # fmt: skip
    except TimeoutError:
        print(f"bmc: budget of {budget_s:g} s spent (see the last depth above)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--mutants", action="store_true")
    ap.add_argument("--exhaustive", type=int, default=3)
    ap.add_argument("--induction", action="store_true", help="with --mutants: also the proofs")
    ap.add_argument("--minimise", action="store_true", help="with --mutants: minimise too")
    ap.add_argument("--fresh", action="store_true", help="with --mutants: a process each")
    ap.add_argument("--bmc-depth", type=int)
    ap.add_argument("--budget", type=float, default=600.0)
    ap.add_argument(
        "--no-hints",
        action="store_true",
        help="with --bmc-depth: without the previous depth's invariants as hints",
    )
    ap.add_argument(
        "--query-timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="with --bmc-depth: Z3's time-out per query, in seconds (an unknown ends the search)",
    )
    args = ap.parse_args()
    if args.mutants and args.fresh:
        fresh_mutants(args.exhaustive)
    elif args.mutants:
        mutants(args.exhaustive, args.induction, args.minimise)
    elif args.bmc_depth is not None:
        bmc(
            args.bmc_depth, args.budget, hints=not args.no_hints, query_timeout_s=args.query_timeout
        )
    else:
        suite(args.jobs)


if __name__ == "__main__":
    main()
