"""Shared Hypothesis strategies: small random meshes, written as scenario TOML.

A mesh comes from a networkx generator (random tree from a Prüfer sequence, connected G(n, p),
grid, path, cycle, star) on 2-6 nodes; some nodes are endpoints, the rest relays; one to three
directed pools join endpoints. Every number is drawn inside the range the scenario loader
accepts, with fidelities and coherence times that let uses happen, so the invariant suite is not
vacuous on them. The text is what a user would write; :func:`scenarios` parses it with the same
loader (:func:`pqms_model.protocol.scenario.parse_scenario_text`).
"""

from __future__ import annotations

import itertools

import networkx as nx
from hypothesis import strategies as st

from pqms_model.protocol.scenario import Scenario, parse_scenario_text

__all__ = ["GRAPH_KINDS", "mesh_graphs", "scenario_texts", "scenarios"]

GRAPH_KINDS = ("tree", "gnp", "grid", "path", "cycle", "star")


@st.composite
def mesh_graphs(draw: st.DrawFn, max_nodes: int = 6) -> nx.Graph:
    """A connected graph on nodes ``0..n-1`` (n >= 2) from one of :data:`GRAPH_KINDS`."""
    kind = draw(st.sampled_from(GRAPH_KINDS))
    n = draw(st.integers(min_value=3 if kind in ("cycle", "gnp") else 2, max_value=max_nodes))
    if kind == "tree":
        seq = draw(st.lists(st.integers(0, n - 1), min_size=n - 2, max_size=n - 2))
        g = nx.from_prufer_sequence(seq) if n > 2 else nx.path_graph(2)
    elif kind == "gnp":
        p = draw(st.sampled_from((0.3, 0.5, 0.8)))
        g = nx.gnp_random_graph(n, p, seed=draw(st.integers(0, 2**16)))
        parts = [min(c) for c in nx.connected_components(g)]
        g.add_edges_from(itertools.pairwise(sorted(parts)))  # join the components
    elif kind == "grid":
        rows = draw(st.integers(1, 2))
        g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(rows, max(2, n // rows)))
    elif kind == "cycle":
        g = nx.cycle_graph(n)
    elif kind == "star":
        g = nx.star_graph(n - 1)
    else:
        g = nx.path_graph(n)
    assert nx.is_connected(g) and g.number_of_nodes() >= 2
    return g


def _num(x: float) -> str:
    """A TOML float (``repr`` is valid TOML for finite floats)."""
    return repr(float(x))


@st.composite
def scenario_texts(draw: st.DrawFn, max_nodes: int = 6) -> str:
    """The TOML text of a valid scenario on a small random mesh."""
    g = draw(mesh_graphs(max_nodes))
    nodes = sorted(g.nodes)
    order = draw(st.permutations(nodes))
    n_end = draw(st.integers(2, len(nodes)))
    endpoints = set(order[:n_end])
    name = f"mesh-{draw(st.integers(0, 999))}"
    lines = [
        "[scenario]",
        f'name = "{name}"',
        f"swap_gate_fidelity = {_num(draw(st.sampled_from((1.0, 0.999, 0.99))))}",
    ]
    for v in nodes:
        kind = "endpoint" if v in endpoints else "relay"
        capacity = draw(st.integers(2, 12))
        coherence = draw(st.sampled_from((60.0, 600.0, 5500.0, 21600.0)))
        lines += ["", "[[node]]", f'name = "n{v}"', f'kind = "{kind}"']
        lines += [f"memory_capacity = {capacity}", f"coherence_s = {_num(coherence)}"]
    for u, v in sorted(tuple(sorted(e)) for e in g.edges):
        distance = draw(st.floats(1e3, 2e7, allow_nan=False, allow_infinity=False))
        rate = draw(st.sampled_from((0.5, 1.0, 10.0)))
        fidelity = draw(st.floats(0.97, 0.999))
        lines += ["", "[[link]]", f'a = "n{u}"', f'b = "n{v}"']
        lines += [f"distance_km = {_num(distance)}", f"generation_rate_hz = {_num(rate)}"]
        lines += [f"initial_fidelity = {_num(fidelity)}"]
    ends = sorted(endpoints)
    directed = [(a, b) for a in ends for b in ends if a != b]
    pools = draw(st.lists(st.sampled_from(directed), min_size=1, max_size=3, unique=True))
    for a, b in pools:
        lines += ["", "[[pool]]", f'a = "n{a}"', f'b = "n{b}"']
        lines += [f"target_size = {draw(st.integers(1, 4))}"]
        lines += [f"threshold_fidelity = {_num(draw(st.sampled_from((0.6, 0.8, 0.9, 0.95))))}"]
        lines += [f"max_wait_s = {_num(draw(st.sampled_from((30.0, 600.0, 3600.0))))}"]
        if draw(st.booleans()):
            lines += ["", "[[traffic]]", f'a = "n{a}"', f'b = "n{b}"', "rate_hz = 0.5"]
    return "\n".join(lines) + "\n"


def scenarios(max_nodes: int = 6) -> st.SearchStrategy[Scenario]:
    """Parsed scenarios on small random meshes."""
    return scenario_texts(max_nodes).map(lambda text: parse_scenario_text(text, "<generated>"))
