"""One shared pacing clock for every RTP stream in the process.

A timer per stream (aiortp's MediaClock) costs one task wake-up per stream every 20 ms; one clock
that walks all streams on each tick costs one wake-up in total. Deadlines are computed as
`start + n * interval` from an integer tick count, never by adding floats, so there is no drift.
When the loop stalls for longer than a tick, the missed ticks are run at once (up to
`max_catch_up`) so every stream keeps its RTP timestamps in step with the wall clock; beyond that
the clock re-anchors instead of sending a long burst.

`now` and `sleep` are injected so tests can drive the clock with a fake time source.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)


class Paced(Protocol):
    def tick(self) -> None: ...


class PacingClock:
    def __init__(
        self,
        interval: float = 0.020,
        *,
        now: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_catch_up: int = 5,
    ) -> None:
        self.interval = interval
        self._now = now
        self._sleep = sleep
        self.max_catch_up = max_catch_up
        self._streams: dict[int, Paced] = {}
        self.ticks = 0  # ticks run since start
        self.late_ticks = 0  # ticks run more than one interval after their deadline
        self.reanchors = 0
        self._task: asyncio.Task | None = None

    def add(self, stream: Paced) -> None:
        self._streams[id(stream)] = stream

    def remove(self, stream: Paced) -> None:
        self._streams.pop(id(stream), None)

    def __len__(self) -> int:
        return len(self._streams)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="pacing-clock")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def run(self, max_ticks: int | None = None) -> None:
        now = self._now or asyncio.get_running_loop().time
        start = now()
        n = 0  # ticks since `start`
        while max_ticks is None or self.ticks < max_ticks:
            deadline = start + (n + 1) * self.interval
            delay = deadline - now()
            if delay > 0:
                await self._sleep(delay)
            # ticks whose deadline has passed (the epsilon absorbs float rounding at an exact deadline)
            due = int((now() - start) / self.interval + 1e-6)
            if due - n > self.max_catch_up:
                # A long stall: re-anchor rather than burst seconds of audio at once
                self.reanchors += 1
                start, n, due = now() - self.interval, 0, 1
            while n < due and (max_ticks is None or self.ticks < max_ticks):
                n += 1
                if due - n >= 1:
                    self.late_ticks += 1
                self._tick_all()

    def _tick_all(self) -> None:
        self.ticks += 1
        for stream in list(self._streams.values()):
            try:
                stream.tick()
            except Exception:  # one broken stream must not silence the others
                log.exception("RTP stream tick failed; removing the stream")
                self.remove(stream)
