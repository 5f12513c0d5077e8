"""Table-driven engine tests: events go in, the expected actions come out (logs left out)."""

from __future__ import annotations

import json

import pytest

from ivr.engine import actions as A
from ivr.engine import advance
from ivr.engine import events as E
from tests.engine.helpers import OPEN_OR_CLOSED, T0, flow_from, play, summary

MENU = """
id: t
start: menu
steps:
  menu:
    type: menu
    prompt: "Press 1 for sales or say sales."
    choices:
      - {digit: "1", keywords: [sales], goto: sales}
      - {digit: "22", goto: twentytwo}
    max_retries: 1
    no_input: "Nothing heard."
    no_match: "Not an option."
    exhausted: giveup
  sales: {type: hangup, say: "Sales."}
  twentytwo: {type: hangup, say: "Twenty two."}
  giveup: {type: hangup, say: "Bye."}
"""
GREETING = "say:Press 1 for sales or say sales."

CASES = [
    ("menu digit", MENU, ["digits:1"], [[GREETING, "gather:menu"], ["say:Sales.", "hangup:completed"]]),
    (
        "menu speech keyword",
        MENU,
        ["speech:I want SALES please"],
        [[GREETING, "gather:menu"], ["say:Sales.", "hangup:completed"]],
    ),
    ("menu spoken digit", MENU, ["speech:one"], [[GREETING, "gather:menu"], ["say:Sales.", "hangup:completed"]]),
    (
        "menu multi-digit choice",
        MENU,
        ["digits:22"],
        [[GREETING, "gather:menu"], ["say:Twenty two.", "hangup:completed"]],
    ),
    (
        "menu no input then exhausted",
        MENU,
        ["silence", "silence"],
        [[GREETING, "gather:menu"], ["say:Nothing heard.", GREETING, "gather:menu"], ["say:Bye.", "hangup:completed"]],
    ),
    (
        "menu no match then match",
        MENU,
        ["digits:9", "digits:1"],
        [
            [GREETING, "gather:menu"],
            ["say:Not an option.", GREETING, "gather:menu"],
            ["say:Sales.", "hangup:completed"],
        ],
    ),
    (
        "menu mixed failures exhaust",
        MENU,
        ["digits:9", "silence"],
        [[GREETING, "gather:menu"], ["say:Not an option.", GREETING, "gather:menu"], ["say:Bye.", "hangup:completed"]],
    ),
    ("caller hangs up mid menu", MENU, ["hangup"], [[GREETING, "gather:menu"], []]),
    (
        "events after the end are ignored",
        MENU,
        ["digits:1", "digits:1", "silence"],
        [[GREETING, "gather:menu"], ["say:Sales.", "hangup:completed"], [], []],
    ),
]

COLLECT = """
id: t
start: ask
steps:
  ask:
    type: collect_digits
    prompt: "Enter your number."
    min_digits: 4
    max_digits: 6
    pattern: "[0-9]+"
    save_as: num
    confirm: "You said {{num|spell}}. 1 yes, 2 no."
    max_retries: 1
    next: done
    exhausted: fail
  done: {type: hangup, say: "Got {{num}}."}
  fail: {type: hangup, say: "Failed."}
"""
CASES += [
    (
        "collect and confirm",
        COLLECT,
        ["digits:1234#", "digits:1"],
        [
            ["say:Enter your number.", "gather:ask"],
            ["say:You said 1 2 3 4. 1 yes, 2 no.", "gather:ask"],
            ["say:Got 1234.", "hangup:completed"],
        ],
    ),
    (
        "collect re-entry",
        COLLECT,
        ["digits:1234", "digits:2", "digits:98765"],
        [
            ["say:Enter your number.", "gather:ask"],
            ["say:You said 1 2 3 4. 1 yes, 2 no.", "gather:ask"],
            ["say:Enter your number.", "gather:ask"],
            ["say:You said 9 8 7 6 5. 1 yes, 2 no.", "gather:ask"],
        ],
    ),
    (
        "collect too short twice",
        COLLECT,
        ["digits:12#", "digits:1#"],
        [
            ["say:Enter your number.", "gather:ask"],
            ["say:Sorry, that isn't one of the options.", "say:Enter your number.", "gather:ask"],
            ["say:Failed.", "hangup:completed"],
        ],
    ),
    (
        "collect pattern mismatch",
        COLLECT,
        ["digits:12*4#"],
        [
            ["say:Enter your number.", "gather:ask"],
            ["say:Sorry, that isn't one of the options.", "say:Enter your number.", "gather:ask"],
        ],
    ),
]

