"""Every reliance on aiosipua 0.7.1's internals, in one place (tests/sip/test_aiosipua_adapter.py tests each).

The rest of the SIP channel uses aiosipua's public API plus the names below; when an aiosipua upgrade moves
an internal, this module and its test break, nowhere else. The relied-on internals:
- `SipUAS._on_message`, `_handle_request` (hooks), `_handlers` (the per-method handler table), `_calls`
  (the call table), `_send_error`, `_validate_in_dialog`, `_remove_invite_transaction`, `uas_requests.handle_ack`;
- `IncomingCall._answered`, `IncomingCall._stop_retransmissions()`;
- `OutgoingCall._reject_code` / `_reject_reason` (the final status of a failed INVITE);
- `Registration._cancel_timers()` (stop its refresh at shutdown);
- `UdpSipTransport._udp_transport` (the asyncio socket) and `transport._stamp_via_received` /
  `_response_destination` (RFC 3261 18.2.1 / 18.2.2), `transport._read_sip_message` (stream framing by
  Content-Length, for streams.py).
`UasAdapter` owns the one request dispatch: a handler `claim`ed for a method sees each request first and
returns True when it took it; otherwise the endpoint's own handler (or aiosipua's) serves it.
"""

from __future__ import annotations

from collections.abc import Callable

from aiosipua import IncomingCall, OutgoingCall, Registration, SipRequest, SipResponse, SipUAC, SipUAS, UdpSipTransport
from aiosipua import transport as _aiosipua_transport
from aiosipua.uas_requests import handle_ack

RequestHandler = Callable[[SipRequest, tuple[str, int]], None]
Claim = Callable[[SipRequest, tuple[str, int]], bool]  # True: the request was ours and is answered
ResponseWatcher = Callable[[SipResponse], None]

stamp_via_received = _aiosipua_transport._stamp_via_received  # received=/rport= on the top Via
response_destination = _aiosipua_transport._response_destination  # where a response to this Via goes
read_sip_message = _aiosipua_transport._read_sip_message  # one message from a stream (None at EOF)


class UasAdapter(SipUAS):
    """aiosipua's SipUAS with its private hooks behind public names; the endpoint subclasses this."""

    def __init__(self, transport: UdpSipTransport, *, user_agent: str) -> None:
        super().__init__(transport, user_agent=user_agent)
        self._claims: dict[str, list[Claim]] = {}
        self._watchers: list[ResponseWatcher] = []

    # --- the one dispatch --------------------------------------------------------------
    def route(self, method: str, handler: RequestHandler) -> None:
        """Serve `method` with `handler` instead of aiosipua's own (claims still come first)."""
        self._handlers[method.upper()] = handler

    def claim(self, method: str, claim: Claim) -> None:
        """Let `claim` see every `method` request first (e.g. BYE/NOTIFY on a callback's dialog)."""
        method = method.upper()
        if method not in self._claims:
            fallback = self._handlers[method]
            self._claims[method] = []
            self._handlers[method] = lambda request, addr: self._claimed(method, fallback, request, addr)
        self._claims[method].append(claim)

    def _claimed(self, method: str, fallback: RequestHandler, request: SipRequest, addr: tuple[str, int]) -> None:
        if not any(claim(request, addr) for claim in self._claims[method]):
            fallback(request, addr)

    def watch_responses(self, watcher: ResponseWatcher) -> None:
        """`watcher` sees every response before the endpoint routes it."""
        self._watchers.append(watcher)

    def _on_message(self, msg: SipRequest | SipResponse, addr: tuple[str, int]) -> None:
        if isinstance(msg, SipResponse):
            for watcher in self._watchers:
                watcher(msg)
            self.receive_response(msg)
        else:
            self.receive_request(msg, addr)

    def receive_request(self, request: SipRequest, addr: tuple[str, int]) -> None:
        """Every request; overridden by the endpoint, which calls `serve_request` for aiosipua's handling."""
        self.serve_request(request, addr)

    def serve_request(self, request: SipRequest, addr: tuple[str, int]) -> None:
        super()._handle_request(request, addr)

    def receive_response(self, response: SipResponse) -> None:
        """Every response; aiosipua hands them to its UAC (REGISTER, our INVITEs)."""
        if self.uac is not None:
            self.uac.handle_response(response, None)

    # --- aiosipua's helpers and tables ---------------------------------------------------
    @property
    def calls(self) -> dict[str, IncomingCall]:
        """The live call table itself (aiosipua's `active_calls` is a copy)."""
        return self._calls

    def local_address(self) -> tuple[str, int]:
        return self.advertised_addr or self.transport.local_addr

    def send_error(self, request: SipRequest, code: int, reason: str) -> None:
        self._send_error(request, code, reason)

    def in_dialog(self, dialog, request: SipRequest) -> bool:
        """aiosipua's in-dialog checks (CSeq order, tags); False after it answered the request itself."""
        return self._validate_in_dialog(dialog, request)

    def forget_invite(self, invite: SipRequest) -> None:
        """Drop the INVITE server transaction of a call we ended."""
        self._remove_invite_transaction(invite)

    def serve_ack(self, request: SipRequest, addr: tuple[str, int]) -> None:
        handle_ack(self, request, addr)

    def client(self) -> SipUAC:
        """The UAC for our own INVITEs and REGISTERs; made on first use."""
        if self.uac is None:
            self.uac = SipUAC(self.transport, advertised_addr=self.advertised_addr)
        return self.uac


def is_answered(call: IncomingCall) -> bool:
    return bool(call._answered)


def stop_retransmissions(call: IncomingCall) -> None:
    """Stop resending our 2xx (aiosipua's Timer G) and the ACK wait."""
    call._stop_retransmissions()


def rejection(outgoing: OutgoingCall) -> tuple[int, str]:
    """The final status of a failed INVITE of ours (aiosipua raises RuntimeError without it)."""
    return outgoing._reject_code, outgoing._reject_reason


def cancel_refresh(registration: Registration) -> None:
    """Stop a registration's refresh timer (aiosipua has no public stop)."""
    registration._cancel_timers()


def failure_ack(outgoing: OutgoingCall, response: SipResponse) -> SipRequest:
    """The ACK to a 3xx-6xx for our INVITE (RFC 3261 17.1.1.3), which aiosipua does not send: same Via
    branch, From, Call-ID and Route as the INVITE, the response's To."""
    ack = SipRequest(method="ACK", uri=outgoing.invite.uri)
    ack.headers.append("Via", outgoing.invite.headers.get("via")[0])
    for name in ("From", "Call-ID", "Route"):
        for value in outgoing.invite.headers.get(name.lower()):
            ack.headers.append(name, value)
    ack.headers.set_single("To", response.get_header("to") or "")
    ack.headers.set_single("CSeq", f"{response.cseq.seq} ACK")
    ack.headers.set_single("Max-Forwards", "70")
    ack.headers.set_single("Content-Length", "0")
    return ack


def udp_socket(transport: UdpSipTransport):
    """The asyncio datagram transport under aiosipua's UdpSipTransport (None while closed)."""
    return transport._udp_transport


def set_udp_socket(transport: UdpSipTransport, sock) -> None:
    transport._udp_transport = sock
