"""The SIP edge against a real listener over UDP: who may call in, digest accounts, strict parsing, scanners.

The server trusts 127.0.0.1 alone; a RawUac bound to 127.0.0.2 plays a caller from the internet.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid

import pytest

from ivr.channels.sip.edge.accounts import AccountBook
from ivr.channels.sip.edge.digest import ha1

from .apps import Recorded, hold_app
from .conftest import RunningServer, header

UNTRUSTED = "127.0.0.2"


@pytest.fixture
def edge_server(start_server):
    """edge_server(app, accounts=None, **config): a server that trusts 127.0.0.1 only."""

    def start(app, accounts: AccountBook | None = None, **overrides) -> RunningServer:
        return start_server(app, accounts=accounts, **{"trusted": ("127.0.0.1",), **overrides})

    return start


def until(condition, timeout: float = 5.0):
    """Wait for `condition()` to be truthy (the app runs just after the 200 goes out); return its value."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


def final(uac, method: str = "INVITE") -> dict:
    reply = uac.recv(3, want=lambda m: m["status"] >= 200 and method in header(m, "cseq"))
    assert reply is not None, f"no final response to {method}"
    return reply


def test_an_invite_from_an_untrusted_source_gets_403_and_no_call(edge_server, uac_factory):
    record = Recorded()
    running = edge_server(hold_app(record))
    uac = uac_factory(running.port, UNTRUSTED)
    uac.invite()
    assert final(uac)["status"] == 403
    assert running.state()["started"] == 0 and not record.calls


@pytest.mark.parametrize("method", ["INVITE", "BYE", "INFO"])
def test_a_made_up_to_tag_opens_nothing_from_an_untrusted_source(edge_server, uac_factory, method):
    record = Recorded()
    running = edge_server(hold_app(record))
    uac = uac_factory(running.port, UNTRUSTED)
    uac.request(method, to_tag="made-up", body=uac.sdp() if method == "INVITE" else "")
    reply = uac.recv(1.5, want=lambda m: m["status"] >= 200)
    assert reply is None or reply["status"] in (401, 403), reply
    assert running.state()["started"] == 0


def test_a_trusted_source_is_believed_and_its_p_asserted_identity_wins(edge_server, uac_factory):
    record = Recorded()
    running = edge_server(hold_app(record, seconds=1))
    uac = uac_factory(running.port)
    uac.request("INVITE", body=uac.sdp(), extra="P-Asserted-Identity: <sip:+442079460123@trunk.example>")
    assert final(uac)["status"] == 200
    assert until(lambda: record.calls)[0].caller == "+442079460123"


def test_the_public_route_takes_untrusted_callers_as_unknown(edge_server, uac_factory):
    record = Recorded()
    running = edge_server(hold_app(record, seconds=1), public_route="public-menu")
    uac = uac_factory(running.port, UNTRUSTED)
    uac.invite()  # From claims +15550001111
    assert final(uac)["status"] == 200
    call = until(lambda: record.calls)[0]
    assert (call.caller, call.route) == ("unknown", "public-menu")


def digest_header(
    challenge: str, method: str, uri: str, user: str, password: str, nc: int = 1, cnonce: str = "c0ffee"
) -> str:
    """The client's side of RFC 8760, written out here, independent of the server's code."""
    params = dict(re.findall(r'(\w+)="?([^",]+)"?', challenge))
    h = {"SHA-256": hashlib.sha256, "MD5": hashlib.md5}[params["algorithm"]]
    a1 = h(f"{user}:{params['realm']}:{password}".encode()).hexdigest()
    a2 = h(f"{method}:{uri}".encode()).hexdigest()
    ncv = f"{nc:08x}"
    response = h(f"{a1}:{params['nonce']}:{ncv}:{cnonce}:auth:{a2}".encode()).hexdigest()
    return (
        f'Authorization: Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", response="{response}", algorithm={params["algorithm"]}, qop=auth, nc={ncv}, '
        f'cnonce="{cnonce}"'
    )


def accounts_for(user: str, password: str, realm: str = "ivr") -> AccountBook:
    return AccountBook({(user, realm, alg): ha1(user, realm, password, alg) for alg in ("SHA-256", "MD5")})


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_a_softphone_with_an_account_passes_digest_and_is_known_by_its_account(edge_server, uac_factory, algorithm):
    record = Recorded()
    running = edge_server(hold_app(record, seconds=1), accounts=accounts_for("alice", "s3cret-Pass"))
    uac = uac_factory(running.port, UNTRUSTED)
    uac.invite()
    challenge = final(uac)
    assert challenge["status"] == 401
    offered = challenge["headers"]["www-authenticate"]
    assert [re.search(r"algorithm=([\w-]+)", c).group(1) for c in offered] == ["SHA-256", "MD5"]
    chosen = next(c for c in offered if f"algorithm={algorithm}" in c)
    uri = f"sip:ivr@127.0.0.1:{running.port}"
    uac.request("ACK", cseq=uac.cseq)
    uac.call_id = f"{uuid.uuid4().hex}@{UNTRUSTED}"
    uac.request("INVITE", body=uac.sdp(), extra=digest_header(chosen, "INVITE", uri, "alice", "s3cret-Pass"))
    assert final(uac)["status"] == 200
    assert until(lambda: record.calls)[0].caller == "alice"  # never the number in From


