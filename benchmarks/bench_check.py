"""Benchmark of ``pqms check``: the protocol and every mutant, with times and counterexample sizes.

Run by hand (not a test)::

    python benchmarks/bench_check.py [--seed N] [--scenario FILE] [--cli]

For the protocol and for each mutant it runs the campaign
(:func:`pqms_model.check.campaign.run_campaign`, the same engine as ``pqms check``), replays each
counterexample's ITF trace on the model, and prints one row: verdict, invariant, whether the mutant
is registered to break it, the shrunk length, the seconds to find and shrink it, and the walks and
steps it took. ``--cli`` also times the whole ``pqms check`` process on the protocol (interpreter
start-up included). Exit 1 if a mutant escapes, breaks an invariant it is not registered for, or
the protocol does not hold.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from pqms_model.check.campaign import run_campaign
from pqms_model.model.transition import Model
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import load_default, load_scenario
from pqms_model.trace.itf import build_trace, replay_doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", help="scenario TOML (default: the embedded mesh)")
    parser.add_argument("--cli", action="store_true", help="also time `pqms check` end to end")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario) if args.scenario else load_default()
    print(f"pqms check benchmark: {scenario.name}, seed {args.seed}\n")
    head = f"{'variant':<20} {'verdict':<12} {'invariant':<22} {'ok':<3} {'len':>4} {'s':>6}"
    print(f"{head} {'walks':>6} {'steps':>7}")
    failed = False
    for mutant in [None, *Mutant]:
        start = time.perf_counter()
        result = run_campaign(scenario, mutant, seed=args.seed)
        seconds = time.perf_counter() - start
        found = result.counterexamples[0] if result.counterexamples else None
        if mutant is None:
            ok = result.verdict == "hold"
        else:
            ok = found is not None and found.invariant in mutant.breaks
        if found is not None:
            doc = build_trace(Model(scenario, mutant), found.actions, seed=args.seed,
                              invariant=found.invariant)  # fmt: skip
            again = replay_doc(doc, "<bench>", mutant).violation
            ok = ok and again is not None and again.invariant == found.invariant
        failed |= not ok
        name = mutant.key if mutant else "(protocol)"
        inv = found.invariant if found else "-"
        length = found.length if found else 0
        cov = result.coverage
        print(f"{name:<20} {result.verdict:<12} {inv:<22} {'yes' if ok else 'NO':<3} "
              f"{length:>4} {seconds:>6.1f} {cov.runs:>6} {cov.steps:>7}")  # fmt: skip
    if args.cli:
        cmd = [sys.executable, "-m", "pqms_model.cli.main", "check", "--seed", str(args.seed)]
        if args.scenario:
            cmd.append(args.scenario)
        start = time.perf_counter()
        code = subprocess.run(cmd, capture_output=True).returncode
        print(f"\n`pqms check` (protocol, whole process): exit {code}, "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        failed |= code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
