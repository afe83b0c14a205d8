"""The project's layout (issue "a codebase a newcomer can live in"): the layer drawing in the
README is the import contract's list, modules stay short, and the repository folder ``proofs/``
is the package ``pqms_model.proofs``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pqms_model
import pqms_model.proofs

REPO = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 450
"""A module longer than this is a design question (STYLE.md: one concept per module)."""


def _contract_layers() -> list[list[str]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = [
        c["layers"]
        for c in config["tool"]["importlinter"]["contracts"]
        if c["type"] == "layers" and c.get("containers") == ["pqms_model"]
    ]
    return [[part.strip() for part in layer.split("|")] for layer in layers]


def _drawn_layers() -> list[list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    dev = text[text.index("## Development") :]
    block = re.search(r"```\n(pqms_model\.cli .*?)```", dev, re.S)
    assert block, "README: no layer drawing in the Development section"
    rows = [line for line in block[1].splitlines() if line.startswith("pqms_model.")]
    out = []
    for row in rows:
        names = re.split(r"\s{2,}", row)[0]
        out.append([n.strip().removeprefix("pqms_model.") for n in names.split("|")])
    return out


def test_the_readme_draws_the_import_contract() -> None:
    assert _drawn_layers() == _contract_layers()


def test_every_subpackage_is_in_a_layer() -> None:
    layered = {name for layer in _contract_layers() for name in layer}
    root = Path(pqms_model.__file__).parent
    present = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    present |= {p.stem for p in root.glob("*.py") if p.stem != "__init__"}
    assert present - {"scenarios"} == layered


def test_no_module_is_long() -> None:
    long = {
        str(p.relative_to(REPO)): n
        for p in [*REPO.glob("pqms_model/**/*.py"), *REPO.glob("proofs/**/*.py")]
        if "pqms_model/proofs" not in p.as_posix()
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_the_proofs_folder_is_the_package_pqms_model_proofs() -> None:
    assert Path(pqms_model.proofs.__file__).resolve() == (REPO / "proofs" / "__init__.py")
