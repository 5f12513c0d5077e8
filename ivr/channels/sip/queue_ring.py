"""Ringing the owner's contacts for the caller at the head of a queue (queue_hold.py), through the legs a bridged
transfer places (legs.py: the phone-number policy, the trunk, CANCEL when a ring is given up).

`in_turn` rings one contact after another, each for `ring_timeout`; `all` rings every contact at once and the
first to answer is taken (the others get a CANCEL). Whoever answers hears the whisper and must press the accept
key (bridge.py's `_accepted`); a decline or no key moves on to the next contact. Rounds repeat until the deadline,
never faster than one per `ring_timeout` (a contact that is busy at once is not called in a tight loop). A round in
which no contact could be dialled at all (refused by the policy, unreachable) ends the ringing: `refused_all`.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ivr.engine.actions import Queue

from .bridge import _accepted
from .call import CallEnded, SipCall
from .legs import Leg, LegFailed, place_leg

log = logging.getLogger(__name__)

UNDIALLABLE = frozenset({"refused", "unreachable"})


async def _ignore(status: str) -> None:
    return None


class Ringing:
    """The contacts rung for one queued caller, in rounds until one accepts (`start` runs it as a task; `close`
    stops it and hangs up any answered leg nobody took over)."""

    def __init__(self, caller: SipCall, queue: Queue, dialer, caller_addr: tuple[str, int], context: str) -> None:
        self.caller, self.queue, self.dialer = caller, queue, dialer
        self.caller_addr, self.context = caller_addr, context
        self.note = _ignore  # what is happening, for the admin's live queue
        self.refused_all = False
        self.legs: set[Leg] = set()  # answered legs not yet handed over or closed
        self.task: asyncio.Task | None = None

    def start(self, deadline: float) -> asyncio.Task:
        self.task = asyncio.get_running_loop().create_task(self.run(deadline))
        return self.task

    async def run(self, deadline: float) -> Leg | None:
        """The accepted leg, or None at the deadline or when no contact can be dialled."""
        contacts = self.queue.contacts
        groups = [(contact,) for contact in contacts] if self.queue.strategy == "in_turn" else [contacts]
        while (left := deadline - time.time()) > 0:
            started, reasons = time.time(), []
            for group in groups:
                timeout = min(self.queue.ring_timeout, deadline - time.time())
                if timeout <= 0:
                    return None
                leg = await self._ring(group, timeout, reasons)
                if leg is not None and await self._accepts(leg):
                    return leg
            if reasons and all(reason in UNDIALLABLE for reason in reasons):
                self.refused_all = True
                return None
            await self.note("waiting")
            await asyncio.sleep(max(0.0, min(self.queue.ring_timeout - (time.time() - started), left)))
        return None

    async def _ring(self, group: tuple[str, ...], timeout: float, reasons: list[str]) -> Leg | None:
        """Ring `group` at once; the first answer wins and the others are cancelled (a CANCEL goes out)."""
        await self.note("ringing " + ", ".join(group))
        pending = {asyncio.ensure_future(self._place(contact, timeout)) for contact in group}
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                answered = [task.result() for task in done if task.exception() is None]
                for task in done:
                    failure = task.exception()
                    if failure is not None and not isinstance(failure, LegFailed):
                        raise failure
                    if failure is not None:
                        log.info("call %s: queue contact: %s", self.caller.call_id, failure)
                        reasons.append(failure.reason)
                for extra in answered[1:]:  # two answered at once: the first is taken
                    self._close(extra)
                if answered:
                    return answered[0]
            return None
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _place(self, contact: str, timeout: float) -> Leg:
        leg = await place_leg(
            self.dialer,
            contact,
            caller=self.caller,
            caller_addr=self.caller_addr,
            timeout=timeout,
            context=self.context,
        )
        self.legs.add(leg)
        return leg

    async def _accepts(self, leg: Leg) -> bool:
        await self.note(f"whisper {leg.call.called}")
        try:
            accepted = await _accepted(leg, self.queue)
        except CallEnded:  # the contact hung up during the whisper: a decline
            accepted = False
        if accepted:
            self.legs.discard(leg)  # the caller's bridge owns it now
        else:
            self._close(leg)
        return accepted

    def _close(self, leg: Leg) -> None:
        self.legs.discard(leg)
        leg.close()

    async def close(self) -> None:
        """Stop ringing (CANCELs go out); answered legs nobody took over (the caller hung up, the wait ended)
        are hung up."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        for leg in list(self.legs):
            self._close(leg)
