"""The specification (``spec/pqms.md``) against the code: one name per concept, both ways.

Parses the spec's Markdown tables and headings and fails when

* an invariant id in the spec (§5 headings, §8 table) is not in ``INVARIANTS``, or the reverse, or
  its kind differs;
* an action in the spec (§3/§4 headings, §8 table) is not in ``ACTION_TYPES``, or the reverse, or
  its kind (protocol / environment) or number order differs;
* a ``model`` dotted name does not resolve (importlib + getattr), or resolves to something other
  than the registered predicate / the rule ``Model.step`` dispatches to;
* a listed test node id does not exist (the file is parsed with ``ast`` and the function found);
* a mutant in the §6 table is not in the ``Mutant`` enum, or the reverse, or its ``breaks`` differ;
* a state variable, record field, enum member or scenario field in §1/§2 is not in the code, or
  the reverse; or the ITF ``vars`` in §7 are not ``trace.STATE_VARS`` (every state variable);
* a rejection reason quoted in §3/§4 is not one the rules raise, or the reverse;
* a proofs cell that is not ``—`` names an obligation the ``proofs`` package does not register —
  checked whenever ``proofs`` has an obligations registry (``OBLIGATIONS`` in ``proofs`` or
  ``proofs.obligations``); until then only the cells' form is checked.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pqms_model import (
    core,
    model,
    rules_environment,
    rules_pairs,
    rules_routing,
    scenario,
    state,
    trace,
)
from pqms_model.actions import ACTION_TYPES, ENVIRONMENT_ACTIONS, PROTOCOL_ACTIONS
from pqms_model.invariants import INVARIANTS
from pqms_model.mutants import Mutant

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "spec" / "pqms.md"
TEXT = SPEC.read_text(encoding="utf-8")
LINES = TEXT.splitlines()

NO_PROOF = "—"
INVARIANT_HEADER = ("id", "kind", "model", "tests", "proofs")
ACTION_HEADER = ("action", "kind", "model", "tests")
MUTANT_HEADER = ("mutant", "planted bug (where)", "breaks", "why", "tests")


# --- parsing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    line: int  # 1-based line of the header

    def column(self, name: str) -> int:
        return self.header.index(name)


def _cells(line: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in line.strip().strip("|").split("|"))


def parse_tables(lines: list[str]) -> list[Table]:
    """Every Markdown table: a ``|`` header line, a ``|---|`` line, then ``|`` rows."""
    out = []
    k = 0
    while k < len(lines) - 1:
        head, sep = lines[k].strip(), lines[k + 1].strip()
        if head.startswith("|") and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", sep):
            header = _cells(head)
            rows = []
            j = k + 2
            while j < len(lines) and lines[j].strip().startswith("|"):
                row = _cells(lines[j])
                assert len(row) == len(header), (
                    f"spec line {j + 1}: {len(row)} cells, not {len(header)}"
                )
                rows.append(row)
                j += 1
            out.append(Table(header, rows, k + 1))
            k = j
        else:
            k += 1
    return out


TABLES = parse_tables(LINES)


def table(header: tuple[str, ...]) -> Table:
    found = [t for t in TABLES if t.header == header]
    assert len(found) == 1, (
        f"spec must hold exactly one table with header {header}, found {len(found)}"
    )
    return found[0]


def table_starting(first: str) -> Table:
    found = [t for t in TABLES if t.header[0] == first]
    assert len(found) == 1, f"spec must hold one table whose first column is {first!r}"
    return found[0]


def ticked(cell: str) -> list[str]:
    """The backticked names in a cell."""
    return re.findall(r"`([^`]+)`", cell)


def listed(cell: str) -> list[str]:
    """A ``<br>``-separated list of backticked names; each part must be exactly one name."""
    out = []
    for part in cell.split("<br>"):
        names = ticked(part)
        assert len(names) == 1 and part.strip() == f"`{names[0]}`", f"bad list item {part!r}"
        out.append(names[0])
    return out


def first_name(cell: str) -> str:
    names = ticked(cell)
    assert len(names) == 1, f"expected one backticked name in {cell!r}"
    return names[0]


def section(number: int) -> list[str]:
    """The lines of ``## §<number> …`` up to the next level-2 heading."""
    start = next(k for k, ln in enumerate(LINES) if ln.startswith(f"## §{number} "))
    end = next((k for k in range(start + 1, len(LINES)) if LINES[k].startswith("## ")), len(LINES))
    return LINES[start:end]


