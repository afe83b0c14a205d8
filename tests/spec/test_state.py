"""The spec's state against the code (``spec/pqms.md`` §0–§8 order, §1, §2, §7). Fails when

* the level-2 sections are not §0 … §8 in order;
* a state variable, record field, enum member or scenario field in §1/§2 is not in the code, or
  the reverse, or a ghost field is not marked ghost; or the ITF ``vars`` in §7 are not
  ``trace.STATE_VARS`` (every state variable).
"""

from __future__ import annotations

import dataclasses
import re

from pqms_model.protocol import scenario, state
from pqms_model.trace import itf as trace
from tests.support.spec_tables import LINES, TEXT, first_name, section, table_starting, ticked

# --- §1 and §2: constants and state ---------------------------------------------------------


def test_sections_are_in_tutorial_order() -> None:
    heads = [ln for ln in LINES if ln.startswith("## ")]
    assert [h.split()[1] for h in heads] == [f"§{n}" for n in range(9)], heads


def test_state_tables_match_the_dataclasses() -> None:
    records = {
        "variable": state.State,
        "Pair field": state.Pair,
        "Message field": state.Message,
        "Route field": state.Route,
        "Delivery field": state.Delivery,
    }
    for first, cls in records.items():
        spec_names = [first_name(row[0]) for row in table_starting(first).rows]
        code_names = [f.name for f in dataclasses.fields(cls)]
        assert sorted(spec_names) == sorted(code_names), f"{cls.__name__}: {spec_names}"
        assert len(spec_names) == len(set(spec_names)), f"{cls.__name__}: duplicate rows"


def test_ghost_fields_are_marked() -> None:
    """Fields the state module calls ghost are marked **ghost** in the spec's tables."""
    ghosts = {
        ("variable", "last_delivery"),
        ("variable", "deliveries"),
        ("Pair field", "known_us"),
        ("Pair field", "cause"),
        ("Pair field", "consumed"),
        ("Route field", "believed_down"),
        ("Delivery field", "half_lost"),
    }
    for first, name in ghosts:
        row = next(r for r in table_starting(first).rows if first_name(r[0]) == name)
        assert "**ghost" in " ".join(row), f"{first} {name} is not marked ghost"


def test_enum_tables_match_the_enums() -> None:
    for enum_cls in (state.EndStatus, state.MsgKind, state.Schedule, state.Outcome):
        rows = table_starting(enum_cls.__name__).rows
        assert [first_name(r[0]) for r in rows] == [m.name for m in enum_cls], enum_cls.__name__
    assert "`LIVE = {PENDING, READY, POOLED}`" in TEXT
    assert {s.name for s in state.LIVE} == {"PENDING", "READY", "POOLED"}


def test_trace_vars_match_the_state() -> None:
    """§7's ITF ``vars`` are ``trace.STATE_VARS`` in order, plus ``action``; they are every
    ``State`` variable, and the count the text gives is right."""
    body = "\n".join(section(7))
    found = re.search(r'"vars":\s*\[([^\]]*)\]', body)
    assert found, "§7 has no ITF vars list"
    assert re.findall(r'"([a-z_]+)"', found[1]) == [*trace.STATE_VARS, "action"]
    fields = [f.name for f in dataclasses.fields(state.State)]
    assert sorted(trace.STATE_VARS) == sorted(fields), f"STATE_VARS vs State: {fields}"
    assert f"<the {len(fields)} state vars>" in body


def test_scenario_field_table_matches_the_loader() -> None:
    loader = {
        "scenario": scenario._SCENARIO_KEYS,
        "node": scenario._NODE_KEYS,
        "link": scenario._LINK_KEYS,
        "pool": scenario._POOL_KEYS,
        "traffic": scenario._TRAFFIC_KEYS,
    }
    code = {f"{t}.{k}" for t, keys in loader.items() for k in keys}
    spec = {name for row in table_starting("scenario field").rows for name in ticked(row[0])}
    assert spec == code, f"spec only: {sorted(spec - code)}; code only: {sorted(code - spec)}"
