"""A call the SIP server holds: its INVITE, call, stream and the liveness figures the sweeper reads."""

from __future__ import annotations

from dataclasses import dataclass

from aiosipua import IncomingCall

from .call import SipCall
from .media.stream import RtpStream


@dataclass
class Live:
    incoming: IncomingCall
    call: SipCall | None = None
    stream: RtpStream | None = None
    answered_at: float = 0.0
    acked: bool = False
    last_rx_count: int = 0
    last_rx_at: float = 0.0


def user_part(address) -> str:
    return (address.uri.user or "") if address is not None and address.uri is not None else ""
