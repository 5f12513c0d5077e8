"""SIP over TCP and TLS (RFC 3261 18): stream listeners that frame messages with aiosipua's Content-Length reader
(aiosipua_adapter.read_sip_message: 64 KB of headers and 1 MB of body at most) and feed each one through our UDP
transport's front door (transport.py: parse checks, address checks, 400s; a handler that raises never kills it).

- TCP on the SIP port (IVR_SIP_TCP), TLS on IVR_SIP_TLS_PORT (5061) when IVR_SIP_TLS_CERT and IVR_SIP_TLS_KEY are
  set, TLS 1.2 or higher. aiosipua's own TcpSipTransport has no TLS, no connection cap and no idle timeout.
- Connection reuse (18.2.2): responses go back on the connection their request came on (remembered per
  transaction, whatever the Via says), and requests to a peer with an open connection (our BYE, REFER) use it.
- A request we send that is over 1,300 bytes goes over a new TCP connection when none is open (18.1.1).
- Bounded: at most `max_connections` per listener; idle ones are closed after `idle_timeout` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiosipua import SipRequest

from .aiosipua_adapter import read_sip_message, udp_socket

log = logging.getLogger(__name__)

MTU_LIMIT = 1300  # RFC 3261 18.1.1: larger requests go over a congestion-controlled transport
MAX_ROUTES = 20_000
_VIA_TRANSPORT = re.compile(rb"^(Via|v)([ \t]*:[ \t]*SIP/2\.0/)UDP", re.IGNORECASE | re.MULTILINE)
_CONTACT = re.compile(rb"^(Contact|m)([ \t]*:[^<\r\n]*<sip:[^@>\r\n]*@?[^:>;\r\n]+):\d+>", re.IGNORECASE | re.MULTILINE)
Receive = Callable[..., None]  # IvrUdpTransport.receive(data, addr, stream=listener)


def server_tls_context(cert: str, key: str) -> ssl.SSLContext:
    """TLS 1.2 or higher, the certificate chain and key from settings (a clear error when they do not load)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"IVR_SIP_TLS_CERT/IVR_SIP_TLS_KEY ({cert}, {key}) do not load: {exc}") from exc
    return context


class StreamListener:
    def __init__(
        self,
        local_addr: tuple[str, int],
        protocol: str = "TCP",
        ssl_context: ssl.SSLContext | None = None,
        *,
        max_connections: int = 1024,
        idle_timeout: float = 300.0,
    ) -> None:
        self.local_addr, self.protocol, self.ssl_context = local_addr, protocol, ssl_context
        self.max_connections, self.idle_timeout = max_connections, idle_timeout
        self.receive: Receive | None = None
        self.connections: dict[tuple[str, int], asyncio.StreamWriter] = {}
        self.refused = 0
        self.messages = 0  # received on this listener's connections
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve,
            host=self.local_addr[0],
            port=self.local_addr[1],
            ssl=self.ssl_context,
            ssl_handshake_timeout=10.0 if self.ssl_context else None,
        )
        self.local_addr = (self.local_addr[0], self._server.sockets[0].getsockname()[1])  # port 0: the OS's pick

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self.connections.values()):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.connections.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.connections) >= self.max_connections:
            self.refused += 1
            writer.close()
            return
        peer = writer.get_extra_info("peername")
        await self._read(reader, writer, (str(peer[0]), int(peer[1])))

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, addr: tuple[str, int]) -> None:
        self.connections[addr] = writer
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                async with asyncio.timeout(self.idle_timeout):
                    data = await read_sip_message(reader)
                if data is None:
                    return
                self._deliver(data.lstrip(b"\r\n"), addr)  # CRLF keep-alives (RFC 5626) come before a message
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError, ssl.SSLError):
            return
        finally:
            if self.connections.get(addr) is writer:
                del self.connections[addr]
            writer.close()
            self._tasks.discard(task)

    def _deliver(self, data: bytes, addr: tuple[str, int]) -> None:
        if data and self.receive is not None:
            self.messages += 1
            try:
                self.receive(data, addr, stream=self)
            except Exception:  # last line of defence, as for datagrams
                log.exception("SIP %s message handling failed", self.protocol)

    def has(self, addr: tuple[str, int]) -> bool:
        return addr in self.connections

    def write(self, data: bytes, addr: tuple[str, int]) -> None:
        writer = self.connections.get(addr)
        if writer is None or writer.is_closing():
            return
        writer.write(self.our_headers(data))

    def our_headers(self, data: bytes) -> bytes:
        """Our Via names this transport, and our Contact this listener (so in-dialog requests come back on it)."""
        if not data.startswith(b"SIP/2.0 "):  # a request: the top Via is ours (a response's is the peer's)
            data = _VIA_TRANSPORT.sub(rb"\1\2" + self.protocol.encode(), data, count=1)
        contact = rb"\1\2:%d;transport=%s>" % (self.local_addr[1], self.protocol.lower().encode())
        return _CONTACT.sub(contact, data, count=1)

    def connect_and_send(self, data: bytes, addr: tuple[str, int]) -> None:
        """18.1.1: open a connection to `addr` and send there; what comes back on it is read like the rest."""

        async def go() -> None:
            try:
                reader, writer = await asyncio.open_connection(addr[0], addr[1])
            except OSError as exc:
                log.warning("Cannot open SIP TCP connection to %s: %s", addr, exc)
                return
            reading = asyncio.ensure_future(self._read(reader, writer, addr))
            await asyncio.sleep(0)  # let the reader register the connection
            self.write(data, addr)
            await reading

        task = asyncio.get_running_loop().create_task(go())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


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
        return route if route is not None and route[0].has(route[1]) else None


