"""``pqms simulate``: proactive pool against reactive distribution (``spec/simulator.md`` §6).

Usage: ``pqms simulate [SCENARIO] --mode proactive|reactive|both --duration SECONDS --seed N``.

Runs the discrete-event simulator (:mod:`pqms_model.sim.simulator`) on a scenario: the pool kept
ahead of demand (*proactive*, the PQMS) against entanglement distribution started per request
(*reactive*, whitepaper §1). Prints a summary per mode; ``--json FILE`` writes::

    {"schema": "pqms-simulate/1", "scenario": str, "seed": int, "duration_s": float,
     "modes": {"proactive": M, "reactive": M}}

where ``M`` is ``{"requests", "deliveries", "failures", "setup_latency_s": {"p50", "p95",
"max"}, "signal_latency_over_light_time": {"min", "p50"}, "fidelity_at_use": {"min", "p50"},
"pool_hit_rate", "discarded_pairs", "memory_utilisation", "events", "wall_s", "per_pool"}``
(see :meth:`pqms_model.sim.metrics.Metrics.summary`). The same seed gives the same JSON, byte
for byte, except the ``wall_s`` fields. ``--plot DIR`` writes four PNGs (matplotlib, an
optional extra). ``--check`` evaluates every invariant after every step; a violation writes a
replayable ITF trace under ``--out`` (default ``./counterexamples``) and exits 1. Bad input:
one line, exit 2, nothing written. With ``--mode both`` the two modes run in parallel
processes (``--jobs``).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

from pqms_model.errors import PqmsError
from pqms_model.model.transition import Model
from pqms_model.physics.cost import US_PER_S
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario, load_default, load_scenario, parse_scenario_text
from pqms_model.sim.pool_policy import Mode
from pqms_model.sim.simulator import ModeRun, SimulationViolation, run_mode

__all__ = ["SimulateError", "add_arguments", "render_text", "run"]

SCHEMA = "pqms-simulate/1"
MAX_DURATION_S = 1e8  # about three years of simulated time
_PLOT_HINT = "--plot needs matplotlib: pip install 'pqms[plot]'"


class SimulateError(PqmsError):
    """Input ``pqms simulate`` cannot use (a bad duration, an unwritable file)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario", nargs="?", help="scenario TOML file (default: the embedded earth-moon-mars)"
    )
    parser.add_argument(
        "--mode",
        choices=["proactive", "reactive", "both"],
        default="both",
        help="pool kept ahead of demand, distribution per request, or both (default)",
    )
    parser.add_argument(
        "--duration", metavar="SECONDS", default="3600", help="simulated time (default 3600)"
    )
    parser.add_argument("--seed", metavar="N", default="0", help="random seed (default 0)")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--plot", metavar="DIR", help="write PNG figures into DIR")
    parser.add_argument(
        "--check", action="store_true", help="evaluate every invariant after every step"
    )
    parser.add_argument(
        "--out", metavar="DIR", help="where --check writes a counterexample (./counterexamples)"
    )
    parser.add_argument("--mutant", metavar="NAME", help="simulate a planted-bug variant")
    parser.add_argument(
        "--jobs", metavar="N", default="2", help="processes for --mode both (default 2)"
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )


# --- input checks: everything before any work is done -----------------------------------------


def _number(text: object, flag: str, low: float, high: float) -> float:
    try:
        value = float(str(text))
    except ValueError:
        raise SimulateError(f"{flag}: not a number: {text!r}") from None
    if not (low < value <= high) or not math.isfinite(value):
        raise SimulateError(f"{flag}: must be > {low:g} and <= {high:g}, got {text!r}")
    return value


def _integer(text: object, flag: str, low: int, high: int) -> int:
    try:
        value = int(str(text))
    except ValueError:
        raise SimulateError(f"{flag}: not an integer: {text!r}") from None
    if not low <= value <= high:
        raise SimulateError(f"{flag}: must be {low}..{high}, got {value}")
    return value


