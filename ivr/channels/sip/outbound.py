"""The SIP process's side of callbacks: place the INVITE for a dial request, greet, put through, report.

`OutboundDialer.dial(job)` is driven by dial_loop.py. It sends an INVITE (aiosipua's SipUAC, digest auth when the
registrar challenges) to `sip:<number>@<registrar>` when IVR_SIP_REGISTRAR is set, or to the number itself when it
is a SIP URI (targets.py); Timer A resends it (timers.py) and a failure is ACKed (aiosipua_adapter.failure_ack).
On 200 the ACK goes out, the media joins the shared pacing clock like an inbound call and the callee hears the
greeting. With a `connect_to`, a REFER then puts the callee through to it (blind transfer, as for inbound calls;
the NOTIFYs on our outbound dialog report how it went) and, should that fail, the callee hears why. Then we hang
up (BYE, retransmitted). The outcome - answered / busy / no-answer / rejected /
failed, with the SIP status - is returned to the dial loop, which reports it to the worker's `place()`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from typing import NamedTuple

from aiosipua import SipDigestAuth, build_sdp

from .addresses import BadAddress
from .aiosipua_adapter import failure_ack, rejection
from .call import CallEnded, SipCall, TransferOutcome
from .control import DialogControl
from .leg_refresh import answer_leg_reinvite
from .media import g711
from .media.stream import RtpStream
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

    def leg_of(self, request) -> Answered | None:
        """The answered call placed by us that an in-dialog `request` is for, if any."""
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
        try:
            stream = await server.ports.open(lambda: RtpStream(address, g711.PCMU, 101, lambda _d: None))
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
            "ended": call.ended.result() if call.ended.done() else "completed",
        }
        if connected is not None:
            outcome["connected"], outcome["connect"] = connected.ok, connected.reason
        return outcome

    async def _invite(self, job: dict, uri: str, address, stream: RtpStream):
        """(the answered OutgoingCall, None), or (None, the outcome) when the INVITE failed."""
        server, uac = self.server, self.server.endpoint.client()
        local_host = (server.endpoint.advertised_addr or server.address)[0]
        offer = build_sdp(server.media_ip, stream.local_port, g711.PCMU, "PCMU", dtmf_payload_type=101)
        outgoing = uac.send_invite(
            f"sip:{self.user}@{local_host}", uri, address, offer, user_agent="ivr", auth=self.auth
        )
        self.placed += 1
        ring = float(job.get("ring_timeout") or 30)
        resend = asyncio.get_running_loop().create_task(
            retransmit(  # Timer A: aiosipua sends the INVITE once
                lambda: server.endpoint.transport.send(outgoing.invite, outgoing.remote_addr),
                lambda: outgoing.call_id in self._heard,
                capped=False,
            )
        )
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
        remote = outgoing.sdp_answer.rtp_address if outgoing.sdp_answer is not None else None
        if remote:
            try:
                stream.update_remote(remote)
            except BadAddress as exc:  # the callee's answer names media we can never send to
                uac.remove_call(outgoing.call_id)
                self._bye(outgoing)
                return None, {
                    "state": "failed",
                    "detail": f"unusable media address in the answer: {exc}",
                    "call_id": outgoing.call_id,
                }
        return outgoing, None

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

    def _bye(self, outgoing) -> None:
        self.server.endpoint.bye(outgoing.dialog, outgoing.remote_addr)  # retransmitted until answered (Timer F)
