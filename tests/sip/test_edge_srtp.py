"""SRTP policy per source (IVR_SIP_SRTP_BY_SOURCE) and per SIP account, over the real listener.

A plain RTP/AVP offer gets 488 where the policy is "required", an SRTP offer gets 488 where it is "off"; the
account's own policy wins over its source's, the most specific source entry over a wider one, and both over
IVR_SIP_SRTP. Raw UDP requests, SIPp (plain RTP only) and baresip (its srtp module).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from ivr.channels.sip.edge.accounts import AccountBook
from ivr.channels.sip.edge.digest import ha1
from ivr.channels.sip.edge.srtp_rules import SrtpRules
from ivr.channels.sip.media.sdes import SrtpPolicy

from .apps import Recorded, hold_app
from .conftest import run_sipp, sipp_counts
from .test_baresip_srtp import SRTP_ACCOUNT, srtp_call
from .test_edge import UNTRUSTED, digest_header, edge_server, final  # noqa: F401  (edge_server: a fixture)
from .test_sipp_flow import flow_ivr as flow_ivr  # a fixture

PLAIN_ACCOUNT = "<sip:tester@127.0.0.1>;regint=0;answermode=manual\n"


def test_the_account_then_the_most_specific_source_then_the_default_decides():
    rules = SrtpRules("optional", ("10.0.0.0/8=required", "10.1.2.3=off", "2001:db8::/32=off"))
    assert rules.policy_for("10.9.9.9") is SrtpPolicy.REQUIRED
    assert rules.policy_for("10.1.2.3") is SrtpPolicy.OFF  # a /32 inside the /8 wins
    assert rules.policy_for("::ffff:10.1.2.3") is SrtpPolicy.OFF  # a dual-stack socket's IPv4 peer
    assert rules.policy_for("2001:db8::5") is SrtpPolicy.OFF
    assert rules.policy_for("192.0.2.1") is SrtpPolicy.OPTIONAL
    assert rules.policy_for("10.1.2.3", "required") is SrtpPolicy.REQUIRED  # the account's own wins


@pytest.mark.parametrize(
    ("default", "entries", "named"),
    [
        ("sometimes", (), "IVR_SIP_SRTP"),
        ("optional", ("10.0.0.0/8",), "IVR_SIP_SRTP_BY_SOURCE"),
        ("optional", ("10.0.0.300=off",), "IVR_SIP_SRTP_BY_SOURCE"),
        ("optional", ("10.0.0.1=maybe",), "IVR_SIP_SRTP_BY_SOURCE"),
    ],
)
def test_a_bad_policy_setting_is_refused_at_start_up_naming_it(default, entries, named):
    with pytest.raises(ValueError, match=named):
        SrtpRules(default, entries)


def test_a_required_source_gets_488_for_plain_rtp_and_others_are_answered(edge_server, uac_factory):  # noqa: F811
    record = Recorded()
    running = edge_server(
        hold_app(record, seconds=1), trusted=("127.0.0.1", UNTRUSTED), srtp_by_source=(f"{UNTRUSTED}=required",)
    )
    strict = uac_factory(running.port, UNTRUSTED)
    strict.invite()
    assert final(strict)["status"] == 488
    other = uac_factory(running.port)
    other.invite()
    assert final(other)["status"] == 200
    state = running.wait_idle()
    assert state["live"] == state["ports"] == 0, state


def test_an_accounts_own_policy_wins_over_its_sources(edge_server, uac_factory):  # noqa: F811
    password = "s3cret-Pass-long"
    book = AccountBook(
        {(user, "ivr", "MD5"): ha1(user, "ivr", password, "MD5") for user in ("alice", "bob")},
        srtp={"alice": "required"},
    )
    running = edge_server(
        hold_app(Recorded(), seconds=1), accounts=book, digest_algorithms=("MD5",), srtp_by_source=(f"{UNTRUSTED}=off",)
    )
    statuses = {}
    for user in ("alice", "bob"):
        uac = uac_factory(running.port, UNTRUSTED)
        uac.invite()
        challenge = final(uac)["headers"]["www-authenticate"][0]
        uac.call_id = f"{uuid.uuid4().hex}@{UNTRUSTED}"
        uri = f"sip:ivr@127.0.0.1:{running.port}"
        uac.request("INVITE", body=uac.sdp(), extra=digest_header(challenge, "INVITE", uri, user, password))
        statuses[user] = final(uac)["status"]
    assert statuses == {"alice": 488, "bob": 200}  # bob follows his source: "off" takes plain RTP


@pytest.mark.slow
def test_sipp_plain_rtp_is_refused_from_a_required_source_only(edge_server, tmp_path):  # noqa: F811
    running = edge_server(  # holds the call longer than SIPp's pause before its BYE
        hold_app(Recorded(), seconds=10), trusted=("127.0.0.0/8",), srtp_by_source=("127.0.0.3=required",)
    )
    refused = run_sipp("uac_hangup.xml", running.port, timeout=30, cwd=tmp_path, local_ip="127.0.0.3")
    answered = run_sipp("uac_hangup.xml", running.port, timeout=30, cwd=tmp_path, local_ip="127.0.0.2")
    assert sipp_counts(refused) == (0, 1), refused.stdout[-2000:]
    assert "488" in refused.stdout + "".join(p.read_text() for p in tmp_path.glob("*errors.log"))
    assert sipp_counts(answered) == (1, 0), answered.stdout[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "accounts", "encrypted"),
    [
        ({"srtp": "off", "srtp_by_source": ("127.0.0.1=required",)}, SRTP_ACCOUNT, True),  # the source's wins
        ({"srtp": "required", "srtp_by_source": ("127.0.0.0/8=optional",)}, PLAIN_ACCOUNT, False),
    ],
)
def test_baresip_gets_its_sources_policy(flow_ivr, tmp_path, config, accounts, encrypted):
    # the 488 of a source whose policy is "off": test_baresip_srtp.py::test_srtp_policy_refuses_with_488
    running = flow_ivr(**config)
    streams, output = srtp_call(running, tmp_path, accounts=accounts)
    assert streams is not None, output[-3000:]
    assert len(streams) == 1 and bool(streams[0]["srtp"]) is encrypted and streams[0]["bad"] == 0, streams
    assert running.wait_idle()["live"] == 0


@pytest.mark.parametrize(
    ("variable", "value"), [("IVR_SIP_SRTP_BY_SOURCE", "10.0.0.0/8=maybe"), ("IVR_SIP_TRUSTED", "bogus")]
)
def test_ivr_sip_names_a_bad_edge_setting_and_exits(tmp_path, variable, value):
    env = {**os.environ, variable: value, "IVR_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "ivr", "sip", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stderr.startswith(f"error: {variable}: "), done.stderr[-1000:]
