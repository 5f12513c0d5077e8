"""Regression tests for engine bugs found by the QA pass (each named after what used to go wrong)."""
from __future__ import annotations

from pathlib import Path

from ivr.engine import actions as A
from ivr.flows import load_flow
from tests.engine.helpers import play

GOOD = Path(__file__).parents[1] / "flows" / "good"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_subflow_variables_are_spoken_and_do_not_override_the_callers(tmp_path):
    main = write(tmp_path, "main.yaml", """
id: main
variables: {owner: Alex}
start: enter
steps:
  enter: {type: goto, flow: survey, next: bye}
  bye: {type: hangup, say: "Bye from {{owner}}, {{greeting}}."}
""")
    write(tmp_path, "survey.yaml", """
id: survey
subflow: true
variables: {greeting: "Hi from the survey", owner: nobody}
start: hi
steps:
  hi: {type: say, text: "{{greeting}} for {{owner}}.", next: done}
  done: {type: return}
""")
    state, turns, _ = play(load_flow(main), [])
    assert turns[0] == ["say:Hi from the survey for Alex.", "say:Bye from Alex, Hi from the survey.",
                        "hangup:completed"]


def test_subflow_save_as_is_visible_after_return():
    state, turns, _ = play(load_flow(GOOD / "subflow" / "main.yaml"), ["digits:2"])
    assert turns[-1] == ["say:Thanks, your rating was 2.", "hangup:completed"]
    assert state["path"] == ["hello", "survey", "survey/ask", "survey/done", "thanks"]
