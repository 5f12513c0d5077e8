"""The front door's guards against hostile datagrams: the UDP protocol that drops a blocked source's datagrams
before they are parsed, a large socket receive buffer, a rate-limited drop log and a 400 for salvageable garbage.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import Callable

from .aiosipua_adapter import set_udp_socket

log = logging.getLogger("ivr.channels.sip.transport")

# A flood's burst overflows the kernel's default (~208 KB) buffer, dropping a trunk's INVITE with the flood's
# datagrams; Linux caps this at net.core.rmem_max (raise it with sysctl for more).
RECEIVE_BUFFER = 4 * 1024 * 1024
DRAIN_BATCH = 64  # datagrams read per event-loop turn, beyond the one asyncio hands us


def enlarge_receive_buffer(sock: socket.socket) -> int:
    """Ask for RECEIVE_BUFFER bytes; returns what the kernel granted (it doubles the value it keeps)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    except OSError as exc:
        log.warning("SIP socket receive buffer left at its default: %s", exc)
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


class GuardedProtocol(asyncio.DatagramProtocol):
    """The SIP socket's protocol: `owner.refuses(host)` (the edge's flood block list) is asked before anything
    is parsed, so a blocked source costs one dict lookup per datagram; the rest goes to `owner.receive`.

    asyncio reads one datagram per turn of the event loop; behind a flood's burst, a trunk's INVITE would wait a
    full loop turn per flood datagram. So each turn also drains up to DRAIN_BATCH more datagrams that are already
    queued, through a duplicate of the socket's descriptor (the same kernel queue, non-blocking).

    Ours, not aiosipua's `_UdpProtocol`, whose `connection_made` asserts a class asyncio's selector transport
    does not inherit from (defect 5: a traceback at every start)."""

    def __init__(self, owner, drain_batch: int = DRAIN_BATCH) -> None:
        self._owner = owner
        self.drain_batch = drain_batch
        self._queued: socket.socket | None = None

    def connection_made(self, transport) -> None:
        set_udp_socket(self._owner, transport)
        sock = transport.get_extra_info("socket")
        self._queued = socket.fromfd(sock.fileno(), sock.family, socket.SOCK_DGRAM)
        self._queued.setblocking(False)

    def datagram_received(self, data: bytes, addr) -> None:
        self._one(data, addr)
        queued = self._queued
        for _ in range(self.drain_batch if queued is not None else 0):
            try:
                data, addr = queued.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # an ICMP error queued on the socket: asyncio would report it the same way
                self.error_received(exc)
                return
            self._one(data, addr)

    def _one(self, data: bytes, addr) -> None:
        try:
            host = str(addr[0])
            if self._owner.refuses(host):
                return
            self._owner.receive(data, (host, int(addr[1])))
        except Exception:  # last line of defence: the listener must survive anything
            log.exception("SIP datagram handling failed")

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP UDP error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._queued is not None:
            self._queued.close()
            self._queued = None
        self._owner.connection_lost(self, exc)


class RateLimitedLog:
    """At most `burst` warnings per `period`; the rest are counted and summarised."""

    def __init__(self, burst: int = 20, period: float = 60.0) -> None:
        self.burst, self.period = burst, period
        self._window_start = 0.0
        self._count = 0
        self.suppressed = 0

    def warning(self, msg: str, *args) -> None:
        now = time.monotonic()
        if now - self._window_start > self.period:
            if self.suppressed:
                log.warning("%d more bad SIP datagrams were dropped in the last minute", self.suppressed)
            self._window_start, self._count, self.suppressed = now, 0, 0
        self._count += 1
        if self._count <= self.burst:
            log.warning(msg, *args)
        else:
            self.suppressed += 1


_SALVAGE = re.compile(rb"^(via|v|call-id|i|cseq|from|f|to|t)[ \t]*:[ \t]*(.+?)\r?$", re.IGNORECASE | re.MULTILINE)
_FULL_NAMES = {b"v": b"via", b"i": b"call-id", b"f": b"from", b"t": b"to"}


def salvage_400(data: bytes, addr: tuple[str, int], send: Callable[[bytes, tuple[str, int]], None]) -> None:
    """Answer 400 to garbage that still looks like a request with Via, Call-ID and CSeq."""
    if data.startswith(b"SIP/") or data[:4] == b"ACK ":
        return
    found: dict[bytes, bytes] = {}
    for name, value in _SALVAGE.findall(data[:4096]):
        name = _FULL_NAMES.get(name.lower(), name.lower())
        found.setdefault(name, value.strip())
    if not {b"via", b"call-id", b"cseq"} <= found.keys():
        return
    lines = [b"SIP/2.0 400 Bad Request"]
    for name in (b"via", b"from", b"to", b"call-id", b"cseq"):
        if name in found:
            lines.append(name.title().replace(b"Id", b"ID").replace(b"Cseq", b"CSeq") + b": " + found[name])
    lines += [b"Content-Length: 0", b"", b""]
    send(b"\r\n".join(lines), addr)
