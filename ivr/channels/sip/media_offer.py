"""An inbound call's media from its SDP offer: the RTP stream we open for it and the answer we send (also to a
re-INVITE, which keeps our port and codec and follows the peer's new address); and the offer of our own calls
(callbacks, bridge legs): `build_offer` lists the enabled codecs in IVR_SIP_CODECS order, `answered_codec` reads
which one the answer picked.

The offer's first codec among those the `MediaPolicy` enables (media/codecs.py: PCMU, PCMA, G.722, Opus), SRTP
as the policy says (media/sdes.py), RFC 2833 digits when the offer has telephone-event, in-band detection
otherwise. An offer we cannot send RTP to (no audio, port 0, c=0.0.0.0, a name), with no codec we enable, or
whose SRTP does not meet the policy is refused with 488.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiosipua import Codec as SdpCodec
from aiosipua import IncomingCall, SdpNegotiationError, build_sdp, negotiate_sdp

from .addresses import BadAddress, checked
from .media import codecs, sdes
from .media.ports import PortPool, PortsExhausted
from .media.stream import RtpStream

log = logging.getLogger("ivr.channels.sip.server")

OUR_DTMF_PAYLOAD_TYPE = 101  # telephone-event in our own offers


@dataclass(frozen=True)
class MediaPolicy:
    """What a call may use: settings IVR_SIP_CODECS and its SRTP policy (per account or source: edge/srtp_rules.py)."""

    codec_names: tuple[str, ...] = ("pcmu", "pcma", "g722", "opus")
    srtp: sdes.SrtpPolicy = sdes.SrtpPolicy.OPTIONAL

    @classmethod
    def from_config(cls, config) -> MediaPolicy:
        codecs.configure_opus(config.opus_bitrate)
        return cls(tuple(codecs.parse_names(",".join(config.codecs))), sdes.SrtpPolicy.parse(config.srtp))


async def open_media(
    incoming: IncomingCall,
    ports: PortPool,
    family: int,
    on_digit: Callable[[str], None],
    policy: MediaPolicy = MediaPolicy(),
) -> RtpStream | None:
    """The call's RTP stream on a pooled port, or None after rejecting the INVITE (488, or 503 without ports)."""
    offer = incoming.sdp_offer
    remote = offer.rtp_address if offer is not None else None
    audio = offer.audio if offer is not None else None
    if remote is None or audio is None or not _sendable(remote, family):
        incoming.reject(488, "Not Acceptable Here")
        return None
    chosen = codecs.choose(audio.codecs, policy.codec_names)
    try:
        keys = sdes.negotiate(audio.proto, audio.attributes.get("crypto", []), policy.srtp)
    except sdes.SrtpRefused as exc:
        log.info("Call %s refused: %s", incoming.call_id, exc)
        chosen = None
    if chosen is None:
        incoming.reject(488, "Not Acceptable Here")
        return None
    codec, payload_type = chosen
    dtmf_pt = next((c.payload_type for c in audio.codecs if (c.encoding_name or "").lower() == "telephone-event"), None)
    try:
        return await ports.open(
            lambda: RtpStream(
                remote, payload_type, dtmf_pt, on_digit, inband_dtmf=dtmf_pt is None, codec=codec, srtp=keys
            )
        )
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
        offer,
        local_ip=media_ip,
        rtp_port=stream.local_port,
        supported_codecs=[stream.payload_type],
        dtmf_payload_type=stream.dtmf_payload_type or 0,
    )
    codecs.describe_codec(answer, stream.payload_type, stream.codec)
    if stream.srtp is not None and answer.audio is not None:
        answer.audio.attributes["crypto"] = [stream.srtp.answer_line()]
    return answer


def reinvite_answer(incoming: IncomingCall, stream: RtpStream, media_ip: str):
    """A re-INVITE's answer: keep our port and codec, follow the peer's new media address (None: a 488)."""
    offer = incoming.sdp_offer
    if offer is None or incoming.invite.content_type != "application/sdp":
        return incoming.sdp_answer  # offerless re-INVITE: offer what we have
    try:
        answer = answer_sdp(offer, media_ip, stream)
    except SdpNegotiationError:
        return None
    remote = offer.rtp_address
    if remote is not None and remote[1] and remote[0] not in ("0.0.0.0", "::"):  # not on hold
        try:
            stream.update_remote(remote)
        except BadAddress:
            return None  # 488; the transport already refuses most of these with a 400
    return answer


def build_offer(media_ip: str, rtp_port: int, codec_names: tuple[str, ...] | list[str]):
    """Our SDP offer: the enabled codecs in `codec_names` order (each with its rtpmap, Opus with its fmtp), then
    telephone-event. ValueError when none of the names is a codec we have."""
    offered = [codecs.CODECS[name] for name in codec_names if name in codecs.CODECS]
    if not offered:
        raise ValueError(f"no codec to offer among {list(codec_names)}")
    first = offered[0]
    sdp = build_sdp(
        media_ip, rtp_port, first.payload_type, first.name, first.clock_rate, dtmf_payload_type=OUR_DTMF_PAYLOAD_TYPE
    )
    audio = sdp.audio
    audio.formats = [str(c.payload_type) for c in offered] + [str(OUR_DTMF_PAYLOAD_TYPE)]
    rtpmaps = [f"{c.payload_type} {c.rtpmap}" for c in offered]
    audio.attributes["rtpmap"] = rtpmaps + [f"{OUR_DTMF_PAYLOAD_TYPE} telephone-event/8000"]
    fmtps = [f"{c.payload_type} {c.fmtp}" for c in offered if c.fmtp]
    audio.attributes["fmtp"] = fmtps + [f"{OUR_DTMF_PAYLOAD_TYPE} 0-16"]
    audio.codecs = [
        SdpCodec(payload_type=c.payload_type, encoding_name=c.name, clock_rate=c.clock_rate, channels=c.channels)
        for c in offered
    ] + [SdpCodec(payload_type=OUR_DTMF_PAYLOAD_TYPE, encoding_name="telephone-event", clock_rate=8000)]
    return sdp


def answered_codec(answer, codec_names) -> tuple[codecs.Codec, int, int | None] | None:
    """The codec the answer to our offer picked (its first one we offered), its payload type and the answer's
    telephone-event payload type; None when the answer names none of ours."""
    audio = answer.audio if answer is not None else None
    if audio is None:
        return None
    chosen = codecs.choose(audio.codecs, codec_names)
    if chosen is None:
        return None
    dtmf = next((c.payload_type for c in audio.codecs if (c.encoding_name or "").lower() == "telephone-event"), None)
    return chosen[0], chosen[1], dtmf
