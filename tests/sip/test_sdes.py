"""SDES (RFC 4568) negotiation against the policy, and libsrtp protecting and authenticating real packets."""

from __future__ import annotations

import base64
import os
import struct

import pylibsrtp
import pytest

from ivr.channels.sip.media.sdes import SrtpKeys, SrtpPolicy, SrtpRefused, negotiate, parse_crypto

KEY = os.urandom(30)
LINE = f"1 AES_CM_128_HMAC_SHA1_80 inline:{base64.b64encode(KEY).decode()}"


def test_a_crypto_line_parses_and_odd_ones_are_declined():
    assert parse_crypto(LINE) == ("1", KEY)
    assert parse_crypto(LINE + "|2^31") == ("1", KEY)  # a lifetime is fine
    assert parse_crypto(LINE + "|2^31|1:4") is None  # an MKI is not
    assert parse_crypto(LINE.replace("_80", "_32")) is None
    assert parse_crypto(LINE + " UNENCRYPTED_SRTP") is None
    assert parse_crypto("1 AES_CM_128_HMAC_SHA1_80 inline:!!!") is None
    assert parse_crypto("1 AES_CM_128_HMAC_SHA1_80 inline:" + base64.b64encode(b"short").decode()) is None


@pytest.mark.parametrize(
    ("proto", "lines", "policy", "result"),
    [
        ("RTP/AVP", [], "off", None),
        ("RTP/AVP", [], "optional", None),
        ("RTP/AVP", [], "required", "488"),
        ("RTP/AVP", [LINE], "optional", None),  # best-effort SRTP on AVP: answered as plain RTP
        ("RTP/SAVP", [LINE], "off", "488"),
        ("RTP/SAVP", [LINE], "optional", "keys"),
        ("RTP/SAVP", [LINE], "required", "keys"),
        ("RTP/SAVP", ["1 F8_128_HMAC_SHA1_80 inline:x"], "optional", "488"),
    ],
)
def test_the_policy_table(proto, lines, policy, result):
    if result == "488":
        with pytest.raises(SrtpRefused):
            negotiate(proto, lines, SrtpPolicy.parse(policy))
        return
    keys = negotiate(proto, lines, SrtpPolicy.parse(policy))
    assert (keys is not None) == (result == "keys")
    if keys is not None:
        assert keys.remote_key == KEY and keys.local_key != KEY and keys.answer_line().startswith("1 AES_CM_128")


def test_an_unknown_policy_is_a_clear_error():
    with pytest.raises(ValueError, match="IVR_SIP_SRTP: 'maybe'"):
        SrtpPolicy.parse("maybe")


def test_packets_are_encrypted_authenticated_and_replays_refused():
    ours = negotiate("RTP/SAVP", [LINE], SrtpPolicy.REQUIRED)
    theirs = SrtpKeys(tag="1", remote_key=ours.local_key, local_key=KEY)  # the peer's view of the same call
    packet = struct.pack("!BBHII", 0x80, 0, 7, 160, 0x1234) + b"hello, caller" * 10
    protected = ours.protector()(packet)
    assert len(protected) == len(packet) + 10 and packet[12:] not in protected  # 80-bit tag, payload encrypted
    unprotect = theirs.unprotector()
    assert unprotect(protected) == packet
    with pytest.raises(pylibsrtp.Error):
        unprotect(protected)  # a replay
    tampered = bytearray(ours.protector()(packet[:2] + b"\x00\x08" + packet[4:]))
    tampered[20] ^= 1
    with pytest.raises(pylibsrtp.Error):
        unprotect(bytes(tampered))
    their_packet = theirs.protector()(packet)
    assert ours.unprotector()(their_packet) == packet