def resolve(dotted: str) -> Any:
    """Import the longest module prefix of ``dotted`` and getattr the rest."""
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:k]))
        except ModuleNotFoundError:
            continue
        for attr in parts[k:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(f"no module in {dotted!r}")


_AST_CACHE: dict[Path, ast.Module] = {}


def test_node_exists(node_id: str) -> bool:
    """Whether the pytest node id names a test function (or Class::method) in its file."""
    path, *names = re.sub(r"\[.*\]$", "", node_id).split("::")
    file = REPO / path
    if not names or not file.is_file():
        return False
    tree = _AST_CACHE.get(file)
    if tree is None:
        tree = _AST_CACHE[file] = ast.parse(file.read_text(encoding="utf-8"))
    scope: list[ast.stmt] = tree.body
    for k, name in enumerate(names):
        last = k == len(names) - 1
        kinds = (ast.FunctionDef, ast.AsyncFunctionDef) if last else (ast.ClassDef,)
        found = [n for n in scope if isinstance(n, kinds) and n.name == name]
        if not found:
            return False
        if not last:
            scope = found[0].body
    return True


test_node_exists.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def proof_obligations() -> set[str] | None:
    """Obligation names the ``proofs`` package registers, or None when it has no registry yet.

    The registry is ``OBLIGATIONS`` in ``proofs``, ``proofs.obligations`` or ``proofs.suite``:
    keyed by name, or an iterable of names or of records with a ``name`` attribute.
    """
    for modname in ("proofs", "proofs.obligations", "proofs.suite"):
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as e:
            if e.name == modname:
                continue
            raise
        registry = getattr(mod, "OBLIGATIONS", None)
        if registry is None:
            continue
        items: Iterable[Any] = registry.keys() if hasattr(registry, "keys") else registry
        return {x if isinstance(x, str) else str(x.name) for x in items}
    return None


# --- §5 and §8: invariants ------------------------------------------------------------------


def invariant_rows() -> dict[str, tuple[str, ...]]:
    t = table(INVARIANT_HEADER)
    rows: dict[str, tuple[str, ...]] = {}
    for row in t.rows:
        inv = first_name(row[0])
        assert inv not in rows, f"invariant {inv} listed twice in §8"
        rows[inv] = row
    return rows


def test_invariant_table_matches_the_registry() -> None:
    rows = invariant_rows()
    missing, extra = set(INVARIANTS) - set(rows), set(rows) - set(INVARIANTS)
    assert not missing, f"invariants in INVARIANTS but not in the §8 table: {sorted(missing)}"
    assert not extra, f"invariants in the §8 table but not in INVARIANTS: {sorted(extra)}"
    for inv, row in rows.items():
        assert row[1] == INVARIANTS[inv].kind.value, f"{inv}: kind {row[1]!r} in the spec"


def test_invariant_sections_match_the_registry() -> None:
    heads = [re.match(r"### 5\.(\d+) `([a-z-]+)` — (\w+)$", ln) for ln in section(5)]
    found = [(int(h[1]), h[2], h[3]) for h in heads if h]
    assert [n for n, _, _ in found] == list(range(1, len(found) + 1)), "§5 numbering has gaps"
    ids = [i for _, i, _ in found]
    assert sorted(ids) == sorted(INVARIANTS), f"§5 headings {ids} vs registry {list(INVARIANTS)}"
    for _, inv, kind in found:
        assert kind == INVARIANTS[inv].kind.value, f"§5 {inv}: kind {kind}"
    body = "\n".join(section(5))
    for inv in INVARIANTS.values():
        start = body.index(f"`{inv.id}` — ")
        nxt = body.find("\n### ", start)
        text = body[start : nxt if nxt >= 0 else len(body)]
        wp = "—" if inv.whitepaper == "-" else inv.whitepaper
        assert f"WP §{wp}" in text, f"§5 {inv.id}: must cite WP §{wp} (registry: {inv.whitepaper})"


def test_invariant_model_names_resolve_to_the_registered_predicates() -> None:
    for inv, row in invariant_rows().items():
        dotted = first_name(row[2])
        assert resolve(dotted) is INVARIANTS[inv].predicate, f"{inv}: {dotted}"


def test_invariant_tests_exist_and_carry_the_id() -> None:
    for inv, row in invariant_rows().items():
        nodes = listed(row[3])
        missing = [n for n in nodes if not test_node_exists(n)]
        assert not missing, f"{inv}: test node ids that do not exist: {missing}"
        stem = inv.replace("-", "_")
        assert any(stem in n.split("::")[-1] for n in nodes), f"{inv}: no test named after it"


def test_proof_obligations_are_known() -> None:
    """Each proofs cell is ``—`` or a list of obligation names the proofs registry knows."""
    rows = invariant_rows()
    known = proof_obligations()
    assert known is not None, "proofs has no OBLIGATIONS registry"
    for inv, row in rows.items():
        cell = row[4]
        assert cell != NO_PROOF, f"{inv}: no proof listed (every invariant has an inductive one)"
        assert inv in listed(cell), f"{inv}: its own inductive proof `{inv}` is not listed"
        names = listed(cell)  # the form: backticked names separated by <br>
        if known is not None:  # the name check needs the registry; the form check does not
            unknown = [n for n in names if n not in known]
            assert not unknown, f"{inv}: obligations unknown to proofs: {unknown}"
    assert len(rows) == len(INVARIANTS)


# --- §3, §4 and §8: actions -----------------------------------------------------------------


def action_rows() -> dict[str, tuple[str, ...]]:
    rows: dict[str, tuple[str, ...]] = {}
    for row in table(ACTION_HEADER).rows:
        name = first_name(row[0])
        assert name not in rows, f"action {name} listed twice in §8"
        rows[name] = row
    return rows


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
    handlers = model._HANDLERS  # what Model.step dispatches to
    for name, row in action_rows().items():
        dotted = first_name(row[2])
        assert resolve(dotted) is handlers[ACTION_TYPES[name]], f"{name}: {dotted}"


def test_action_tests_exist() -> None:
    for name, row in action_rows().items():
        nodes = listed(row[3])
        missing = [n for n in nodes if not test_node_exists(n)]
        assert not missing, f"{name}: test node ids that do not exist: {missing}"
        assert f"tests/test_model.py::test_{name}_guards" in nodes, f"{name}: no guard test listed"


def _not_enabled_patterns() -> dict[str, re.Pattern[str]]:
    """Each reason the rules raise, as a regex (formatted values match anything)."""
    out = {}
    for mod in (core, model, rules_pairs, rules_routing, rules_environment):
        path = Path(mod.__file__ or "")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "NotEnabled"
                and len(node.args) == 2
            ):
                arg = node.args[1]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    regex = re.escape(arg.value)
                elif isinstance(arg, ast.JoinedStr):
                    regex = "".join(
                        re.escape(str(v.value)) if isinstance(v, ast.Constant) else ".+"
                        for v in arg.values
                    )
                else:
                    raise AssertionError(f"{path.name}:{node.lineno}: reason is not a literal")
                out[f"{path.name}:{node.lineno}"] = re.compile(regex)
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


