"""Scenarios: the constants of one mesh (spec §1, "Constants"), loaded strictly from TOML.

A scenario names the nodes (memory capacity, coherence time), the physical links (distance,
generation rate, initial fidelity), the pools (endpoint pair, target size, fidelity threshold,
longest wait) and the traffic. Loading converts every float into the integer core once
(microseconds, nano-nepers, rounded so that no check is optimistic) and rejects anything else
with :class:`ScenarioError` naming the file, the field and what would be valid.

>>> s = load_default()
>>> s.name, len(s.nodes), len(s.pools)
('earth-moon-mars', 5, 3)
>>> s.light_us("earth", "moon")        # 384 400 km at c
1282221
>>> s.light_us("earth", "mars") // 1_000_000   # 182 light-seconds over the relay chain
182
"""

from __future__ import annotations

import enum
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx

from pqms_model.physics.cost import US_PER_S, fidelity_cost_nnp, threshold_cost_nnp, werner_cost_nnp

__all__ = [
    "C_KM_PER_S",
    "DEFAULT_SCENARIO",
    "Link",
    "Node",
    "NodeKind",
    "Pool",
    "Scenario",
    "ScenarioError",
    "Traffic",
    "load_default",
    "load_scenario",
    "parse_scenario",
]

C_KM_PER_S = 299_792.458
"""Speed of light in vacuum (exact by the SI definition of the metre)."""

