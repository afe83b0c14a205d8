"""The actions worth trying in a state (spec §8): one enumeration every driver ranks.

:func:`candidates` lists, per action name, a superset of the enabled actions with finite
parameters, under every protocol setting (mutants included: every end of every pair for
``admit``, ``use_pair`` and ``expire``, since a mutant may relax their status conjuncts);
``Model.step`` alone decides which are enabled. Routes come from the k shortest paths per pool
(:func:`route_paths`); a swap or purification is listed once per unordered pair of pairs, and
only for halves that are ready (every protocol variant requires it); ``advance_time`` and
``delay_message`` take free integers, so one representative each is listed (a driver picks the
amount).

>>> from pqms_model.protocol.scenario import load_default
>>> sc = load_default()
>>> from pqms_model.protocol.state import initial_state
>>> c = candidates(sc, route_paths(sc), initial_state(sc.node_names))
>>> [a.path for a in c["choose_route"]][:2]
[('earth', 'moon'), ('earth', 'relay-l1', 'moon')]
>>> c["use_pair"], c["advance_time"]
([], [AdvanceTime(dt_us=1)])
"""

from __future__ import annotations

import itertools

import networkx as nx

from pqms_model.protocol.actions import (
    ACTION_TYPES,
    Action,
    Admit,
    AdvanceTime,
    ChooseRoute,
    Crash,
    DelayMessage,
    Deliver,
    DropRoute,
    Expire,
    GenerateLink,
    LinkDown,
    LinkUp,
    Purify,
    Receive,
    Recover,
    Swap,
    UsePair,
)
from pqms_model.protocol.scenario import Scenario
from pqms_model.protocol.state import EndStatus, MsgKind, Pair, Schedule, State

__all__ = ["ROUTE_CHOICES", "candidates", "route_paths"]

ROUTE_CHOICES = 3
"""Candidate paths per pool (the k shortest by light time)."""

_READY = EndStatus.READY


def route_paths(scenario: Scenario) -> dict[int, list[tuple[str, ...]]]:
    """Per pool, its :data:`ROUTE_CHOICES` shortest simple paths by light time (networkx)."""
    out: dict[int, list[tuple[str, ...]]] = {}
    for pl in scenario.pools:
        gen = nx.shortest_simple_paths(scenario.graph, pl.a, pl.b, weight="light_us")
        out[pl.index] = [tuple(p) for p in itertools.islice(gen, ROUTE_CHOICES)]
    return out


def candidates(
    scenario: Scenario, paths: dict[int, list[tuple[str, ...]]], s: State
) -> dict[str, list[Action]]:
    """Per action name (every name in ``ACTION_TYPES``), the candidates in ``s``."""
    g: dict[str, list[Action]] = {name: [] for name in ACTION_TYPES}
    for pool, pool_paths in paths.items():
        for path in pool_paths:
            for sched in Schedule:
                if len(path) > 3 or sched is Schedule.SEQUENTIAL:  # the same tree below 3 hops
                    g["choose_route"].append(ChooseRoute(pool, path, sched))
    for r in s.routes.values():
        if r.active:
            g["drop_route"].append(DropRoute(r.id))
            g["generate_link"] += [GenerateLink(r.id, hop) for hop in range(len(r.path) - 1)]
    for msg in s.messages.values():
        if msg.kind is MsgKind.BITS:
            g["deliver"].append(Deliver(msg.id))
        else:
            g["receive"].append(Receive(msg.id))
        g["delay_message"].append(DelayMessage(msg.id, 1))
    ready: dict[tuple[int, str], list[Pair]] = {}
    for p in s.pairs.values():
        for i in (0, 1):
            n = p.nodes[i]
            g["admit"].append(Admit(p.id, n))
            g["use_pair"].append(UsePair(p.id, n))
            g["expire"].append(Expire(p.id, n))
            if p.status[i] is _READY:
                ready.setdefault((p.route, n), []).append(p)
    for (_, n), group in ready.items():
        for left, right in itertools.combinations(group, 2):
            g["swap"].append(Swap(left.id, right.id, n))
    e2e = [p for p in s.pairs.values() if p.swapper is None and p.status == (_READY, _READY)]
    for keep, sac in itertools.combinations(e2e, 2):
        if keep.route == sac.route:
            g["purify"] += [Purify(keep.id, sac.id, True), Purify(keep.id, sac.id, False)]
    for ln in scenario.links:
        g["link_up" if ln.index in s.links_down else "link_down"].append(
            LinkUp(ln.index) if ln.index in s.links_down else LinkDown(ln.index)
        )
    for node in scenario.node_names:
        g["recover" if node in s.nodes_down else "crash"].append(
            Recover(node) if node in s.nodes_down else Crash(node)
        )
    g["advance_time"] = [AdvanceTime(dt_us=1)]
    return g
