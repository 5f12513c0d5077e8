"""baresip as the owner's phone of a bridged transfer, answering by itself: the caller hears the owner's audio
(baresip's aufile source, a 1,100 Hz tone) relayed, and the caller hanging up closes baresip's call; the same
when the owner is the one contact of a queue."""

from __future__ import annotations

import math
import struct

import pytest

from ivr.channels.sip.bridge import STATS
from ivr.engine.actions import Queue, Transfer
from ivr.store.queues import QueueBoard
from tests.procs import wait_until

from ..audioop_shim import audioop
from .apps import Recorded
from .baresip_peer import baresip, free_sip_ports, tone_wav
from .test_bridge import bridge_app, caller_rtp, drain

pytestmark = pytest.mark.slow  # a real baresip softphone

OWNER_ANSWERS = "<sip:owner@127.0.0.1>;regint=0;answermode=auto\n"


def power_at(pcm: bytes, frequency: float) -> float:
    """Goertzel: the signal's power at `frequency` (8 kHz samples)."""
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm[: len(pcm) // 2 * 2])
    coefficient, previous, before = 2 * math.cos(2 * math.pi * frequency / 8000), 0.0, 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    return previous * previous + before * before - coefficient * previous * before


def put_through(kind: str, owner: str) -> Transfer | Queue:
    """A bridged transfer to the owner, or a queue whose one contact is the owner (issue 17)."""
    if kind == "transfer":
        return Transfer(target=owner, timeout=10)
    return Queue(name="baresip", contacts=(owner,), announce="You are number {position}.", max_wait=30)


@pytest.mark.parametrize("kind", ["transfer", "queue"])
def test_baresip_answers_by_itself_and_its_audio_reaches_the_caller(
    start_server, uac_factory, redis_conn, tmp_path, kind
):
    sip_port = free_sip_ports()
    owner = tone_wav(tmp_path / "owner.wav", 8000, frequency=1100.0, seconds=20, amplitude=8000)
    with baresip(tmp_path, wav=owner, accounts=OWNER_ANSWERS, sip_port=sip_port) as (ctrl, _output):
        record = Recorded()
        before = STATS.bridged
        running = start_server(bridge_app(record, put_through(kind, f"sip:owner@127.0.0.1:{sip_port}")))
        running.server.queue_board = QueueBoard(redis_conn)
        caller = uac_factory(running.port)
        caller.call()
        assert ctrl.wait_for("CALL_ESTABLISHED", 15) is not None
        assert wait_until(lambda: STATS.bridged > before, 10)
        drain(caller.rtp)
        heard = b"".join(audioop.ulaw2lin(p[12:], 2) for p in caller_rtp(caller, 50))
        assert power_at(heard, 1100) > 50 * power_at(heard, 440), "the caller does not hear the owner's tone"
        caller.request("BYE", to_tag=caller.to_tag)
        assert ctrl.wait_for("CALL_CLOSED", 10) is not None
        assert wait_until(lambda: bool(record.results)) and record.results[0].ok
