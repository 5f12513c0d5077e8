"""A SIP call (SIPp) through an http step whose web service answers slowly: the caller hears the filler while the
request runs off the media loop, and the RTP clock never stalls meanwhile."""

from __future__ import annotations

import asyncio
import time

import pytest

from ivr.call_session.http_request import HttpRunner
from ivr.channels.sip.session import flow_app
from ivr.store.calls import CallStore
from tests.fakes.web_service import WebService, lookup_flow
from tests.sessions import flow_session

from .conftest import run_sipp, sipp_counts

pytestmark = pytest.mark.slow  # a SIPp call in real time (~6 s)

SLOW = 3.0


@pytest.fixture
def service():
    with WebService() as running:
        yield running


@pytest.fixture
def lookup_ivr(start_server, redis_server, tmp_path, service):
    """start(slow) -> (the SIP channel running the lookup flow against a service answering after `slow` s, samples)"""

    def start(slow: float):
        flows = tmp_path / "flows"
        flows.mkdir()
        (flows / "lookup.yaml").write_text(lookup_flow(f"{service.url}/slow?s={slow}", timeout=6))
        session = flow_session(redis_server.url, tmp_path / "spool.sqlite3", flows, "lookup")
        samples: list[tuple[float, int, bool]] = []
        return start_server(sampled(flow_app(session, http=HttpRunner([service.url + "/"])), samples)), samples

    return start


def call(running, scenario: str, tmp_path) -> None:
    result = run_sipp(scenario, running.port, timeout=40, cwd=tmp_path)
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:] + result.stderr[-1500:]
    state = running.wait_idle()
    assert state["live"] == state["uas_calls"] == state["ports"] == state["tasks"] == 0, state


def test_a_slow_answer_has_the_caller_hear_the_filler_with_rtp_flowing(lookup_ivr, service, redis_conn, tmp_path):
    running, samples = lookup_ivr(SLOW)
    call(running, "uac_silence.xml", tmp_path)
    (asked,) = service.requests
    (record,) = CallStore(redis_conn).recent()
    assert record.path == ["ask", "greet"] and record.outcome == "completed"
    heard = [e["data"] for e in CallStore(redis_conn).timeline(record.id) if e["kind"] == "heard"]
    assert [h["text"] for h in heard][-1] == "Hello Slow."
    fillers = [h for h in heard if h["text"] == "One moment please."]
    assert fillers and asked["at"] + 0.3 < fillers[0]["started_at"] < asked["at"] + 1.5  # from filler_after on
    assert fillers[-1]["ended_at"] <= asked["at"] + SLOW + 0.5  # cut short once the answer was in
    # while the request ran, the media loop sent its 50 packets a second, and they carried the filler
    window = [s for s in samples if asked["at"] + 1.0 <= s[0] <= asked["at"] + SLOW - 0.3]
    assert len(window) >= 10
    rate = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
    assert 40 <= rate <= 60, rate
    assert sum(playing for _, _, playing in window) >= 0.8 * len(window)


def sampled(app, samples: list):
    """The app, with the call's RTP packet count and whether a prompt plays sampled every 100 ms."""

    async def wrapped(call) -> None:
        async def sample() -> None:
            while True:
                samples.append((time.time(), call.stream.packets_sent, call.stream.playing))
                await asyncio.sleep(0.1)

        sampler = asyncio.ensure_future(sample())
        try:
            await app(call)
        finally:
            sampler.cancel()

    return wrapped


def test_a_caller_hanging_up_while_the_request_runs_ends_the_call_at_once(lookup_ivr, service, redis_conn, tmp_path):
    running, _ = lookup_ivr(5.0)
    started = time.monotonic()
    call(running, "uac_hangup.xml", tmp_path)  # BYE 1.5 s after the answer, during the filler
    assert time.monotonic() - started < 4.5  # nobody waited for the answer
    (record,) = CallStore(redis_conn).recent()
    assert record.path == ["ask"] and record.outcome == "abandoned" and len(service.requests) == 1
