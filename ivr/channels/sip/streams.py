"""SIP over TCP and TLS (RFC 3261 18): aiosipua's TcpSipTransport (Content-Length framing, header and body caps)
with TLS added, feeding every message through our UDP transport's front door (transport.py: parse checks,
address checks, 400s, a handler that raises never kills the listener).

- One listener per protocol: TCP on the SIP port (IVR_SIP_TCP), TLS on IVR_SIP_TLS_PORT (5061) when
  IVR_SIP_TLS_CERT and IVR_SIP_TLS_KEY are set, TLS 1.2 or higher.
- Connection reuse (18.2.2): responses go back on the connection their request came on (remembered per
  transaction, whatever the Via says), and requests to a peer with an open connection (our BYE, REFER) use it.
- A request we send that is over 1,300 bytes goes over TCP when no connection is open (18.1.1).
- Bounded: at most `max_connections` per listener, idle ones are closed after `idle_timeout` seconds.
"""
from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections import OrderedDict
from dataclasses import dataclass, field

from aiosipua import SipRequest, TcpSipTransport
from aiosipua.transport import _read_sip_message

log = logging.getLogger(__name__)

MTU_LIMIT = 1300  # RFC 3261 18.1.1: larger requests go over a congestion-controlled transport
MAX_ROUTES = 20_000
_VIA_TRANSPORT = re.compile(rb"^(Via|v)([ \t]*:[ \t]*SIP/2\.0/)UDP", re.IGNORECASE | re.MULTILINE)


def server_tls_context(cert: str, key: str) -> ssl.SSLContext:
    """TLS 1.2 or higher, the certificate chain and key from settings (a clear error when they do not load)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"IVR_SIP_TLS_CERT/IVR_SIP_TLS_KEY ({cert}, {key}) do not load: {exc}") from exc
    return context


@dataclass
class StreamListener(TcpSipTransport):
    protocol: str = "TCP"  # "TCP" | "TLS": what our Via says on this listener's connections
    ssl_context: ssl.SSLContext | None = None
    receive: object = None  # the front door: IvrUdpTransport.receive(data, addr, stream=self)
    max_connections: int = 1024
    idle_timeout: float = 300.0
    refused: int = field(default=0, init=False)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle_connection, host=self.local_addr[0], port=self.local_addr[1], ssl=self.ssl_context,
            ssl_handshake_timeout=10.0 if self.ssl_context else None)
        bound = self._server.sockets[0].getsockname()
        self.local_addr = (self.local_addr[0], bound[1])  # port 0 -> the port the OS picked

    async def _handle_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._connections) >= self.max_connections:
            self.refused += 1
            writer.close()
            return
        peer = writer.get_extra_info("peername")
        addr = (str(peer[0]), int(peer[1]))
        self._connections[addr] = (reader, writer)
        try:
            await self._read_messages(reader, addr)
        finally:
            if self._connections.get(addr, (None, None))[1] is writer:
                del self._connections[addr]
            writer.close()

    async def _read_messages(self, reader: asyncio.StreamReader, addr: tuple[str, int]) -> None:
        while True:
            try:
                async with asyncio.timeout(self.idle_timeout):
                    data = await _read_sip_message(reader)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError, ssl.SSLError):
                return
            if data is None:
                return
            self._dispatch(data.lstrip(b"\r\n"), addr)  # CRLF keep-alives (RFC 5626) come before a message

    async def _handle_incoming(self, reader, writer, addr) -> None:  # a connection we opened (18.1.1)
        try:
            await self._read_messages(reader, addr)
        finally:
            self._connections.pop(addr, None)
            writer.close()

    def _dispatch(self, data: bytes, addr: tuple[str, int]) -> None:
        if data:
            try:
                self.receive(data, addr, stream=self)
            except Exception:  # last line of defence, as for datagrams
                log.exception("SIP %s message handling failed", self.protocol)

    def has(self, addr: tuple[str, int]) -> bool:
        return addr in self._connections

    def write(self, data: bytes, addr: tuple[str, int]) -> None:
        _, writer = self._connections[addr]
        if writer.is_closing():
            return
        writer.write(_VIA_TRANSPORT.sub(rb"\1\2" + self.protocol.encode(), data, count=1))
        self._spawn(self._flush(writer, addr))

    def connect_and_send(self, data: bytes, addr: tuple[str, int]) -> None:
        """18.1.1: open a connection to `addr` and send there; its answers come back on it."""
        async def go() -> None:
            try:
                await self.connect(addr)
            except OSError as exc:
                log.warning("Cannot open SIP TCP connection to %s: %s", addr, exc)
                return
            self.write(data, addr)
        self._spawn(go())


def stream_listeners(config) -> list[StreamListener]:
    """TCP on the SIP port (IVR_SIP_TCP), TLS on the TLS port when a certificate and key are set."""
    listeners = [StreamListener(local_addr=(config.host, config.port), protocol="TCP")] if config.tcp else []
    if config.tls_cert and config.tls_key:
        listeners.append(StreamListener(local_addr=(config.host, config.tls_port), protocol="TLS",
                                        ssl_context=server_tls_context(config.tls_cert, config.tls_key)))
    return listeners


async def start_streams(streams: list[StreamListener], receive, udp_addr: tuple[str, int]) -> None:
    """Start the listeners; TCP shares the UDP port. On OSError, those already started are stopped again."""
    try:
        for stream in streams:
            stream.receive = receive
            if stream.protocol == "TCP":
                stream.local_addr = udp_addr
            await stream.start()
    except OSError:
        for stream in streams:
            await stream.stop()
        raise


class StreamRoutes:
    """Which connection each transaction's request came on, so its responses go back there (bounded)."""

    def __init__(self) -> None:
        self._routes: OrderedDict[str, tuple[StreamListener, tuple[str, int]]] = OrderedDict()

    def remember(self, key: str | None, stream: StreamListener, addr: tuple[str, int]) -> None:
        if key is None:
            return
        self._routes[key] = (stream, addr)
        self._routes.move_to_end(key)
        while len(self._routes) > MAX_ROUTES:
            self._routes.popitem(last=False)

    def get(self, key: str | None) -> tuple[StreamListener, tuple[str, int]] | None:
        route = self._routes.get(key) if key is not None else None
        if route is None or not route[0].has(route[1]):
            return None
        return route


def is_large_request(message, data: bytes) -> bool:
    return isinstance(message, SipRequest) and len(data) > MTU_LIMIT
