"""A caller held in a queue on SIP (the engine's Queue action): hold music from our media loop, the position
announced, the owner's contacts rung for the caller at the head of the line, then the bridge of bridge.py.

The places live in a board shared by every node (ivr/store/queues.py, handed to the server as `queue_board`; the
channel never opens Redis itself). The caller joins, hears `announce` with their place at once and every
`announce_every` seconds, and the hold sound in between. Only the caller in place 1 has contacts rung
(queue_ring.py): in turn or all at once, each for `ring_timeout`; the one who accepts the whisper is bridged.
`max_wait` ends the wait with the reason "exhausted". A hang-up (CallEnded) leaves the queue at once.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ivr.engine.actions import POSITION_MARK, Queue

from .bridge import STATS, _context, _relay
from .call import CallEnded, SipCall, TransferOutcome
from .media.ringback import Ringback, ringback_frames
from .queue_ring import Ringing

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # how often a caller behind the head looks at their place (the head leaving moves them up)


class HeldCall:
    """One caller's wait: the board entry, the hold sound and the announcements."""

    def __init__(self, caller: SipCall, queue: Queue, board, node: str = "") -> None:
        self.caller, self.queue, self.board, self.node = caller, queue, board, node
        self.joined = time.time()
        self.deadline = self.joined + queue.max_wait
        self.next_announce = self.joined
        self.hold: Ringback | None = None
        self.place = 0

    async def _board(self, method: str, *args):
        return await asyncio.to_thread(getattr(self.board, method), self.queue.name, self.caller.call_id, *args)

    async def position(self) -> int:
        """The caller's place now; with the board unreachable, the last place known (the wait goes on)."""
        try:
            self.place = int(await self._board("position", time.time()) or 0)
        except Exception:  # noqa: BLE001 - Redis away: keep holding, the next look may succeed
            log.warning(
                "call %s: queue %s unreachable, keeping place %d", self.caller.call_id, self.queue.name, self.place
            )
        return self.place

    async def note(self, status: str) -> None:
        try:
            await self._board("note", status)
        except Exception:  # the admin's note must never end a waiting call
            log.exception("call %s: queue note not written", self.caller.call_id)

    async def announce(self, place: int) -> None:
        """Stop the hold sound, say the place, go back to the hold sound."""
        queue = self.queue
        self.next_announce = time.time() + queue.announce_every
        if not queue.announce:
            return
        self.stop_hold()
        text = queue.announce.replace(POSITION_MARK, str(place))
        await self.caller.say(text=text, voice=queue.voice, language=queue.language, barge_in=False)
        await self.start_hold()

    async def start_hold(self) -> None:
        stream = self.caller.stream
        self.hold = Ringback(stream, await ringback_frames(self.queue.hold, stream.codec, self.caller.prompts))
        self.hold.start()

    def stop_hold(self) -> None:
        if self.hold is not None:
            self.hold.stop()
            self.hold = None

    async def leave(self) -> None:
        self.stop_hold()
        try:
            await asyncio.shield(self._board("leave"))
        except Exception:  # the entry then goes stale and is dropped (keys.QUEUE_STALE)
            log.exception("call %s: could not leave queue %s", self.caller.call_id, self.queue.name)


async def hold_in_queue(caller: SipCall, queue: Queue, dialer, caller_addr: tuple[str, int], clock) -> TransferOutcome:
    """Hold `caller` in `queue` until a contact takes the call (then bridge until a hang-up) or `max_wait`."""
    board = getattr(dialer.server, "queue_board", None)
    if board is None or not queue.contacts:
        return TransferOutcome(False, "no-contacts" if board is not None else "unavailable")
    host, port = dialer.server.address
    held = HeldCall(caller, queue, board, node=f"{host}:{port}")
    try:
        held.place = await asyncio.to_thread(
            board.join, queue.name, caller.call_id, caller.caller, held.joined, held.node
        )
    except Exception:  # noqa: BLE001 - no queue without Redis: the flow goes on (its failed or exhausted exit)
        log.exception("call %s: cannot join queue %s", caller.call_id, queue.name)
        return TransferOutcome(False, "unavailable")
    ringing = Ringing(caller, queue, dialer, caller_addr, _context(queue, caller, dialer.server.handover_link))
    ringing.note = held.note
    try:
        await held.start_hold()
        try:
            leg = await _wait_for_contact(held, ringing)
        except CallEnded:
            raise
        except Exception:  # a fault while ringing must not leave the caller in silence: the flow goes on
            log.exception("call %s: queue %s failed", caller.call_id, queue.name)
            return TransferOutcome(False, "failed")
        if leg is None:
            return TransferOutcome(False, "refused" if ringing.refused_all else "exhausted")
        await held.leave()
        STATS.bridged += 1
        try:
            return TransferOutcome(True, "answered", await _relay(caller, leg, clock, False))
        finally:
            leg.close()
    finally:
        await held.leave()
        await ringing.close()


async def _wait_for_contact(held: HeldCall, ringing: Ringing):
    """Announce and keep the place fresh; once at the head, ring the contacts (in the background, so the
    announcements go on) until one accepts: their Leg, or None after max_wait or when none can be rung."""
    caller, task = held.caller, None
    while (left := held.deadline - time.time()) > 0:
        place = await held.position()
        if place == 1 and task is None:
            task = ringing.start(held.deadline)
        if time.time() >= held.next_announce:
            await _unless_taken(held, held.announce(place), task)
        waits = {caller.ended} | ({task} if task is not None else set())
        timeout = min(POLL_SECONDS, max(0.0, held.next_announce - time.time()), left)
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        caller._check()  # a hang-up: CallEnded, and the finally clauses leave the queue and stop the ringing
        if task is not None and task.done():
            return task.result()
    return None


async def _unless_taken(held: HeldCall, announcement, task: asyncio.Task | None) -> None:
    """Play the announcement, cut short when a contact takes the call meanwhile (they should not wait for it)."""
    playing = asyncio.ensure_future(announcement)
    if task is not None:
        await asyncio.wait({playing, task}, return_when=asyncio.FIRST_COMPLETED)
        if not playing.done():
            held.caller.stream.stop_playback()
    await playing
