"""The dial request loop of `ivr sip`: take callback requests from Redis in a worker thread, dial each, report.

The dial request queue (store/dial_requests.py, through call_session.wiring) is read in a worker thread so that
the media loop never waits on Redis; "taken" goes on the request's result list at once, the outcome as soon as the
callee answers (or the call fails).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Protocol

from .outbound import OutboundDialer

log = logging.getLogger("ivr.channels.sip.outbound")

POLL_SECONDS = 1  # BLPOP timeout: how quickly the loop notices shutdown


class DialRequestSource(Protocol):
    """Where dial requests come from and outcomes go (ivr.store.dial_requests.DialRequests); blocking calls."""

    def take(self, timeout: int) -> bytes | None: ...

    def report(self, reference: str, outcome: dict) -> None: ...


async def take_dial_requests(dialer: OutboundDialer, requests: DialRequestSource, stop: asyncio.Event) -> None:
    """Serve dial requests until `stop`; Redis trouble only delays callbacks, never the calls in progress."""
    running: set[asyncio.Task] = set()
    while not stop.is_set():
        try:
            got = await asyncio.to_thread(requests.take, POLL_SECONDS)
        except Exception as exc:
            log.warning("sip dial requests unavailable: %s", exc)
            await asyncio.sleep(POLL_SECONDS)
            continue
        if not got:
            continue
        try:
            job = json.loads(got)
            reference = str(job["id"])
        except (ValueError, KeyError, TypeError):
            log.error("dropped a malformed sip dial request: %r", got[:200])
            continue
        task = asyncio.get_running_loop().create_task(_serve(dialer, requests, reference, job))
        running.add(task)
        task.add_done_callback(running.discard)
    if running:
        await asyncio.wait(running, timeout=10)


async def _serve(dialer: OutboundDialer, requests: DialRequestSource, reference: str, job: dict) -> None:
    try:
        await asyncio.to_thread(requests.report, reference, {"state": "taken"})
        reported = False

        async def answered(outcome: dict) -> None:
            nonlocal reported
            reported = True
            await asyncio.to_thread(requests.report, reference, outcome)

        outcome = await dialer.dial(job, answered)
        dialer.outcomes.append({"id": reference, **outcome})
        log.info("callback %s to %s: %s", reference, job.get("number"), outcome)
        if not reported:
            await asyncio.to_thread(requests.report, reference, outcome)
    except Exception:
        log.exception("callback %s: outcome not reported", reference)
