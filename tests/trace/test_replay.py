"""``pqms replay``: pinned counterexamples replay to their violation; tampering is caught.

``tests/traces/`` holds traces that ``pqms check --mutant M`` wrote (regression cases): each
must replay on its mutant to the invariant recorded in its ``#meta``, at its last step. A
malformed, tampered or non-executable trace is exit 2 with one line naming the file, the step
and the reason, and nothing is written.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pqms_model.cli import main as cli
from pqms_model.errors import TraceError
from pqms_model.model.transition import Model
from pqms_model.protocol.actions import AdvanceTime, ChooseRoute, Receive
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import load_default
from pqms_model.protocol.state import Schedule
from pqms_model.trace.itf import build_trace, dumps, replay_file

TRACES = sorted((Path(__file__).parents[1] / "traces").glob("*.itf.json"))


def _meta(path: Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["#meta"]
    return meta


def test_there_are_pinned_traces() -> None:
    assert len(TRACES) >= 3
    assert {_meta(p)["mutant"] for p in TRACES} >= {"instant-effect", "threshold-at-send"}


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_a_pinned_trace_replays_to_its_invariant(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = _meta(path)
    mutant = Mutant.parse(meta["mutant"])
    assert meta["invariant"] in mutant.breaks and meta["engine"] in ("hypothesis", "walks")
    result = replay_file(path, mutant)
    assert result.violation is not None and result.violation.invariant == meta["invariant"]
    assert result.step == result.steps
    out_json = tmp_path / "r.json"
    code = cli.main(["replay", str(path), "--mutant", mutant.key, "--json", str(out_json)])
    out = capsys.readouterr().out
    assert code == 1 and f"violates {meta['invariant']}" in out
    assert json.loads(out_json.read_text(encoding="utf-8")) == result.as_json()


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_a_mutant_trace_does_not_replay_on_the_protocol(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The planted bug shows up as a step the protocol would not take, or takes differently."""
    code = cli.main(["replay", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert ": step " in err and ("not executable" in err or "recorded state differs" in err)
    assert err.rstrip().endswith(f"(the trace was recorded with --mutant {_meta(path)['mutant']})")


def _clean_trace() -> dict[str, Any]:
    """A short protocol run without a violation."""
    actions = [
        ChooseRoute(pool=0, path=("earth", "moon"), schedule=Schedule.SEQUENTIAL),
        AdvanceTime(dt_us=1_282_221),
        Receive(msg=2),
    ]
    return build_trace(Model(load_default()), actions, seed=None)


def test_a_clean_trace_replays_with_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, out_json = tmp_path / "clean.itf.json", tmp_path / "r.json"
    path.write_text(dumps(_clean_trace()), encoding="utf-8")
    assert cli.main(["replay", str(path), "--json", str(out_json)]) == 0
    assert "every invariant holds" in capsys.readouterr().out
    assert json.loads(out_json.read_text(encoding="utf-8")) == {
        "invariant": None, "step": None, "steps": 3,
    }  # fmt: skip


def _tamper(doc: dict[str, Any], how: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    if how == "state":
        doc["states"][2]["now_us"] += 1
    elif how == "action":
        doc["states"][3]["action"]["msg"] = 99
    elif how == "unknown-action":
        doc["states"][1]["action"]["name"] = "teleport"
    elif how == "float":
        doc["states"][2]["action"]["dt_us"] = 1.5
    elif how == "index":
        doc["states"][1]["#meta"]["index"] = 7
    elif how == "vars":
        doc["vars"] = ["now_us"]
    elif how == "meta":
        del doc["#meta"]
    elif how == "scenario":
        doc["#meta"]["scenario_toml"] = "[scenario]\nname = 3\n"
    return doc


@pytest.mark.parametrize(
    ("how", "needles"),
    [
        ("state", ["step 2", "recorded state differs", "now_us"]),
        ("action", ["step 3", "not executable", "no message 99"]),
        ("unknown-action", ["states[1].action", "unknown action 'teleport'"]),
        ("float", ["states[2].action.dt_us", "no floats"]),
        ("index", ["states[1].#meta"]),
        ("vars", ["vars: must be"]),
        ("meta", ["#meta"]),
        ("scenario", ["#meta.scenario_toml", "scenario.name"]),
    ],
)
def test_a_tampered_trace_is_exit_2_naming_the_step(
    how: str, needles: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, out_json = tmp_path / "t.itf.json", tmp_path / "r.json"
    path.write_text(json.dumps(_tamper(_clean_trace(), how)), encoding="utf-8")
    code = cli.main(["replay", str(path), "--json", str(out_json)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    for needle in [str(path), *needles]:
        assert needle in err, (needle, err)
    assert not out_json.exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"this is not json", "not valid JSON"),
        (b"[1, 2, 3]", "an ITF trace is a JSON object"),
        (b"\xff\xfe\x00", "cannot be read"),
        (None, "no such file"),
    ],
)
def test_garbage_is_exit_2(
    content: bytes | None, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "garbage.itf.json"
    if content is not None:
        path.write_bytes(content)
    assert cli.main(["replay", str(path), "--json", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "garbage.itf.json" in err
    assert not (tmp_path / "r.json").exists()


def test_replay_rejects_an_unknown_mutant(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["replay", str(TRACES[0]), "--mutant", "nope"]) == 2
    assert "--mutant: unknown mutant 'nope'" in capsys.readouterr().err


def test_trace_errors_are_typed() -> None:
    with pytest.raises(TraceError, match="no such file"):
        replay_file("/nonexistent/trace.json")
