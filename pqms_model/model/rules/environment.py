"""Environment rules (spec §4): time, link and node faults, classical delay.

These are not protocol steps: the protocol must stay safe whatever they do.
"""

from __future__ import annotations

from dataclasses import replace

from pqms_model.errors import NotEnabled
from pqms_model.model.core import ModelCore, put, set_end
from pqms_model.protocol.actions import AdvanceTime, Crash, DelayMessage, LinkDown, LinkUp, Recover
from pqms_model.protocol.state import LIVE, EndStatus, MsgKind, State

__all__ = [
    "MAX_ADVANCE_US",
    "advance_time",
    "crash",
    "delay_message",
    "link_down",
    "link_up",
    "recover",
]

MAX_ADVANCE_US = 10**12
"""Largest single time step or extra delay (about 11.6 days); keeps times inside 64 bits."""


def advance_time(m: ModelCore, s: State, a: AdvanceTime) -> State:
    if not 1 <= a.dt_us <= MAX_ADVANCE_US:
        raise NotEnabled(a.name, f"dt_us must be 1..{MAX_ADVANCE_US}, got {a.dt_us}")
    return replace(s, now_us=s.now_us + a.dt_us)


def _link_change(m: ModelCore, s: State, link: int, down: bool, who: str) -> State:
    """Flip a link; its two end nodes see it at once, the others by a LINK_STATE message
    from whichever end is up (a link whose both ends are down tells nobody)."""
    n = len(m.scenario.links)
    if not 0 <= link < n:
        raise NotEnabled(who, f"no link {link} (links 0..{n - 1})")
    if (link in s.links_down) == down:
        raise NotEnabled(who, f"link {link} is already {'down' if down else 'up'}")
    seq = s.link_seq.get(link, 0) + 1
    ln = m.scenario.links[link]
    view = s.view
    for node in (ln.a, ln.b):
        view = view.set(node, view[node].set(link, seq))
    s = replace(
        s,
        links_down=(s.links_down | {link}) if down else (s.links_down - {link}),
        link_seq=s.link_seq.set(link, seq),
        view=view,
    )
    teller = next((x for x in (ln.a, ln.b) if x not in s.nodes_down), None)
    if teller is not None:
        for other in m.scenario.node_names:
            if other not in (ln.a, ln.b):
                s = m.send(s, MsgKind.LINK_STATE, teller, other, pair=-1, link=link, seq=seq)
    return s


def link_down(m: ModelCore, s: State, a: LinkDown) -> State:
    return _link_change(m, s, a.link, True, a.name)


def link_up(m: ModelCore, s: State, a: LinkUp) -> State:
    return _link_change(m, s, a.link, False, a.name)


def crash(m: ModelCore, s: State, a: Crash) -> State:
    """Every qubit in the node's memory is lost (classical state, e.g. its link-state view
    and routes, survives: it is kept in stable storage)."""
    m.up(s, a.node, a.name)
    for p, i in list(s.pairs_at(a.node)):
        q = s.pairs[p.id]
        if q.status[i] in LIVE or q.status[i] is EndStatus.INCOMING:
            s = put(s, replace(q, status=set_end(q.status, i, EndStatus.LOST)))
    return replace(s, nodes_down=s.nodes_down | {a.node})


def recover(m: ModelCore, s: State, a: Recover) -> State:
    """The node restarts with empty memory and a new epoch and tells every node (RESET); it
    also re-announces the state of each of its links that ever changed (LINK_STATE with the
    current sequence number), since a change made while both ends were down reached nobody.
    Re-announcing is harmless: nodes keep the newest sequence number they have heard."""
    if a.node not in s.epoch:
        raise NotEnabled(a.name, f"unknown node {a.node!r}")
    if a.node not in s.nodes_down:
        raise NotEnabled(a.name, f"node {a.node} is not down")
    e = s.epoch[a.node] + 1
    s = replace(s, nodes_down=s.nodes_down - {a.node}, epoch=s.epoch.set(a.node, e))
    for other in m.scenario.node_names:
        if other != a.node:
            s = m.send(s, MsgKind.RESET, a.node, other, pair=-1, epoch=e)
    for ln in m.scenario.links:
        seq = s.link_seq.get(ln.index, 0)
        if a.node in (ln.a, ln.b) and seq > 0:
            for other in m.scenario.node_names:
                if other not in (ln.a, ln.b):
                    s = m.send(
                        s, MsgKind.LINK_STATE, a.node, other, pair=-1, link=ln.index, seq=seq
                    )
    return s


def delay_message(m: ModelCore, s: State, a: DelayMessage) -> State:
    msg = s.messages.get(a.msg)
    if msg is None:
        raise NotEnabled(a.name, f"no message {a.msg} in flight")
    if not 1 <= a.extra_us <= MAX_ADVANCE_US:
        raise NotEnabled(a.name, f"extra_us must be 1..{MAX_ADVANCE_US}, got {a.extra_us}")
    msg = replace(msg, arrive_us=msg.arrive_us + a.extra_us)
    return replace(s, messages=s.messages.set(msg.id, msg))
