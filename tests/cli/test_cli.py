"""The command line (``pqms check``, ``pqms replay``, ``pqms mutants``): exit codes and outputs.

Contract (DESIGN.md "Command line"): 0 all hold, 1 a violation (counterexample printed and
written), 2 bad input (one line naming file, field or step; no traceback; nothing written),
3 inconclusive. Bad input is checked for every kind of mistake a user can make.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pqms_model.cli import main as cli
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import default_scenario_text

_DEFAULT_TEXT = default_scenario_text()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(err: str, *needles: str) -> None:
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


def _bad_scenarios(tmp: Path) -> dict[str, tuple[Path, str]]:
    """name -> (scenario path, what the error must name)."""
    files = {
        "malformed": ("[scenario\nname = ", "toml: not valid TOML"),
        "empty": ("", "scenario: file is empty"),
        "unknown-key": ('[scenario]\nname = "x"\ncolour = 1\n', "scenario.colour: unknown key"),
        "out-of-range": (
            _DEFAULT_TEXT.replace("memory_capacity = 24", "memory_capacity = 0"),
            "node[0].memory_capacity: must be 1..100000, got 0",
        ),
        "bad-fidelity": (
            _DEFAULT_TEXT.replace("initial_fidelity = 0.99", "initial_fidelity = 1.5", 1),
            "link[0].initial_fidelity: must be a fidelity in (0.25, 1]",
        ),
    }
    out = {}
    for name, (text, needle) in files.items():
        path = tmp / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        out[name] = (path, needle)
    out["missing"] = (tmp / "missing.toml", "missing.toml: file: no such file")
    out["directory"] = (tmp, "file: is a directory")
    return out


@pytest.mark.parametrize(
    "case", ["malformed", "empty", "unknown-key", "out-of-range", "bad-fidelity", "missing",
             "directory"],
)  # fmt: skip
def test_check_rejects_a_bad_scenario_and_writes_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    path, needle = _bad_scenarios(inputs)[case]
    out_dir, json_file = tmp_path / "cx", tmp_path / "r.json"
    code, out, err = _run(capsys, "check", str(path), "--out", str(out_dir), "--json",
                          str(json_file))  # fmt: skip
    assert code == 2
    _one_line_error(err, "pqms check: error:", needle)
    assert out == "" and not out_dir.exists() and not json_file.exists()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--mutant", "no-such-bug"], "--mutant: unknown mutant 'no-such-bug' (valid: "),
        (["--budget", "-1"], "--budget: must be a number of seconds >= 0, got -1.0"),
        (["--budget", "nan"], "--budget: must be a number of seconds >= 0, got nan"),
        (["--seed", "-3"], "--seed: must be >= 0, got -3"),
        (["--json", "{tmp}/nowhere/r.json"], "--json: directory"),
    ],
)
def test_check_rejects_bad_options_and_writes_nothing(
    argv: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "cx"
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = _run(capsys, "check", "--out", str(out_dir), *args)
    assert code == 2
    _one_line_error(err, needle)
    assert out == "" and not out_dir.exists() and list(tmp_path.iterdir()) == []


def test_check_rejects_an_out_path_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("x", encoding="utf-8")
    code, _, err = _run(capsys, "check", "--out", str(taken))
    assert code == 2
    _one_line_error(err, "--out:", "is not a directory")


def test_a_flag_that_is_not_a_number_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["check", "--budget", "soon"])
    assert stop.value.code == 2
    _one_line_error(capsys.readouterr().err, "invalid float value: 'soon'")


def test_check_on_the_default_mesh_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir, json_file = tmp_path / "cx", tmp_path / "r.json"
    code, out, err = _run(capsys, "check", "--out", str(out_dir), "--json", str(json_file))
    assert code == 0, out
    doc = json.loads(json_file.read_text(encoding="utf-8"))
    assert doc["verdict"] == "hold" and doc["counterexamples"] == []
    assert {i["status"] for i in doc["invariants"]} == {"hold"}
    # both engines established every invariant: the walks, and every inductive obligation
    assert {i["engine"] for i in doc["invariants"]} == {"walks+z3-induction"}
    assert doc["proofs"]["obligations"]["unknown"] == 0
    assert doc["proofs"]["obligations"]["counterexample"] == 0
    assert 0 < doc["elapsed_s"] < 120
    assert "verdict: hold" in out and "no-double-use" in out  # the summary table
    assert "pqms check: round" in err  # progress, on a run longer than a few seconds
    assert not out_dir.exists()


def test_check_finds_a_mutant_and_replay_agrees(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir, json_file = tmp_path / "cx", tmp_path / "r.json"
    code, out, _ = _run(capsys, "check", "--mutant", "instant-effect", "--out", str(out_dir),
                        "--json", str(json_file), "--no-proofs")  # fmt: skip
    assert code == 1
    doc = json.loads(json_file.read_text(encoding="utf-8"))
    assert doc["verdict"] == "violated"
    (cx,) = doc["counterexamples"]
    assert cx["invariant"] in Mutant.INSTANT_EFFECT.breaks
    trace = Path(cx["trace"])
    assert trace == out_dir / f"earth-moon-mars-instant-effect-{cx['invariant']}.itf.json"
    assert f"violates {cx['invariant']}" in out and "UsePair(" in out  # readable, one per line
    assert sum(1 for line in out.splitlines() if " t=" in line) == cx["length"]

    replay_json = tmp_path / "replay.json"
    code, out, _ = _run(capsys, "replay", str(trace), "--mutant", "instant-effect", "--json",
                        str(replay_json))  # fmt: skip
    assert code == 1
    result = json.loads(replay_json.read_text(encoding="utf-8"))
    assert result == {"invariant": cx["invariant"], "step": cx["length"], "steps": cx["length"]}


def test_check_out_of_time_is_inconclusive(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "check", "--budget", "0", "--no-proofs")
    assert code == 3
    assert "verdict: inconclusive: time budget" in out


def test_mutants_lists_every_variant(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "mutants", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["name"] for r in rows] == list(Mutant.keys())
    assert all(set(r) == {"name", "description", "breaks", "protocol"} for r in rows)
    assert all(r["breaks"] and r["protocol"] for r in rows)  # each changes some choice
    by_name = {r["name"]: r for r in rows}
    assert by_name["instant-effect"]["protocol"] == {
        "bits_travel": {"correct": True, "mutant": False}
    }
    code, out, _ = _run(capsys, "mutants")
    assert code == 0
    assert all(m.key in out for m in Mutant)
    assert "    bits_travel: True -> False" in out.splitlines()


def test_engines_that_disagree_give_no_verdict_not_bad_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drift between the Z3 encoding and the model (BmcError) is inconclusive: exit 3."""
    from pqms_model.cli import prove
    from pqms_model.proofs.bmc import BmcError

    def drift(_args: object) -> int:
        raise BmcError("BMC state 3 differs from the model on p_s0")

    monkeypatch.setattr(prove, "run", drift)
    code, _, err = _run(capsys, "prove", "--mutant", "early-admit")
    assert code == cli.EXIT_INCONCLUSIVE
    _one_line_error(err, "pqms prove: no verdict: BMC state 3 differs from the model on p_s0")


def test_prove_timeout_reaches_bmc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--timeout-ms`` bounds the BMC queries too: at 1 ms nothing is decided, and the verdict
    is inconclusive (exit 3), never a pass."""
    report = tmp_path / "r.json"
    code, out, _ = _run(capsys, "prove", "--mutant", "crash-silent", "--timeout-ms", "1",
                        "--json", str(report), "--out", str(tmp_path / "cx"))  # fmt: skip
    doc = json.loads(report.read_text())
    assert code == cli.EXIT_INCONCLUSIVE and doc["verdict"] == "inconclusive"
    assert doc["bmc"]["status"] == "unknown" and doc["counterexamples"] == []
    # the BMC line says where Z3 gave up and why
    [line] = [ln for ln in out.splitlines() if ln.startswith("bounded model checking")]
    assert "unknown (" in line and "canceled" in line, line