def _writable_file(path: Path, flag: str) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise SimulateError(f"{flag} {path}: is a directory, not a file to write")
    if not parent.is_dir():
        raise SimulateError(f"{flag} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise SimulateError(f"{flag} {path}: not writable")


def _directory(path: Path, flag: str) -> None:
    if path.exists() and not path.is_dir():
        raise SimulateError(f"{flag} {path}: exists and is not a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not path.exists() and not parent.is_dir():
        raise SimulateError(f"{flag} {path}: parent directory {parent} does not exist")


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise SimulateError(_PLOT_HINT) from None


# --- running ------------------------------------------------------------------------------------


def _worker(queue: Any, text: str, source: str, mode: str, job: dict[str, Any]) -> None:
    """One mode in its own process: progress and the result go back through ``queue``."""
    try:
        scenario = parse_scenario_text(text, source)
        result = _one(scenario, Mode(mode), job, lambda t: queue.put(("progress", mode, t)))
        queue.put(("done", mode, result))
    except SimulationViolation as e:
        queue.put(("violation", mode, (e.violation, e.actions, str(e))))
    except BaseException as e:
        queue.put(("error", mode, f"{type(e).__name__}: {e}"))


def _one(scenario: Scenario, mode: Mode, job: dict[str, Any], progress: Any) -> ModeRun:
    mutant = Mutant.parse(job["mutant"]) if job["mutant"] else None
    return run_mode(
        scenario,
        mode,
        job["duration_us"],
        job["seed"],
        check=job["check"],
        mutant=mutant,
        progress=progress,
    )


class _Progress:
    """A one-line progress bar on stderr (per mode: simulated time done)."""

    def __init__(self, modes: list[str], duration_us: int, enabled: bool) -> None:
        self.done = dict.fromkeys(modes, 0)
        self.duration_us, self.enabled = duration_us, enabled
        self._last = 0.0

    def update(self, mode: str, t_us: int, force: bool = False) -> None:
        self.done[mode] = t_us
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.2 and not force):
            return
        self._last = now
        parts = []
        for m, t in self.done.items():
            frac = min(1.0, t / self.duration_us)
            bar = "#" * int(frac * 20)
            parts.append(f"{m} [{bar:<20}] {frac:4.0%}")
        sys.stderr.write("\r" + "  ".join(parts))
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _run_modes(
    scenario: Scenario, modes: list[str], job: dict[str, Any], jobs: int, bar: _Progress
) -> dict[str, Any]:
    """Results per mode: a ModeRun, or ("violation", ...) / ("error", ...)."""
    out: dict[str, Any] = {}
    if jobs == 1 or len(modes) == 1:
        for mode in modes:
            try:
                out[mode] = _one(scenario, Mode(mode), job, lambda t, m=mode: bar.update(m, t))
            except SimulationViolation as e:
                out[mode] = ("violation", (e.violation, e.actions, str(e)))
            bar.update(mode, job["duration_us"], force=True)
        return out
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(queue, scenario.toml_text, scenario.source, m, job))
        for m in modes
    ]
    for p in procs:
        p.start()
    while len(out) < len(modes):
        kind, mode, payload = queue.get()
        if kind == "progress":
            bar.update(mode, payload)
        else:
            out[mode] = payload if kind == "done" else (kind, payload)
            bar.update(mode, job["duration_us"], force=True)
    for p in procs:
        p.join()
    return out


def run(args: argparse.Namespace) -> int:
    """Check the input, run the modes, print, write the requested files (module docstring)."""
    duration_s = _number(args.duration, "--duration", 0.0, MAX_DURATION_S)
    seed = _integer(args.seed, "--seed", 0, 2**63 - 1)
    jobs = _integer(getattr(args, "jobs", 2), "--jobs", 1, 64)
    mutant = getattr(args, "mutant", None)
    if mutant is not None:
        try:
            Mutant.parse(mutant)
        except ValueError as e:
            raise SimulateError(f"--mutant: {e}") from None
    if args.json is not None:
        _writable_file(Path(args.json), "--json")
    if args.plot is not None:
        _directory(Path(args.plot), "--plot")
        _require_matplotlib()
    out_dir = Path(getattr(args, "out", None) or "counterexamples")
    if args.check:
        _directory(out_dir, "--out")
    scenario = load_default() if args.scenario is None else load_scenario(args.scenario)
    if not scenario.pools:
        raise SimulateError(f"{scenario.source}: pool: the scenario has no [[pool]] to simulate")
    modes = ["proactive", "reactive"] if args.mode == "both" else [args.mode]
    duration_us = max(1, round(duration_s * US_PER_S))
    job = {"duration_us": duration_us, "seed": seed, "check": args.check, "mutant": mutant}
    show = getattr(args, "progress", None)
    enabled = sys.stderr.isatty() if show is None else bool(show)
    bar = _Progress(modes, duration_us, enabled)
    try:
        results = _run_modes(scenario, modes, job, jobs, bar)
    finally:
        bar.close()
    for mode in modes:
        res = results[mode]
        if isinstance(res, tuple) and res[0] == "error":
            raise SimulateError(f"{mode} run failed: {res[1]}")
        if isinstance(res, tuple) and res[0] == "violation":
            return _report_violation(scenario, mode, res[1], seed, mutant, out_dir)
    runs: dict[str, ModeRun] = {m: results[m] for m in modes}
    doc = {
        "schema": SCHEMA,
        "scenario": scenario.name,
        "seed": seed,
        "duration_s": duration_s,
        "modes": {m: r.summary for m, r in runs.items()},
    }
    print(render_text(doc))
    if args.json is not None:
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.plot is not None:
        from pqms_model.sim.plots import render_all

        Path(args.plot).mkdir(exist_ok=True)
        for path in render_all(scenario, {m: r.series for m, r in runs.items()}, Path(args.plot)):
            print(f"wrote {path}")
    return 0


