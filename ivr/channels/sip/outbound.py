"""The SIP process's side of callbacks: place the INVITE for a dial request, greet, put through, report.

`OutboundDialer.dial(job)` (driven by dial_loop.py) INVITEs `sip:<number>@<registrar>` with IVR_SIP_REGISTRAR, or a
SIP URI target (targets.py), offering IVR_SIP_CODECS in order (media_offer.build_offer; Timer A resends, a failure is
ACKed). On 200: ACK, the answer's codec, the shared pacing clock, the greeting; with a `connect_to`, a REFER puts the
callee through (NOTIFYs on our dialog report it; a failure is said). Then a BYE. The outcome (answered / busy /
no-answer / rejected / failed, with the SIP status) goes back to the dial loop and the worker's `place()`."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from typing import NamedTuple

from aiosipua import SipDigestAuth

from .addresses import BadAddress
from .aiosipua_adapter import failure_ack, rejection
from .call import CallEnded, SipCall, TransferOutcome
from .control import DialogControl
from .leg_refresh import answer_leg_reinvite
from .media import codecs
from .media.stream import RtpStream
from .media_offer import OUR_DTMF_PAYLOAD_TYPE, answered_codec, build_offer
from .targets import dial_target, sipfrag_status
from .timers import retransmit

log = logging.getLogger(__name__)

BUSY = {486, 600}
NO_ANSWER = {408, 480, 487}
CONNECT_TIMEOUT = 30.0  # seconds the connect_to party may take to answer the transferred callee


class Answered(NamedTuple):
    """An answered callback: the call the greeting plays on, and our UAC dialog with the callee."""

    call: SipCall
    dialog: object


class OutboundDialer:
    """Places callback calls from a running SipServer (same transport, ports, clock and prompts)."""

    def __init__(self, server, registrar: str = "", user: str = "", password: str = "") -> None:
        self.server = server
        self.registrar, self.user = registrar, user or "ivr"
        self.auth = SipDigestAuth(self.user, password) if password else None
        self.calls: dict[str, Answered] = {}  # answered outbound calls by Call-ID (for the callee's BYE)
        self.placed = 0
        self.outcomes: deque[dict] = deque(maxlen=50)  # the latest outcomes, for logs and tests
        self._heard: set[str] = set()  # Call-IDs of our INVITEs that got any response (stops Timer A)
        endpoint = server.endpoint
        endpoint.claim("BYE", self._handle_bye)
        endpoint.claim("NOTIFY", self._handle_notify)
        endpoint.claim("INVITE", lambda request, addr: answer_leg_reinvite(self, request, addr))  # leg_refresh.py
        endpoint.watch_responses(self._watch_response)

    def leg_of(self, request) -> Answered | None:  # the answered call of ours an in-dialog request is for
        return self.calls.get(request.call_id or "")

    def _handle_bye(self, request, addr) -> bool:
        answered = self.leg_of(request)
        if answered is None:
            return False
        self.server.endpoint.transport.send_reply(answered.dialog.create_response(request, 200, "OK"))
        answered.call.end("hangup")
        return True

    def _handle_notify(self, request, addr) -> bool:
        """Transfer progress on an answered callback's dialog (aiosipua only looks in its inbound dialogs)."""
        answered = self.leg_of(request)
        if answered is None:
            return False
        call, dialog = answered
        event = (request.get_header("event") or "").split(";")[0].strip().lower()
        transport = self.server.endpoint.transport
        if event != "refer":
            transport.send_reply(dialog.create_response(request, 489, "Bad Event"))
            return True
        transport.send_reply(dialog.create_response(request, 200, "OK"))
        status = sipfrag_status(request.text)
        if status >= 200 and call.transfer_progress is not None and not call.transfer_progress.done():
            call.transfer_progress.set_result(status)
        return True

    def _watch_response(self, response) -> None:
        """aiosipua does not ACK a failed INVITE (RFC 3261 17.1.1.3); without it the callee resends its 4xx."""
        cseq = response.cseq
        self._heard.add(response.call_id or "")
        uac = self.server.endpoint.uac
        outgoing = uac.get_call(response.call_id or "") if uac is not None else None
        if (
            outgoing is not None
            and cseq is not None
            and cseq.method.upper() == "INVITE"
            and response.status_code >= 300
        ):
            self.server.endpoint.transport.send(failure_ack(outgoing, response), outgoing.remote_addr)

    async def dial(self, job: dict, on_answer=None) -> dict:
        """Place one callback call; returns its outcome (never raises). `await on_answer(outcome)` runs at the
        200 OK, before the greeting: the worker's job is bounded and must not wait for the whole call."""
        try:
            uri, address = dial_target(str(job.get("number", "")), self.registrar)
        except ValueError as exc:
            return {"state": "failed", "detail": str(exc)}
        server = self.server
        first = codecs.CODECS[server.media_policy.codec_names[0]]  # until the answer picks one of those we offer
        try:
            stream = await server.ports.open(
                lambda: RtpStream(address, first.payload_type, OUR_DTMF_PAYLOAD_TYPE, lambda _d: None, codec=first)
            )
        except Exception as exc:
            return {"state": "failed", "detail": f"no RTP port: {exc}"}
        try:
            host, port = address
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM
            )
            address = infos[0][4][:2]
            stream.update_remote(address)
        except (OSError, OverflowError, BadAddress) as exc:
            server.ports.close(stream)
            return {"state": "failed", "detail": f"cannot resolve {address[0]}: {exc}"}
        try:
            return await self._call(job, uri, address, stream, on_answer)
        except Exception as exc:  # a broken answer must never kill the loop
            log.exception("callback %s to %s failed", job.get("id"), uri)
            return {"state": "failed", "detail": repr(exc)}
        finally:
            server.clock.remove(stream)
            server.ports.close(stream)

    async def _call(self, job: dict, uri: str, address, stream: RtpStream, on_answer) -> dict:
        outgoing, failed = await self._invite(job, uri, address, stream)
        if failed is not None:
            return failed
        uac = self.server.endpoint.client()
        control = DialogControl(self.server.endpoint, outgoing.dialog, outgoing.remote_addr, self.registrar)
        call = SipCall(
            outgoing.call_id,
            self.user,
            str(job.get("number", "")),
            stream,
            self.server.prompts,
            self.server.recordings_dir,
            control,
        )
        self.calls[outgoing.call_id] = Answered(call, outgoing.dialog)
        self.server.clock.add(stream)
        if on_answer is not None:
            await on_answer({"state": "answered", "status": 200, "call_id": outgoing.call_id})
        greeted, connected = False, None
        try:
            greeted, connected = await self._greet(call, job)
        except CallEnded:
            pass
        finally:
            self.calls.pop(outgoing.call_id, None)
            uac.remove_call(outgoing.call_id)
            if not call.ended.done() or call.ended.result() != "hangup":
                self._bye(outgoing)
        outcome = {
            "state": "answered",
            "status": 200,
            "call_id": outgoing.call_id,
            "greeted": greeted,
            "rtp_sent": stream.packets_sent,
            "codec": stream.codec.name,
            "ended": call.ended.result() if call.ended.done() else "completed",
        }
        if connected is not None:
            outcome["connected"], outcome["connect"] = connected.ok, connected.reason
        return outcome

    async def _invite(self, job: dict, uri: str, address, stream: RtpStream):
        """(the answered OutgoingCall, None), or (None, the outcome) when the INVITE failed."""
        server, uac = self.server, self.server.endpoint.client()
        local_host = (server.endpoint.advertised_addr or server.address)[0]
        offer = build_offer(server.media_ip, stream.local_port, server.media_policy.codec_names)
        outgoing = uac.send_invite(
            f"sip:{self.user}@{local_host}", uri, address, offer, user_agent="ivr", auth=self.auth
        )
        self.placed += 1
        ring = float(job.get("ring_timeout") or 30)
        resend = self.resend_until_heard(outgoing)
        try:
            await outgoing.wait_answered(timeout=ring)
        except TimeoutError:
            outgoing.cancel(uac)
            uac.remove_call(outgoing.call_id)
            return None, {"state": "no-answer", "detail": f"no answer within {ring:.0f} s", "call_id": outgoing.call_id}
        except RuntimeError:
            code, reason = rejection(outgoing)
            state = "busy" if code in BUSY else "no-answer" if code in NO_ANSWER else "rejected"
            return None, {"state": state, "status": code, "reason": reason, "call_id": outgoing.call_id}
        finally:
            resend.cancel()
            self._heard.discard(outgoing.call_id)
        problem = self._follow_answer(outgoing, stream)
        if problem:  # the callee's answer names media we can never send to, or none of our codecs
            uac.remove_call(outgoing.call_id)
            self._bye(outgoing)
            return None, {"state": "failed", "detail": problem, "call_id": outgoing.call_id}
        return outgoing, None

    def _follow_answer(self, outgoing, stream: RtpStream) -> str:
        """Take the answer's codec and media address onto the stream; what is wrong with the answer, or ""."""
        chosen = answered_codec(outgoing.sdp_answer, self.server.media_policy.codec_names)
        if chosen is None:
            return "the answer picked none of the codecs we offered"
        codec, payload_type, dtmf = chosen
        stream.use_codec(payload_type, dtmf, codec)
        remote = outgoing.sdp_answer.rtp_address
        try:
            if remote:
                stream.update_remote(remote)
        except BadAddress as exc:
            return f"unusable media address in the answer: {exc}"
        return ""

    async def _greet(self, call: SipCall, job: dict) -> tuple[bool, TransferOutcome | None]:
        """The greeting, then the transfer to `connect_to` if any: (greeted, how the transfer went)."""
        greeted = await call.say(text=str(job.get("greeting") or "Hello, this is your callback."), barge_in=False)
        if not greeted or not job.get("connect_to"):
            return greeted, None
        assert call.control is not None
        connected = await call.control.transfer(call, str(job["connect_to"]), CONNECT_TIMEOUT)
        if not connected.ok:
            await call.say(
                text=str(job.get("connect_failed") or "Sorry, we could not put you through."), barge_in=False
            )
        return greeted, connected

    def resend_until_heard(self, outgoing) -> asyncio.Task:
        """Timer A: aiosipua sends an INVITE once; resend it until any response to it is heard."""

        def send() -> None:
            self.server.endpoint.transport.send(outgoing.invite, outgoing.remote_addr)

        def heard() -> bool:
            return outgoing.call_id in self._heard

        return asyncio.get_running_loop().create_task(retransmit(send, heard, capped=False))

    def _bye(self, outgoing) -> None:
        self.server.endpoint.bye(outgoing.dialog, outgoing.remote_addr)  # retransmitted until answered (Timer F)
