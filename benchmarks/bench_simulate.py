"""Benchmark of the discrete-event simulator (spec/simulator.md §8). Run by hand::

    python benchmarks/bench_simulate.py                 # everything below
    python benchmarks/bench_simulate.py --day           # the default scenario, one day
    python benchmarks/bench_simulate.py --mesh 100 300 1000 --hours 1
    python benchmarks/bench_simulate.py --profile 300   # cProfile of one mesh run
    python benchmarks/bench_simulate.py --split 300     # Model.step's time per action

1. **Default scenario, one simulated day, both modes**, the two modes in parallel processes
   (as ``pqms simulate --mode both`` runs them): wall time, and per mode CPU time, steps and
   steps per CPU second.
2. **Random meshes** of 100, 300 and 1,000 nodes with 20 pools, one simulated hour, invariant
   checking off: steps (events) per second, and how the cost grows with the mesh.

An *event* is one ``Model.step`` the simulator applies (time advances included); the engine's
own bookkeeping is included in the time. The random meshes are reproducible (``--seed``):
nodes uniform in a 3,000 km square, each joined to its 3 nearest neighbours, components
joined to their nearest (so the mesh is connected), links 50 Hz at fidelity 0.995, memories
16 qubits (64 at the 40 endpoints), coherence one hour; 20 pools between random endpoints,
target 4, threshold 0.05 below the best path's predicted fidelity, 0.05 requests per second
each.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import multiprocessing as mp
import pstats
import random
import sys
import time
from typing import Any

import networkx as nx

from pqms_model.physics.cost import US_PER_S
from pqms_model.protocol.scenario import Scenario, load_default, parse_scenario_text
from pqms_model.sim.pool_policy import Mode, PolicyConfig
from pqms_model.sim.routing import Router
from pqms_model.sim.simulator import Simulator, run_mode

SIDE_KM = 3000.0
ENDPOINTS = 40
POOLS = 20


def random_mesh(nodes: int, seed: int = 1, pools: int = POOLS) -> Scenario:
    """A connected random geometric mesh (module docstring), as a validated scenario."""
    rng = random.Random(seed)
    pos = {f"n{i}": (rng.uniform(0, SIDE_KM), rng.uniform(0, SIDE_KM)) for i in range(nodes)}
    names = list(pos)
    endpoints = set(names[:ENDPOINTS])

    def dist(u: str, v: str) -> float:
        return max(1.0, math.dist(pos[u], pos[v]))

    g = nx.Graph()
    for u in names:
        near = sorted((dist(u, v), v) for v in names if v != u)[:3]
        g.add_edges_from((u, v) for _, v in near)
    comps = [sorted(c) for c in nx.connected_components(g)]
    while len(comps) > 1:  # join each component to its nearest other one (a spanning tree)
        a = comps.pop()
        _, u, v = min((dist(u, v), u, v) for u in a for c in comps for v in c)
        g.add_edge(u, v)
        comps = [sorted(c) for c in nx.connected_components(g)]
    lines = ['[scenario]\nname = "random-mesh"\n']
    for n in names:
        kind, cap = ("endpoint", 64) if n in endpoints else ("relay", 16)
        lines.append(
            f'[[node]]\nname = "{n}"\nkind = "{kind}"\nmemory_capacity = {cap}\n'
            "coherence_s = 3600.0\n"
        )
    for u, v in sorted(g.edges):
        lines.append(
            f'[[link]]\na = "{u}"\nb = "{v}"\ndistance_km = {dist(u, v):.3f}\n'
            "generation_rate_hz = 50.0\ninitial_fidelity = 0.995\n"
        )
    ends = sorted(endpoints)
    chosen: list[tuple[str, str]] = []
    while len(chosen) < pools:
        a, b = rng.sample(ends, 2)
        if (a, b) not in chosen:
            chosen.append((a, b))
    base = "".join(lines)
    pool_text = "".join(
        f'[[pool]]\na = "{a}"\nb = "{b}"\ntarget_size = 4\nthreshold_fidelity = 0.3\n'
        "max_wait_s = 600.0\n"
        for a, b in chosen
    )
    draft = parse_scenario_text(base + pool_text, "<random-mesh draft>")
    router = Router(draft, k=1)
    final = []
    for pl in draft.pools:
        plan = router.plans(pl.index, frozenset())[0]
        th = max(0.3, plan.fidelity_at_use - 0.05)
        final.append(
            f'[[pool]]\na = "{pl.a}"\nb = "{pl.b}"\ntarget_size = 4\n'
            f"threshold_fidelity = {th:.4f}\nmax_wait_s = 600.0\n"
        )
    traffic = "".join(f'[[traffic]]\na = "{a}"\nb = "{b}"\nrate_hz = 0.05\n' for a, b in chosen)
    return parse_scenario_text(base + "".join(final) + traffic, f"<random-mesh {nodes}>")


def _mode_worker(mode: str, duration_us: int, seed: int) -> dict[str, Any]:
    cpu = time.process_time()
    run = run_mode(load_default(), Mode(mode), duration_us, seed)
    cpu = time.process_time() - cpu
    return {"mode": mode, "cpu_s": cpu, "events": run.summary["events"], "summary": run.summary}


def bench_day(seed: int) -> None:
    duration_us = 86_400 * US_PER_S
    wall = time.perf_counter()
    with mp.get_context("fork").Pool(2) as pool:
        results = pool.starmap(
            _mode_worker, [(m, duration_us, seed) for m in ("proactive", "reactive")]
        )
    wall = time.perf_counter() - wall
    print(f"default scenario, one simulated day, both modes in parallel: wall {wall:.2f} s")
    for r in results:
        m = r["summary"]
        su, sig, fid = (
            m["setup_latency_s"],
            m["signal_latency_over_light_time"],
            m["fidelity_at_use"],
        )
        print(
            f"  {r['mode']:<9} cpu {r['cpu_s']:6.2f} s  steps {r['events']:>8}  "
            f"{r['events'] / r['cpu_s']:>8.0f} steps/cpu-s  | set-up p50 {su['p50']:.6f} s "
            f"p95 {su['p95']:.3f} s  hit {m['pool_hit_rate']:.4f}  signal/light min "
            f"{sig['min']:.6f}  F min {fid['min']:.6f}  failures {m['failures']}"
        )
        for name, p in m["per_pool"].items():
            print(
                f"      {name:<12} req {p['requests']:>6} hit {p['pool_hit_rate']:.4f} "
                f"p50 {p['setup_latency_s']['p50']:.3f} p95 {p['setup_latency_s']['p95']:.3f} "
                f"F min {p['fidelity_at_use_min']:.4f} (threshold {p['threshold_fidelity']}) "
                f"rate {p['achieved_rate_hz']:.5f}/{p['max_flow_bound_hz']:.5f} Hz"
            )


def bench_mesh(sizes: list[int], hours: float, seed: int) -> None:
    print(f"random meshes, {POOLS} pools, {hours:g} simulated hour(s), checking off")
    print(
        f"  {'nodes':>6} {'links':>6} {'hops':>5} {'build s':>8} {'cpu s':>8} {'steps':>9} "
        f"{'steps/s':>9} {'deliveries':>10} {'hit rate':>8}"
    )
    for n in sizes:
        t0 = time.perf_counter()
        sc = random_mesh(n, seed)
        sim = Simulator(sc, PolicyConfig(), seed)
        build = time.perf_counter() - t0
        hops = sum(len(r[0]) - 1 for r in sim.last_route.values())
        cpu = time.process_time()
        m = sim.run(round(hours * 3600 * US_PER_S))
        cpu = time.process_time() - cpu
        hops = sum(len(p) - 1 for p, _ in sim.last_route.values()) / max(1, len(sim.last_route))
        reqs = sum(p.requests for p in m.pools)
        hit = sum(p.hits for p in m.pools) / reqs if reqs else float("nan")
        print(
            f"  {n:>6} {len(sc.links):>6} {hops:>5.1f} {build:>8.1f} {cpu:>8.2f} {m.events:>9} "
            f"{m.events / cpu:>9.0f} {sum(p.deliveries for p in m.pools):>10} {hit:>8.3f}"
        )


def profile_mesh(n: int, hours: float, seed: int) -> None:
    sc = random_mesh(n, seed)
    sim = Simulator(sc, PolicyConfig(), seed)
    prof = cProfile.Profile()
    prof.enable()
    sim.run(round(hours * 3600 * US_PER_S))
    prof.disable()
    pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(25)


def split_mesh(n: int, hours: float, seed: int) -> None:
    """Time ``Model.step`` per action type in one mesh run (the rest is the simulator's)."""
    sim = Simulator(random_mesh(n, seed), PolicyConfig(), seed)
    step, clock = sim.model.step, time.perf_counter
    spent: dict[str, float] = {}
    count: dict[str, int] = {}

    def timed(s: Any, a: Any) -> Any:
        t0 = clock()
        try:
            return step(s, a)
        finally:
            name = a.name
            spent[name] = spent.get(name, 0.0) + clock() - t0
            count[name] = count.get(name, 0) + 1

    sim.model.step = timed  # type: ignore[method-assign]
    cpu = time.process_time()
    m = sim.run(round(hours * 3600 * US_PER_S))
    cpu = time.process_time() - cpu
    in_step = sum(spent.values())
    print(f"{n} nodes: {m.events} steps in {cpu:.2f} s CPU (timing included); Model.step "
          f"{in_step:.2f} s ({in_step / cpu:.0%}), the simulator the rest")  # fmt: skip
    for name in sorted(spent, key=spent.__getitem__, reverse=True):
        print(f"  {name:15s} {count[name]:>9} steps {spent[name]:6.2f} s "
              f"{spent[name] / count[name] * 1e6:7.1f} us each")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--day", action="store_true", help="only the default-scenario day run")
    ap.add_argument("--mesh", type=int, nargs="*", help="only the random meshes of these sizes")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", type=int, metavar="NODES", help="cProfile one mesh run")
    ap.add_argument("--split", type=int, metavar="NODES", help="Model.step time per action")
    args = ap.parse_args()
    if args.profile:
        profile_mesh(args.profile, args.hours, args.seed)
        return
    if args.split:
        split_mesh(args.split, args.hours, args.seed)
        return
    everything = not args.day and args.mesh is None
    if args.day or everything:
        bench_day(args.seed)
    if args.mesh or everything:
        bench_mesh(args.mesh or [100, 300, 1000], args.hours, args.seed)


if __name__ == "__main__":
    main()