TRANSFER = """
id: t
start: xfer
steps:
  xfer: {type: transfer, to: "sip:owner@pbx", say: "Connecting.", timeout: 20, failed: vm}
  vm:
    type: voicemail
    prompt: "Leave a message."
    max_length: 60
    follow_up: {kind: email, to: "o@example.com", subject: "VM from {{caller.number}}"}
    next: bye
  bye: {type: hangup, say: "Bye."}
"""
CASES += [
    (
        "transfer ok ends the call",
        TRANSFER,
        ["transfer:ok"],
        [["say:Connecting.", "transfer:sip:owner@pbx"], ["hangup:transferred"]],
    ),
    (
        "transfer failed -> voicemail -> email",
        TRANSFER,
        ["transfer:busy", "record:7"],
        [
            ["say:Connecting.", "transfer:sip:owner@pbx"],
            ["say:Leave a message.", "record:60"],
            ["job:email", "say:Bye.", "hangup:completed"],
        ],
    ),
    (
        "empty voicemail sends nothing",
        TRANSFER,
        ["transfer:busy", "record:0"],
        [
            ["say:Connecting.", "transfer:sip:owner@pbx"],
            ["say:Leave a message.", "record:60"],
            ["say:Bye.", "hangup:completed"],
        ],
    ),
]

BRANCH = """
id: t
timezone: Europe/London
contacts:
  vip: ["+15550001111"]
start: route
steps:
  route:
    type: branch
    rules:
      - when: {caller_in: vip}
        goto: vip
      - when: {caller_prefix: "+44"}
        goto: uk
      - when: {channel: sms}
        goto: text
      - when: {days: [sat, sun]}
        goto: weekend
      - when: {time: ["09:00", "17:00"]}
        goto: day
    otherwise: night
  vip: {type: hangup, say: "VIP."}
  uk: {type: hangup, say: "UK."}
  text: {type: hangup, say: "Text."}
  weekend: {type: hangup, say: "Weekend."}
  day: {type: hangup, say: "Day."}
  night: {type: hangup, say: "Night."}
"""


@pytest.mark.parametrize("name,flow_yaml,turns,expected", CASES, ids=[c[0] for c in CASES])
def test_table(name, flow_yaml, turns, expected):
    flow = flow_from(flow_yaml)
    state, got, _ = play(flow, turns)
    assert got == expected
    json.loads(json.dumps(state))


@pytest.mark.parametrize(
    "caller,channel,at,expected",
    [
        ("+15550001111", "sip", T0, "say:VIP."),
        ("+441234567", "sip", T0, "say:UK."),
        ("+15552222222", "sms", T0, "say:Text."),
        ("+15552222222", "sip", 1_795_262_400.0, "say:Weekend."),  # Sat 2026-11-21 12:00 London
        ("+15552222222", "sip", T0, "say:Day."),  # Wed 11:06 London
        ("+15552222222", "sip", T0 - 4 * 3600, "say:Night."),  # Wed 07:06 London
    ],
)
def test_branch_conditions(caller, channel, at, expected):
    _, got, _ = play(flow_from(BRANCH), [], caller=caller, channel=channel, at=at)
    assert got[0][0] == expected


HOURS = (
    """
id: t
business_hours:
  timezone: America/New_York
  weekly: {mon: ["09:00-17:00"], tue: ["09:00-17:00"]}
  holidays:
    - {date: "2026-11-24", hours: ["09:00-12:00"]}
    - {date: "2026-11-23"}
"""
    + OPEN_OR_CLOSED
)


@pytest.mark.parametrize(
    "local_iso,expected",
    [
        ("2026-11-17T10:00:00-05:00", "say:Open."),  # Tuesday inside hours
        ("2026-11-17T17:00:00-05:00", "say:Closed."),  # closing time is exclusive
        ("2026-11-17T08:59:00-05:00", "say:Closed."),
        ("2026-11-18T10:00:00-05:00", "say:Closed."),  # Wednesday: no hours
        ("2026-11-23T10:00:00-05:00", "say:Closed."),  # whole-day holiday on a Monday
        ("2026-11-24T11:00:00-05:00", "say:Open."),  # partial holiday morning
        ("2026-11-24T13:00:00-05:00", "say:Closed."),  # partial holiday afternoon
    ],
)
def test_business_hours(local_iso, expected):
    from datetime import datetime

    at = datetime.fromisoformat(local_iso).timestamp()
    _, got, _ = play(flow_from(HOURS), [], at=at)
    assert got[0][0] == expected


