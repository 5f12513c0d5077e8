"""The broken-flow corpus: every file in tests/flows/bad/ states, in `# expect: LINE:COLUMN: text` lines at its
top, each problem the validator must report (at exactly that line and column, with that text in the message),
and nothing else may be reported. A flow in a subfolder is its `main.yaml`; an expectation about another file
of the folder names it first (`# expect: survey.yaml:11:16: ...`). tests/flows/good/ must validate cleanly.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.flows import FlowInvalid, load_flow, validate_paths, validate_text
from ivr.flows.source import read_yaml
from ivr.flows.yaml_core import COMPOSERS

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
BAD = sorted(HERE.glob("bad/*.yaml")) + sorted(HERE.glob("bad/*/main.yaml"))
GOOD = sorted(HERE.glob("good/*.yaml")) + sorted(HERE.glob("good/*/*.yaml"))
EXPECT = re.compile(r"^# expect: (?:(?P<file>[\w.-]+\.yaml):)?(?P<line>\d+):(?P<column>\d+): (?P<text>.+)$")
LINE_FORMAT = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<message>.+)$")


def expectations(path: Path) -> list[tuple[str, int, int, str]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = EXPECT.match(line)
        if match:
            found.append((match["file"] or path.name, int(match["line"]), int(match["column"]), match["text"]))
    return found


def case_id(path: Path) -> str:
    return str(path.relative_to(HERE / "bad").with_suffix(""))


def test_corpus_is_large_enough():
    assert len(BAD) >= 30
    assert all(expectations(path) for path in BAD), "every bad flow states what it expects"


@pytest.mark.parametrize("path", BAD, ids=case_id)
def test_bad_flow_reports_exactly_the_expected_problems(path: Path):
    expected = expectations(path)
    problems = validate_paths([path])
    reported = [(Path(p.file).name, p.line, p.column, p.message) for p in problems]
    for name, line, column, text in expected:
        assert any(r[:3] == (name, line, column) and text in r[3] for r in reported), (
            f"expected {name}:{line}:{column}: ...{text}... among\n" + "\n".join(map(str, problems))
        )
    assert len(reported) == len(expected), "unexpected extra problems:\n" + "\n".join(map(str, problems))
    with pytest.raises(FlowInvalid) as raised:  # the loader refuses it: a broken flow never reaches a caller
        load_flow(path)
    assert raised.value.problems == problems


@pytest.mark.parametrize("path", GOOD, ids=lambda p: str(p.relative_to(HERE / "good")))
def test_good_flow_validates_cleanly(path: Path):
    assert validate_paths([path]) == []


@pytest.mark.parametrize("name", ["unknown_target_menu_choice", "bad_hours_range", "duplicate_step_id"])
def test_cli_prints_file_line_column_message_and_exits_1(name: str):
    path = HERE / "bad" / f"{name}.yaml"
    run = subprocess.run(
        [sys.executable, "-m", "ivr", "validate", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == len(expectations(path))
    for line, (_, exp_line, exp_column, text) in zip(lines, expectations(path)):
        match = LINE_FORMAT.match(line)
        assert match, line
        assert (match["file"], int(match["line"]), int(match["column"])) == (str(path), exp_line, exp_column)
        assert text in match["message"]
    assert "problem(s) found" in run.stderr


def test_cli_exits_0_on_a_directory_of_good_flows():
    run = subprocess.run(
        [sys.executable, "-m", "ivr", "validate", str(HERE / "good"), str(HERE / "good/subflow")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (run.returncode, run.stdout) == (0, ""), run.stdout + run.stderr


def test_cli_on_the_bad_directory_reports_every_file():
    run = subprocess.run(
        [sys.executable, "-m", "ivr", "validate", str(HERE / "bad")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    files = {LINE_FORMAT.match(line)["file"] for line in run.stdout.splitlines()}
    assert files == {str(path) for path in sorted(HERE.glob("bad/*.yaml"))}


def test_yaml_1_2_scalars_stay_strings():
    flow = load_flow(HERE / "good" / "yaml12_scalars.yaml")
    assert flow.variables == {
        "answer": "no",
        "switch": "on",
        "opens": "9:30",
        "country": "NO",
        "day": "2026-12-25",
        "owner": "+15550100100",
        "prefix": "0044",
        "count": "3",
        "ratio": "0.5",
    }
    assert sorted(flow.steps["pick"].by_digit) == ["08", "8"]


def test_alias_bomb_is_refused_quickly_with_a_located_problem():
    """A billion laughs (10**12 strings once expanded) must be refused, not built."""
    levels = ["a: &a [" + ", ".join(['"lol"'] * 10) + "]"]
    for previous, name in zip("abcdefghijk", "bcdefghijkl"):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    text = (
        "id: lol\nstart: bye\nvariables:\n"
        + "".join(f"  {level}\n" for level in levels)
        + "steps:\n  bye:\n    type: hangup\n"
    )
    problems = validate_text(text, "bomb.yaml")
    assert len(problems) == 1
    assert "more than 200000 YAML nodes" in problems[0].message
    assert problems[0].line > 3  # at the aliases, not at the top of the file


def test_deep_nesting_is_refused():
    text = "id: deep\nstart: bye\nvariables:\n  x: " + "[" * 3000 + "]" * 3000 + "\nsteps:\n  bye: {type: hangup}\n"
    problems = validate_text(text, "deep.yaml")
    # variables.x's 64th '[' opens a node 65 levels down ("  x: " is 5 characters, so it stands in column 69).
    assert [str(p) for p in problems] == ["deep.yaml:4:69: nesting deeper than 64 levels is not allowed in a flow"]


@pytest.mark.parametrize("composer", sorted(COMPOSERS))
@pytest.mark.parametrize("levels", [65, 999, 1000, 5000])
def test_nesting_is_checked_by_us_whatever_the_parser_would_allow(composer: str, levels: int):
    """libyaml stops at 1,000 levels with its own ScannerError, pure-Python PyYAML recurses until RecursionError:
    our own scan of the events refuses the 65th level first, at the same place, with either parser."""
    text = "x:\n" + "".join(" " * depth + "- \n" for depth in range(levels - 1)) + " " * (levels - 1) + "- end\n"
    data, located = read_yaml(text, "deep.yaml", composer=COMPOSERS[composer])
    assert data is None
    assert [str(p) for p in located.problems] == [
        "deep.yaml:66:65: nesting deeper than 64 levels is not allowed in a flow"
    ]


@pytest.mark.parametrize("composer", sorted(COMPOSERS))
def test_nesting_at_the_limit_is_read(composer: str):
    text = "x: " + "[" * 63 + "1" + "]" * 63 + "\n"  # the scalar 1 is 64 levels down
    data, located = read_yaml(text, "edge.yaml", composer=COMPOSERS[composer])
    assert located.problems == []
    for _ in range(63):
        data = data["x"] if isinstance(data, dict) else data[0]
    assert data == [1]


def test_a_large_ordinary_flow_is_not_mistaken_for_a_bomb():
    steps = "".join(
        f"  s{i}:\n    type: say\n    text: Step {i} of many, for {{{{caller.number}}}}.\n    next: s{i + 1}\n"
        for i in range(2000)
    )
    text = "id: big\nmax_steps: 10000\nstart: s0\nsteps:\n" + steps + "  s2000:\n    type: hangup\n"
    assert validate_text(text, "big.yaml") == []
