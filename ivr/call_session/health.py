"""Is Redis worth asking right now? The call session's circuit breaker, with an injected clock.

After a connection failure the session skips Redis for DOWN_BACKOFF seconds instead of waiting on a dead server
every turn (the turn goes to the spool meanwhile). `guard()` wraps each Redis step of a turn: it fails at once
while Redis is marked down, and marks it down when the step fails with one of the UNAVAILABLE errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis

from ivr.store import UNAVAILABLE

__all__ = ["DOWN_BACKOFF", "UNAVAILABLE", "RedisHealth"]

DOWN_BACKOFF = 2.0  # seconds


class RedisHealth:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic, backoff: float = DOWN_BACKOFF):
        self.clock = clock
        self.backoff = backoff
        self._down_until = 0.0

    @property
    def down(self) -> bool:
        return self.clock() < self._down_until

    @contextmanager
    def guard(self) -> Iterator[None]:
        if self.down:
            raise redis.ConnectionError("redis marked down")
        try:
            yield
        except UNAVAILABLE:
            self._down_until = self.clock() + self.backoff
            raise