DEFAULT_SCENARIO = "earth-moon-mars.toml"


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``str()`` is one line: file, field, reason."""

    def __init__(self, source: str, fld: str, reason: str) -> None:
        self.source, self.field, self.reason = source, fld, reason
        super().__init__(f"{source}: {fld}: {reason}")


class NodeKind(enum.Enum):
    """What a node is for: endpoints hold pools, relays only swap."""

    ENDPOINT = "endpoint"
    RELAY = "relay"


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    kind: NodeKind
    memory_capacity: int  # qubits
    coherence_us: int  # depolarizing memory time T (per half)


@dataclass(frozen=True, slots=True)
class Link:
    index: int
    a: str
    b: str
    distance_km: float
    light_us: int  # ceil(distance / c): a message never arrives earlier
    generation_rate_hz: float
    initial_cost_nnp: int  # rounded up from initial_fidelity


@dataclass(frozen=True, slots=True)
class Pool:
    """A directed pool: ``a`` holds the sending halves, ``b`` receives (whitepaper §3.3)."""

    index: int
    a: str  # sender: the only end that may use a pair of this pool
    b: str  # receiver
    target_size: int
    threshold_nnp: int  # rounded down from threshold_fidelity
    threshold_fidelity: float
    max_wait_us: int


@dataclass(frozen=True, slots=True)
class Traffic:
    pool: int
    rate_hz: float


@dataclass(frozen=True)
class Scenario:
    """Constants of one mesh. Immutable; ``graph`` holds the topology (networkx)."""

    name: str
    description: str
    source: str
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    pools: tuple[Pool, ...]
    traffic: tuple[Traffic, ...]
    swap_gate_cost_nnp: int
    toml_text: str = field(repr=False, compare=False)  # the source text (traces embed it)
    graph: nx.Graph = field(repr=False, compare=False)
    _light: dict[tuple[str, str], int] = field(repr=False, compare=False)
    _node: dict[str, Node] = field(repr=False, compare=False)

    def node(self, name: str) -> Node:
        return self._node[name]

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes)

    def light_us(self, u: str, v: str) -> int:
        """Classical transit time u -> v: shortest path length over the mesh / c, rounded up."""
        return self._light[(u, v)]

    def link_between(self, u: str, v: str) -> Link | None:
        data = self.graph.get_edge_data(u, v)
        return None if data is None else self.links[data["index"]]

    def pool_for(self, sender: str, receiver: str) -> Pool | None:
        for p in self.pools:
            if (p.a, p.b) == (sender, receiver):
                return p
        return None


# ---------------------------------------------------------------------------------------------
# strict parsing

_TOP_KEYS = {"scenario", "node", "link", "pool", "traffic"}
_SCENARIO_KEYS = {"name": str, "description": str, "swap_gate_fidelity": float}
_NODE_KEYS = {"name": str, "kind": str, "memory_capacity": int, "coherence_s": float}
_LINK_KEYS = {
    "a": str,
    "b": str,
    "distance_km": float,
    "generation_rate_hz": float,
    "initial_fidelity": float,
}
_POOL_KEYS = {
    "a": str,
    "b": str,
    "target_size": int,
    "threshold_fidelity": float,
    "max_wait_s": float,
}
_TRAFFIC_KEYS = {"a": str, "b": str, "rate_hz": float}
_OPTIONAL = {"description", "swap_gate_fidelity"}
_MAX_TIME_S = 1e7  # ~116 days; keeps every integer time well inside 64 bits
_MAX_DISTANCE_KM = 1e10


def _type_name(t: type) -> str:
    return {str: "a string", int: "an integer", float: "a number"}[t]


def _table(src: str, where: str, raw: Any, spec: dict[str, type]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ScenarioError(src, where, "must be a table")
    for key in raw:
        if key not in spec:
            valid = ", ".join(sorted(spec))
            raise ScenarioError(src, f"{where}.{key}", f"unknown key (valid keys: {valid})")
    out: dict[str, Any] = {}
    for key, typ in spec.items():
        fld = f"{where}.{key}"
        if key not in raw:
            if key in _OPTIONAL:
                continue
            raise ScenarioError(src, fld, f"missing (must be {_type_name(typ)})")
        val = raw[key]
        if typ is float and isinstance(val, int) and not isinstance(val, bool):
            val = float(val)
        if isinstance(val, bool) or not isinstance(val, typ):
            raise ScenarioError(
                src, fld, f"must be {_type_name(typ)}, got {type(val).__name__} {val!r}"
            )
        if isinstance(val, float) and not math.isfinite(val):
            raise ScenarioError(src, fld, f"must be finite, got {val!r}")
        out[key] = val
    return out


def _positive(src: str, fld: str, val: float, upper: float) -> None:
    if not (0 < val <= upper):
        raise ScenarioError(src, fld, f"must be > 0 and <= {upper:g}, got {val!r}")


def _fidelity(src: str, fld: str, val: float) -> None:
    if not (0.25 < val <= 1.0):
        raise ScenarioError(src, fld, f"must be a fidelity in (0.25, 1], got {val!r}")


def _array(src: str, doc: dict[str, Any], key: str, required: bool) -> list[Any]:
    raw = doc.get(key, [])
    if not isinstance(raw, list):
        raise ScenarioError(src, key, f"must be an array of tables ([[{key}]])")
    if required and not raw:
        raise ScenarioError(src, key, f"at least one [[{key}]] is required")
    return raw


def parse_scenario(doc: dict[str, Any], source: str, text: str = "") -> Scenario:
    """Validate a parsed TOML document and build the :class:`Scenario`."""
    src = source
    for key in doc:
        if key not in _TOP_KEYS:
            raise ScenarioError(src, key, f"unknown table (valid: {', '.join(sorted(_TOP_KEYS))})")
    if "scenario" not in doc:
        raise ScenarioError(src, "scenario", "missing [scenario] table with a name")
    head = _table(src, "scenario", doc["scenario"], _SCENARIO_KEYS)
    if not head["name"].strip():
        raise ScenarioError(src, "scenario.name", "must not be empty")
    gate_f = head.get("swap_gate_fidelity", 1.0)
    _fidelity(src, "scenario.swap_gate_fidelity", gate_f)

    nodes: list[Node] = []
    by_name: dict[str, Node] = {}
    for i, raw in enumerate(_array(src, doc, "node", True)):
        where = f"node[{i}]"
        t = _table(src, where, raw, _NODE_KEYS)
        if not t["name"].strip():
            raise ScenarioError(src, f"{where}.name", "must not be empty")
        if t["name"] in by_name:
            raise ScenarioError(src, f"{where}.name", f"duplicate node name {t['name']!r}")
        try:
            kind = NodeKind(t["kind"])
        except ValueError:
            valid = ", ".join(k.value for k in NodeKind)
            raise ScenarioError(
                src, f"{where}.kind", f"unknown kind {t['kind']!r} (valid: {valid})"
            ) from None
        if not (0 < t["memory_capacity"] <= 100_000):
            raise ScenarioError(
                src, f"{where}.memory_capacity", f"must be 1..100000, got {t['memory_capacity']}"
            )
        _positive(src, f"{where}.coherence_s", t["coherence_s"], _MAX_TIME_S)
        coherence_us = max(1, math.floor(t["coherence_s"] * US_PER_S))  # shorter T: pessimistic
        node = Node(t["name"], kind, t["memory_capacity"], coherence_us)
        nodes.append(node)
        by_name[node.name] = node

    def endpoint(where: str, key: str, name: str) -> str:
        if name not in by_name:
            valid = ", ".join(sorted(by_name))
            raise ScenarioError(src, f"{where}.{key}", f"unknown node {name!r} (nodes: {valid})")
        return name

    graph = nx.Graph()
    graph.add_nodes_from(by_name)
    links: list[Link] = []
    for i, raw in enumerate(_array(src, doc, "link", True)):
        where = f"link[{i}]"
        t = _table(src, where, raw, _LINK_KEYS)
        a, b = endpoint(where, "a", t["a"]), endpoint(where, "b", t["b"])
        if a == b:
            raise ScenarioError(src, f"{where}.b", "a link joins two different nodes")
        if graph.has_edge(a, b):
            raise ScenarioError(src, where, f"duplicate link {a} - {b}")
        _positive(src, f"{where}.distance_km", t["distance_km"], _MAX_DISTANCE_KM)
        _positive(src, f"{where}.generation_rate_hz", t["generation_rate_hz"], 1e9)
        _fidelity(src, f"{where}.initial_fidelity", t["initial_fidelity"])
        light_us = math.ceil(t["distance_km"] / C_KM_PER_S * US_PER_S)
        link = Link(
            i,
            a,
            b,
            t["distance_km"],
            light_us,
            t["generation_rate_hz"],
            fidelity_cost_nnp(t["initial_fidelity"]),
        )
        links.append(link)
        graph.add_edge(a, b, index=i, light_us=light_us, distance_km=t["distance_km"])

    light: dict[tuple[str, str], int] = {}
    for u, dists in nx.all_pairs_dijkstra_path_length(graph, weight="light_us"):
        for v, d in dists.items():
            light[(u, v)] = int(d)

    pools: list[Pool] = []
    seen_pairs: set[tuple[str, str]] = set()
    for i, raw in enumerate(_array(src, doc, "pool", False)):
        where = f"pool[{i}]"
        t = _table(src, where, raw, _POOL_KEYS)
        a, b = endpoint(where, "a", t["a"]), endpoint(where, "b", t["b"])
        if a == b:
            raise ScenarioError(src, f"{where}.b", "a pool joins two different nodes")
        if (a, b) in seen_pairs:
            raise ScenarioError(src, where, f"duplicate pool {a} -> {b}")
        seen_pairs.add((a, b))
        for key, name in (("a", a), ("b", b)):
            if by_name[name].kind is not NodeKind.ENDPOINT:
                raise ScenarioError(
                    src, f"{where}.{key}", f"{name!r} is a relay; pools join endpoint nodes"
                )
        if (a, b) not in light:
            raise ScenarioError(src, where, f"no path of links connects {a} and {b}")
        if not (0 < t["target_size"] <= 10_000):
            raise ScenarioError(
                src, f"{where}.target_size", f"must be 1..10000, got {t['target_size']}"
            )
        _fidelity(src, f"{where}.threshold_fidelity", t["threshold_fidelity"])
        _positive(src, f"{where}.max_wait_s", t["max_wait_s"], _MAX_TIME_S)
        pools.append(
            Pool(
                i,
                a,
                b,
                t["target_size"],
                threshold_cost_nnp(t["threshold_fidelity"]),
                t["threshold_fidelity"],
                math.floor(t["max_wait_s"] * US_PER_S),
            )
        )

    traffic: list[Traffic] = []
    for i, raw in enumerate(_array(src, doc, "traffic", False)):
        where = f"traffic[{i}]"
        t = _table(src, where, raw, _TRAFFIC_KEYS)
        a, b = endpoint(where, "a", t["a"]), endpoint(where, "b", t["b"])
        match = [p for p in pools if (p.a, p.b) == (a, b)]
        if not match:
            raise ScenarioError(src, where, f"no [[pool]] with a = {a!r} and b = {b!r}")
        _positive(src, f"{where}.rate_hz", t["rate_hz"], 1e6)
        traffic.append(Traffic(match[0].index, t["rate_hz"]))

    return Scenario(
        name=head["name"],
        description=head.get("description", ""),
        source=src,
        nodes=tuple(nodes),
        links=tuple(links),
        pools=tuple(pools),
        traffic=tuple(traffic),
        swap_gate_cost_nnp=werner_cost_nnp((4.0 * gate_f - 1.0) / 3.0),
        toml_text=text,
        graph=graph,
        _light=light,
        _node=by_name,
    )


def parse_scenario_text(text: str, source: str) -> Scenario:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(source, "toml", f"not valid TOML ({e})") from None
    if not doc:
        raise ScenarioError(source, "scenario", "file is empty; a [scenario] table is required")
    return parse_scenario(doc, source, text)


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file; every problem is a one-line :class:`ScenarioError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(p), "file", "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(str(p), "file", "is a directory, not a scenario file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(str(p), "file", f"cannot be read ({e})") from None
    return parse_scenario_text(text, str(p))


def default_scenario_text() -> str:
    return resources.files("pqms_model.scenarios").joinpath(DEFAULT_SCENARIO).read_text("utf-8")


def load_default() -> Scenario:
    """The embedded whitepaper mesh (Earth, Moon base, Mars base, relays)."""
    return parse_scenario_text(default_scenario_text(), f"<embedded>/{DEFAULT_SCENARIO}")
