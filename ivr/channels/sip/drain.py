"""Graceful drain of `ivr sip`: the first SIGTERM (or SIGINT) stops new calls, the calls in progress finish.

`Lifecycle` turns signals into two events: `draining` (first signal) and `stop` (the calls are done, the
maximum drain time passed, or a second signal came). While draining, the endpoint answers OPTIONS and new
INVITEs with 503 + Retry-After, so a proxy in front (deploy/kamailio) sends new calls to another node at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2


class Lifecycle:
    def __init__(self, server, max_drain_seconds: float) -> None:
        self.server = server
        self.max_drain_seconds = max_drain_seconds
        self.draining = asyncio.Event()
        self.stop = asyncio.Event()
        self._changed = asyncio.Event()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.on_signal)

    def on_signal(self) -> None:
        if self.draining.is_set():  # a second signal: stop now, ending the calls that are left
            log.warning("second stop signal: ending %d call(s) now", len(self.server.live))
            self.stop.set()
            self._changed.set()
            return
        self.server.endpoint.draining = True
        self.draining.set()
        self._changed.set()
        log.info(
            "draining: refusing new calls, waiting up to %.0f s for %d call(s) in progress",
            self.max_drain_seconds,
            len(self.server.live),
        )

    async def run(self) -> None:
        """Wait for the first signal, then for the last call to end (or the maximum drain time), then stop."""
        await self.draining.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_drain_seconds
        while self.server.live and not self.stop.is_set() and loop.time() < deadline:
            try:
                await asyncio.wait_for(self.stop.wait(), POLL_SECONDS)
            except TimeoutError:
                pass
        if self.server.live:
            log.warning("drain ended with %d call(s) still up; hanging them up", len(self.server.live))
        else:
            log.info("drained: no call left")
        self.stop.set()
        self._changed.set()

    async def sleep(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking early when the drain starts or the process stops (heartbeats)."""
        try:
            await asyncio.wait_for(self._changed.wait(), seconds)
        except TimeoutError:
            pass
        self._changed.clear()
