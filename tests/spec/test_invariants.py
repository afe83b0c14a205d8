"""The spec's invariants and mutants against the code (``spec/pqms.md`` §5, §6, §8; the lemma
table of ``spec/proofs.md``). Fails when

* an invariant id in the spec (§5 headings, §8 table) is not in ``INVARIANTS``, or the reverse, or
  its kind differs;
* a ``model`` dotted name does not resolve (importlib + getattr), or resolves to something other
  than the registered predicate;
* a listed test node id does not exist (the file is parsed with ``ast`` and the function found);
* a mutant in the §6 table is not in the ``Mutant`` enum, or the reverse, or its ``breaks`` differ;
* a proofs cell that is not ``—`` names an obligation the ``proofs`` package does not register —
  checked whenever ``proofs`` has an obligations registry (``OBLIGATIONS`` in ``proofs`` or
  ``proofs.obligations``); until then only the cells' form is checked;
* the lemma table of ``spec/proofs.md`` is not exactly ``pqms_model.proofs.lemmas.LEMMAS``.
"""

from __future__ import annotations

import re
from pathlib import Path

from pqms_model.invariants import INVARIANTS
from pqms_model.protocol.mutants import Mutant
from tests.support.spec_tables import (
    INVARIANT_HEADER,
    MUTANT_HEADER,
    NO_PROOF,
    first_name,
    listed,
    proof_obligations,
    resolve,
    rows_by_name,
    section,
    test_node_exists,
    ticked,
)

# --- §5 and §8: invariants ------------------------------------------------------------------


def invariant_rows() -> dict[str, tuple[str, ...]]:
    return rows_by_name(INVARIANT_HEADER, "invariant")


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


# --- §6: mutants ----------------------------------------------------------------------------


def test_mutant_table_matches_the_enum() -> None:
    rows = rows_by_name(MUTANT_HEADER, "mutant", "§6")
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


# --- spec/proofs.md: the strengthening lemmas ---------------------------------------------------


def test_the_lemma_table_lists_exactly_the_registered_lemmas() -> None:
    from pqms_model.proofs.lemmas import LEMMAS

    text = (Path(__file__).resolve().parents[2] / "spec" / "proofs.md").read_text("utf-8")
    rows = re.findall(r"^\| `([a-z-]+)` \| (.+) \|$", text, flags=re.MULTILINE)
    assert [name for name, _ in rows] == list(LEMMAS), "spec/proofs.md lemma table"
    for name, meaning in rows:
        assert meaning == LEMMAS[name].meaning, f"{name}: the spec says {meaning!r}"
