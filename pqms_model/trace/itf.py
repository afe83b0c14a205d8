"""Traces in the Informal Trace Format (ITF, as used by Apalache and Quint) — spec §7.

One format for every driver. Integers only (ITF has no floats); ``Option`` values use Quint's
variant encoding ``{"tag": "Some" | "None", "value": ...}``; enums are their string values. Each
state carries the action that led to it (``"action": {"name": ..., params}``; ``init`` on state
0). ``#meta`` holds the scenario (name and full TOML text), mutant, seed, the invariant the trace
violates and the package versions.

>>> from pqms_model.protocol.scenario import load_default
>>> from pqms_model.model.transition import Model
>>> from pqms_model.protocol.actions import ChooseRoute
>>> from pqms_model.protocol.state import Schedule
>>> m = Model(load_default())
>>> doc = build_trace(m, [ChooseRoute(0, ("earth", "moon"), Schedule.SEQUENTIAL)], seed=1)
>>> doc["vars"][:3], len(doc["states"]), doc["states"][1]["action"]["name"]
(['now_us', 'next_id', 'pairs'], 2, 'choose_route')
>>> replay_doc(doc, "<doc>").steps
1
"""

from __future__ import annotations

import enum
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pqms_model import __version__
from pqms_model.errors import NotEnabled, TraceError
from pqms_model.invariants import Violation, violations
from pqms_model.model.transition import Model
from pqms_model.protocol.actions import ACTION_TYPES, Action, action_params
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import ScenarioError, parse_scenario_text
from pqms_model.protocol.state import Schedule, State

__all__ = [
    "STATE_VARS",
    "ReplayResult",
    "build_trace",
    "dumps",
    "encode_action",
    "encode_state",
    "load_trace",
    "replay_doc",
    "replay_file",
]

STATE_VARS = [f.name for f in fields(State)]
"""The state variables an ITF trace records: every field of :class:`State`, in its order."""
_SAFE = 2**53 - 1


def _enc(v: Any) -> Any:
    if v is None:
        return {"tag": "None", "value": {"#tup": []}}
    if isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if -_SAFE <= v <= _SAFE else {"#bigint": str(v)}
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, tuple):
        return {"#tup": [_enc(x) for x in v]}
    if isinstance(v, frozenset):
        return {"#set": [_enc(x) for x in sorted(v)]}
    if hasattr(v, "items"):  # persistent map
        return {"#map": [[_enc(k), _enc(v[k])] for k in sorted(v)]}
    if hasattr(v, "__dataclass_fields__"):
        return {f.name: _enc(getattr(v, f.name)) for f in fields(v)}
    raise TypeError(f"cannot encode {type(v).__name__} in ITF")


def _some(v: Any) -> Any:
    """Optional fields that may hold a value get the Some-variant."""
    return {"tag": "Some", "value": _enc(v)} if v is not None else _enc(None)


def encode_state(s: State) -> dict[str, Any]:
    out = {name: _enc(getattr(s, name)) for name in STATE_VARS}
    out["last_delivery"] = _some(s.last_delivery)
    for p in out["pairs"]["#map"]:
        sw = p[1]["swapper"]
        if isinstance(sw, str):
            p[1]["swapper"] = {"tag": "Some", "value": sw}
    return out


def encode_action(a: Action) -> dict[str, Any]:
    out: dict[str, Any] = {"name": a.name}
    for k, v in action_params(a).items():
        out[k] = _enc(v)
    return out


def _versions() -> dict[str, str]:
    import hypothesis

    return {"pqms": __version__, "python": platform.python_version(),
            "hypothesis": hypothesis.__version__}  # fmt: skip


def build_trace(
    model: Model,
    actions: Sequence[Action],
    *,
    seed: int | None = None,
    invariant: str | None = None,
    engine: str = "hypothesis",
) -> dict[str, Any]:
    """Run ``actions`` from Init on ``model`` and return the ITF document of the run."""
    s = model.init()
    states = [{"#meta": {"index": 0}, "action": {"name": "init"}, **encode_state(s)}]
    for k, a in enumerate(actions, start=1):
        s = model.step(s, a)
        states.append({"#meta": {"index": k}, "action": encode_action(a), **encode_state(s)})
    sc = model.scenario
    meta = {
        "format": "ITF",
        "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
        "source": "pqms",
        "engine": engine,
        "scenario": sc.name,
        "scenario_toml": sc.toml_text,
        "mutant": model.mutant.key if model.mutant else None,
        "seed": seed,
        "invariant": invariant,
        "versions": _versions(),
    }
    return {"#meta": meta, "vars": [*STATE_VARS, "action"], "states": states}


def dumps(doc: dict[str, Any]) -> str:
    """Deterministic JSON text of a trace (same run, same bytes)."""
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


# --- reading and replaying ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayResult:
    steps: int
    violation: Violation | None
    step: int | None  # index of the first state that violates, if any

    def as_json(self) -> dict[str, Any]:
        return {
            "invariant": self.violation.invariant if self.violation else None,
            "step": self.step,
            "steps": self.steps,
        }