class StreamSending:
    """What IvrUdpTransport mixes in: its stream listeners, and sending on them before UDP."""

    streams: list[StreamListener]
    stream_routes: StreamRoutes
    local_addr: tuple[str, int]
    receive: Receive
    _open: Callable[[], Awaitable[None]]

    def send_on_stream(self, message, data: bytes, addr: tuple[str, int]) -> bool:
        """True when `data` went (or is going) over a stream: an open connection, or TCP for a large request."""
        stream = next((s for s in self.streams if s.has(addr)), None)
        if stream is not None:
            stream.write(data, addr)
            return True
        tcp = next((s for s in self.streams if s.protocol == "TCP"), None)
        if tcp is not None and isinstance(message, SipRequest) and len(data) > MTU_LIMIT:
            tcp.connect_and_send(data, addr)
            return True
        return False

    def reply_on_stream(self, key: str | None, response) -> bool:
        route = self.stream_routes.get(key)
        if route is not None:
            route[0].write(bytes(response), route[1])
        return route is not None

    async def open_with_streams(self, attempts: int) -> None:
        """The UDP socket (`_open`), then the listeners, TCP on the UDP port. With port 0 and that port taken on
        TCP, both move to another port the OS picks; otherwise the OSError stops the start."""
        any_port = self.local_addr[1] == 0
        for attempt in range(attempts):
            await self._open()
            try:
                await self._start_streams()
                return
            except OSError:
                await self.stop_streams()
                if not any_port or attempt == attempts - 1:
                    raise
                self._protocol, closing = None, udp_socket(self)  # closed on purpose: no reopening
                closing.close()
                self.local_addr = (self.local_addr[0], 0)

    async def _start_streams(self) -> None:
        for stream in self.streams:
            stream.receive = self.receive
            if stream.protocol == "TCP":
                stream.local_addr = self.local_addr
            await stream.start()

    async def stop_streams(self) -> None:
        for stream in self.streams:
            await stream.stop()


def stream_listeners(config) -> list[StreamListener]:
    """TCP on the SIP port (IVR_SIP_TCP), TLS on the TLS port when a certificate and key are set."""
    listeners = [StreamListener((config.host, config.port), "TCP")] if config.tcp else []
    if config.tls_cert and config.tls_key:
        listeners.append(
            StreamListener((config.host, config.tls_port), "TLS", server_tls_context(config.tls_cert, config.tls_key))
        )
    return listeners