def test_a_wrong_password_and_a_replayed_response_are_refused(edge_server, uac_factory):
    record = Recorded()
    running = edge_server(hold_app(record, seconds=1), accounts=accounts_for("alice", "s3cret-Pass"))
    uac = uac_factory(running.port, UNTRUSTED)
    uac.invite()
    challenge = final(uac)["headers"]["www-authenticate"][0]
    uri = f"sip:ivr@127.0.0.1:{running.port}"
    uac.call_id = f"{uuid.uuid4().hex}@{UNTRUSTED}"
    uac.request("INVITE", body=uac.sdp(), extra=digest_header(challenge, "INVITE", uri, "alice", "guess"))
    assert final(uac)["status"] == 401
    good = digest_header(challenge, "INVITE", uri, "alice", "s3cret-Pass", nc=1)
    uac.call_id = f"{uuid.uuid4().hex}@{UNTRUSTED}"
    uac.request("INVITE", body=uac.sdp(), extra=good)
    assert final(uac)["status"] == 200
    uac.call_id = f"{uuid.uuid4().hex}@{UNTRUSTED}"  # the same nonce count again: a replay
    uac.request("INVITE", body=uac.sdp(), extra=good)
    assert final(uac)["status"] == 401
    assert len(until(lambda: record.calls)) == 1


def request_line_of(uac, method: str, line: str, cseq_method: str | None = None) -> None:
    uac.request(method, cseq_method=cseq_method)
    uac.send_raw(uac.last_sent.replace(uac.last_sent.split(b"\r\n")[0], line.encode(), 1))


@pytest.mark.parametrize(
    "first, method, cseq_method",
    [
        ("INVITE sip:ivr@127.0.0.1 SIP/2.0", "INVITE", "BYE"),  # CSeq method mismatch
        ("invite sip:ivr@127.0.0.1 SIP/2.0", "invite", None),  # lowercase method
        ("INVITE sip:ivr@127.0.0.1 SIP/3.0", "INVITE", None),  # wrong version
        ("INVITE garbage!!uri SIP/2.0", "INVITE", None),  # unparseable Request-URI
        ("OPTIONS sip:ivr@127.0.0.1 SIP/3.0", "OPTIONS", None),
    ],
)
def test_rfc_3261_violations_get_400_even_from_a_trusted_source(edge_server, uac_factory, first, method, cseq_method):
    record = Recorded()
    running = edge_server(hold_app(record, seconds=1))
    uac = uac_factory(running.port)
    uac.cseq += 1
    body = uac.sdp()
    lines = [
        first,
        f"Via: SIP/2.0/UDP 127.0.0.1:{uac.port};branch=z9hG4bK{uuid.uuid4().hex[:10]};rport",
        f"From: <sip:+15550001111@127.0.0.1>;tag={uac.tag}",
        "To: <sip:ivr@127.0.0.1>",
        f"Call-ID: {uac.call_id}",
        f"CSeq: {uac.cseq} {cseq_method or method}",
        "Max-Forwards: 70",
        f"Contact: <sip:caller@127.0.0.1:{uac.port}>",
        "Content-Type: application/sdp",
        f"Content-Length: {len(body)}",
        "",
        body,
    ]
    uac.send_raw("\r\n".join(lines).encode())
    reply = uac.recv(3, want=lambda m: m["status"] >= 200)
    assert reply is not None and reply["status"] == 400, reply
    assert not record.calls


@pytest.mark.parametrize("agent", ["friendly-scanner", "sipvicious 0.3.4", "sipcli/v1.8"])
def test_a_scanner_user_agent_from_outside_gets_no_answer_at_all(edge_server, uac_factory, agent):
    running = edge_server(hold_app(Recorded()))
    uac = uac_factory(running.port, UNTRUSTED)
    uac.request("OPTIONS", extra=f"User-Agent: {agent}")
    assert uac.recv(1.5) is None
    assert running.server.gate.scanners == 1


def test_requests_outside_a_dialog_from_outside_get_no_answer_but_a_trusted_source_gets_one(edge_server, uac_factory):
    running = edge_server(hold_app(Recorded()))
    outsider = uac_factory(running.port, UNTRUSTED)
    for method in ("OPTIONS", "REGISTER", "SUBSCRIBE", "MESSAGE"):
        outsider.request(method, extra="User-Agent: Linphone/5.2")
    assert outsider.recv(1.5) is None
    trunk = uac_factory(running.port)
    trunk.request("OPTIONS")
    assert final(trunk, "OPTIONS")["status"] == 200


