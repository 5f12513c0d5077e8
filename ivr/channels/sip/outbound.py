"""The SIP process's side of callbacks: take dial requests from Redis, place the INVITE, report the outcome.

`take_dial_requests` runs next to the endpoint in `ivr sip`. It takes requests from the dial request queue it is
given (store/dial_requests.py, through call_session.wiring) in a worker thread (the media loop never waits on
Redis), answers "taken" on the request's result list at once, then dials: an INVITE (aiosipua's
SipUAC, digest auth when the registrar challenges) to `sip:<number>@<registrar>` when IVR_SIP_REGISTRAR is
set, or to the number itself when it is a SIP URI.
On 200 the ACK goes out, the media joins the shared pacing clock like an inbound call and the callee hears the
greeting. With a `connect_to`, a REFER then puts the callee through to it (blind transfer, as for inbound calls;
the NOTIFYs on our outbound dialog report how it went) and, should that fail, the callee hears why. Then we hang
up (BYE, retransmitted). The outcome - answered / busy / no-answer / rejected /
failed, with the SIP status - goes to the result list the worker's `place()` waits on.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
from collections import deque
from typing import Protocol

from aiosipua import SipDigestAuth, SipRequest, SipUAC, build_sdp

from ivr.phone import NumberRefused, PhonePolicy

from .addresses import BadAddress
from .call import CallEnded, SipCall, TransferOutcome, await_transfer
from .media import g711
from .media.stream import RtpStream
from .registration import parse_registrar

log = logging.getLogger(__name__)

POLL_SECONDS = 1  # BLPOP timeout: how quickly the loop notices shutdown
BUSY = {486, 600}
NO_ANSWER = {408, 480, 487}
CONNECT_TIMEOUT = 30.0  # seconds the connect_to party may take to answer the transferred callee


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


class DialRequestSource(Protocol):
    """Where dial requests come from and outcomes go (ivr.store.dial_requests.DialRequests); blocking calls."""

    def take(self, timeout: int) -> bytes | None: ...

    def report(self, reference: str, outcome: dict) -> None: ...


class OutboundDialer:
    """Places callback calls from a running SipServer (same transport, ports, clock and prompts)."""

    def __init__(self, server, registrar: str = "", user: str = "", password: str = "") -> None:
        self.server = server
        self.registrar, self.user = registrar, user or "ivr"
        self.auth = SipDigestAuth(self.user, password) if password else None
        self.calls: dict[str, SipCall] = {}  # answered outbound calls by Call-ID (for the callee's BYE)
        self.placed = 0
        self.outcomes: deque[dict] = deque(maxlen=50)  # the latest outcomes, for logs and tests
        self._heard: set[str] = set()  # Call-IDs of our INVITEs that got any response (stops Timer A)
        endpoint = server.endpoint
        self._inbound_bye = endpoint._handlers["BYE"]
        endpoint._handlers["BYE"] = self._handle_bye
        self._responses = endpoint._handle_response
        endpoint._handle_response = self._handle_response
        self._inbound_notify = endpoint._handlers["NOTIFY"]
        endpoint._handlers["NOTIFY"] = self._handle_notify

    def _uac(self) -> SipUAC:
        endpoint = self.server.endpoint
        if endpoint.uac is None:  # registration.py installs one when a registrar is configured
            endpoint.uac = SipUAC(endpoint.transport, advertised_addr=endpoint.advertised_addr)
        return endpoint.uac

    def _handle_bye(self, request, addr) -> None:
        call = self.calls.get(request.call_id or "")
        if call is None:
            self._inbound_bye(request, addr)
            return
        self.server.endpoint.transport.send_reply(call.dialog.create_response(request, 200, "OK"))
        call.end("hangup")

    def _handle_notify(self, request, addr) -> None:
        """Transfer progress on an answered callback's dialog (aiosipua only looks in its inbound dialogs)."""
        call = self.calls.get(request.call_id or "")
        if call is None:
            self._inbound_notify(request, addr)
            return
        event = (request.get_header("event") or "").split(";")[0].strip().lower()
        transport = self.server.endpoint.transport
        if event != "refer":
            transport.send_reply(call.dialog.create_response(request, 489, "Bad Event"))
            return
        transport.send_reply(call.dialog.create_response(request, 200, "OK"))
        status = sipfrag_status(request.text)
        if status >= 200 and call.transfer_progress is not None and not call.transfer_progress.done():
            call.transfer_progress.set_result(status)

    def _handle_response(self, response) -> None:
        """aiosipua does not ACK a failed INVITE (RFC 3261 17.1.1.3); without it the callee resends its 4xx."""
        cseq = response.cseq
        self._heard.add(response.call_id or "")
        uac = self.server.endpoint.uac
        outgoing = uac.get_call(response.call_id or "") if uac is not None else None
        if outgoing is not None and cseq is not None and cseq.method.upper() == "INVITE" \
                and response.status_code >= 300:
            self._ack_failure(outgoing, response)
        self._responses(response)

    def _ack_failure(self, outgoing, response) -> None:
        ack = SipRequest(method="ACK", uri=outgoing.invite.uri)
        ack.headers.append("Via", outgoing.invite.headers.get("via")[0])  # same branch as the INVITE
        for name in ("From", "Call-ID", "Route"):
            for value in outgoing.invite.headers.get(name.lower()):
                ack.headers.append(name, value)
        ack.headers.set_single("To", response.get_header("to") or "")
        ack.headers.set_single("CSeq", f"{response.cseq.seq} ACK")
        ack.headers.set_single("Max-Forwards", "70")
        ack.headers.set_single("Content-Length", "0")
        self.server.endpoint.transport.send(ack, outgoing.remote_addr)

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
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, family=socket.AF_INET,
                                                                 type=socket.SOCK_DGRAM)
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
        server, uac = self.server, self._uac()
        local_host = (server.endpoint.advertised_addr or server.address)[0]
        offer = build_sdp(server.media_ip, stream.local_port, g711.PCMU, "PCMU", dtmf_payload_type=101)
        outgoing = uac.send_invite(f"sip:{self.user}@{local_host}", uri, address, offer,
                                   user_agent="ivr", auth=self.auth)
        self.placed += 1
        ring = float(job.get("ring_timeout") or 30)
        resend = asyncio.get_running_loop().create_task(self._retransmit(outgoing))
        try:
            await outgoing.wait_answered(timeout=ring)
        except TimeoutError:
            outgoing.cancel(uac)
            uac.remove_call(outgoing.call_id)
            return {"state": "no-answer", "detail": f"no answer within {ring:.0f} s", "call_id": outgoing.call_id}
        except RuntimeError:
            code, reason = outgoing._reject_code, outgoing._reject_reason
            state = "busy" if code in BUSY else "no-answer" if code in NO_ANSWER else "rejected"
            return {"state": state, "status": code, "reason": reason, "call_id": outgoing.call_id}
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
                return {"state": "failed", "detail": f"unusable media address in the answer: {exc}",
                        "call_id": outgoing.call_id}
        call = SipCall(outgoing.call_id, self.user, str(job.get("number", "")), stream, server.prompts,
                       server.recordings_dir, server)
        call.dialog = outgoing.dialog
        self.calls[outgoing.call_id] = call
        server.clock.add(stream)
        if on_answer is not None:
            await on_answer({"state": "answered", "status": 200, "call_id": outgoing.call_id})
        greeted, connected = False, None
        try:
            greeted = await call.say(text=str(job.get("greeting") or "Hello, this is your callback."),
                                     barge_in=False)
            if greeted and job.get("connect_to"):
                connected = await self._connect(call, outgoing, str(job["connect_to"]), address)
                if not connected.ok:
                    await call.say(text=str(job.get("connect_failed") or "Sorry, we could not put you through."),
                                   barge_in=False)
        except CallEnded:
            pass
        finally:
            self.calls.pop(outgoing.call_id, None)
            uac.remove_call(outgoing.call_id)
            if not call.ended.done() or call.ended.result() != "hangup":
                self._bye(outgoing)
        outcome = {"state": "answered", "status": 200, "call_id": outgoing.call_id, "greeted": greeted,
                   "rtp_sent": stream.packets_sent,
                   "ended": call.ended.result() if call.ended.done() else "completed"}
        if connected is not None:
            outcome["connected"], outcome["connect"] = connected.ok, connected.reason
        return outcome

    async def _connect(self, call: SipCall, outgoing, connect_to: str, address) -> TransferOutcome:
        try:
            target = refer_target(connect_to, self.registrar, address)
        except NumberRefused as exc:
            log.warning("callback %s: not put through: %s", outgoing.call_id, exc)
            return TransferOutcome(False, "refused")
        call.transfer_progress = asyncio.get_running_loop().create_future()  # before the REFER: NOTIFYs are quick
        refer = self.server.endpoint.refer_in_dialog(outgoing.dialog, target, outgoing.remote_addr)
        outcome = await await_transfer(call, refer, CONNECT_TIMEOUT)
        log.info("callback %s: put through to %s: %s", outgoing.call_id, target, outcome.reason)
        return outcome

    async def _retransmit(self, outgoing) -> None:
        """Timer A (RFC 3261 17.1.1.2): aiosipua sends the INVITE once; UDP may lose it."""
        interval, elapsed = 0.5, 0.0
        while elapsed < 32.0:
            await asyncio.sleep(interval)
            elapsed += interval
            if outgoing.call_id in self._heard:
                return
            self.server.endpoint.transport.send(outgoing.invite, outgoing.remote_addr)
            interval *= 2

    def _bye(self, outgoing) -> None:
        endpoint = self.server.endpoint
        local = endpoint._local()
        bye = outgoing.dialog.create_request("BYE", via_host=local[0], via_port=local[1])
        outgoing.dialog.terminate()
        endpoint.send_reliably(bye, outgoing.remote_addr)  # retransmitted until answered (Timer F)


