"""The SIP endpoint: aiosipua's SipUAS with the transaction fixes an IVR in front of callers needs.

Fixes to aiosipua 0.7.1, made here through the one dispatch of aiosipua_adapter.py (docs/sip.md lists the
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

from aiosipua import IncomingCall, SipRequest, SipResponse
from aiosipua.dialog import DialogState, dialog_matches
from aiosipua.utils import format_addr

from .aiosipua_adapter import UasAdapter, is_answered, stop_retransmissions
from .edge.gate import Gate, Identity
from .media.dtmf import parse_info_digit
from .timers import retransmit
from .transport import IvrUdpTransport, transaction_key

log = logging.getLogger(__name__)


class Endpoint(UasAdapter):
    def __init__(
        self,
        transport: IvrUdpTransport,
        *,
        max_calls: int,
        retry_after: int = 5,
        user_agent: str = "ivr",
        gate: Gate | None = None,
    ) -> None:
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
        self.route("INFO", self._handle_info)
        self.route("ACK", self._handle_ack)
        self.route("CANCEL", self._handle_cancel)
        self.rejected_overload = 0
        self.draining = False
        self.gate = gate
        if gate is not None:  # a blocked source's datagrams are dropped before they are parsed
            transport.refuses = gate.pike.refuses
        self.identities: dict[str, Identity] = {}  # Call-ID -> who the gate let in; popped with the call

    # --- requests ----------------------------------------------------------------------
    def receive_request(self, request: SipRequest, addr) -> None:
        identity = None
        if self.gate is not None:
            verdict = self.gate.admit(request, addr[0], (request.call_id or "") in self.calls)
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
            is_new = (request.call_id or "") not in self.calls
            if is_new and (self.draining or len(self.calls) >= self.max_calls):
                if not self.draining:
                    self.rejected_overload += 1
                self.transport.reply_error(request, 503, "Service Unavailable", {"Retry-After": str(self.retry_after)})
                return
            if is_new and key:
                self.transport.remember_record_route(key, request)
            try:
                self.serve_request(request, addr)
                if is_new and (call := self.calls.get(request.call_id or "")) is not None:
                    call.dialog.route_set = list(request.headers.get("record-route"))  # defect 8: in order
                    if identity is not None:
                        self.identities[call.call_id] = identity
            except Exception:  # e.g. a broken SDP: forget the half-made transaction, then reply 400
                txn = self.transactions.match_request(request)
                if txn is not None:
                    self.transactions.remove(txn)
                if is_new:
                    self.calls.pop(request.call_id or "", None)
                raise
            return
        self.serve_request(request, addr)

    def _handle_ack(self, request: SipRequest, addr) -> None:
        call = self.calls.get(request.call_id or "")
        self.serve_ack(request, addr)
        if call is not None and dialog_matches(call.dialog, request) and self.on_ack is not None:
            self.on_ack(call)

    def _handle_info(self, request: SipRequest, addr) -> None:
        call = self.calls.get(request.call_id or "")
        if call is None:
            self.send_error(request, 481, "Call/Transaction Does Not Exist")
            return
        if not self.in_dialog(call.dialog, request):
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
        call = self.calls.get(txn.request.call_id or "") if txn and txn.request else None
        if call is None:
            self.send_error(request, 481, "Call/Transaction Does Not Exist")
            return
        self._reply(call, request, 200, "OK")
        if is_answered(call):
            return  # defect 6: too late to cancel; the call goes on until BYE
        stop_retransmissions(call)
        call.reject(487, "Request Terminated")
        self.calls.pop(call.call_id, None)
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
        self.calls.pop(call.call_id, None)
        self.forget_invite(call.invite)
        stop_retransmissions(call)
        if call.dialog.state != DialogState.CONFIRMED:
            if not is_answered(call) and call.dialog.state != DialogState.TERMINATED:
                call.reject(480, "Temporarily Unavailable")
            return None
        return self.bye(call.dialog, call.source_addr)

    def bye(self, dialog, addr: tuple[str, int]) -> asyncio.Future:
        """End a confirmed dialog, ours as UAS or as UAC: BYE, retransmitted until answered (Timer E/F)."""
        local = self.local_address()
        bye = dialog.create_request("BYE", via_host=local[0], via_port=local[1])
        dialog.terminate()
        return self.send_reliably(bye, addr)

    def refer(self, call: IncomingCall, target: str) -> asyncio.Future:
        """Blind transfer: REFER on the call's dialog; resolves with the final status code."""
        return self.refer_in_dialog(call.dialog, target, call.source_addr)

    def refer_in_dialog(self, dialog, target: str, addr: tuple[str, int]) -> asyncio.Future:
        """REFER on any confirmed dialog, ours as UAS or as UAC (outbound.py's callbacks)."""
        local = self.local_address()
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
        self.transport.send(request, addr)
        if not await retransmit(lambda: self.transport.send(request, addr), result.done, capped=True):
            result.set_result(408)  # Timer F

    def receive_response(self, response: SipResponse) -> None:
        key = transaction_key(response)
        result = self._client.get(key) if key else None
        if result is not None:
            if response.status_code >= 200 and not result.done():
                result.set_result(response.status_code)
        elif self.uac is not None:  # REGISTER responses (registration.py)
            self.uac.handle_response(response, None)

    async def stop(self) -> None:
        for result in list(self._client.values()):
            if not result.done():
                result.cancel()
        await super().stop()
