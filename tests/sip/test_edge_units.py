"""The edge's parts alone: source lists, the flood limiter's memory bound, nonce expiry, the start-up warning."""

from __future__ import annotations

import hashlib
import logging

import pytest

from ivr.channels.sip.edge.accounts import AccountBook
from ivr.channels.sip.edge.build import open_edge_warning
from ivr.channels.sip.edge.digest import DigestAuth, ha1, parse_credentials
from ivr.channels.sip.edge.pike import Pike, PikeLimits
from ivr.channels.sip.edge.trust import SourceList
from ivr.channels.sip.server import SipConfig, SipServer


def test_source_lists_take_addresses_and_cidrs_and_name_a_bad_entry():
    trusted = SourceList(["10.0.0.0/8", " 192.0.2.7 ", "::1", ""])
    assert "10.20.30.40" in trusted and "192.0.2.7" in trusted and "::1" in trusted
    assert "192.0.2.8" not in trusted and "::ffff:10.1.1.1" in trusted and "not-an-ip" not in trusted
    with pytest.raises(ValueError, match="10.0.0.300"):
        SourceList(["10.0.0.300"])


def test_the_flood_limiter_forgets_the_oldest_sources_and_unblocks_after_the_block_time():
    now = [0.0]
    pike = Pike(
        PikeLimits(requests=2, dialogs=1, window=2, block_seconds=10, max_sources=100),
        SourceList(["10.9.9.9"]),
        clock=lambda: now[0],
    )
    for n in range(1000):  # spoofed sources: memory stays bounded
        pike.allow(f"198.51.{n // 250}.{n % 250}", False)
    assert len(pike) == 100
    assert pike.allow("192.0.2.1", True) and not pike.allow("192.0.2.1", True)  # a second dialog: blocked
    assert all(pike.allow("10.9.9.9", True) for _ in range(50))  # the proxy is exempt
    now[0] = 10.5
    assert pike.allow("192.0.2.1", False)


def test_an_expired_nonce_is_answered_stale_and_a_forged_one_refused():
    now = [1000.0]
    book = AccountBook({("bob", "ivr", "MD5"): ha1("bob", "ivr", "pw-long-enough", "MD5")})
    auth = DigestAuth("ivr", book.lookup, nonce_ttl=60, clock=lambda: now[0])
    nonce = parse_credentials(auth.challenges()[1])["nonce"]

    def header(nonce: str) -> str:
        h = hashlib.md5
        a1, a2 = ha1("bob", "ivr", "pw-long-enough", "MD5"), h(b"INVITE:sip:ivr@x").hexdigest()
        response = h(f"{a1}:{nonce}:00000001:cn:auth:{a2}".encode()).hexdigest()
        return (
            f'Digest username="bob", realm="ivr", nonce="{nonce}", uri="sip:ivr@x", response="{response}", '
            f'algorithm=MD5, qop=auth, nc=00000001, cnonce="cn"'
        )

    now[0] += 61
    assert auth.verify("INVITE", header(nonce)).stale
    assert auth.verify("INVITE", header(nonce[:-1] + ("1" if nonce.endswith("0") else "0"))).reason == "forged nonce"


@pytest.mark.parametrize(
    "host, trusted, accounts, route, warns",
    [
        ("127.0.0.1", ["127.0.0.0/8"], 0, "", False),
        ("0.0.0.0", ["127.0.0.0/8", "::1"], 0, "", True),
        ("203.0.113.5", ["127.0.0.1"], 0, "", True),
        ("0.0.0.0", ["198.51.100.10"], 0, "", False),
        ("0.0.0.0", ["127.0.0.1"], 1, "", False),
        ("0.0.0.0", ["198.51.100.10"], 0, "public", True),
    ],
)
def test_the_start_up_warning_when_sip_faces_the_internet(host, trusted, accounts, route, warns):
    book = AccountBook({("a", "ivr", "MD5"): "x"} if accounts else {})
    assert (open_edge_warning(host, SourceList(trusted), book, route) is not None) is warns


def test_ivr_sip_logs_the_warning_loudly_at_start(tmp_path, caplog):
    import asyncio

    async def start_and_stop():
        server = SipServer(
            SipConfig(host="0.0.0.0", port=0, data_dir=tmp_path, rtp_port_min=47500, rtp_port_max=47600),
            lambda call: asyncio.sleep(0),
        )
        await server.start()
        await server.stop()

    with caplog.at_level(logging.WARNING):
        asyncio.run(start_and_stop())
    assert any("public address" in r.message and "IVR_SIP_TRUSTED" in r.message for r in caplog.records)
