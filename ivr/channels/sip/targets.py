"""Where SIP requests of ours go: the Request-URI and address of a callback's INVITE, a REFER's Refer-To,
and the status a transfer's NOTIFY reports (its message/sipfrag body)."""

from __future__ import annotations

import re

from ivr.phone import PhonePolicy

from .registration import parse_registrar


def dial_target(number: str, registrar: str) -> tuple[str, tuple[str, int]]:
    """(Request-URI, address to send the INVITE to) for a number or SIP URI. A number is dialled as the
    phone-number policy normalizes it (E.164, every digit ASCII), or not at all (NumberRefused, a ValueError)."""
    match = re.fullmatch(r"sips?:([^@;>]+)@([^;:>]+)(?::(\d+))?.*", number.strip())
    if match:
        port = int(match.group(3) or 5060)
        if not 1 <= port <= 65535:  # getaddrinfo would quietly wrap 99999 round to 34463
            raise ValueError(f"cannot dial {number!r}: port {port} is outside 1-65535")
        return number.strip(), (match.group(2), port)
    if not registrar:
        raise ValueError(f"cannot dial {number!r}: set IVR_SIP_REGISTRAR or give a SIP URI")
    host, port = parse_registrar(registrar)
    return _at(PhonePolicy().dialable(number), host, port), (host, port)


def refer_target(connect_to: str, registrar: str, address: tuple[str, int]) -> str:
    """The Refer-To URI for `connect_to`: a SIP URI as given, a tel URI or number as the phone-number policy
    normalizes it (or NumberRefused), and a number or PBX extension at the registrar, else at the peer's host
    (`address`: the PBX an inbound call came from, or the host a callee was reached through), which routes it
    like the peer's own calls. Inbound transfers (server.py) use it too, without a registrar."""
    target = PhonePolicy().transfer_target(connect_to)
    if re.match(r"^(sips?|tel):", target):
        return target
    host, port = parse_registrar(registrar) if registrar else (address[0], 5060)
    return _at(target, host, port)


def _at(user: str, host: str, port: int) -> str:
    return f"sip:{user}@{host}" + (f":{port}" if port != 5060 else "")


def sipfrag_status(body: str) -> int:
    """The status code of a NOTIFY's message/sipfrag body ('SIP/2.0 200 OK'), 0 if it has none."""
    match = re.match(r"\s*SIP/2\.0\s+(\d{3})", body or "")
    return int(match.group(1)) if match else 0