async def take_dial_requests(dialer: OutboundDialer, requests: DialRequestSource, stop: asyncio.Event) -> None:
    """Serve dial requests until `stop`; Redis trouble only delays callbacks, never the calls in progress."""
    running: set[asyncio.Task] = set()
    while not stop.is_set():
        try:
            got = await asyncio.to_thread(requests.take, POLL_SECONDS)
        except Exception as exc:
            log.warning("sip dial requests unavailable: %s", exc)
            await asyncio.sleep(POLL_SECONDS)
            continue
        if not got:
            continue
        try:
            job = json.loads(got)
            reference = str(job["id"])
        except (ValueError, KeyError, TypeError):
            log.error("dropped a malformed sip dial request: %r", got[:200])
            continue
        task = asyncio.get_running_loop().create_task(_serve(dialer, requests, reference, job))
        running.add(task)
        task.add_done_callback(running.discard)
    if running:
        await asyncio.wait(running, timeout=10)


async def _serve(dialer: OutboundDialer, requests: DialRequestSource, reference: str, job: dict) -> None:
    try:
        await asyncio.to_thread(requests.report, reference, {"state": "taken"})
        reported = False

        async def answered(outcome: dict) -> None:
            nonlocal reported
            reported = True
            await asyncio.to_thread(requests.report, reference, outcome)
        outcome = await dialer.dial(job, answered)
        dialer.outcomes.append({"id": reference, **outcome})
        log.info("callback %s to %s: %s", reference, job.get("number"), outcome)
        if not reported:
            await asyncio.to_thread(requests.report, reference, outcome)
    except Exception:
        log.exception("callback %s: outcome not reported", reference)
