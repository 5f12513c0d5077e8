"""The SIP endpoint: aiosipua's SipUAS with the transaction fixes an IVR in front of callers needs.

Fixes to aiosipua 0.7.1, made here through its handler table and a subclass (docs/sip.md lists the
upstream fix we would propose for each):
1. A retransmitted INVITE is matched to its transaction first and answered with the last response
   we sent on it; it never creates a second call.
2. INFO is handled: DTMF in `application/dtmf-relay` / `application/dtmf` bodies, 200 OK.
3. A re-INVITE always gets an answer: 200 with our SDP (same port, the stream follows the new
   remote address) or 488, without terminating the dialog.
4. `hangup()` retransmits the BYE until a final response arrives and removes the call from the
   tables at once.
6. A CANCEL that arrives after we answered gets its 200 but leaves the call alone (aiosipua removed
   the answered call from its table).
8. Behind a proxy: our 1xx/2xx carry the INVITE's Record-Route (transport.py), and our route set is the
   Record-Route list in order (RFC 3261 12.1.1; aiosipua reverses it), so our BYE and REFER go through
   the proxy too.
The edge (edge/gate.py) sees every request first: it drops scanners and floods, answers RFC 3261 violations 400
and decides who may open a dialog; the caller identity it grants is kept in `identities` by Call-ID.
Overload: with `max_calls` calls in the table, a new INVITE gets 503 with Retry-After.
Draining (`draining = True`, drain.py): OPTIONS and every new INVITE get 503 with Retry-After; calls in
progress (BYE, INFO, re-INVITE, CANCEL) are served as usual.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiosipua import IncomingCall, SipRequest, SipResponse, SipUAS
from aiosipua.dialog import DialogState, dialog_matches
from aiosipua.uas_requests import handle_ack
from aiosipua.utils import format_addr

from .edge.gate import Gate, Identity
from .media.dtmf import parse_info_digit
from .transport import IvrUdpTransport, transaction_key

log = logging.getLogger(__name__)

T1, T2, TIMER_F = 0.5, 4.0, 32.0


class Endpoint(SipUAS):
    def __init__(self, transport: IvrUdpTransport, *, max_calls: int, retry_after: int = 5,
                 user_agent: str = "ivr", gate: Gate | None = None) -> None:
        super().__init__(transport, user_agent=user_agent)
        self.transport: IvrUdpTransport = transport
        self.max_calls = max_calls
        self.retry_after = retry_after
        self.on_digit: Callable[[IncomingCall, str], None] | None = None
        self.on_ack: Callable[[IncomingCall], None] | None = None
        self.on_reinvite_offer: Callable[[IncomingCall], object] | None = None  # -> SdpMessage | None
        self.on_cancelled: Callable[[IncomingCall], None] | None = None
        self._client: dict[str, asyncio.Future] = {}  # our BYE/REFER transactions by branch
        self.on_reinvite = self._answer_reinvite
        self._handlers["INFO"] = self._handle_info
        self._handlers["ACK"] = self._handle_ack
        self._handlers["CANCEL"] = self._handle_cancel
        self.rejected_overload = 0
        self.draining = False
        self.gate = gate
        self.identities: dict[str, Identity] = {}  # Call-ID -> who the gate let in; popped with the call

    # --- requests ----------------------------------------------------------------------
    def _on_message(self, msg, addr) -> None:
        if isinstance(msg, SipResponse):
            self._handle_response(msg)
        else:
            self._handle_request(msg, addr)

    def _handle_request(self, request: SipRequest, addr) -> None:
        identity = None
        if self.gate is not None:
            verdict = self.gate.admit(request, addr[0], (request.call_id or "") in self._calls)
            if verdict.drop or (verdict.code and request.method == "ACK"):
                return
            if verdict.code:
                self.transport.reply_error(request, verdict.code, verdict.reason, verdict.headers, to=addr)
                return
            identity = verdict.identity
        if self.draining and request.method.upper() == "OPTIONS":  # a proxy's keepalive: take us out
            self.transport.reply_error(request, 503, "Service Unavailable", {"Retry-After": str(self.retry_after)})
            return
        if request.method.upper() == "INVITE":
            key = transaction_key(request)
            previous = self.transport.last_invite_response(key) if key else None
            if previous is not None:  # defect 1: a retransmission, not a new call
                self.transport.send_reply(previous)
                return
            is_new = (request.call_id or "") not in self._calls
            if is_new and (self.draining or len(self._calls) >= self.max_calls):
                if not self.draining:
                    self.rejected_overload += 1
                self.transport.reply_error(request, 503, "Service Unavailable",
                                           {"Retry-After": str(self.retry_after)})
                return
            if is_new and key:
                self.transport.remember_record_route(key, request)
            try:
                super()._handle_request(request, addr)
                if is_new and (call := self._calls.get(request.call_id or "")) is not None:
                    call.dialog.route_set = list(request.headers.get("record-route"))  # defect 8: in order
                    if identity is not None:
                        self.identities[call.call_id] = identity
            except Exception:  # e.g. a broken SDP: forget the half-made transaction, then reply 400
                txn = self.transactions.match_request(request)
                if txn is not None:
                    self.transactions.remove(txn)
                if is_new:
                    self._calls.pop(request.call_id or "", None)
                raise
            return
        super()._handle_request(request, addr)

    def _handle_ack(self, request: SipRequest, addr) -> None:
        call = self._calls.get(request.call_id or "")
        handle_ack(self, request, addr)
        if call is not None and dialog_matches(call.dialog, request) and self.on_ack is not None:
            self.on_ack(call)

    def _handle_info(self, request: SipRequest, addr) -> None:
        call = self._calls.get(request.call_id or "")
        if call is None:
            self._send_error(request, 481, "Call/Transaction Does Not Exist")
            return
        if not self._validate_in_dialog(call.dialog, request):
            return
        digit = parse_info_digit(request.content_type or "", request.text)
        if digit is None and request.body:
            self._reply(call, request, 415, "Unsupported Media Type")
            return
        self._reply(call, request, 200, "OK")
        if digit is not None and self.on_digit is not None:
            self.on_digit(call, digit)

    def _handle_cancel(self, request: SipRequest, addr) -> None:
        vias = request.via
        branch = vias[0].branch if vias else None
        txn = self.transactions.get_server(branch, "INVITE") if branch else None
        call = self._calls.get(txn.request.call_id or "") if txn and txn.request else None
        if call is None:
            self._send_error(request, 481, "Call/Transaction Does Not Exist")
            return
        self._reply(call, request, 200, "OK")
        if call._answered:
            return  # defect 6: too late to cancel; the call goes on until BYE
        call._stop_retransmissions()
        call.reject(487, "Request Terminated")
        self._calls.pop(call.call_id, None)
        self.transactions.remove(txn)
        if self.on_cancelled is not None:
            self.on_cancelled(call)

    def _answer_reinvite(self, call: IncomingCall) -> None:
        """Defect 3: every re-INVITE gets a final answer and never tears the call down."""
        answer = self.on_reinvite_offer(call) if self.on_reinvite_offer is not None else call.sdp_answer
        if answer is None:
            self._reply(call, call.invite, 488, "Not Acceptable Here")
            return
        call.accept(answer)  # 200 with our SDP, retransmitted until the ACK

    def _reply(self, call: IncomingCall, request: SipRequest, code: int, reason: str) -> None:
        response = call.dialog.create_response(request, code, reason)
        if self.user_agent:
            response.headers.set_single("User-Agent", self.user_agent)
        self.transport.send_reply(response)

    # --- our requests: BYE and REFER, retransmitted until answered --------------------
    def hangup(self, call: IncomingCall) -> asyncio.Future | None:
        """Defect 4: end the call, drop it from the tables now, resend the BYE until answered."""
        self._calls.pop(call.call_id, None)
        self._remove_invite_transaction(call.invite)
        call._stop_retransmissions()
        if call.dialog.state != DialogState.CONFIRMED:
            if not call._answered and call.dialog.state != DialogState.TERMINATED:
                call.reject(480, "Temporarily Unavailable")
            return None
        bye = call.dialog.create_request("BYE", via_host=self._local()[0], via_port=self._local()[1])
        call.dialog.terminate()
        return self.send_reliably(bye, call.source_addr)

    def refer(self, call: IncomingCall, target: str) -> asyncio.Future:
        """Blind transfer: REFER on the call's dialog; resolves with the final status code."""
        return self.refer_in_dialog(call.dialog, target, call.source_addr)

    def refer_in_dialog(self, dialog, target: str, addr: tuple[str, int]) -> asyncio.Future:
        """REFER on any confirmed dialog, ours as UAS or as UAC (outbound.py's callbacks)."""
        local = self._local()
        refer = dialog.create_request("REFER", via_host=local[0], via_port=local[1])
        refer.headers.set_single("Refer-To", f"<{target}>")
        refer.headers.set_single("Referred-By", f"<{dialog.local_uri}>")
        refer.headers.set_single("Contact", f"<sip:{format_addr(*local)}>")
        return self.send_reliably(refer, addr)

    def send_reliably(self, request: SipRequest, addr: tuple[str, int]) -> asyncio.Future:
        """Non-INVITE client transaction over UDP (RFC 3261 17.1.2): T1 doubling to T2, 408 after Timer F."""
        loop = asyncio.get_running_loop()
        key = transaction_key(request)
        result = loop.create_future()
        self._client[key] = result
        task = loop.create_task(self._retransmit(request, addr, result))
        result.add_done_callback(lambda _f: (task.cancel(), self._client.pop(key, None)))
        return result

    async def _retransmit(self, request: SipRequest, addr, result: asyncio.Future) -> None:
        interval, elapsed = T1, 0.0
        while elapsed < TIMER_F:
            self.transport.send(request, addr)
            await asyncio.sleep(interval)
            elapsed += interval
            interval = min(interval * 2, T2)
        if not result.done():
            result.set_result(408)

    def _handle_response(self, response: SipResponse) -> None:
        key = transaction_key(response)
        result = self._client.get(key) if key else None
        if result is not None:
            if response.status_code >= 200 and not result.done():
                result.set_result(response.status_code)
        elif self.uac is not None:  # REGISTER responses (registration.py)
            self.uac.handle_response(response, None)

    def _local(self) -> tuple[str, int]:
        return self.advertised_addr or self.transport.local_addr

    async def stop(self) -> None:
        for result in list(self._client.values()):
            if not result.done():
                result.cancel()
        await super().stop()