def _dec(v: Any, src: str, where: str) -> Any:
    if isinstance(v, dict) and set(v) == {"#bigint"} and isinstance(v["#bigint"], str):
        try:
            return int(v["#bigint"])
        except ValueError:
            raise TraceError(src, where, f"bad #bigint {v['#bigint']!r}") from None
    if isinstance(v, dict) and set(v) == {"tag", "value"}:
        if v["tag"] == "None":
            return None
        if v["tag"] == "Some":
            return _dec(v["value"], src, where)
    if isinstance(v, float):
        raise TraceError(src, where, f"ITF has no floats, got {v!r}")
    return v


def decode_action(raw: Any, src: str, where: str) -> Action:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise TraceError(src, where, "action must be a record with a string 'name'")
    cls = ACTION_TYPES.get(raw["name"])
    if cls is None:
        valid = ", ".join(sorted(ACTION_TYPES))
        raise TraceError(src, where, f"unknown action {raw['name']!r} (valid: {valid})")
    params = {f.name: f for f in fields(cls)}
    extra = set(raw) - {"name"} - set(params)
    if extra:
        raise TraceError(src, where, f"unknown parameter(s) {sorted(extra)} for {cls.name}")
    kw: dict[str, Any] = {}
    for name in params:
        at = f"{where}.{name}"
        if name not in raw:
            raise TraceError(src, at, f"missing parameter of {cls.name}")
        val = _dec(raw[name], src, at)
        if name == "path":
            items = val.get("#tup") if isinstance(val, dict) and set(val) == {"#tup"} else None
            if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
                raise TraceError(src, at, f"must be {{'#tup': [node names]}}, got {val!r}")
            kw[name] = tuple(items)
            continue
        if name == "schedule":
            names = [x.value for x in Schedule]
            if val not in names:
                raise TraceError(src, at, f"must be one of {names}, got {val!r}")
            kw[name] = Schedule(val)
            continue
        want: type = {"node": str, "success": bool}.get(name, int)
        if not isinstance(val, want) or (want is int and isinstance(val, bool)):
            raise TraceError(src, at, f"must be {want.__name__}, got {raw[name]!r}")
        kw[name] = val
    return cls(**kw)


def load_trace(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceError(str(p), "file", "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise TraceError(str(p), "file", f"cannot be read ({e})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise TraceError(str(p), f"line {e.lineno}", f"not valid JSON ({e.msg})") from None
    if not isinstance(doc, dict):
        raise TraceError(str(p), "top level", "an ITF trace is a JSON object")
    return doc


def _first_diff(a: Any, b: Any, path: str) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if a.get(k) != b.get(k):
                return _first_diff(a.get(k), b.get(k), f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_diff(x, y, f"{path}[{i}]")
    return f"{path}: recorded {json.dumps(a)[:120]}, model {json.dumps(b)[:120]}"


def model_for(doc: dict[str, Any], src: str, mutant: Mutant | None) -> Model:
    meta = doc.get("#meta")
    if not isinstance(meta, dict):
        raise TraceError(src, "#meta", "missing; an ITF trace from pqms records its scenario")
    text = meta.get("scenario_toml")
    if not isinstance(text, str):
        raise TraceError(src, "#meta.scenario_toml", "missing; must hold the scenario's TOML")
    try:
        scenario = parse_scenario_text(text, f"{src}#meta.scenario_toml")
    except ScenarioError as e:
        raise TraceError(src, "#meta.scenario_toml", str(e)) from None
    return Model(scenario, mutant)


def replay_doc(doc: dict[str, Any], src: str, mutant: Mutant | None = None) -> ReplayResult:
    """Re-execute every action, compare every recorded state, report the first violation.

    Raises TraceError (malformed trace, a state that differs, an action not enabled).
    """
    model = model_for(doc, src, mutant)
    if doc.get("vars") != [*STATE_VARS, "action"]:
        raise TraceError(src, "vars", f"must be {[*STATE_VARS, 'action']}")
    states = doc.get("states")
    if not isinstance(states, list) or not states:
        raise TraceError(src, "states", "must be a non-empty list of states")
    s = model.init()
    for k, rec in enumerate(states):
        where = f"states[{k}]"
        if not isinstance(rec, dict):
            raise TraceError(src, where, "a state must be a record")
        if rec.get("#meta") != {"index": k}:
            raise TraceError(src, f"{where}.#meta", f"must be {{'index': {k}}}")
        missing = [v for v in [*STATE_VARS, "action"] if v not in rec]
        if missing:
            raise TraceError(src, where, f"missing variable(s) {missing}")
        if k == 0:
            if rec["action"] != {"name": "init"}:
                raise TraceError(src, f"{where}.action", "state 0 must carry {'name': 'init'}")
        else:
            action = decode_action(rec["action"], src, f"{where}.action")
            try:
                s = model.step(s, action)
            except NotEnabled as e:
                raise TraceError(src, f"step {k}", f"not executable: {e}") from None
        expected = encode_state(s)
        recorded = {v: rec[v] for v in STATE_VARS}
        if recorded != expected:
            diff = _first_diff(recorded, expected, where)
            raise TraceError(src, f"step {k}", f"recorded state differs from the model: {diff}")
        found = violations(model, s)
        if found:
            return ReplayResult(len(states) - 1, found[0], k)
    return ReplayResult(len(states) - 1, None, None)


def replay_file(path: str | Path, mutant: Mutant | None = None) -> ReplayResult:
    return replay_doc(load_trace(path), str(path), mutant)
