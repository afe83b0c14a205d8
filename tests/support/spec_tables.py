"""Reading ``spec/pqms.md`` for the traceability tests (``tests/test_spec_*.py``).

Parses the spec's Markdown tables, sections and backticked names, resolves dotted ``model``
names, finds test node ids in their files (with ``ast``) and lists the obligations the ``proofs``
package registers.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
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


def rows_by_name(
    header: tuple[str, ...], what: str, where: str = "§8"
) -> dict[str, tuple[str, ...]]:
    """The rows of the table with ``header``, by the name in their first cell (a name listed
    twice fails: ``what`` names the kind of row, ``where`` the section, in the message)."""
    rows: dict[str, tuple[str, ...]] = {}
    for row in table(header).rows:
        name = first_name(row[0])
        assert name not in rows, f"{what} {name} listed twice in {where}"
        rows[name] = row
    return rows


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

    The registry is ``OBLIGATIONS`` in ``proofs``, ``proofs.obligations`` or
    ``pqms_model.proofs.suite``: keyed by name, or an iterable of names or of records with a
    ``name`` attribute.
    """
    for modname in ("proofs", "proofs.obligations", "pqms_model.proofs.suite"):
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