def test_next_open_skips_holidays():
    from datetime import datetime

    schedule = flow_from(HOURS).schedule
    friday = datetime.fromisoformat("2026-11-20T18:00:00-05:00").timestamp()
    assert datetime.fromtimestamp(schedule.next_open(friday), schedule.tz).isoformat() == "2026-11-24T09:00:00-05:00"


def test_follow_up_jobs_have_deterministic_keys_and_rendered_payloads():
    flow = flow_from("""
    id: t
    variables: {site: {url: "https://example.com"}}
    start: send
    steps:
      send: {type: follow_up, kind: sms, to: "{{caller.number}}", message: "See {{site.url}}", next: loop}
      loop:
        type: menu
        prompt: "1 again"
        choices: [{digit: "1", goto: send}]
        exhausted: bye
      bye: {type: hangup}
    """)
    _, _, actions = play(flow, ["digits:1"])
    jobs = [a for a in actions if isinstance(a, A.Job)]
    assert [j.idempotency_key for j in jobs] == ["c1:send:1", "c1:send:2"]
    assert jobs[0].payload["to"] == "+15550001111" and jobs[0].payload["message"] == "See https://example.com"
    _, _, again = play(flow, ["digits:1"])
    assert [a for a in again if isinstance(a, A.Job)] == jobs  # a replayed call emits the same jobs


def test_typeahead_digits_are_used_by_the_next_menu():
    flow = flow_from(MENU)
    state, actions = advance(flow, None, E.CallStarted("c1", "+1", "+2", "sip", T0))
    state = dict(state, waiting=None)  # as if the prompt were still playing without an open gather
    state, actions = advance(flow, state, E.Digits("1", T0 + 1))
    assert state["typeahead"] == "1" and actions == []


def test_step_budget_ends_a_runaway_flow_politely():
    flow = flow_from("""
    id: t
    max_steps: 5
    start: menu
    steps:
      menu:
        type: menu
        prompt: "Press 1."
        choices: [{digit: "1", goto: menu}]
        max_retries: 10
        exhausted: bye
      bye: {type: hangup}
    """)
    state, got, actions = play(flow, ["digits:1"] * 10)
    assert state["done"] and state["outcome"] == "error"
    assert any(isinstance(a, A.Log) and a.event == "error" for a in actions)
    assert any(s.startswith("say:Sorry, something went wrong") for turn in got for s in turn)
    assert state["steps"] <= 6


def test_subflow_goto_and_return(tmp_path):
    (tmp_path / "sub.yaml").write_text("""
id: sub
subflow: true
start: hello
steps:
  hello: {type: say, text: "In the subflow.", next: back}
  back: {type: return}
""")
    flow = flow_from(
        """
    id: main
    start: enter
    steps:
      enter: {type: goto, flow: sub, next: bye}
      bye: {type: hangup, say: "Back in main."}
    """,
        flows_dir=tmp_path,
    )
    state, got, _ = play(flow, [])
    assert got[0] == ["say:In the subflow.", "say:Back in main.", "hangup:completed"]
    assert state["path"] == ["enter", "sub/hello", "sub/back", "bye"]


def test_state_survives_json_between_turns():
    flow = flow_from(COLLECT)
    state, _ = advance(flow, None, E.CallStarted("c1", "+1", "+2", "twilio", T0))
    for event in (E.Digits("55512#", T0 + 1), E.Digits("1", T0 + 2)):
        state = json.loads(json.dumps(state))
        state, actions = advance(flow, state, event)
    assert state["vars"]["num"] == "55512" and state["done"]


def test_event_round_trip():
    for event in (
        E.CallStarted("c", "a", "b", "sip", 1.0),
        E.Digits("12", 2.0),
        E.Speech("hi", 3.0, 0.5),
        E.NoInput(4.0),
        E.TransferResult(False, 5.0, "busy"),
        E.RecordingDone(6.0, "/x.wav", 3.0),
        E.JobResult("j", True, 7.0),
        E.HungUp(8.0),
    ):
        assert E.event_from_dict(E.to_dict(event)) == event
    with pytest.raises(ValueError):
        E.event_from_dict({"type": "nope"})


