"""Callbacks over SIP: the worker's `place()` hands the call to the SIP process through a real Redis, the SIP
process INVITEs a real SIPp UAS on loopback, and the outcome comes back to `place()`."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import pytest

from ivr.channels.sip.dial_loop import take_dial_requests
from ivr.channels.sip.outbound import OutboundDialer
from ivr.channels.sip.targets import dial_target, refer_target, sipfrag_status
from ivr.jobs.callback import DialError
from ivr.jobs.sip_dialer import SipCallbackDialer, make_dialer
from ivr.phone import NumberRefused
from ivr.settings import Settings
from ivr.store import connect, keys
from ivr.store.callbacks import CallbackRequest
from ivr.store.dial_requests import DialRequests
from tests.deploy.nodes import SipNode

from .conftest import SCENARIOS, free_port_range, free_udp_port, sipp_counts

pytestmark = pytest.mark.slow  # SIPp peers and real ivr processes placing calls


async def _silent_app(call) -> None:
    await call.hangup()


def start_callee(scenario: str, cwd: Path) -> tuple[subprocess.Popen, int]:
    """A SIPp UAS playing `scenario` for one call; returns (process, its SIP port)."""
    return start_callee_on(scenario, cwd, free_udp_port())


def start_callee_on(scenario: str, cwd: Path, port: int, *extra: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [
            "sipp",
            "-sf",
            str(SCENARIOS / scenario),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(free_port_range(40)[0]),
            "-m",
            "1",
            "-timeout",
            "40s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
            *extra,
        ],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, port


@pytest.fixture
def sip_side(start_server, redis_server, redis_conn):
    """start(**dialer_options) -> (RunningServer, OutboundDialer) serving dial requests from the test Redis."""
    running_loops = []

    def start(**options):
        running = start_server(_silent_app)
        conn = connect(redis_server.url)

        async def setup():
            return OutboundDialer(running.server, **options), asyncio.Event()

        dialer, stop = running.loop.run(setup())
        requests = DialRequests(conn)
        task = asyncio.run_coroutine_threadsafe(take_dial_requests(dialer, requests, stop), running.loop.loop)
        running_loops.append((running, stop, task))
        return running, dialer

    yield start
    for running, stop, task in running_loops:
        running.loop.loop.call_soon_threadsafe(stop.set)
        task.result(timeout=15)


def last_outcome(dialer: OutboundDialer, reference: str) -> dict:
    """The SIP side's final outcome of a call (the worker's place() returns at the 200 OK, before it ends)."""
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = [o for o in dialer.outcomes if o["id"] == reference]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no outcome for {reference}: {list(dialer.outcomes)}")


def worker_dialer(redis_server, **options) -> SipCallbackDialer:
    return SipCallbackDialer(connect(redis_server.url, socket_timeout=60), **options)


def test_an_answered_callback_is_invited_greeted_and_hung_up(sip_side, redis_server, redis_conn, tmp_path):
    _, dialer = sip_side()
    callee, port = start_callee("uas_answer.xml", tmp_path)
    reference = worker_dialer(redis_server, ring_timeout=10).place(
        f"sip:callee@127.0.0.1:{port}", CallbackRequest(id="cb-1", number=f"sip:callee@127.0.0.1:{port}")
    )
    output = callee.communicate(timeout=60)[0]
    assert callee.returncode == 0, output[-2000:]
    assert sipp_counts(subprocess.CompletedProcess([], 0, output)) == (1, 0)  # INVITE, ACK, our BYE
    assert reference.startswith("sip:") and dialer.placed == 1
    outcome = last_outcome(dialer, "cb-1-1")
    assert outcome["greeted"] and outcome["rtp_sent"] > 50  # >1 s of greeting
    assert redis_conn.llen(keys.SIP_DIAL_REQUESTS) == 0


def test_an_answered_callback_with_connect_to_is_put_through_by_refer(sip_side, redis_server, tmp_path):
    _, dialer = sip_side()
    callee, port = start_callee("uas_connect.xml", tmp_path)
    target = f"sip:callee@127.0.0.1:{port}"
    request = CallbackRequest(id="cb-c", number=target, connect_to="sales")  # a bare extension: at the callee's host
    assert worker_dialer(redis_server, ring_timeout=10).place(target, request)
    output = callee.communicate(timeout=60)[0]
    assert callee.returncode == 0, output[-2000:]  # REFER to sip:sales@..., its NOTIFY got our 200, then our BYE
    outcome = last_outcome(dialer, "cb-c-1")
    assert outcome["greeted"] and (outcome["connected"], outcome["connect"]) == (True, "completed")


def test_a_refused_connect_to_is_explained_to_the_callee_before_we_hang_up(sip_side, redis_server, tmp_path):
    _, dialer = sip_side()
    sent = {}
    for reference, scenario, connect_to in (
        ("cb-p", "uas_answer.xml", ""),
        ("cb-r", "uas_connect_refused.xml", "sip:sales@127.0.0.1:5999"),
    ):
        callee, port = start_callee(scenario, tmp_path)
        target = f"sip:callee@127.0.0.1:{port}"
        request = CallbackRequest(id=reference, number=target, connect_to=connect_to)
        assert worker_dialer(redis_server, ring_timeout=10).place(target, request)
        output = callee.communicate(timeout=60)[0]
        assert callee.returncode == 0, output[-2000:]
        sent[reference] = last_outcome(dialer, f"{reference}-1")
    assert "connected" not in sent["cb-p"]  # no connect_to: greeting, then BYE
    assert (sent["cb-r"]["connected"], sent["cb-r"]["connect"]) == (False, "refused")
    assert sent["cb-r"]["rtp_sent"] > sent["cb-p"]["rtp_sent"] + 100  # over 2 s more audio: the apology


def test_a_callee_who_hangs_up_first_gets_our_200_and_the_call_counts_as_answered(sip_side, redis_server, tmp_path):
    _, dialer = sip_side()
    callee, port = start_callee("uas_hangup.xml", tmp_path)
    target = f"sip:callee@127.0.0.1:{port}"
    assert worker_dialer(redis_server, ring_timeout=10).place(target, CallbackRequest(id="cb-7", number=target))
    output = callee.communicate(timeout=30)[0]
    assert callee.returncode == 0, output[-2000:]  # its BYE got our 200 OK
    outcome = last_outcome(dialer, "cb-7-1")
    assert outcome["ended"] == "hangup" and not outcome["greeted"]


def test_a_busy_callee_through_the_registrar_raises_dial_error(sip_side, redis_server, redis_conn, tmp_path):
    callee, port = start_callee("uas_busy.xml", tmp_path)
    sip_side(registrar=f"127.0.0.1:{port}")
    with pytest.raises(DialError, match=r"busy \(SIP 486 Busy Here\)"):
        worker_dialer(redis_server, ring_timeout=10).place("+12125550100", CallbackRequest(id="cb-2", number="x"))
    output = callee.communicate(timeout=30)[0]
    assert callee.returncode == 0, output[-2000:]  # it got our INVITE and the ACK of the 486


def test_the_callee_is_invited_at_exactly_the_normalized_number(sip_side, redis_server, tmp_path):
    """Issue 12: the dialer stripped Unicode digits and dialled another number (`sip:+1@trunk`)."""
    callee, port = start_callee_on("uas_busy.xml", tmp_path, free_udp_port(), "-trace_msg")
    sip_side(registrar=f"127.0.0.1:{port}")
    with pytest.raises(DialError, match="busy"):
        dialer = worker_dialer(redis_server, ring_timeout=10)
        dialer.place("+1 (２１２) ٥٥٥-0123", CallbackRequest(id="cb-n", number="x"))
    output = callee.communicate(timeout=30)[0]
    assert callee.returncode == 0, output[-2000:]
    seen = "".join(p.read_text() for p in tmp_path.glob("*_messages.log"))
    assert f"INVITE sip:+12125550123@127.0.0.1:{port} SIP/2.0" in seen, seen[-2000:]


@pytest.mark.parametrize(
    "number, reason",
    [
        ("+1٩٠٠٥٥٥١٢٣٤", "premium-rate number"),
        ("+1900５５５１２３６", "premium-rate number"),
        ("tester", "not a valid phone number"),
    ],
)
def test_the_sip_dialer_never_invites_a_number_the_policy_refuses(sip_side, redis_server, number, reason):
    _, dialer = sip_side(registrar="127.0.0.1:9")  # nothing listens there: an INVITE would go unanswered
    with pytest.raises(DialError, match=reason):
        worker_dialer(redis_server).place(number, CallbackRequest(id="cb-r", number="x"))
    assert dialer.placed == 0


@pytest.mark.parametrize("password, answered", [("secret", True), ("wrong", False)])
def test_a_challenging_registrar_gets_digest_credentials(sip_side, redis_server, tmp_path, password, answered):
    callee, port = start_callee("uas_auth.xml", tmp_path)
    _, dialer = sip_side(registrar=f"127.0.0.1:{port}", user="alice", password=password)
    place = lambda: worker_dialer(redis_server, ring_timeout=10).place(  # noqa: E731
        "+12125550100", CallbackRequest(id="cb-6", number="x")
    )
    if answered:
        assert place().startswith("sip:")
    else:
        with pytest.raises(DialError, match=r"rejected \(SIP 403 Forbidden\)"):
            place()
    output = callee.communicate(timeout=30)[0]
    assert callee.returncode == 0, output[-2000:]  # 401 ACKed, the second INVITE carried Authorization


def test_without_a_sip_process_the_request_is_withdrawn(redis_server, redis_conn):
    with pytest.raises(DialError, match="no SIP process took the call"):
        worker_dialer(redis_server, pickup_wait=1).place("+15551230000", CallbackRequest(id="cb-3", number="x"))
    assert redis_conn.llen(keys.SIP_DIAL_REQUESTS) == 0  # a SIP process started later will not ring it


def test_an_undiallable_number_is_reported_as_failed(sip_side, redis_server):
    sip_side()  # no registrar: only SIP URIs can be dialled
    with pytest.raises(DialError, match="set IVR_SIP_REGISTRAR"):
        worker_dialer(redis_server).place("+15551230000", CallbackRequest(id="cb-4", number="x"))


def test_dial_targets():
    assert dial_target("sip:bob@10.0.0.5:5070", "") == ("sip:bob@10.0.0.5:5070", ("10.0.0.5", 5070))
    assert dial_target("+1 212 555 0123", "pbx.example.com:5080") == (
        "sip:+12125550123@pbx.example.com:5080",
        ("pbx.example.com", 5080),
    )
    for refused in ("+1555", "+1 555 123", "+19005551234", "tester"):
        with pytest.raises(NumberRefused):
            dial_target(refused, "pbx.example.com")
    with pytest.raises(ValueError):
        dial_target("+12125550123", "")
    for port in ("99999", "0", "65536"):  # getaddrinfo wraps 99999 round to 34463: another port than the one named
        with pytest.raises(ValueError, match="outside 1-65535"):
            dial_target(f"sip:bob@10.0.0.5:{port}", "")


def test_refer_targets_and_sipfrag():
    callee_host = ("10.0.0.9", 5060)
    assert refer_target("tel:+1-212-555-0123", "", callee_host) == "tel:+12125550123"
    assert refer_target(" sip:sales@pbx:5070 ", "", callee_host) == "sip:sales@pbx:5070"
    assert refer_target("+1 212 555 0123", "pbx.example.com", callee_host) == "sip:+12125550123@pbx.example.com"
    assert refer_target("201", "", callee_host) == "sip:201@10.0.0.9"
    assert refer_target("201", "pbx:5080", callee_host) == "sip:201@pbx:5080"
    for refused in ("+1٩٠٠٥٥٥١٢٣٤", "tel:+19005551234", "+1 555 1234", "1@evil;x"):
        with pytest.raises(NumberRefused):
            refer_target(refused, "", callee_host)
    assert [sipfrag_status(b) for b in ("SIP/2.0 200 OK\r\n", "SIP/2.0 486 Busy Here", "", "garbage")] == [
        200,
        486,
        0,
        0,
    ]


def test_the_worker_gets_the_sip_dialer_when_configured(redis_server):
    from ivr.worker import sip_dialers

    dialers = sip_dialers(Settings(callback_channel="sip", redis_url=redis_server.url))
    assert isinstance(dialers["sip"], SipCallbackDialer)
    assert isinstance(make_dialer(Settings(redis_url=redis_server.url)), SipCallbackDialer)


def test_redis_trouble_is_a_dial_error(redis_server):
    dialer = SipCallbackDialer(connect("unix:///nonexistent/redis.sock"))
    with pytest.raises(DialError, match="cannot reach the SIP process through Redis"):
        dialer.place("+15551230000", CallbackRequest(id="cb-8", number="x"))


def test_a_real_ivr_sip_process_places_the_workers_callback(redis_server, redis_conn, tmp_path):
    callee, callee_port = start_callee("uas_answer.xml", tmp_path)
    dial_env = {"IVR_CALLBACK_CHANNEL": "sip", "IVR_SIP_REGISTRAR": "", "IVR_SIP_PASSWORD": ""}
    node = SipNode(redis_server.url, tmp_path / "data", flow=None, env=dial_env).start()
    try:
        target = f"sip:callee@127.0.0.1:{callee_port}"
        dialer = SipCallbackDialer(connect(redis_server.url, socket_timeout=60))
        reference = dialer.place(target, CallbackRequest(id="cb-5", number=target))
        assert reference.startswith("sip:")
        assert callee.wait(timeout=30) == 0
    finally:
        callee.kill()
        node.signal(signal.SIGTERM)
        code = node.wait(20)
    output = node.output(None)
    assert code == 0, output[-3000:]
    assert "callback cb-5-1" in output and "'state': 'answered'" in output, output[-3000:]


def test_the_rq_worker_retries_a_busy_sip_callback_until_answered(sip_side, redis_server, redis_conn, tmp_path):
    """The callback job end to end: RQ worker -> Redis -> SIP process -> SIPp (busy, then answering)."""
    from rq import Queue

    from ivr import jobs
    from ivr.call_session.writes import apply_write, new_write
    from ivr.store.callbacks import CallbackStore
    from ivr.worker import make_worker

    busy, port = start_callee("uas_busy.xml", tmp_path)
    sip_side(registrar=f"127.0.0.1:{port}")
    settings = Settings(
        data_dir=tmp_path,
        redis_url=redis_server.url,
        callback_channel="sip",
        callback_retry_spacing=0,
        callback_max_attempts=3,
    )
    conn = connect(redis_server.url, socket_timeout=60)
    queue = Queue(jobs.QUEUE_NAME, connection=conn)
    write = new_write("call-1", 1, at=1.0)
    write["jobs"] = [
        {"job_id": "c1:cb:1", "kind": "callback", "payload": {"call_id": "call-1", "number": "+12125550001"}}
    ]
    apply_write(conn, queue, write)

    def work():
        make_worker(settings, conn).work(burst=True, with_scheduler=True, logging_level="WARNING")

    work()  # the request is accepted and its first dial scheduled for now
    work()  # attempt 1: busy
    assert busy.wait(timeout=30) == 0
    request = CallbackStore(conn).get("c1:cb:1")
    assert [a["outcome"] for a in request.attempts] == ["failed"], request
    assert request.attempts[0]["detail"] == "busy (SIP 486 Busy Here)"
    answering, _ = start_callee_on("uas_answer.xml", tmp_path, port)
    for _ in range(3):
        work()  # attempt 2 (scheduled retry_spacing=0 later): answered
        if len(CallbackStore(conn).get("c1:cb:1").attempts) == 2:
            break
    request = CallbackStore(conn).get("c1:cb:1")
    assert [a["outcome"] for a in request.attempts] == ["failed", "placed"], request
    assert request.status == "completed" and request.attempts[1]["detail"].startswith("sip:")
    assert answering.wait(timeout=30) == 0
