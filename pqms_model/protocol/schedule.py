"""Swap schedules (spec §3.2): which end of each segment of a route may swap it.

A route's path ``n0 … nk`` is joined by a binary tree of swaps over its ``k`` hops. A *segment*
``(i, j)`` (path indices, ``i < j``) is a pair between ``n_i`` and ``n_j``; the tree splits the
segment ``(i, j)`` at some ``m`` into ``(i, m)`` and ``(m, j)``, which are joined by a swap at
``n_m``. So every non-root segment has exactly one *swapper*: the split point of its parent.
Both ends learn the route (and so the schedule) before they work on it, so they agree on who may
swap which pair without another message.

>>> swappers(3, Schedule.SEQUENTIAL)
{(0, 3): None, (0, 2): 2, (2, 3): 2, (0, 1): 1, (1, 2): 1}
>>> swappers(4, Schedule.NESTED)[(0, 2)], swappers(4, Schedule.NESTED)[(2, 3)]
(2, 3)
"""

from __future__ import annotations

from functools import cache

from pqms_model.protocol.state import Schedule

__all__ = ["split", "swappers"]


def split(i: int, j: int, schedule: Schedule) -> int:
    """Where the tree splits segment (i, j), j - i >= 2."""
    if schedule is Schedule.SEQUENTIAL:
        return j - 1  # the sender's side grows one hop at a time
    return (i + j) // 2


@cache
def swappers(hops: int, schedule: Schedule) -> dict[tuple[int, int], int | None]:
    """Every segment of the tree over ``hops`` hops -> the path index of its swapper."""
    out: dict[tuple[int, int], int | None] = {(0, hops): None}
    todo = [(0, hops)]
    while todo:
        i, j = todo.pop()
        if j - i >= 2:
            m = split(i, j, schedule)
            out[(i, m)] = m
            out[(m, j)] = m
            todo += [(i, m), (m, j)]
    return out
