"""Our UDP SIP transport: aiosipua's parser behind a front door that survives any datagram.

- Oversize datagrams, keep-alive CRLFs and bytes that do not parse are dropped and logged (rate-limited:
  datagram_guard.py); an unparsable request that still names its Via/Call-ID/CSeq gets a 400.
- A handler that raises on a strange but parsable request turns into a 400/500 reply, never a dead listener.
- Our own DatagramProtocol (datagram_guard.py) replaces aiosipua's: it drops a source the edge's flood limits
  blocked before parsing anything, and the socket gets a large receive buffer so a burst does not drown others.
- The last response sent on each INVITE server transaction is kept (keyed by Via branch, ~32 s)
  so the endpoint can answer a retransmitted INVITE with it (defect 1).
- Nothing is sent to an address that is not an IP literal with a port in 1-65535 (addresses.py): asyncio
  closes a datagram transport for good on such a sendto(). A request naming one (Via, Contact,
  Record-Route, SDP) gets a 400 at the datagram's source instead.
- If the socket closes anyway (anything asyncio treats as fatal), it is reopened on the same address;
  when that fails, `failed` is set so `ivr sip` exits and its supervisor starts it again.
- TCP and TLS listeners (streams.py) feed this same front door; a response or request for a peer with an open
  connection goes on it, and a request over 1,300 bytes goes over TCP.
- Behind a proxy, the 1xx/2xx to an INVITE carry its Record-Route (RFC 3261 12.1.1; aiosipua leaves
  them out, defect 8), so the caller's ACK, BYE and re-INVITE come back through the proxy (invite_memory.py).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

from aiosipua import SipMessage, SipRequest, SipResponse, UdpSipTransport

from .addresses import BadAddress, checked, request_problem
from .aiosipua_adapter import response_destination, set_udp_socket, stamp_via_received, udp_socket
from .datagram_guard import GuardedProtocol, RateLimitedLog, enlarge_receive_buffer, salvage_400
from .invite_memory import InviteMemory
from .streams import StreamListener, StreamRoutes, StreamSending
from .transactions import transaction_key

log = logging.getLogger(__name__)

MAX_DATAGRAM = 16 * 1024
REOPEN_ATTEMPTS = 5
REOPEN_DELAY = 0.2  # seconds between attempts: the port is normally free again at once


@dataclass
class IvrUdpTransport(InviteMemory, StreamSending, UdpSipTransport):
    def __post_init__(self) -> None:
        self.bad_log = RateLimitedLog()
        self.dropped = 0
        self.start_invite_memory()
        self.family = socket.AF_INET6 if ":" in self.local_addr[0] else socket.AF_INET
        self.reopened = 0
        self.stopping = False
        self.failed: asyncio.Future | None = None  # set when the socket closed and could not be reopened
        self.streams: list[StreamListener] = []  # TCP and TLS (streams.py), started with the UDP socket
        self.stream_routes = StreamRoutes()
        self.refuses: Callable[[str], bool] = lambda _host: False  # the edge's pre-parse check (server.py)
        self.receive_buffer = 0  # bytes the kernel granted the UDP socket

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.failed = loop.create_future()
        await self.open_with_streams(REOPEN_ATTEMPTS)

    async def _open(self) -> None:
        protocol = GuardedProtocol(self)
        await asyncio.get_running_loop().create_datagram_endpoint(lambda: protocol, local_addr=self.local_addr)
        self.receive_buffer = enlarge_receive_buffer(udp_socket(self).get_extra_info("socket"))
        bound = udp_socket(self).get_extra_info("sockname")
        self.local_addr = (self.local_addr[0], bound[1])  # port 0 -> the port the OS picked
        self._protocol = protocol

    async def stop(self) -> None:
        self.stopping = True
        await self.stop_streams()
        await super().stop()

    # --- a socket closed under us --------------------------------------------------------
    def connection_lost(self, protocol: GuardedProtocol, exc: Exception | None) -> None:
        if self.stopping or protocol is not getattr(self, "_protocol", None):
            return
        log.error("SIP UDP socket on %s:%d closed (%r); reopening it", *self.local_addr, exc)
        set_udp_socket(self, None)
        asyncio.get_running_loop().create_task(self._reopen())

    async def _reopen(self) -> None:
        for attempt in range(REOPEN_ATTEMPTS):
            if self.stopping:
                return
            try:
                await self._open()
            except OSError as exc:
                log.error("SIP UDP socket not reopened (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(REOPEN_DELAY * (attempt + 1))
                continue
            self.reopened += 1
            log.warning("SIP UDP socket reopened on %s:%d", *self.local_addr)
            return
        if self.failed is not None and not self.failed.done():
            self.failed.set_result(f"cannot reopen udp {self.local_addr[0]}:{self.local_addr[1]}")

    # --- receiving -----------------------------------------------------------------------
    def receive(self, data: bytes, addr: tuple[str, int], stream: StreamListener | None = None) -> None:
        if len(data) > MAX_DATAGRAM:
            self._drop(addr, f"oversize datagram ({len(data)} bytes)")
            return
        if not data.strip(b"\r\n\0 "):
            return  # RFC 5626 keep-alive
        try:
            msg = SipMessage.parse(data)
            if isinstance(msg, SipRequest):
                if not msg.method.isalpha() or not msg.headers.get("via"):
                    raise ValueError("bad request line or no Via")
                msg.request_line = data.split(b"\n", 1)[0].decode("utf-8", "replace")  # edge/strict.py: version
                stamp_via_received(msg, addr)
                if stream is not None:  # its responses go back on this connection (RFC 3261 18.2.2)
                    self.stream_routes.remember(transaction_key(msg), stream, addr)
        except Exception as exc:  # the parser raises assorted errors on garbage
            self._drop(addr, f"unparsable ({type(exc).__name__})")
            salvage_400(data, addr, self.send)
            return
        if isinstance(msg, SipRequest) and not self._addresses_ok(msg, addr):
            return
        if self.on_message is None:
            return
        try:
            self.on_message(msg, addr)
        except Exception as exc:
            self.bad_log.warning("SIP handler failed on %s from %s: %r", getattr(msg, "method", "response"), addr, exc)
            if isinstance(msg, SipRequest) and msg.method != "ACK":
                code = 400 if isinstance(exc, (ValueError, IndexError, KeyError, TypeError)) else 500
                self.reply_error(msg, code, "Bad Request" if code == 400 else "Server Internal Error")

    def _addresses_ok(self, request: SipRequest, addr: tuple[str, int]) -> bool:
        """False (after a 400, or a drop for an ACK) when the request names an address we cannot send to."""
        problem = request_problem(request, self.family)
        reply_to = None
        try:
            reply_to = checked(response_destination(request), self.family)
        except BadAddress as exc:
            problem = problem or f"reply address: {exc}"
        if problem is None:
            return True
        self._drop(addr, f"{request.method}: {problem}")
        if request.method != "ACK":  # a bad Via: answer where the datagram came from, never where it says
            self.reply_error(request, 400, "Bad Request", to=addr if reply_to is None or "Via" in problem else None)
        return False

    def _drop(self, addr: tuple[str, int], why: str) -> None:
        self.dropped += 1
        self.bad_log.warning("Dropped SIP datagram from %s: %s", addr, why)

    # --- sending -------------------------------------------------------------------------
    def send(self, message, addr: tuple[str, int]) -> None:
        data = bytes(message)
        sock = udp_socket(self)
        if self.send_on_stream(message, data, addr) or sock is None:
            return  # sent on a connection, or stopped or reopening: late timers must not raise
        try:
            sock.sendto(data, checked(addr, self.family))
        except BadAddress as exc:  # never reaches asyncio, which would close the socket
            self.bad_log.warning("Not sending SIP to %r: %s", addr, exc)
        except (OSError, ValueError, TypeError) as exc:
            self.bad_log.warning("Cannot send SIP to %s: %r", addr, exc)

    def send_reply(self, response: SipResponse) -> None:
        cseq = response.get_header("cseq") or ""
        if cseq.upper().endswith("INVITE"):
            key = transaction_key(response)
            if key:
                self._copy_record_route(key, response)
                self.remember_invite_response(key, response)
        if not self.reply_on_stream(transaction_key(response), response):
            super().send_reply(response)

    def reply_error(
        self, request: SipRequest, code: int, reason: str, headers=None, to: tuple[str, int] | None = None
    ) -> None:
        """An error response built from the request; sent by its Via, or to `to` when given."""
        response = SipResponse(status_code=code, reason_phrase=reason)
        for via in request.headers.get("via"):
            response.headers.append("Via", via)
        for name in ("from", "to", "call-id", "cseq"):
            value = request.get_header(name)
            if value:
                value += ";tag=ivr-err" if name == "to" and "tag=" not in value else ""
                response.headers.set_single(name, value)
        for name, value in headers.items() if isinstance(headers, dict) else headers or ():  # pairs: may repeat
            response.headers.append(name, value)  # (one WWW-Authenticate per digest algorithm)
        if to is not None:
            self.send(response, to)
            return
        try:
            self.send_reply(response)
        except ValueError:
            pass
