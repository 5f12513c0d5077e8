"""A call the SIP server holds: its INVITE, call, stream and the liveness figures; the sweep that ends calls
with no ACK or no RTP; the called party's user part of its INVITE (what routes the call)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiosipua import IncomingCall

from ivr.phone.policy import uri_user

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


def called_user(invite) -> str:
    """Who was called: the Request-URI's user (`sip:+4420...@ivr`, `sip:support@ivr`, `tel:+4420...`), which a
    proxy or trunk sets to the number dialled, else the To header's."""
    return uri_user(invite.uri or "") or user_part(invite.to_addr)


def end_silent_calls(lives: Iterable[Live], now: float, no_ack_timeout: float, no_rtp_timeout: float) -> None:
    """One sweep (each second): end answered calls with no ACK, or no RTP received, for longer than allowed."""
    for live in list(lives):
        if live.call is None or not live.answered_at or live.call.ended.done():
            continue
        if not live.acked and now - live.answered_at > no_ack_timeout:
            live.call.end("no-ack")
        elif live.stream.packets_received != live.last_rx_count:
            live.last_rx_count, live.last_rx_at = live.stream.packets_received, now
        elif now - live.last_rx_at > no_rtp_timeout:
            live.call.end("no-rtp")
