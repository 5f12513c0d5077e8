"""An inbound call's media from its SDP offer: the RTP stream we open for it and the answer we send.

G.711 only (PCMU or PCMA, the offer's first), RFC 2833 digits when the offer has telephone-event, in-band
detection otherwise. An offer we cannot send RTP to (no audio, port 0, c=0.0.0.0, a name) is refused with 488.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from aiosipua import IncomingCall, negotiate_sdp

from .addresses import BadAddress, checked
from .media import g711
from .media.ports import PortPool, PortsExhausted
from .media.stream import RtpStream

log = logging.getLogger("ivr.channels.sip.server")


async def open_media(incoming: IncomingCall, ports: PortPool, family: int,
                     on_digit: Callable[[str], None]) -> RtpStream | None:
    """The call's RTP stream on a pooled port, or None after rejecting the INVITE (488, or 503 without ports)."""
    offer = incoming.sdp_offer
    remote = offer.rtp_address if offer is not None else None
    audio = offer.audio if offer is not None else None
    if remote is None or audio is None or not _sendable(remote, family):
        incoming.reject(488, "Not Acceptable Here")
        return None
    codecs = [c.payload_type for c in audio.codecs]
    chosen = next((pt for pt in codecs if pt in (g711.PCMU, g711.PCMA)), None)
    if chosen is None:
        incoming.reject(488, "Not Acceptable Here")
        return None
    dtmf_pt = next((c.payload_type for c in audio.codecs
                    if (c.encoding_name or "").lower() == "telephone-event"), None)
    try:
        return await ports.open(lambda: RtpStream(remote, chosen, dtmf_pt, on_digit, inband_dtmf=dtmf_pt is None))
    except PortsExhausted:
        log.error("No RTP port for call %s", incoming.call_id)
        incoming.reject(503, "Service Unavailable")
        return None


def _sendable(remote, family: int) -> bool:
    """RTP can go there: an IP literal and a port in 1-65535 (port 0 or c=0.0.0.0 in an offer get a 488)."""
    try:
        checked(remote, family)
    except BadAddress:
        return False
    return True


def answer_sdp(offer, media_ip: str, stream: RtpStream):
    """Our SDP answer: the stream's port, codec and telephone-event payload type (SdpNegotiationError if none fit)."""
    answer, _ = negotiate_sdp(
        offer, local_ip=media_ip, rtp_port=stream.local_port,
        supported_codecs=[stream.payload_type], dtmf_payload_type=stream.dtmf_payload_type or 0)
    return answer
