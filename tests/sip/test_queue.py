"""The queue step on SIP, on loopback: raw UACs as callers, a raw UAS (raw_owner.py) as the owner's phone, the
places in a real Redis. Two callers queue and hear their places (1, then 2), the owner takes the first, the
second moves up and the owner's phone rings for them; max_wait gives "exhausted"; a caller who hangs up leaves
the queue at once, and a ringing contact gets a CANCEL."""

from __future__ import annotations

import time

import pytest

from ivr.engine.actions import Queue
from ivr.store import connect
from ivr.store.calls import CallStore
from ivr.store.queues import QueueBoard

from .apps import Recorded
from .conftest import run_sipp, sipp_counts
from .pcap import write_rtp_pcap
from .raw_owner import RawOwner, dtmf_press
from .test_bridge import bridge_app, caller_rtp
from .test_media_calls import wait_until

pytestmark = pytest.mark.slow

QUEUE = {
    "name": "owner",
    "announce": "You are number {position} in the queue.",
    "announce_every": 2.0,
    "ring_timeout": 10.0,
    "max_wait": 30.0,
    "hold": "music",
    "whisper": "A caller is waiting. Press 1 to take the call.",
}


@pytest.fixture
def owner():
    phone = RawOwner()
    yield phone
    phone.close()


@pytest.fixture
def queued(start_server, uac_factory, redis_conn):
    """queued(owner, **fields) -> (record, running, board, dial): `dial()` places one caller into the queue."""

    def start(phone: RawOwner, **fields):
        record = Recorded()
        running = start_server(bridge_app(record, Queue(**{**QUEUE, "contacts": (phone.uri,), **fields})))
        board = QueueBoard(redis_conn)
        running.server.queue_board = board

        def dial():
            caller = uac_factory(running.port)
            caller.call()
            return caller

        return record, running, board, dial

    return start


def heard(call) -> list[str]:
    return [prompt["text"] for prompt in call.heard]


def places(board: QueueBoard) -> list[str]:
    return [waiting.call_id for waiting in board.waiting("owner", time.time())]


def test_two_callers_hear_their_places_the_owner_takes_the_first_and_the_second_moves_up(queued, owner):
    record, running, board, dial = queued(owner)
    first = dial()
    invite = owner.wait_invite(10)  # the head of the line: the owner's phone rings at once
    assert "A caller is waiting" not in invite["body"]
    second = dial()
    assert wait_until(lambda: places(board) == [first.call_id, second.call_id], 10)
    assert any(p[12:] != b"\xff" * 160 for p in caller_rtp(second, 40)), "the second caller heard nothing"
    assert wait_until(lambda: len(record.calls) == 2 and "You are number 2 in the queue." in heard(record.calls[1]))
    assert wait_until(lambda: heard(record.calls[0])[:1] == ["You are number 1 in the queue."])  # once it played
    owner.answer(payload_type=0)
    assert len(owner.rtp_packets(10, want=lambda p: p[12:] != b"\xff" * 160)) == 10  # the whisper
    for packet in dtmf_press(101, 1, 500, 80000):
        owner.send_rtp(packet)
    assert wait_until(lambda: places(board) == [second.call_id], 10)  # the first is bridged, out of the line
    again = owner.wait_invite(15)  # and the owner's phone rings for the second caller
    assert again["headers"]["call-id"] != invite["headers"]["call-id"]
    assert wait_until(lambda: "You are number 1 in the queue." in heard(record.calls[1]), 10)
    owner.reply(again, 486, "Busy Here")
    second.request("BYE", to_tag=second.to_tag)
    assert wait_until(lambda: places(board) == [], 5)
    # its flow ends a moment after it leaves the line: the first caller hangs up once it has
    assert wait_until(lambda: record.results == ["ended:hangup"], 10)
    first.request("BYE", to_tag=first.to_tag)
    assert wait_until(lambda: len(record.results) == 2, 10)
    assert (record.results[1].ok, record.results[1].reason) == (True, "answered")
    assert running.wait_idle()["ports"] == 0


def test_max_wait_ends_the_wait_as_exhausted_and_cancels_the_ringing_contact(queued, owner):
    record, running, board, dial = queued(owner, max_wait=3.0)
    caller = dial()
    invite = owner.wait_invite(10)
    owner.reply(invite, 180, "Ringing")
    assert owner.recv(10, want=lambda m: m["method"] == "CANCEL") is not None
    assert wait_until(lambda: len(record.results) == 1, 10)
    assert (record.results[0].ok, record.results[0].reason) == (False, "exhausted")
    assert places(board) == []
    caller.request("BYE", to_tag=caller.to_tag)
    assert running.wait_idle()["ports"] == 0


