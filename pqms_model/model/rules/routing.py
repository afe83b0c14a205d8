"""Routing rules (spec §3.2, whitepaper §3.1): the pool's sender chooses routes on its own,
possibly stale, link-state view; the path's nodes learn the route by a message.

A route is a simple path from the pool's sender to its receiver along links plus a swap
schedule. Link-state updates are classical messages (sequence-numbered, so a late message
never overwrites newer news); a node's view can therefore be stale, and a route may still be
chosen over a link that is in fact down: generation on it then simply is not enabled.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from pqms_model.errors import NotEnabled
from pqms_model.model.core import ModelCore
from pqms_model.protocol.actions import ChooseRoute, DropRoute
from pqms_model.protocol.state import Message, MsgKind, Route, Schedule, State

__all__ = [
    "MAX_ROUTES_PER_POOL",
    "choose_route",
    "drop_route",
    "path_links",
    "receive_link_state",
    "receive_route",
    "route_of",
]

MAX_ROUTES_PER_POOL = 3
"""At most this many active routes per pool (the k alternative paths)."""


def route_of(s: State, rid: int, who: str) -> Route:
    r = s.routes.get(rid)
    if r is None:
        raise NotEnabled(who, f"no route {rid}")
    return r


def path_links(m: ModelCore, path: tuple[str, ...]) -> list[int]:
    """Link indices along ``path``; raises KeyError naming the first missing link."""
    out = []
    for u, v in itertools.pairwise(path):
        ln = m.scenario.link_between(u, v)
        if ln is None:
            raise KeyError(f"no link {u}-{v}")
        out.append(ln.index)
    return out


def choose_route(m: ModelCore, s: State, a: ChooseRoute) -> State:
    who = a.name
    if not 0 <= a.pool < len(m.scenario.pools):
        raise NotEnabled(who, f"no pool {a.pool} (pools 0..{len(m.scenario.pools) - 1})")
    pl = m.scenario.pools[a.pool]
    m.up(s, pl.a, who)
    if not isinstance(a.schedule, Schedule):
        raise NotEnabled(who, f"schedule must be one of {[x.value for x in Schedule]}")
    path = tuple(a.path)
    if len(path) < 2 or path[0] != pl.a or path[-1] != pl.b:
        raise NotEnabled(who, f"a route of pool {pl.a}->{pl.b} runs from {pl.a} to {pl.b}")
    if len(set(path)) != len(path):
        raise NotEnabled(who, f"path {list(path)} visits a node twice")
    try:
        links = path_links(m, path)
    except KeyError as e:
        raise NotEnabled(who, f"path {list(path)}: {e.args[0]}") from None
    believed = frozenset(li for li in s.view[pl.a] if m.believes_down(s, pl.a, li))
    if m.protocol.route_avoids_believed_down:
        bad = [li for li in links if li in believed]
        if bad:
            raise NotEnabled(who, f"{pl.a} believes link(s) {bad} on this path are down")
    active = sum(1 for r in s.routes.values() if r.pool == a.pool and r.active)
    if active >= MAX_ROUTES_PER_POOL:
        raise NotEnabled(who, f"pool {pl.a}->{pl.b} already has {active} active routes")
    # Effect: the route exists; the sender knows it at once, the others by a ROUTE message.
    rid = s.next_id
    r = Route(rid, a.pool, path, a.schedule, s.now_us, True, frozenset({pl.a}), believed)
    s = replace(s, next_id=rid + 1, routes=s.routes.set(rid, r))
    for n in path[1:]:
        s = m.send(s, MsgKind.ROUTE, pl.a, n, pair=-1, route=rid)
    return s


def drop_route(m: ModelCore, s: State, a: DropRoute) -> State:
    """Failover: the sender stops refilling along a route. Its pairs may still finish (they
    are as good as any) or expire. Modelled as taking effect at once on the whole path:
    without loss of generality for safety, because generation on a dropped route only makes
    pairs the cut-off removes, and no invariant reads whether a route is active."""
    who = a.name
    r = route_of(s, a.route, who)
    pl = m.scenario.pools[r.pool]
    m.up(s, pl.a, who)
    if not r.active:
        raise NotEnabled(who, f"route {r.id} is already dropped")
    return replace(s, routes=s.routes.set(r.id, replace(r, active=False)))


def receive_route(m: ModelCore, s: State, msg: Message) -> State:
    r = s.routes.get(msg.route)
    if r is None:
        return s
    r = replace(r, known_by=r.known_by | {msg.dst})
    return replace(s, routes=s.routes.set(r.id, r))


def receive_link_state(m: ModelCore, s: State, msg: Message) -> State:
    view = s.view[msg.dst]
    if view.get(msg.link, 0) >= msg.seq:
        return s  # older news than what this node already knows
    return replace(s, view=s.view.set(msg.dst, view.set(msg.link, msg.seq)))
