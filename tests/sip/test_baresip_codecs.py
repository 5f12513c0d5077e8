"""baresip with only G.722 or only Opus loaded calls the shipped flow: the IVR negotiates that codec, plays its
prompts in it (encoded once per codec), receives the caller's audio in it, and the RFC 2833 digit still works."""

from __future__ import annotations

import time

import pytest

from ivr.store.calls import CallStore

from .baresip_peer import baresip
from .test_sipp_flow import SUPPORT_PATH, job_kinds
from .test_sipp_flow import flow_ivr as flow_ivr  # a fixture

pytestmark = pytest.mark.slow  # a real baresip softphone


def live_streams(running) -> list[dict]:
    def snapshot():
        return [
            {
                "codec": live.stream.codec.name,
                "pt": live.stream.payload_type,
                "sent": live.stream.packets_sent,
                "received": live.stream.packets_received,
                "bad": live.stream.bad_packets,
                "srtp": live.stream.srtp is not None,
            }
            for live in running.server.live.values()
            if live.stream is not None
        ]

    return running.loop.call(snapshot)


def wait_for_media(running, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        streams = live_streams(running)
        if streams and streams[0]["sent"] > 25 and streams[0]["received"] > 25 or time.monotonic() > deadline:
            return streams
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("module", "codec", "rate", "channels"), [("g722.so", "G722", 16000, 1), ("opus.so", "opus", 48000, 2)]
)
def test_baresip_with_one_wideband_codec(flow_ivr, redis_conn, tmp_path, module, codec, rate, channels):
    running = flow_ivr()
    with baresip(tmp_path, modules=(module,), rate=rate, channels=channels) as (ctrl, output):
        ctrl.send("dial", f"sip:ivr@127.0.0.1:{running.port}")
        assert ctrl.wait_for("CALL_ESTABLISHED", 10) is not None, output()[-2000:]
        streams = wait_for_media(running)
        assert len(streams) == 1 and streams[0]["codec"] == codec, streams
        assert streams[0]["sent"] > 25 and streams[0]["received"] > 25 and streams[0]["bad"] == 0, streams
        ctrl.send("sndcode", "1")
        assert ctrl.wait_for("CALL_CLOSED", 30) is not None, output()[-2000:]
    assert running.wait_idle()["live"] == 0
    record = CallStore(redis_conn).recent()[0]
    assert record.path == SUPPORT_PATH and job_kinds(redis_conn, record.id) == ["sms"]
    assert running.server.prompts.renders >= 1


def test_codecs_setting_refuses_what_is_not_enabled(flow_ivr, tmp_path):
    running = flow_ivr(codecs=("pcmu", "pcma"))
    with baresip(tmp_path, modules=("g722.so",), rate=16000) as (ctrl, output):
        ctrl.send("dial", f"sip:ivr@127.0.0.1:{running.port}")
        closed = ctrl.wait_for("CALL_CLOSED", 10)
        assert closed is not None and "488" in closed.get("param", ""), (closed, output()[-2000:])
    assert running.wait_idle()["live"] == 0
