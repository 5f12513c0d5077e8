"""A call the SIP server holds: its INVITE, call, stream, the liveness figures the sweeper reads, and when they
end the call (no ACK, no RTP)."""

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

    def expire(self, now: float, no_ack_timeout: float, no_rtp_timeout: float) -> None:
        """The sweeper's check, once a second: end an answered call never ACKed, or with no RTP for too long."""
        if self.call is None or self.stream is None or not self.answered_at or self.call.ended.done():
            return
        if not self.acked and now - self.answered_at > no_ack_timeout:
            self.call.end("no-ack")
        elif self.stream.packets_received != self.last_rx_count:
            self.last_rx_count, self.last_rx_at = self.stream.packets_received, now
        elif now - self.last_rx_at > no_rtp_timeout:
            self.call.end("no-rtp")


def user_part(address) -> str:
    return (address.uri.user or "") if address is not None and address.uri is not None else ""
