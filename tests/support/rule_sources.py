"""The source files of the model layer, read with ``ast``: every ``NotEnabled`` the rules raise.

Shared by the guard-completeness test (``tests/model/test_guards.py``) and the spec's rejection
table (``tests/spec/test_actions.py``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pqms_model.model

MODEL_DIR = Path(pqms_model.model.__file__).parent
RULE_FILES = sorted([*MODEL_DIR.glob("*.py"), *(MODEL_DIR / "rules").glob("*.py")])
"""Every file of the model layer: the rules and the helpers that raise rejections."""


def not_enabled_calls() -> Iterator[tuple[Path, ast.Call]]:
    """Every ``NotEnabled(...)`` call in the model layer, with its file."""
    for path in RULE_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "NotEnabled"
            ):
                yield path, node


def site(path: Path, line: int) -> str:
    """A rejection site's name: ``rules/use.py:42``."""
    return f"{path.relative_to(MODEL_DIR)}:{line}"
