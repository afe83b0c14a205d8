"""The spec's actions against the code (``spec/pqms.md`` §3, §4, §8). Fails when

* an action in the spec (§3/§4 headings, §8 table) is not in ``ACTION_TYPES``, or the reverse, or
  its kind (protocol / environment) or number order differs;
* a ``model`` dotted name does not resolve (importlib + getattr), or resolves to something other
  than the rule ``Model.step`` dispatches to;
* a listed test node id does not exist (the file is parsed with ``ast`` and the function found);
* a rejection reason quoted in §3/§4 is not one the rules raise, or the reverse.
"""

from __future__ import annotations

import ast
import re

from pqms_model.model import transition as model
from pqms_model.protocol.actions import ACTION_TYPES, ENVIRONMENT_ACTIONS, PROTOCOL_ACTIONS
from tests.support.rule_sources import not_enabled_calls, site
from tests.support.spec_tables import (
    ACTION_HEADER,
    first_name,
    listed,
    resolve,
    rows_by_name,
    section,
    test_node_exists,
)

# --- §3, §4 and §8: actions -----------------------------------------------------------------


def action_rows() -> dict[str, tuple[str, ...]]:
    return rows_by_name(ACTION_HEADER, "action")


def test_action_table_matches_action_types() -> None:
    rows = action_rows()
    missing, extra = set(ACTION_TYPES) - set(rows), set(rows) - set(ACTION_TYPES)
    assert not missing, f"actions in ACTION_TYPES but not in the §8 table: {sorted(missing)}"
    assert not extra, f"actions in the §8 table but not in ACTION_TYPES: {sorted(extra)}"
    for name, row in rows.items():
        kind = "environment" if ACTION_TYPES[name].environment else "protocol"
        assert row[1] == kind, f"{name}: kind {row[1]!r}, code says {kind}"


def test_action_sections_match_action_types() -> None:
    """§3 holds A1… in PROTOCOL_ACTIONS order, §4 holds E1… in ENVIRONMENT_ACTIONS order."""
    for number, prefix, classes in ((3, "A", PROTOCOL_ACTIONS), (4, "E", ENVIRONMENT_ACTIONS)):
        found = [
            (int(n), name)
            for ln in section(number)
            if ln.startswith("### ")
            for n, name in re.findall(rf"{prefix}(\d+) `([a-z_]+)`", ln)
        ]
        assert [n for n, _ in found] == list(range(1, len(classes) + 1)), f"§{number} numbering"
        assert [name for _, name in found] == [c.name for c in classes], f"§{number} actions"


def test_action_model_names_resolve_to_the_dispatched_rules() -> None:
    handlers = model.RULES  # what Model.step dispatches to
    for name, row in action_rows().items():
        dotted = first_name(row[2])
        assert resolve(dotted) is handlers[ACTION_TYPES[name]], f"{name}: {dotted}"


def test_action_tests_exist() -> None:
    for name, row in action_rows().items():
        nodes = listed(row[3])
        missing = [n for n in nodes if not test_node_exists(n)]
        assert not missing, f"{name}: test node ids that do not exist: {missing}"
        assert f"tests/model/test_guards.py::test_{name}_guards" in nodes, (
            f"{name}: no guard test listed"
        )


def _not_enabled_patterns() -> dict[str, re.Pattern[str]]:
    """Each reason the rules raise, as a regex (formatted values match anything)."""
    out = {}
    for path, node in not_enabled_calls():
        if len(node.args) != 2:
            continue
        arg = node.args[1]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            regex = re.escape(arg.value)
        elif isinstance(arg, ast.JoinedStr):
            regex = "".join(
                re.escape(str(v.value)) if isinstance(v, ast.Constant) else ".+" for v in arg.values
            )
        else:
            raise AssertionError(f"{site(path, node.lineno)}: reason is not a literal")
        out[site(path, node.lineno)] = re.compile(regex)
    return out


def test_rejection_reasons_in_the_spec_are_the_codes() -> None:
    """Every reason quoted in §3/§4 is raised by the rules, and every reason they raise is
    quoted in §3/§4 (the spec lists every way an action can be rejected)."""
    quoted = [q for n in (3, 4) for q in re.findall(r'`"([^`]*)"`', "\n".join(section(n)))]
    patterns = _not_enabled_patterns()
    assert len(patterns) >= 40 and quoted
    unknown = [q for q in quoted if not any(p.fullmatch(q) for p in patterns.values())]
    assert not unknown, f"reasons quoted in the spec that no rule raises: {unknown}"
    unquoted = [site for site, p in patterns.items() if not any(p.fullmatch(q) for q in quoted)]
    assert not unquoted, f"rejections the spec does not quote: {unquoted}"
