"""The front door's guards against hostile datagrams: a rate-limited drop log and a 400 for salvageable garbage."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

log = logging.getLogger("ivr.channels.sip.transport")


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