# --- §6: mutants ----------------------------------------------------------------------------


def test_mutant_table_matches_the_enum() -> None:
    rows: dict[str, tuple[str, ...]] = {}
    for row in table(MUTANT_HEADER).rows:
        key = first_name(row[0])
        assert key not in rows, f"mutant {key} listed twice in §6"
        rows[key] = row
    keys = set(Mutant.keys())
    assert not keys - set(rows), f"mutants missing from §6: {sorted(keys - set(rows))}"
    assert not set(rows) - keys, f"§6 names unknown mutants: {sorted(set(rows) - keys)}"
    for key, row in rows.items():
        mutant = Mutant.parse(key)
        assert set(ticked(row[2])) == set(mutant.breaks), f"{key}: breaks {row[2]!r}"
        nodes = listed(row[4])
        missing = [n for n in nodes if not test_node_exists(n)]
        assert not missing, f"{key}: test node ids that do not exist: {missing}"
        for inv in mutant.breaks:
            want = f"test_{key}_breaks_{inv}".replace("-", "_")
            assert any(n.endswith("::" + want) for n in nodes), f"{key}: {want} not listed"


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


# --- spec/proofs.md: the strengthening lemmas ---------------------------------------------------


def test_the_lemma_table_lists_exactly_the_registered_lemmas() -> None:
    from proofs.lemmas import LEMMAS

    text = (Path(__file__).resolve().parent.parent / "spec" / "proofs.md").read_text("utf-8")
    rows = re.findall(r"^\| `([a-z-]+)` \| (.+) \|$", text, flags=re.MULTILINE)
    assert [name for name, _ in rows] == list(LEMMAS), "spec/proofs.md lemma table"
    for name, meaning in rows:
        assert meaning == LEMMAS[name].meaning, f"{name}: the spec says {meaning!r}"
