"""SRTP keyed by SDES (RFC 4568) with AES_CM_128_HMAC_SHA1_80, through `pylibsrtp` (BSD; libsrtp in C).

`SrtpPolicy` is the setting (IVR_SIP_SRTP): "off" answers only plain RTP offers (an RTP/SAVP-only offer gets 488),
"optional" uses SRTP when the offer carries a crypto line we support, "required" refuses (488) offers without one.
`negotiate(offer_media, policy)` returns the keys for a call (or None for plain RTP) or raises `SrtpRefused`;
`SrtpKeys.answer_line()` is our a=crypto for the answer, and `protector()`/`unprotector()` are one call's two
libsrtp sessions: ours encrypts with our fresh key, theirs authenticates and decrypts with the offered key.
The policy of each call (per account, per source, or this default) is chosen by edge/srtp_rules.py.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import pylibsrtp

SUITE = "AES_CM_128_HMAC_SHA1_80"
MASTER_KEY_AND_SALT = 30  # 16-byte key + 14-byte salt


class SrtpPolicy(StrEnum):
    OFF = "off"
    OPTIONAL = "optional"
    REQUIRED = "required"

    @classmethod
    def parse(cls, value: str, where: str = "IVR_SIP_SRTP") -> SrtpPolicy:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ValueError(f"{where}: {value!r} is not off, optional or required") from None


class SrtpRefused(Exception):
    """The offer and the policy do not meet: answer 488."""


@dataclass(frozen=True)
class SrtpKeys:
    tag: str  # the offer's crypto tag, echoed in the answer (RFC 4568 5.1.2)
    remote_key: bytes  # the offerer's master key + salt: decrypts what it sends
    local_key: bytes  # ours: encrypts what we send

    def answer_line(self) -> str:
        return f"{self.tag} {SUITE} inline:{base64.b64encode(self.local_key).decode()}"

    def protector(self) -> Callable[[bytes], bytes]:
        return _session(self.local_key, pylibsrtp.Policy.SSRC_ANY_OUTBOUND).protect

    def unprotector(self) -> Callable[[bytes], bytes]:
        """Raises pylibsrtp.Error on a packet that fails authentication (or a replay)."""
        return _session(self.remote_key, pylibsrtp.Policy.SSRC_ANY_INBOUND).unprotect


def _session(key: bytes, ssrc_type: int) -> pylibsrtp.Session:
    policy = pylibsrtp.Policy(
        key=key, ssrc_type=ssrc_type, srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80
    )
    return pylibsrtp.Session(policy=policy)


def parse_crypto(line: str) -> tuple[str, bytes] | None:
    """`1 AES_CM_128_HMAC_SHA1_80 inline:<base64>[|lifetime][|MKI:len]` -> (tag, key), or None if unusable."""
    parts = line.split()
    if len(parts) < 3 or parts[1] != SUITE or not parts[0].isdigit() or not parts[2].startswith("inline:"):
        return None
    key_params = parts[2][len("inline:") :].split("|")
    if len(key_params) > 2:  # an MKI: we speak one key per direction, without MKIs (RFC 4568 6.1)
        return None
    try:
        key = base64.b64decode(key_params[0], validate=True)
    except ValueError:
        return None
    if len(key) != MASTER_KEY_AND_SALT or len(parts) > 3:  # session parameters (UNENCRYPTED_SRTP...): decline
        return None
    return parts[0], key


def negotiate(proto: str, crypto_lines: list[str], policy: SrtpPolicy) -> SrtpKeys | None:
    """The SRTP keys for this answer, None for plain RTP; SrtpRefused when offer and policy do not meet.

    Crypto lines on an RTP/AVP offer ("best effort" SRTP) are ignored: the answer is plain RTP."""
    if proto.upper() not in ("RTP/SAVP", "RTP/SAVPF"):
        if policy is SrtpPolicy.REQUIRED:
            raise SrtpRefused(f"SRTP is required; the offer is {proto}")
        return None
    offered = next((found for found in map(parse_crypto, crypto_lines) if found is not None), None)
    if policy is SrtpPolicy.OFF or offered is None:
        raise SrtpRefused(f"SRTP {policy}: {proto} offer with no usable {SUITE} crypto line")
    tag, key = offered
    return SrtpKeys(tag=tag, remote_key=key, local_key=os.urandom(MASTER_KEY_AND_SALT))