def test_a_caller_who_hangs_up_leaves_the_queue_at_once_and_the_ringing_stops(queued, owner):
    record, running, board, dial = queued(owner)
    first = dial()
    invite = owner.wait_invite(10)
    owner.reply(invite, 180, "Ringing")
    second = dial()
    assert wait_until(lambda: places(board) == [first.call_id, second.call_id], 10)
    second.request("BYE", to_tag=second.to_tag)
    assert wait_until(lambda: places(board) == [first.call_id], 3)
    first.request("BYE", to_tag=first.to_tag)
    assert owner.recv(10, want=lambda m: m["method"] == "CANCEL") is not None
    assert wait_until(lambda: places(board) == [], 3)
    assert wait_until(lambda: record.results == ["ended:hangup", "ended:hangup"], 10)
    assert running.wait_idle()["ports"] == 0


def test_all_at_once_rings_every_contact_and_cancels_the_others_when_one_takes_the_call(queued, owner):
    other = RawOwner()
    try:
        record, running, board, dial = queued(owner, strategy="all", contacts=(other.uri, owner.uri))
        caller = dial()
        other.reply(other.wait_invite(10), 180, "Ringing")
        owner.wait_invite(10)
        owner.answer(payload_type=0)
        assert other.recv(10, want=lambda m: m["method"] == "CANCEL") is not None
        assert len(owner.rtp_packets(10, want=lambda p: p[12:] != b"\xff" * 160)) == 10  # the whisper
        for packet in dtmf_press(101, 1, 500, 80000):
            owner.send_rtp(packet)
        assert wait_until(lambda: places(board) == [], 10)
        caller.request("BYE", to_tag=caller.to_tag)
        assert wait_until(lambda: len(record.results) == 1, 10)
        assert (record.results[0].ok, record.results[0].reason) == (True, "answered")
        assert running.wait_idle()["ports"] == 0
    finally:
        other.close()


def test_contacts_the_phone_number_policy_refuses_are_never_dialled(queued, owner):
    record, running, board, dial = queued(owner, contacts=("+19005550123",))  # premium rate
    caller = dial()
    assert wait_until(lambda: len(record.results) == 1, 10)
    assert (record.results[0].ok, record.results[0].reason) == (False, "refused")
    assert owner.recv(1) is None and places(board) == []
    caller.request("BYE", to_tag=caller.to_tag)


QUEUE_FLOW = """
id: queued
start: wait
steps:
  wait:
    type: queue
    contacts: ["OWNER_URI"]
    ring_timeout: 20
    max_wait: 5
    announce_every: 5
    exhausted: sorry
  sorry:
    type: hangup
    say: "Nobody could take your call ({{queue.reason}}). Goodbye."
"""


def test_a_sipp_caller_waits_out_max_wait_and_the_flow_goes_on_at_exhausted(flow_server, redis_conn, tmp_path, owner):
    running = flow_server(QUEUE_FLOW.replace("OWNER_URI", owner.uri))
    pcap = write_rtp_pcap(tmp_path / "quiet.pcap", [b"\xff" * 160] * 10, 0)
    subst = {"PCAP": pcap, "PT": 0, "CODEC": "PCMU", "PAUSE": 500, "BYE_TIMEOUT": 30000}
    result = run_sipp("uac_speech.xml", running.port, timeout=60, cwd=tmp_path, subst=subst)
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:] + result.stderr[-1500:]
    assert owner.recv(1, want=lambda m: m["method"] == "INVITE") is not None  # rung while the caller waited
    assert owner.recv(1, want=lambda m: m["method"] == "CANCEL") is not None  # and given up at max_wait
    (call,) = CallStore(redis_conn).recent()
    assert call.path == ["wait", "sorry"]
    timeline = CallStore(redis_conn).timeline(call.id)
    heard = [e["data"]["text"] for e in timeline if e["kind"] == "heard"]
    assert heard == ["You are number 1 in the queue. Please hold.", "Nobody could take your call (exhausted). Goodbye."]
    assert running.wait_idle()["ports"] == 0 and places(QueueBoard(redis_conn)) == []


def test_without_redis_the_caller_is_not_held_and_the_flow_goes_on(queued, owner):
    record, running, board, dial = queued(owner)
    running.server.queue_board = QueueBoard(connect("redis://127.0.0.1:9/0"))  # refused at once
    caller = dial()
    assert wait_until(lambda: len(record.results) == 1, 10)
    assert (record.results[0].ok, record.results[0].reason) == (False, "unavailable")
    assert owner.recv(0.5) is None  # nobody was rung for a queue that cannot be kept
    caller.request("BYE", to_tag=caller.to_tag)
