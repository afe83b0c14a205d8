"""``pqms feasibility [SCENARIO] [--coherence S ...] [--json FILE] [--plot FILE]`` (issue 4).

For each pool: the memory coherence time needed (same at every node) so that a pair made along
the best route still meets the pool's threshold at the receiver's correction after the longest
pool wait, across the Earth–Mars range; and for given coherence times (default: the best
demonstrated memories and the scenario's own) the longest distance that works. The computation
is :mod:`pqms_model.feasibility.coherence`; this module prints, writes and plots it. Exit 0 when the
report was produced, 2 on bad input (nothing written).

JSON schema (``--json FILE``; ``"schema": "pqms-feasibility/1"``)::

    {
      "schema": "pqms-feasibility/1",
      "scenario": str, "source": str,
      "assumptions": [str, ...],
      "distance_model": null | {            # null: the scenario has no earth and mars nodes
        "near": "earth", "far": "mars",
        "scenario_distance_ls": float,       # light time of the scenario's Earth–Mars path
        "stretched_links": ["a-b", ...],     # scaled by D / scenario_distance_ls
        "fixed_links": ["a-b", ...]},
      "distances_ls": [float, ...],          # the Earth–Mars distances D tabulated
      "memories": [{"label": str, "coherence_s": float, "source": str}, ...],
      "pools": [{
        "pool": "earth->mars", "sender": str, "receiver": str,
        "threshold_fidelity": float, "max_wait_s": float,
        "depends_on_distance": bool,         # its best route stretches with D
        "best_path": [str, ...], "schedule": "sequential" | "nested",
        "initial_fidelity": float,           # end-to-end, after the swaps, before any wait
        "at_scenario_distance": {
          "distance_ls": float,
          "hold_s": {"build": float, "pool_wait": float, "transit": float, "total": float},
          "required_coherence_s": float | null, "reason": str},   # null: no T suffices
        "required_coherence_s": {"182": float | null, ...},       # keyed by D (as in %g)
        "required_coherence_used_at_once_s": {"182": float | null, ...},
        "limits": [{"memory": str, "coherence_s": float,
                    "max_distance_ls": float | "infeasible" | "unlimited",
                    "max_distance_used_at_once_ls": float | "infeasible" | "unlimited",
                    "max_wait_s": float | null}, ...]}, ...],   # at the scenario's distance
      "max_distance_ls": {"<pool>": {"<memory label>": float | "infeasible" | "unlimited"}}
    }

``hold_s`` is the sum over all memory halves of the time each is held: ``build`` until the
end-to-end pair exists, ``pool_wait`` = 2 x max_wait (both halves), ``transit`` the
receiver's half while the bits fly; required coherence = total / ln(w0 / w_th).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from pqms_model.feasibility.coherence import (
    DEMONSTRATED_MEMORIES,
    EARTH_MARS_RANGE_LS,
    FeasibilityError,
    Limit,
    Memory,
    PoolFeasibility,
    Report,
    analyse,
    best_budget,
)
from pqms_model.physics.werner import werner_to_fidelity
from pqms_model.protocol.scenario import Scenario, load_default, load_scenario

__all__ = ["add_arguments", "render_png", "render_table", "report_json", "run"]

SCHEMA = "pqms-feasibility/1"
_PLOT_POINTS = 96
_PLOT_HINT = "--plot needs matplotlib: pip install 'pqms[plot]'"


def _coherence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (0.0 < value < math.inf):
        raise argparse.ArgumentTypeError(f"must be > 0 and finite seconds, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario", nargs="?", help="scenario TOML file (default: the embedded earth-moon-mars)"
    )
    parser.add_argument(
        "--coherence",
        metavar="SECONDS",
        type=_coherence,
        action="append",
        help="coherence time to test (repeatable; default: the demonstrated memories "
        "and the scenario's own)",
    )
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON")
    parser.add_argument("--plot", metavar="FILE", help="write a PNG of required coherence vs D")


def run(args: argparse.Namespace) -> int:
    """Compute, print the tables, then write the requested files (all checked first)."""
    outputs = [Path(p) for p in (args.json, args.plot) if p is not None]
    for path in outputs:
        _check_writable(path)
    if args.plot is not None:
        _require_matplotlib()
    scenario: Scenario = load_default() if args.scenario is None else load_scenario(args.scenario)
    memories = None
    if args.coherence:
        unique = dict.fromkeys(args.coherence)  # keep the order, drop repeats (labels are keys)
        memories = [Memory(f"{t:g} s", t, "--coherence") for t in unique]
    report = analyse(scenario, memories)
    files: list[tuple[Path, bytes]] = []
    if args.json is not None:
        text = json.dumps(report_json(report), indent=2, ensure_ascii=False) + "\n"
        files.append((Path(args.json), text.encode("utf-8")))
    if args.plot is not None:
        files.append((Path(args.plot), render_png(scenario, report)))
    _write_all(files)
    print(render_table(report))
    for path, _ in files:
        print(f"wrote {path}")
    return 0


# --- output files: nothing is written unless everything can be -----------------------------


def _check_writable(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise FeasibilityError(f"{path}: is a directory, not a file to write")
    if not parent.is_dir():
        raise FeasibilityError(f"{path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise FeasibilityError(f"{path}: not writable")


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise FeasibilityError(_PLOT_HINT) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_all(files: list[tuple[Path, bytes]]) -> None:
    """Write every file to a temporary sibling first, then rename them all into place."""
    temps: list[tuple[str, Path]] = []
    try:
        for path, data in files:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            temps.append((tmp, path))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        for tmp, path in temps:
            os.replace(tmp, path)
    except OSError as e:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise FeasibilityError(f"cannot write output ({e})") from None


# --- JSON -----------------------------------------------------------------------------------


def _key(d_ls: float) -> str:
    return f"{d_ls:g}"


def _dist(value: float | None) -> float | str:
    if value is None:
        return "infeasible"
    return "unlimited" if value == math.inf else value


def _limit_json(lim: Limit) -> dict[str, Any]:
    return {
        "memory": lim.memory.label,
        "coherence_s": lim.memory.coherence_s,
        "max_distance_ls": _dist(lim.max_distance_ls),
        "max_distance_used_at_once_ls": _dist(lim.max_distance_at_once_ls),
        "max_wait_s": lim.max_wait_s,
    }


def _pool_json(p: PoolFeasibility) -> dict[str, Any]:
    b = p.at_scenario
    return {
        "pool": p.label,
        "sender": p.pool.a,
        "receiver": p.pool.b,
        "threshold_fidelity": p.pool.threshold_fidelity,
        "max_wait_s": p.pool.max_wait_us / 1e6,
        "depends_on_distance": p.depends_on_distance,
        "best_path": list(b.route.path),
        "schedule": b.route.schedule.value,
        "initial_fidelity": werner_to_fidelity(b.route.w0),
        "at_scenario_distance": {
            "distance_ls": b.distance_ls,
            "hold_s": {
                "build": b.build_s,
                "pool_wait": 2.0 * b.wait_s,
                "transit": b.transit_s,
                "total": b.hold_s,
            },
            "required_coherence_s": b.required_coherence_s,
            "reason": b.reason,
        },
        "required_coherence_s": {_key(x.distance_ls): x.required_coherence_s for x in p.sweep},
        "required_coherence_used_at_once_s": {
            _key(x.distance_ls): x.required_coherence_s for x in p.sweep_at_once
        },
        "limits": [_limit_json(lim) for lim in p.limits],
    }


def report_json(report: Report) -> dict[str, Any]:
    """The report as the documented JSON object (see the module docstring)."""
    geo = report.geometry
    distance_model = None
    if geo.base_ls is not None:
        names = geo.link_names
        distance_model = {
            "near": "earth",
            "far": "mars",
            "scenario_distance_ls": geo.base_ls,
            "stretched_links": [n for i, n in enumerate(names) if i in geo.scaled],
            "fixed_links": [n for i, n in enumerate(names) if i not in geo.scaled],
        }
    return {
        "schema": SCHEMA,
        "scenario": report.scenario,
        "source": report.source,
        "assumptions": list(report.assumptions),
        "distance_model": distance_model,
        "distances_ls": list(report.distances_ls),
        "memories": [
            {"label": m.label, "coherence_s": m.coherence_s, "source": m.source}
            for m in report.memories
        ],
        "pools": [_pool_json(p) for p in report.pools],
        "max_distance_ls": {
            p.label: {lim.memory.label: _dist(lim.max_distance_ls) for lim in p.limits}
            for p in report.pools
        },
    }


# --- the table ------------------------------------------------------------------------------


def _hours(t_s: float | None) -> str:
    """Three significant digits, trailing zeros kept: 24.0 h, 6.01 h."""
    return "infeasible" if t_s is None else f"{t_s / 3600:#.3g}".rstrip(".") + " h"


def _d(value: float | None, depends: bool) -> str:
    if value is None:
        return "none"
    if value == math.inf:
        return "any" if depends else "any (no D)"
    return f"{value:.0f} ls"


def render_table(report: Report) -> str:
    """The readable report printed on stdout."""
    geo = report.geometry
    own = f"{geo.base_ls:.1f} ls" if geo.base_ls is not None else "the scenario's distances"
    out = [
        f"pqms feasibility: {report.scenario} ({report.source})",
        "Memory coherence T needed, the same at every node, so that a pair made along the best",
        "route is still above the pool's threshold at the receiver's correction after the",
        "longest pool wait: T >= H / ln(w0 / w_th), H = sum over halves of the time held.",
        "",
        f"At the scenario's own distance (Earth-Mars {own}):",
        f"{'pool':<13}{'F_th':>5}{'max wait':>10}  {'best route':<30}{'schedule':<11}"
        f"{'F0':>7}{'build':>9}{'2 wait':>9}{'transit':>9}{'H':>9}  T needed",
    ]
    for p in report.pools:
        b = p.at_scenario
        t = b.required_coherence_s
        need = f"{t:.0f} s ({_hours(t)})" if t is not None else f"infeasible: {b.reason}"
        sched = b.route.schedule.value if len(b.route.path) > 3 else "-"
        out.append(
            f"{p.label:<13}{p.pool.threshold_fidelity:>5.2f}{p.pool.max_wait_us / 1e6:>8.0f} s  "
            f"{'-'.join(b.route.path):<30}{sched:<11}{werner_to_fidelity(b.route.w0):>7.4f}"
            f"{b.build_s:>8.1f}s{2 * b.wait_s:>8.1f}s{b.transit_s:>8.1f}s{b.hold_s:>8.1f}s  {need}"
        )
    if report.distances_ls:
        out += ["", "T needed against the Earth-Mars distance D (light-seconds):"]
        out.append(f"{'pool':<27}" + "".join(f"{d:>10g}" for d in report.distances_ls))
        for p in report.pools:
            if not p.depends_on_distance:
                out.append(f"{p.label:<27}{_hours(p.at_scenario.required_coherence_s):>10}"
                           "   (does not depend on D)")  # fmt: skip
                continue
            for name, sweep in (("", p.sweep), (" used at once", p.sweep_at_once)):
                cells = "".join(f"{_hours(x.required_coherence_s):>10}" for x in sweep)
                out.append(f"{p.label + name:<27}{cells}")
    out += [
        "",
        "What a memory allows (pooled = used after max_wait; at once = used when ready):",
        f"{'memory':<28}{'T':>10}  {'pool':<13}{'longest D pooled':>18}{'at once':>14}"
        f"{'longest wait at ' + own:>30}",
    ]
    for i, mem in enumerate(report.memories):
        for p in report.pools:
            lim = p.limits[i]
            wait = "none" if lim.max_wait_s is None else f"{lim.max_wait_s:.1f} s"
            out.append(
                f"{mem.label:<28}{mem.coherence_s:>8.0f} s  {p.label:<13}"
                f"{_d(lim.max_distance_ls, p.depends_on_distance):>18}"
                f"{_d(lim.max_distance_at_once_ls, p.depends_on_distance):>14}{wait:>30}"
            )
    return "\n".join(out)


# --- the figure -----------------------------------------------------------------------------


def _s_to_h(t: Any) -> Any:
    return t / 3600.0


def _h_to_s(t: Any) -> Any:
    return t * 3600.0


def render_png(scenario: Scenario, report: Report) -> bytes:
    """PNG: required coherence (log) against the Earth–Mars distance, memories as lines."""
    if report.geometry.base_ls is None:
        raise FeasibilityError(
            f"{scenario.source}: no 'earth' and 'mars' nodes, so no Earth-Mars distance to plot"
        )
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError:
        raise FeasibilityError(_PLOT_HINT) from None
    lo, hi = EARTH_MARS_RANGE_LS
    xs = [lo + (hi - lo) * i / (_PLOT_POINTS - 1) for i in range(_PLOT_POINTS)]
    curves: dict[tuple[tuple[float, ...], bool], list[str]] = {}
    for p in report.pools:
        if not p.depends_on_distance:
            continue
        for at_once in (False, True):
            ys = []
            for x in xs:
                t = best_budget(scenario, report.geometry, p.pool, x, at_once=at_once)
                ys.append(math.nan if t.required_coherence_s is None else t.required_coherence_s)
            curves.setdefault((tuple(ys), at_once), []).append(p.label)
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    colours = ["tab:blue", "tab:green", "tab:purple", "tab:brown", "tab:olive"]
    pooled = [k for k in curves if not k[1]]
    for n, key in enumerate(pooled):
        colour = colours[n % len(colours)]
        names = " = ".join(curves[key])
        waits = {p.pool.max_wait_us / 1e6 for p in report.pools if p.label in curves[key]}
        when = f"used {waits.pop():g} s after it is made" if len(waits) == 1 else "after max_wait"
        ax.plot(xs, key[0], color=colour, lw=2, label=f"{names}: {when} (pool's max wait)")
        for other, at_once in curves:
            if at_once and curves[(other, at_once)] == curves[key]:
                ax.plot(xs, other, color=colour, lw=2, ls="--", label=f"{names}: used at once")
    memories = list(DEMONSTRATED_MEMORIES)
    memories += [
        m for m in report.memories if m.coherence_s not in {x.coherence_s for x in memories}
    ]
    for m, colour in zip(memories, ["tab:red", "tab:orange", "grey", "black"], strict=False):
        ax.axhline(m.coherence_s, color=colour, lw=1.2, ls=":")
        ax.annotate(f"{m.label} ({m.source})", (lo + 8, m.coherence_s * 1.07), color=colour,
                    fontsize=8)  # fmt: skip
    ax.set_yscale("log")
    finite = [y for ys, _ in curves for y in ys if not math.isnan(y)]
    finite += [m.coherence_s for m in memories]
    ax.set_ylim(min(finite) / 1.6, max(finite) * 4.0)  # headroom above the curves: the legend
    ax.set_xlim(lo, hi)
    ax.set_xlabel("Earth–Mars distance D (light-seconds)")
    ax.set_ylabel("memory coherence time needed (s, same at every node)")
    hours = ax.secondary_yaxis("right", functions=(_s_to_h, _h_to_s))
    hours.set_ylabel("hours")
    hours.set_yticks([1, 2, 3, 6, 12, 24, 48], labels=["1", "2", "3", "6", "12", "24", "48"])
    hours.set_yticks([], minor=True)
    ax.set_title(f"pqms feasibility: {report.scenario}", fontsize=11)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