def test_pressing_2_at_every_read_back_cannot_loop_forever():
    state, got, _ = play(flow_from(COLLECT), ["digits:1234", "digits:2", "digits:5678", "digits:2"])
    assert got[-1] == ["say:Failed.", "hangup:completed"] and state["done"]
    assert "num" not in state["vars"]  # the unconfirmed number is never kept


def test_a_prompt_that_renders_empty_is_not_spoken():
    flow = flow_from("""
    id: t
    start: hi
    steps:
      hi: {type: say, text: "{{caller.name}}", next: bye}
      bye: {type: hangup, say: "Bye."}
    """)
    _, got, _ = play(flow, [])
    assert got[0] == ["say:Bye.", "hangup:completed"]


def test_callback_carries_who_to_connect_the_answered_callback_to():
    flow = flow_from("""
    id: t
    variables: {desk: "+15550100100"}
    start: cb
    steps:
      cb: {type: callback, connect_to: "{{desk}}", next: bye}
      bye: {type: hangup}
    """)
    _, _, actions = play(flow, [])
    job = next(a for a in actions if isinstance(a, A.Job))
    assert job.kind == "callback" and job.payload["connect_to"] == "+15550100100"
    assert job.payload["number"] == "+15550001111"


WHISPERED = """
id: t
variables:
  owner: {number: "+442079460123"}
start: menu
steps:
  menu: {type: menu, prompt: "Press 0 for the owner.", choices: [{digit: "0", goto: xfer}], exhausted: bye}
  xfer:
    type: transfer
    to: "{{owner.number}}"
    whisper: "A caller from {{caller.number}}, looking for Skype support. Press 1 to take the call."
    accept_digit: "1"
    ringback: music
    timeout: 20
    failed: sorry
  sorry: {type: hangup, say: "Nobody answered ({{transfer.reason}})."}
  bye: {type: hangup}
"""


def test_bridged_transfer_carries_whisper_ringback_and_hand_over_context():
    _, turns, actions = play(flow_from(WHISPERED), ["digits:0"], caller="+447700900123")
    transfer = next(a for a in actions if isinstance(a, A.Transfer))
    assert (transfer.mode, transfer.accept_digit, transfer.ringback, transfer.timeout) == ("bridge", "1", "music", 20)
    assert transfer.whisper == "A caller from +447700900123, looking for Skype support. Press 1 to take the call."
    assert transfer.context == "path=menu>xfer; digits=0; caller=+447700900123"
    assert A.action_from_dict(json.loads(json.dumps(A.to_dict(transfer)))) == transfer
    hash(transfer)  # the Twilio renderer caches on the actions


def test_a_failed_transfer_keeps_its_reason_for_the_failed_path():
    _, turns, _ = play(flow_from(WHISPERED), ["digits:0", E.TransferResult(ok=False, reason="declined", at=T0 + 20)])
    assert turns[-1] == ["say:Nobody answered (declined).", "hangup:completed"]


def test_refer_mode_is_kept_for_pbxs_that_want_it():
    flow = flow_from(TRANSFER.replace("timeout: 20,", "timeout: 20, mode: refer,"))
    _, _, actions = play(flow, [])
    transfer = next(a for a in actions if isinstance(a, A.Transfer))
    assert (transfer.mode, transfer.whisper) == ("refer", "")


def test_a_recorded_transfer_asks_consent_first_and_logs_the_recording():
    flow = flow_from(TRANSFER.replace("timeout: 20,", "timeout: 20, record: true,"))
    _, turns, actions = play(flow, [E.TransferResult(ok=True, reason="completed", recording="local:c1-1", at=T0 + 9)])
    assert turns[0] == ["say:Connecting.", "say:This call will be recorded.", "transfer:sip:owner@pbx"]
    assert next(a for a in actions if isinstance(a, A.Transfer)).record
    logged = [a for a in actions if isinstance(a, A.Log) and a.event == "transfer_result"]
    assert logged[0].data["recording"] == "local:c1-1"
    refer = flow_from(TRANSFER.replace("timeout: 20,", "timeout: 20, mode: refer, record: true,"))
    assert not next(a for a in play(refer, [])[2] if isinstance(a, A.Transfer)).record  # a REFER leaves us


CAN = """
id: can
start: route
steps:
  route:
    type: branch
    rules:
      - when: {can: [sms, chat]}
        goto: text
    otherwise: read
  text:
    type: hangup
    say: "texted {{capabilities.sms}}"
  read:
    type: hangup
    say: "read aloud {{capabilities.sms}}"
"""


