"""RTP port pool: O(1) allocate and release of even ports in the configured range.

pyVoIP searched its range linearly on every call and never released inbound ports; here a port goes
back to the pool the moment its stream closes. A port another process holds is skipped and retried
later, and only the RTP port is bound (we send no RTCP), so each call costs one file descriptor.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import Callable

from .stream import RtpStream


class PortsExhausted(RuntimeError):
    pass


class PortPool:
    def __init__(self, host: str, first: int, last: int) -> None:
        self.host = host
        start = first + (first % 2)
        self._free: deque[int] = deque(range(start, last, 2))
        self.in_use: set[int] = set()

    @property
    def free(self) -> int:
        return len(self._free)

    async def open(self, factory: Callable[[], RtpStream]) -> RtpStream:
        """Bind a new stream on the next free port (skipping ports busy elsewhere)."""
        loop = asyncio.get_running_loop()
        for _ in range(min(len(self._free), 64)):
            port = self._free.popleft()
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.setblocking(False)
                sock.bind((self.host, port))
                _, stream = await loop.create_datagram_endpoint(factory, sock=sock)
            except OSError:
                sock.close()
                self._free.append(port)  # held by someone else right now; try it again later
                continue
            stream.attach_socket(sock)
            self.in_use.add(port)
            return stream
        raise PortsExhausted(f"no free RTP port ({len(self.in_use)} in use)")

    def close(self, stream: RtpStream) -> None:
        port = stream.local_port
        stream.close()
        if port in self.in_use:
            self.in_use.discard(port)
            self._free.append(port)
