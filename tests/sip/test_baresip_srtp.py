"""baresip with SRTP (SDES, its srtp module, mediaenc=srtp-mand) calls the IVR: both directions are encrypted and
authenticate (baresip logs every packet it cannot decrypt; we count ours), and the policy settings refuse with 488."""

from __future__ import annotations

import pytest

from ivr.store.calls import CallStore
from tests.procs import wait_until

from .baresip_peer import baresip
from .test_baresip_codecs import wait_for_media
from .test_sipp_flow import SUPPORT_PATH, job_kinds
from .test_sipp_flow import flow_ivr as flow_ivr  # a fixture
from .tls_peer import self_signed

pytestmark = pytest.mark.slow  # a real baresip softphone

SRTP_ACCOUNT = "<sip:tester@127.0.0.1>;regint=0;answermode=manual;mediaenc=srtp-mand\n"


def srtp_call(running, tmp_path, *, accounts: str = SRTP_ACCOUNT, target: str = ""):
    modules = ("g711.so", "srtp.so")
    with baresip(tmp_path, modules=modules, accounts=accounts) as (ctrl, output):
        ctrl.send("dial", target or f"sip:ivr@127.0.0.1:{running.port}")
        established = ctrl.wait_for("CALL_ESTABLISHED", 10)
        if established is None:
            return None, output()
        streams = wait_for_media(running)
        ctrl.send("sndcode", "1")
        assert ctrl.wait_for("CALL_CLOSED", 30) is not None, output()[-2000:]
    return streams, output()


def test_srtp_both_ways_with_baresip(flow_ivr, redis_conn, tmp_path):
    running = flow_ivr(srtp="required")
    streams, output = srtp_call(running, tmp_path)
    assert streams is not None, output[-3000:]
    assert len(streams) == 1 and streams[0]["srtp"], streams
    assert streams[0]["received"] > 25 and streams[0]["bad"] == 0, streams  # baresip's SRTP authenticates here
    assert "SRTP is Enabled" in output and "failed to decrypt" not in output, output[-3000:]  # and ours there
    assert running.wait_idle()["live"] == 0
    record = CallStore(redis_conn).recent()[0]
    assert record.path == SUPPORT_PATH and job_kinds(redis_conn, record.id) == ["sms"]


@pytest.mark.parametrize(
    ("config", "accounts"),
    [
        ({"srtp": "required"}, "<sip:tester@127.0.0.1>;regint=0;answermode=manual\n"),  # plain RTP offered
        ({"srtp": "off"}, SRTP_ACCOUNT),  # RTP/SAVP offered
        ({"srtp": "optional", "srtp_by_source": ("127.0.0.1=off",)}, SRTP_ACCOUNT),  # its source's policy
    ],
)
def test_srtp_policy_refuses_with_488(flow_ivr, tmp_path, config, accounts):
    running = flow_ivr(**config)
    with baresip(tmp_path, modules=("g711.so", "srtp.so"), accounts=accounts) as (ctrl, output):
        ctrl.send("dial", f"sip:ivr@127.0.0.1:{running.port}")
        closed = ctrl.wait_for("CALL_CLOSED", 10)
        assert closed is not None and "488" in closed.get("param", ""), (closed, output()[-2000:])
    assert running.wait_idle()["live"] == 0


def test_tls_and_srtp_with_baresip(flow_ivr, redis_conn, tmp_path):
    cert, key = self_signed(tmp_path)
    running = flow_ivr(srtp="required", tls_cert=str(cert), tls_key=str(key), tls_port=0)
    tls = next(s for s in running.server.transport.streams if s.protocol == "TLS")
    account = "<sip:tester@127.0.0.1;transport=tls>;regint=0;answermode=manual;mediaenc=srtp-mand\n"
    with baresip(tmp_path, modules=("g711.so", "srtp.so"), accounts=account, extra=f"sip_cafile\t\t{cert}\n") as (
        ctrl,
        output,
    ):
        ctrl.send("dial", f"sip:ivr@127.0.0.1:{tls.local_addr[1]};transport=tls")
        assert ctrl.wait_for("CALL_ESTABLISHED", 10) is not None, output()[-3000:]
        streams = wait_for_media(running)
        assert len(streams) == 1 and streams[0]["srtp"] and streams[0]["bad"] == 0, streams
        connections = running.loop.call(lambda: list(tls.connections))
        assert len(connections) == 1, connections  # the call's signalling is on one TLS connection
        ctrl.send("sndcode", "1")
        assert ctrl.wait_for("CALL_CLOSED", 30) is not None, output()[-3000:]
        # INVITE, ACK and the 200 to our BYE all come on the TLS connection: our Contact named it (transport=tls);
        # baresip reports the call closed as it answers our BYE, so its 200 may still be on the way
        assert wait_until(lambda: tls.messages >= 3, 5), tls.messages
        log = output()
    assert "SRTP is Enabled" in log and "failed to decrypt" not in log, log[-3000:]
    assert running.wait_idle()["live"] == 0
    record = CallStore(redis_conn).recent()[0]
    assert record.path == SUPPORT_PATH and job_kinds(redis_conn, record.id) == ["sms"]