@pytest.mark.parametrize(
    "capabilities,expected",
    [
        ({"sms": True, "chat": True}, "say:texted yes"),
        ({"sms": True, "chat": False}, "say:read aloud yes"),
        ({"sms": False}, "say:read aloud no"),  # not named: cannot
        ({}, "say:texted "),  # told nothing (an old state, a bare test): everything is assumed to work
    ],
)
def test_branch_can_tests_what_the_installation_can_deliver(capabilities, expected):
    started = E.CallStarted("c1", "+15550001111", "+15550000000", "sip", T0, capabilities=capabilities)
    state, actions = advance(flow_from(CAN), None, started)
    assert [a for a in map(summary, actions) if a][0] == expected
    assert E.event_from_dict(E.to_dict(started)) == started


QUEUED = """
id: t
variables:
  owner: {mobile: "+442079460123", desk: "sip:alex@desk", spare: ""}
start: wait
steps:
  wait:
    type: queue
    say: "Please hold."
    contacts: ["{{owner.desk}}", "{{owner.mobile}}", "{{owner.spare}}"]
    announce: "{{caller.number}}, you are number {{queue.position}}."
    whisper: "A caller from {{caller.number}}. Press 1."
    strategy: all
    ring_timeout: 12
    max_wait: 90
    announce_every: 15
    outcome: owner_reached
    exhausted: later
  later: {type: hangup, say: "Nobody came ({{queue.reason}})."}
"""


def _queue_event(ok: bool, reason: str) -> E.TransferResult:
    return E.TransferResult(ok=ok, reason=reason, at=T0 + 60)


@pytest.mark.parametrize(
    ("result", "last_turn", "outcome"),
    [
        (_queue_event(True, "answered"), ["hangup:transferred"], "owner_reached"),
        (_queue_event(False, "exhausted"), ["say:Nobody came (exhausted).", "hangup:completed"], "completed"),
        (_queue_event(False, "no-contacts"), ["say:Nobody came (no-contacts).", "hangup:completed"], "completed"),
    ],
)
def test_a_queue_waits_for_the_channel_then_ends_bridged_or_takes_exhausted(result, last_turn, outcome):
    state, turns, actions = play(flow_from(QUEUED), [result], caller="+447700900123")
    queue = next(a for a in actions if isinstance(a, A.Queue))
    assert turns[0] == ["say:Please hold."]
    assert queue.contacts == ("sip:alex@desk", "+442079460123")  # an empty template is no contact
    assert queue.announce == "+447700900123, you are number {position}."
    assert (queue.name, queue.strategy, queue.ring_timeout, queue.max_wait, queue.announce_every) == (
        "t.wait",
        "all",
        12,
        90,
        15,
    )
    assert queue.whisper == "A caller from +447700900123. Press 1." and queue.context.startswith("path=wait")
    assert A.action_from_dict(json.loads(json.dumps(A.to_dict(queue)))) == queue
    hash(queue)
    assert turns[1] == last_turn and state["outcome"] == outcome


def test_a_queue_failure_takes_failed_when_the_step_has_it_and_ignores_other_events():
    flow = flow_from(
        QUEUED.replace("exhausted: later", "exhausted: later\n    failed: broken").replace(
            "  later:", '  broken: {type: hangup, say: "Broken."}\n  later:'
        )
    )
    _, turns, _ = play(flow, ["digits:5", _queue_event(False, "no-contacts")])
    assert turns[1:] == [[], ["say:Broken.", "hangup:completed"]]
    _, turns, _ = play(flow, ["hangup"])
    assert turns[1] == []


@pytest.mark.parametrize(
    ("record", "consent"), [("true", "This call will be recorded."), ("{consent: Taped.}", "Taped.")]
)
def test_a_recorded_flow_asks_consent_then_records_from_the_start(record, consent):
    flow = flow_from(f"id: t\nrecord: {record}\nstart: bye\nsteps:\n  bye: {{type: hangup, say: Bye.}}\n")
    _, turns, actions = play(flow, [])
    assert turns[0] == [f"say:{consent}", "say:Bye.", "hangup:completed"]
    visible = [a for a in actions if not isinstance(a, A.Log)]
    assert isinstance(visible[1], A.RecordCall) and A.action_from_dict(A.to_dict(visible[1])) == visible[1]
    assert not any(isinstance(a, A.RecordCall) for a in play(flow_from(MENU), [])[2])