def test_a_flood_from_one_source_is_blocked_while_another_source_is_served(edge_server, uac_factory):
    # 127.0.0.2 is trusted (so its OPTIONS are answered and countable) but not a proxy: it is limited
    running = edge_server(
        hold_app(Recorded()),
        trusted=("127.0.0.1", UNTRUSTED, "127.0.0.3"),
        trusted_proxies=("127.0.0.1",),
        pike_requests=20,
        pike_window=60,
    )
    flooder = uac_factory(running.port, UNTRUSTED)
    for _ in range(60):
        flooder.request("OPTIONS")
    answered = 0
    while flooder.recv(1.0) is not None:
        answered += 1
    assert answered == 20  # the limit, then silence
    flooder.request("OPTIONS")
    assert flooder.recv(1.0) is None  # still blocked
    other = uac_factory(running.port, "127.0.0.3")
    other.request("OPTIONS")
    assert final(other, "OPTIONS")["status"] == 200


def test_a_digest_brute_force_is_cut_off_by_the_dialog_limit(edge_server, uac_factory):
    running = edge_server(hold_app(Recorded()), accounts=accounts_for("alice", "s3cret-Pass"), pike_window=60)
    uac = uac_factory(running.port, UNTRUSTED)
    uac.invite()
    challenge = final(uac)["headers"]["www-authenticate"][0]
    uri = f"sip:ivr@127.0.0.1:{running.port}"
    answers = 0
    for guess in range(14):
        uac.call_id = f"{uuid.uuid4().hex}@{UNTRUSTED}"
        uac.request("INVITE", body=uac.sdp(), extra=digest_header(challenge, "INVITE", uri, "alice", f"pw{guess}"))
        if uac.recv(0.5, want=lambda m: m["status"] >= 200) is not None:
            answers += 1
    assert answers == running.server.config.pike_dialogs - 1  # the first INVITE took one; then silence
    uac.call_id = f"{uuid.uuid4().hex}@{UNTRUSTED}"  # even the right password now: the source is blocked
    uac.request("INVITE", body=uac.sdp(), extra=digest_header(challenge, "INVITE", uri, "alice", "s3cret-Pass"))
    assert uac.recv(1.0) is None and running.state()["started"] == 0


def test_the_public_host_is_in_every_address_we_advertise(edge_server, uac_factory):
    running = edge_server(hold_app(Recorded(), seconds=2), public_host="203.0.113.5")
    uac = uac_factory(running.port)
    ok = uac.call()
    assert "203.0.113.5" in header(ok, "contact"), header(ok, "contact")
    origin = re.search(r"^o=.* IN IP4 (\S+)\r?$", ok["body"], re.M).group(1)
    connection = re.search(r"^c=IN IP4 (\S+)\r?$", ok["body"], re.M).group(1)
    assert (origin, connection) == ("203.0.113.5", "203.0.113.5"), ok["body"]
    bye = uac.recv(6, want=lambda m: m["method"] == "BYE")  # our own request, when the app ends the call
    assert bye is not None
    assert "203.0.113.5" in header(bye, "via"), header(bye, "via")
    assert header(bye, "contact") in ("", *[c for c in [header(bye, "contact")] if "203.0.113.5" in c])
    uac.answer_200(bye)


def test_rport_replies_go_to_the_source_port_with_received_stamped(edge_server, uac_factory):
    running = edge_server(hold_app(Recorded()))
    uac = uac_factory(running.port)
    uac.request("OPTIONS")  # Via says 127.0.0.1:<port>;rport (RFC 3581)
    reply = final(uac, "OPTIONS")
    via = header(reply, "via")
    assert f"rport={uac.port}" in via and "received=127.0.0.1" in via, via


def test_sipp_answers_the_digest_challenge_and_its_call_goes_through(edge_server, tmp_path):
    from .conftest import run_sipp, sipp_counts

    record = Recorded()
    # SIPp 3.6 reads only the first challenge and knows MD5 alone
    running = edge_server(
        hold_app(record, seconds=5), accounts=accounts_for("alice", "s3cret-Pass"), digest_algorithms=("MD5", "SHA-256")
    )
    result = run_sipp(
        "uac_auth.xml",
        running.port,
        timeout=30,
        cwd=tmp_path,
        local_ip=UNTRUSTED,
        extra=["-au", "alice", "-ap", "s3cret-Pass"],
    )
    assert sipp_counts(result) == (1, 0), result.stdout[-2500:] + result.stderr[-1500:]
    assert until(lambda: record.calls)[0].caller == "alice"