def _report_violation(
    scenario: Scenario, mode: str, payload: Any, seed: int, mutant: str | None, out_dir: Path
) -> int:
    from pqms_model.trace.itf import build_trace, dumps

    violation, actions, text = payload
    model = Model(scenario, Mutant.parse(mutant) if mutant else None)
    doc = build_trace(model, actions, seed=seed, invariant=violation.invariant, engine="simulator")
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"{scenario.name}-{mutant or 'protocol'}-simulate-{mode}-{violation.invariant}.itf.json"
    path = out_dir / name
    path.write_text(dumps(doc), encoding="utf-8")
    print(f"pqms simulate: {mode}: {text}", file=sys.stderr)
    print(f"pqms simulate: counterexample trace ({len(actions)} steps) written to {path}")
    flag = f"--mutant {mutant} " if mutant else ""
    print(f"pqms simulate: replay it with: pqms replay {flag}{path}")
    return 1


# --- the text summary ----------------------------------------------------------------------------


def _f(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def render_text(doc: dict[str, Any]) -> str:
    """The summary printed on stdout: one block per mode, one line per pool."""
    lines = [
        f"pqms simulate: {doc['scenario']}, {doc['duration_s']:g} s simulated, seed {doc['seed']}"
    ]
    for mode, m in doc["modes"].items():
        su, sig, fid = (
            m["setup_latency_s"],
            m["signal_latency_over_light_time"],
            m["fidelity_at_use"],
        )
        lines += [
            "",
            f"{mode}: {m['requests']} requests, {m['deliveries']} delivered, {m['failures']} "
            f"failed; pool hit rate {_f(m['pool_hit_rate'], '.4f')}",
            f"  set-up latency p50 {_f(su['p50'], '.6f')} s, p95 {_f(su['p95'], '.3f')} s, "
            f"max {_f(su['max'], '.3f')} s",
            f"  signal latency / light time: min {_f(sig['min'], '.6f')}, p50 "
            f"{_f(sig['p50'], '.6f')} (never below 1: no instant effect)",
            f"  fidelity at use: min {_f(fid['min'], '.6f')}, p50 {_f(fid['p50'], '.6f')}; "
            f"{m['discarded_pairs']} pairs cut off; memory utilisation "
            f"{_f(m['memory_utilisation'], '.3f')}; {m['events']} steps in {m['wall_s']:.2f} s",
            f"  {'pool':<14} {'req':>7} {'hit rate':>8} {'p50 s':>9} {'p95 s':>9} "
            f"{'F min':>7} {'thresh':>6} {'made/s':>9} {'bound/s':>9} {'of bound':>8}",
        ]
        for name, p in m["per_pool"].items():
            lines.append(
                f"  {name:<14} {p['requests']:>7} {_f(p['pool_hit_rate'], '.4f'):>8} "
                f"{_f(p['setup_latency_s']['p50'], '.3f'):>9} "
                f"{_f(p['setup_latency_s']['p95'], '.3f'):>9} "
                f"{_f(p['fidelity_at_use_min'], '.4f'):>7} {p['threshold_fidelity']:>6.3f} "
                f"{_f(p['achieved_rate_hz'], '.5f'):>9} {_f(p['max_flow_bound_hz'], '.5f'):>9} "
                f"{_f(p['achieved_fraction'], '.4f'):>8}"
            )
    return "\n".join(lines)
