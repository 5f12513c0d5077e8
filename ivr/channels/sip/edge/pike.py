"""Flood limits per source address, as Kamailio's pike module does, with bounded memory.

Each source has a counter of requests and one of new dialogs (INVITEs without a To tag) per `window` seconds.
A source over either limit is blocked for `block_seconds`: everything it sends is dropped silently, and each
request while blocked extends nothing (so a blocked source learns nothing and costs one dict lookup). At most
`max_sources` sources are tracked; the least recently seen is forgotten first, so a spoofed-address flood costs
bounded memory. Exempt sources (trusted proxies) are never counted. The transport asks `refuses(host)` before
it parses a datagram, so a blocked source's flood costs no parsing at all.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .trust import SourceList


@dataclass
class _Source:
    window_start: float
    requests: int = 0
    dialogs: int = 0
    blocked_until: float = 0.0


@dataclass(frozen=True)
class PikeLimits:
    requests: int = 60  # requests per window from one source
    dialogs: int = 10  # new dialogs per window from one source
    window: float = 2.0
    block_seconds: float = 60.0
    max_sources: int = 10_000


class Pike:
    def __init__(self, limits: PikeLimits, exempt: SourceList, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.exempt = exempt
        self.clock = clock
        self._sources: OrderedDict[str, _Source] = OrderedDict()
        self.dropped = 0
        self.dropped_unparsed = 0  # of those, dropped by the transport before parsing (refuses)
        self.blocks = 0

    def allow(self, host: str, new_dialog: bool) -> bool:
        """Count one request from `host`; False means drop it."""
        if host in self.exempt:
            return True
        now = self.clock()
        source = self._source(host, now)
        if source.blocked_until > now:
            self.dropped += 1
            return False
        if now - source.window_start >= self.limits.window:
            source.window_start, source.requests, source.dialogs = now, 0, 0
        source.requests += 1
        source.dialogs += new_dialog
        if source.requests > self.limits.requests or source.dialogs > self.limits.dialogs:
            source.blocked_until = now + self.limits.block_seconds
            self.blocks += 1
            self.dropped += 1
            return False
        return True

    def blocked(self, host: str) -> bool:
        source = self._sources.get(host)
        return source is not None and source.blocked_until > self.clock()

    def refuses(self, host: str) -> bool:
        """The transport's check before parsing a datagram: True (counted as dropped) while `host` is blocked."""
        source = self._sources.get(host)
        if source is None or source.blocked_until <= self.clock():
            return False
        self.dropped += 1
        self.dropped_unparsed += 1
        return True

    def _source(self, host: str, now: float) -> _Source:
        source = self._sources.get(host)
        if source is None:
            if len(self._sources) >= self.limits.max_sources:
                self._sources.popitem(last=False)
            source = self._sources[host] = _Source(now)
        else:
            self._sources.move_to_end(host)
        return source

    def __len__(self) -> int:
        return len(self._sources)
