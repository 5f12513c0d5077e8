"""The second leg of a bridged transfer: the IVR dials the target itself, with the dialer callbacks use.

`place_leg` sends the INVITE (a SIP URI as given; a number, after the phone-number policy, through the trunk
IVR_SIP_REGISTRAR or else at the PBX the caller came from), offering the caller's codec first and, for a G.711
caller, the other law second (the relay transcodes between the laws, and passes any other codec through as it is),
with the hand-over context in an `X-IVR-Context` header. It returns the answered `Leg` or raises
`LegFailed` with the reason the flow's `failed` exit gets: refused (policy), unreachable, busy, declined (603),
no-answer, failed. Cancelling the task while it rings sends a CANCEL (the caller hung up).
"""

from __future__ import annotations

import asyncio
import logging
import socket

from ivr.phone import NumberRefused

from .addresses import BadAddress
from .aiosipua_adapter import rejection
from .call import SipCall
from .control import DialogControl
from .media.codecs import Codec
from .media.stream import RtpStream
from .media_offer import OUR_DTMF_PAYLOAD_TYPE, answered_codec, build_offer
from .outbound import BUSY, NO_ANSWER, Answered, OutboundDialer
from .targets import dial_target, refer_target

log = logging.getLogger(__name__)

DECLINE = {603, 607}
G711_LAWS = ("pcmu", "pcma")
CONTEXT_HEADER = "X-IVR-Context"


class LegFailed(Exception):
    """The target did not take the call; `reason` is what the flow's `failed` exit sees."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class Leg:
    """An answered second leg: its SipCall (say, gather, stream) and how to end it."""

    def __init__(self, dialer: OutboundDialer, outgoing, call: SipCall) -> None:
        self.dialer, self.outgoing, self.call = dialer, outgoing, call

    def close(self) -> None:
        """BYE unless the target hung up first; free the stream. Safe to call twice."""
        dialer, call = self.dialer, self.call
        if dialer.calls.pop(self.outgoing.call_id, None) is not None:
            dialer.server.endpoint.client().remove_call(self.outgoing.call_id)
            if not call.ended.done() or call.ended.result() != "hangup":
                dialer._bye(self.outgoing)
            call.end("bridge-ended")
            dialer.server.clock.remove(call.stream)
            dialer.server.ports.close(call.stream)


def _route(target: str, registrar: str, caller_addr: tuple[str, int]) -> tuple[str, tuple[str, int]]:
    try:
        return dial_target(refer_target(target, registrar, caller_addr), registrar)
    except NumberRefused as exc:
        raise LegFailed("refused", str(exc)) from None
    except ValueError as exc:
        raise LegFailed("unreachable", str(exc)) from None


def _bridgeable(codec: Codec) -> tuple[str, ...]:
    """What the leg may use: the caller's codec first (no transcoding), the other G.711 law for a G.711 caller."""
    name = codec.name.lower()
    return (name, *(law for law in G711_LAWS if law != name)) if name in G711_LAWS else (name,)


async def _open_stream(server, address, codec: Codec, digit_to) -> tuple[RtpStream, tuple[str, int]]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            address[0], address[1], family=socket.AF_INET, type=socket.SOCK_DGRAM
        )
    except (OSError, OverflowError) as exc:
        raise LegFailed("unreachable", f"cannot resolve {address[0]}: {exc}") from None
    resolved = infos[0][4][:2]
    try:
        stream = await server.ports.open(
            lambda: RtpStream(resolved, codec.payload_type, OUR_DTMF_PAYLOAD_TYPE, digit_to, codec=codec)
        )
    except Exception as exc:
        raise LegFailed("failed", f"no RTP port: {exc}") from None
    return stream, resolved


async def place_leg(
    dialer: OutboundDialer,
    target: str,
    *,
    caller: SipCall,
    caller_addr: tuple[str, int],
    timeout: float,
    context: str = "",
) -> Leg:
    server, uac = dialer.server, dialer.server.endpoint.client()
    uri, address = _route(target, dialer.registrar, caller_addr)
    holder: list[SipCall] = []
    on_digit = lambda digit: holder[0].on_digit(digit) if holder else None  # noqa: E731 (once the leg has a call)
    stream, address = await _open_stream(server, address, caller.stream.codec, on_digit)
    local_host = (server.endpoint.advertised_addr or server.address)[0]
    headers = {CONTEXT_HEADER: context.replace("\r", " ").replace("\n", " ")[:500]} if context else None
    offer = build_offer(server.media_ip, stream.local_port, _bridgeable(stream.codec))
    outgoing = uac.send_invite(
        f"sip:{caller.caller or dialer.user}@{local_host}",
        uri,
        address,
        offer,
        extra_headers=headers,
        user_agent="ivr",
        auth=dialer.auth,
    )
    dialer.placed += 1
    resend = dialer.resend_until_heard(outgoing)
    try:
        await outgoing.wait_answered(timeout=timeout)
    except BaseException as exc:
        server.ports.close(stream)
        if not isinstance(exc, RuntimeError):  # still ringing: ring time over, or the caller hung up
            outgoing.cancel(uac)
        uac.remove_call(outgoing.call_id)
        if isinstance(exc, TimeoutError):
            raise LegFailed("no-answer", f"no answer within {timeout:.0f} s") from None
        if isinstance(exc, RuntimeError):
            raise _refused(outgoing) from None
        raise
    finally:
        resend.cancel()
        dialer._heard.discard(outgoing.call_id)
    return _answered(dialer, outgoing, stream, holder, target)


def _refused(outgoing) -> LegFailed:
    """The target's final error response as the reason the flow sees."""
    code, text = rejection(outgoing)
    reason = (
        "busy" if code in BUSY else "declined" if code in DECLINE else "no-answer" if code in NO_ANSWER else "failed"
    )
    return LegFailed(reason, f"{code} {text}")


def _answered(dialer: OutboundDialer, outgoing, stream: RtpStream, holder: list, target: str) -> Leg:
    chosen = answered_codec(outgoing.sdp_answer, _bridgeable(stream.codec))
    if chosen is not None:  # else the answer named none of ours: keep what we offered first
        codec, payload_type, dtmf = chosen
        stream.use_codec(payload_type, dtmf, codec)
    server = dialer.server
    control = DialogControl(server.endpoint, outgoing.dialog, outgoing.remote_addr, dialer.registrar)
    call = SipCall(outgoing.call_id, dialer.user, target, stream, server.prompts, server.recordings_dir, control)
    holder.append(call)
    dialer.calls[outgoing.call_id] = Answered(call, outgoing.dialog)  # its BYE ends `call` (outbound.py)
    leg = Leg(dialer, outgoing, call)
    remote = outgoing.sdp_answer.rtp_address if outgoing.sdp_answer is not None else None
    if remote:
        try:
            stream.update_remote(remote)
        except BadAddress as exc:
            leg.close()
            raise LegFailed("failed", f"unusable media address in the answer: {exc}") from None
    dialer.server.clock.add(stream)
    return leg
