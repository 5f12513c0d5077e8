"""Regression tests for engine bugs found by the QA pass (each named after what used to go wrong)."""

from __future__ import annotations

from pathlib import Path

from ivr.engine import actions as A
from ivr.flows import load_flow
from tests.engine.helpers import flow_from, play

GOOD = Path(__file__).parents[1] / "flows" / "good"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_subflow_variables_are_spoken_and_do_not_override_the_callers(tmp_path):
    main = write(
        tmp_path,
        "main.yaml",
        """
id: main
variables: {owner: Alex}
start: enter
steps:
  enter: {type: goto, flow: survey, next: bye}
  bye: {type: hangup, say: "Bye from {{owner}}, {{greeting}}."}
""",
    )
    write(
        tmp_path,
        "survey.yaml",
        """
id: survey
subflow: true
variables: {greeting: "Hi from the survey", owner: nobody}
start: hi
steps:
  hi: {type: say, text: "{{greeting}} for {{owner}}.", next: done}
  done: {type: return}
""",
    )
    state, turns, _ = play(load_flow(main), [])
    assert turns[0] == [
        "say:Hi from the survey for Alex.",
        "say:Bye from Alex, Hi from the survey.",
        "hangup:completed",
    ]


def test_subflow_save_as_is_visible_after_return():
    state, turns, _ = play(load_flow(GOOD / "subflow" / "main.yaml"), ["digits:2"])
    assert turns[-1] == ["say:Thanks, your rating was 2.", "hangup:completed"]
    assert state["path"] == ["hello", "survey", "survey/ask", "survey/done", "thanks"]


CONFIRMED_NUMBER = """
id: t
variables: {callback_number: "none yet"}
start: ask
steps:
  ask: {type: collect_digits, prompt: "Enter your number.", min_digits: 4, max_digits: 8, save_as: callback_number,
        confirm: true, max_retries: 1, exhausted: given_up, next: got_it}
  got_it: {type: hangup, say: "Calling {{callback_number}}."}
  given_up: {type: hangup, say: "Keeping {{callback_number}}."}
"""


def test_an_unconfirmed_number_is_not_kept_when_the_caller_gives_up():
    state, turns, _ = play(flow_from(CONFIRMED_NUMBER), ["digits:5551234#", "silence", "silence"])
    assert turns[1] == [
        "say:You entered 5 5 5 1 2 3 4. Press 1 if that is correct, or 2 to enter it again.",
        "gather:ask",
    ]
    assert turns[-1] == ["say:Keeping none yet.", "hangup:completed"]


def test_a_rejected_number_is_forgotten_and_a_spoken_yes_confirms():
    flow = flow_from(CONFIRMED_NUMBER)
    state, turns, _ = play(flow, ["digits:5551234#", "digits:2"])
    assert state["vars"]["callback_number"] == "none yet"
    state, turns, _ = play(flow, ["digits:5551234#", "digits:2", "digits:7654321#", "speech:yes"])
    assert turns[-1] == ["say:Calling 7654321.", "hangup:completed"]
    state, turns, _ = play(flow, ["digits:5551234#", "speech:one"])
    assert turns[-1] == ["say:Calling 5551234.", "hangup:completed"]


OUTCOMES = """
id: t
start: hello
steps:
  hello: {type: say, text: "Hello.", outcome: greeted, next: put_through}
  put_through: {type: transfer, to: "+15550100100", outcome: owner_reached, failed: bye}
  bye: {type: hangup}
"""


def test_outcome_on_any_step_labels_the_call_and_transfer_only_when_it_connects():
    flow = flow_from(OUTCOMES)
    state, _, _ = play(flow, ["transfer:busy"])
    assert state["outcome"] == "greeted"
    state, _, _ = play(flow, ["transfer:ok"])
    assert state["outcome"] == "owner_reached"


SPOKEN = """
id: t
start: menu
steps:
  menu:
    type: menu
    prompt: "Say live chat, call-back or Skype."
    choices:
      - {keywords: [live chat], goto: chat}
      - {keywords: [call-back], goto: callback}
      - {keywords: [Skype], goto: skype}
    exhausted: bye
  chat: {type: hangup, say: "Chat."}
  callback: {type: hangup, say: "Callback."}
  skype: {type: hangup, say: "Skype."}
  bye: {type: hangup, say: "Bye."}
"""


def test_spoken_keywords_match_as_words_whatever_the_punctuation():
    flow = flow_from(SPOKEN)
    for heard, expected in [
        ("Live-chat, please", "say:Chat."),
        ("I want a call back.", "say:Callback."),
        ("the LIVE   CHAT", "say:Chat."),
        ("skype?", "say:Skype."),
        ("an olive chat", "say:Bye."),
    ]:
        _, turns, _ = play(flow, [f"speech:{heard}", "silence", "silence", "silence"])
        assert expected in [s for turn in turns for s in turn], (heard, turns)


def test_collect_digits_listens_for_spoken_digits_and_yes_or_no():
    flow = flow_from(CONFIRMED_NUMBER)
    _, _, actions = play(flow, ["speech:five five five, one 2 3 4.", "speech:Yeah, that's right."])
    gathers = [a for a in actions if isinstance(a, A.Gather)]
    assert gathers[0].input == ("dtmf", "speech") and "seven" in gathers[0].hints
    assert gathers[1].input == ("dtmf", "speech") and set(gathers[1].hints) >= {"yes", "no"}
    state, turns, _ = play(flow, ["speech:five five five, one 2 3 4.", "speech:Yeah, that's right."])
    assert turns[-1] == ["say:Calling 5551234.", "hangup:completed"]
    state, turns, _ = play(flow, ["speech:5551234", "speech:nope"])
    assert state["vars"]["callback_number"] == "none yet" and turns[-1][-1] == "gather:ask"


def test_collect_digits_is_keys_only_when_the_flow_turns_speech_off():
    flow = flow_from(CONFIRMED_NUMBER.replace("start: ask", "start: ask\nspeech: false"))
    _, _, actions = play(flow, [])
    gather = next(a for a in actions if isinstance(a, A.Gather))
    assert gather.input == ("dtmf",) and gather.hints == ()
