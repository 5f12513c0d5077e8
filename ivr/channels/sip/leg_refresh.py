"""A re-INVITE on a leg we placed (a bridged transfer's second leg, a queue's contact, a callback): the far end
refreshes its session (session timers) or moves its media. aiosipua only knows the dialogs it answered, so the
dialer claims these INVITEs first: 200 with the leg's own SDP (the same port and codec, so a bridge and its relay go
on untouched) and the stream follows the offered address; an offer we cannot take gets 488 and the call goes on
as it was. An offerless re-INVITE gets our current media as the offer.
"""

from __future__ import annotations

import logging

from aiosipua import SdpNegotiationError, build_sdp, parse_sdp, serialize_sdp

from .addresses import BadAddress
from .media_offer import answer_sdp

log = logging.getLogger(__name__)


def _media(server, stream, request):
    """Our SDP for the leg, following the offer's address when there is one; raises on an offer we cannot take."""
    if not request.body or not (request.content_type or "").startswith("application/sdp"):
        dtmf = stream.dtmf_payload_type or 101
        return build_sdp(
            server.media_ip, stream.local_port, stream.payload_type, stream.codec.name, dtmf_payload_type=dtmf
        )
    offer = parse_sdp(request.body.decode("utf-8", "replace"))
    answer = answer_sdp(offer, server.media_ip, stream)
    remote = offer.rtp_address
    if remote is not None and remote[1] and remote[0] not in ("0.0.0.0", "::"):  # not put on hold
        stream.update_remote(remote)
    return answer


def answer_leg_reinvite(dialer, request, addr) -> bool:
    """True when `request` is an INVITE on one of `dialer`'s answered legs (then answered here)."""
    answered, server = dialer.leg_of(request), dialer.server
    if answered is None:
        return False
    call, dialog = answered
    host, port = server.endpoint.advertised_addr or server.address
    try:
        sdp = _media(server, call.stream, request)
        response = dialog.create_response(request, 200, "OK", contact=f"<sip:{dialer.user}@{host}:{port}>")
        response.text = serialize_sdp(sdp)
        response.headers.set_single("Content-Type", "application/sdp")
    except (SdpNegotiationError, BadAddress, ValueError) as exc:
        log.info("call %s: re-INVITE on our leg refused: %s", request.call_id, exc)
        response = dialog.create_response(request, 488, "Not Acceptable Here")
    server.endpoint.transport.send_reply(response)
    return True
