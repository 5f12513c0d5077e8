"""Every branch of the shipped skype-receptionist flow, played through the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from ivr.channels.simulator import run_script
from ivr.engine import actions as A
from ivr.flows import load_flow, validate_paths
from ivr.store.calls import CallStore
from ivr.store.followups import FollowupStore

ROOT = Path(__file__).resolve().parents[2]
FLOW_PATH = ROOT / "flows" / "skype-receptionist.yaml"
STRANGER = "+15557770000"
CONTACT = "+15550100200"
OPEN = datetime.fromisoformat("2026-11-18T11:00:00+00:00").timestamp()  # Wednesday, London office hours
CLOSED = datetime.fromisoformat("2026-11-18T20:00:00+00:00").timestamp()
# Settings that can text (the shipped flow reads the links aloud instead when it cannot)
CAN_TEXT = {
    "TWILIO_ACCOUNT_SID": "AC1",
    "TWILIO_AUTH_TOKEN": "t",
    "TWILIO_FROM_NUMBER": "+15550001111",
    "PUBLIC_BASE_URL": "https://ivr.example.com",
}
CHRISTMAS = datetime.fromisoformat("2026-12-25T11:00:00+00:00").timestamp()


@pytest.fixture(scope="module")
def flow():
    return load_flow(FLOW_PATH)


def jobs(transcript):
    return [(j.kind, j.payload.get("to") or j.payload.get("number")) for j in transcript.jobs]


def test_shipped_flows_validate():
    assert validate_paths([ROOT / "flows"]) == []


def test_contact_is_put_straight_through(flow):
    t = run_script(flow, ["transfer:ok"], caller=CONTACT, at=OPEN)
    assert t.said[0] == "Hi Sam, putting you through to Alex."
    assert [a.target for a in t.actions if isinstance(a, A.Transfer)] == ["+442079460100"]
    assert t.state["outcome"] == "transferred" and t.state["path"] == ["screen_caller", "put_contact_through"]


def test_contact_unanswered_leaves_voicemail_emailed_to_owner(flow):
    t = run_script(flow, ["transfer:no-answer", "record:14"], caller=CONTACT, at=OPEN)
    assert jobs(t) == [("email", "owner@example.com")]
    assert t.jobs[0].payload["recording_duration"] == 14.0
    assert t.state["outcome"] == "voicemail"


@pytest.mark.parametrize("turn", ["1", "say:skype", "say:I need Skype support", "say:one"])
def test_support_links_by_sms(flow, turn):
    t = run_script(flow, [turn], caller=STRANGER, at=OPEN)
    assert "This is not Skype" in t.said[0]
    assert jobs(t) == [("sms", STRANGER)]
    assert "https://support.skype.com" in t.jobs[0].payload["message"]
    assert t.said[-2:] == ["I've sent Skype's support links to you by text message.", "Thank you for calling. Goodbye."]
    assert t.state["outcome"] == "support_links_sent"


def test_chat_link(flow):
    t = run_script(flow, ["2"], caller=STRANGER, at=OPEN)
    assert jobs(t) == [("chat", STRANGER)] and t.state["outcome"] == "chat_link_sent"


def test_callback_at_caller_id(flow):
    t = run_script(flow, ["3", "1"], caller=STRANGER, at=CLOSED)
    assert jobs(t) == [("callback", STRANGER)]
    assert t.jobs[0].payload["schedule"]["timezone"] == "Europe/London"
    assert t.state["outcome"] == "callback_requested"


def test_callback_at_keyed_number_read_back_and_confirmed(flow):
    t = run_script(flow, ["3", "2", "442079460123#", "1"], caller=STRANGER, at=OPEN)
    assert "You entered 4 4 2 0 7 9 4 6 0 1 2 3. Press 1" in " ".join(t.said)
    assert jobs(t) == [("callback", "442079460123")]
    assert t.jobs[0].payload["country"] == "GB"  # the worker reads the digits as a UK number


def test_callback_number_re_entered_after_saying_no(flow):
    t = run_script(flow, ["3", "2", "442079460123#", "2", "442079460111#", "1"], caller=STRANGER, at=OPEN)
    assert jobs(t) == [("callback", "442079460111")]


def test_callback_number_too_short_until_exhausted_sends_links(flow):
    t = run_script(flow, ["3", "2", "123#", "456#", "789#"], caller=STRANGER, at=OPEN)
    assert jobs(t) == [("sms", STRANGER)]
    assert "that doesn't look like a full phone number" in " ".join(t.said)


def test_owner_in_business_hours_is_transferred(flow):
    t = run_script(flow, ["0", "transfer:ok"], caller=STRANGER, at=OPEN)
    assert t.state["path"][-1] == "put_caller_through" and t.state["outcome"] == "transferred"


def test_owner_in_business_hours_is_bridged_with_a_whisper(flow):
    t = run_script(flow, ["0"], caller=STRANGER, at=OPEN)
    transfer = next(a for a in t.actions if isinstance(a, A.Transfer))
    assert (transfer.mode, transfer.accept_digit) == ("bridge", "1")
    assert transfer.whisper.startswith(f"A caller from {STRANGER}, looking for Skype support. Press 1 to take")


@pytest.mark.parametrize("reason", ["no-answer", "declined"])
def test_owner_not_taking_the_call_goes_to_voicemail(flow, reason):
    t = run_script(flow, ["0", f"transfer:{reason}", "record:30"], caller=STRANGER, at=OPEN)
    assert jobs(t) == [("email", "owner@example.com")]


def test_owner_busy_holds_the_caller_in_the_queue_then_offers_a_callback(flow):
    """Issue 17: the owner on another call is rung again from a hold queue; after max_wait, a callback."""
    t = run_script(flow, ["0", "transfer:busy", "queue:exhausted", "1"], caller=STRANGER, at=OPEN)
    queue = next(a for a in t.actions if isinstance(a, A.Queue))
    assert (queue.contacts, queue.max_wait) == (("+442079460100",), 120)
    assert queue.whisper.startswith(f"A caller from {STRANGER}, looking for Skype support, has been holding.")
    assert "Sorry, Alex is still busy. I can arrange for you to be called back." in t.said
    assert jobs(t) == [("callback", STRANGER)]


def test_owner_busy_then_free_takes_the_queued_caller(flow):
    t = run_script(flow, ["0", "transfer:busy", "queue:answered"], caller=STRANGER, at=OPEN)
    assert t.state["outcome"] == "transferred" and t.state["path"][-1] == "wait_for_owner"


@pytest.mark.parametrize("at", [CLOSED, CHRISTMAS])
def test_owner_after_hours_offers_voicemail(flow, at):
    t = run_script(flow, ["0", "record:9"], caller=STRANGER, at=at)
    assert "Alex is not available right now." in t.said
    assert not any(isinstance(a, A.Transfer) for a in t.actions)
    assert jobs(t) == [("email", "owner@example.com")]


def test_owner_by_sms_emails_the_owner(flow):
    t = run_script(flow, ["0"], caller=STRANGER, at=OPEN, channel="sms")
    assert jobs(t) == [("email", "owner@example.com")]


@pytest.mark.parametrize("turns", [["silence"] * 3, ["7", "8", "9"], ["silence", "9", "silence"]])
def test_no_input_or_wrong_keys_send_links_anyway(flow, turns):
    t = run_script(flow, turns, caller=STRANGER, at=OPEN)
    assert jobs(t) == [("sms", STRANGER)]
    assert "I'll send Skype's support links to you by text message anyway." in t.said
    assert t.state["done"] and t.state["path"][-2:] == ["send_links_anyway", "goodbye"]


def test_caller_hangs_up_in_the_menu(flow):
    t = run_script(flow, ["hangup"], caller=STRANGER, at=OPEN)
    assert t.jobs == [] and t.state["outcome"] == "abandoned"


def test_cli_simulate_json(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ivr",
            "simulate",
            str(FLOW_PATH),
            "--caller",
            STRANGER,
            "--at",
            "2026-11-18T11:00:00+00:00",
            "--input",
            "3",
            "--input",
            "1",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert {line["type"] for line in lines} <= {"say", "gather", "job", "transfer", "record", "hangup", "log"}
    assert [line["kind"] for line in lines if line["type"] == "job"] == ["callback"]
    assert lines[-1]["type"] == "hangup"


def test_cli_simulate_rejects_bad_turn():
    out = subprocess.run(
        [sys.executable, "-m", "ivr", "simulate", str(FLOW_PATH), "--input", "hello"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "say:words" in out.stderr


def test_cli_interactive_console():
    out = subprocess.run(
        [sys.executable, "-m", "ivr", "simulate", str(FLOW_PATH), "--caller", STRANGER],
        cwd=ROOT,
        input="1\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **CAN_TEXT},
    )
    assert out.returncode == 0, out.stderr
    assert "[job] sms " + STRANGER in out.stdout


def test_cli_interactive_console_enqueue_records_the_call(redis_conn, redis_url, tmp_path):
    """`ivr simulate --enqueue` typed at the console goes through call_session: the call and its job are recorded."""
    env = {**os.environ, **CAN_TEXT, "REDIS_URL": redis_url, "IVR_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "ivr", "simulate", str(FLOW_PATH), "--caller", STRANGER, "--enqueue"],
        cwd=ROOT,
        input="1\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert "[job] sms " + STRANGER in out.stdout
    [record] = CallStore(redis_conn).recent()
    assert (record.channel, record.caller) == ("simulator", STRANGER) and record.ended_at is not None
    assert [f["kind"] for f in FollowupStore(redis_conn).many(record.jobs)] == ["sms"]


@pytest.mark.parametrize("turns", [["1"], ["2"], ["9", "9", "9"]])
def test_links_are_read_aloud_twice_when_they_cannot_be_texted(flow, turns):
    from ivr.settings import Settings
    from ivr.settings.capabilities import flags

    t = run_script(flow, turns, caller=STRANGER, at=OPEN, capabilities=flags(Settings()))  # no SMS provider
    assert t.jobs == []
    spoken = t.said[-2]
    assert spoken.count("support. dot. skype. dot. com") == 2 and "text message" not in spoken.replace(
        "cannot send text messages", ""
    )
    assert t.state["outcome"] == "support_links_read"


def test_links_are_texted_when_the_settings_can(flow):
    from ivr.settings import Settings
    from ivr.settings.capabilities import flags

    able = flags(
        Settings(
            twilio_account_sid="AC1",
            twilio_auth_token="t",
            twilio_from_number="+15550001111",
            public_base_url="https://ivr.example.com",
        )
    )
    assert jobs(run_script(flow, ["1"], caller=STRANGER, at=OPEN, capabilities=able)) == [("sms", STRANGER)]
    assert jobs(run_script(flow, ["2"], caller=STRANGER, at=OPEN, capabilities=able)) == [("chat", STRANGER)]


def test_validate_warns_about_follow_ups_the_settings_cannot_deliver():
    from click.testing import CliRunner

    from ivr.cli import main

    bare = CliRunner().invoke(main, ["validate", str(FLOW_PATH)], env=dict.fromkeys(CAN_TEXT, ""))
    assert bare.exit_code == 0
    assert f"{FLOW_PATH}:" in bare.output and "warning: follow-up kind 'sms' cannot be delivered" in bare.output
    assert "TWILIO_FROM_NUMBER" in bare.output
    able = CliRunner().invoke(main, ["validate", str(FLOW_PATH)], env=CAN_TEXT)
    assert able.exit_code == 0 and "warning" not in able.output


# The outcome a step of each kind gives the call when its flow names none (ivr/engine/steps), and the engine's own.
DEFAULT_OUTCOMES = {"callback": "callback_requested", "voicemail": "voicemail", "transfer": "transferred"}
ENGINE_OUTCOMES = {"completed", "transferred", "abandoned", "error"}


def test_every_outcome_the_flow_can_end_with_has_a_kind(flow):
    possible = set(ENGINE_OUTCOMES)
    for each in flow.library.values():
        for step in each.steps.values():
            default = f"{step.job_kind}_sent" if step.kind == "follow_up" else DEFAULT_OUTCOMES.get(step.kind, "")
            possible.add(step.outcome or default)
    possible.discard("")
    assert possible <= set(flow.outcomes), f"no kind for {sorted(possible - set(flow.outcomes))}"
    assert flow.outcomes["support_links_sent"] == "success" and flow.outcomes["error"] == "failure"
