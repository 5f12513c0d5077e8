"""A bridged transfer on SIP (B2BUA): ring the target ourselves, whisper, then relay the audio until a hang-up.

1. The caller hears the ringback (tone, music or a file) while `legs.place_leg` rings the target.
2. The target answers: with a whisper, they hear it and must press `accept_digit` (any other key, or none within
   WHISPER_KEY_TIMEOUT, is "declined": we hang up their leg and the caller's flow goes on at `failed`).
3. The two streams relay to each other (media/relay.py) until either side hangs up; then the other leg ends too
   (the target's with a BYE here, the caller's by the flow's Hangup after the TransferResult).
The caller hanging up at any point cancels the ringing leg (CANCEL) or ends the answered one (BYE).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from ivr.engine.actions import Queue, Transfer
from ivr.system.recordings import new_recording

from .call import CallEnded, SipCall, TransferOutcome
from .legs import Leg, LegFailed, place_leg
from .media.mixer import BridgeMixer
from .media.relay import MediaBridge
from .media.ringback import Ringback, ringback_frames

log = logging.getLogger(__name__)

WHISPER_KEY_TIMEOUT = 8.0  # seconds the answering party has to press a key after the whisper


@dataclass
class BridgeStats:
    """Per-process figures for the benchmark and logs: accept key (or answer) -> first relayed packet."""

    bridged: int = 0
    failed: int = 0
    first_packet_delays: deque[float] = field(default_factory=lambda: deque(maxlen=5000))
    port_pairs: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=5000))  # (caller, target)


STATS = BridgeStats()


async def _ring(caller: SipCall, task: asyncio.Task) -> Leg:
    """The leg once answered; the caller hanging up first cancels it (a CANCEL goes out) and raises CallEnded."""
    done, _ = await asyncio.wait({task, caller.ended}, return_when=asyncio.FIRST_COMPLETED)
    if task not in done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise CallEnded(caller.ended.result())
    return task.result()


async def _accepted(leg: Leg, transfer: Transfer | Queue) -> bool:
    """The whisper and the accept key on the target's leg (True at once without a whisper)."""
    if not (transfer.whisper or transfer.whisper_audio):
        return True
    owner = leg.call
    await owner.say(
        text=transfer.whisper,
        audio=transfer.whisper_audio,
        voice=transfer.voice,
        language=transfer.language,
        barge_in=True,
    )
    return await owner.gather(max_digits=1, timeout=WHISPER_KEY_TIMEOUT) == transfer.accept_digit


async def _relay(caller: SipCall, leg: Leg, clock, record: bool) -> str:
    """Bridged until either leg ends; returns the recording's reference ("" unless `record`)."""
    bridge = MediaBridge(caller.stream, leg.call.stream, clock)
    recording, mixer = None, None
    if record:
        recording = new_recording(caller.recordings_dir, caller.call_id)
        wideband = caller.stream.codec.name not in ("PCMU", "PCMA")  # the same codec on both legs (legs.py)
        decoders = (leg.call.stream.codec.new_decoder(), caller.stream.codec.new_decoder()) if wideband else None
        mixer = BridgeMixer(recording.path, decoders=decoders)
        bridge.record(mixer.feed)
    STATS.port_pairs.append((caller.stream.local_port, leg.call.stream.local_port))
    since = time.monotonic()
    bridge.start()
    try:
        await asyncio.wait({caller.ended, leg.call.ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        bridge.stop()
        duration = mixer.close() if mixer is not None else 0.0
    firsts = [f.first_at for f in bridge.forwarders if f.first_at is not None]
    if firsts:
        STATS.first_packet_delays.append(min(firsts) - since)
    log.info(
        "call %s: bridge ended (%s), relayed %s packets",
        caller.call_id,
        "caller hung up" if caller.ended.done() else "target hung up",
        bridge.packets,
    )
    return recording.reference if recording is not None and duration > 0 else ""


async def bridge_transfer(
    caller: SipCall, transfer: Transfer | Queue, dialer, caller_addr: tuple[str, int], clock
) -> TransferOutcome:
    """Run one bridged transfer for `caller`; raises CallEnded if the caller hung up before the bridge. A Queue
    action holds the caller until a contact takes the call (queue_hold.py), then bridges the same way."""
    if isinstance(transfer, Queue):
        from .queue_hold import hold_in_queue  # it builds on this module

        return await hold_in_queue(caller, transfer, dialer, caller_addr, clock)
    frames = await ringback_frames(transfer.ringback, caller.stream.codec, caller.prompts)
    ringing = Ringback(caller.stream, frames)
    ringing.start()
    task = asyncio.get_running_loop().create_task(
        place_leg(
            dialer,
            transfer.target,
            caller=caller,
            caller_addr=caller_addr,
            timeout=transfer.timeout,
            context=_context(transfer, caller, getattr(dialer.server, "handover_link", None)),
        )
    )
    leg: Leg | None = None
    try:
        leg = await _ring(caller, task)
        accepted = await _first_of(caller, _accepted(leg, transfer))
        if not accepted:
            STATS.failed += 1
            return TransferOutcome(False, "declined")
        ringing.stop()
        STATS.bridged += 1
        recording = await _relay(caller, leg, clock, transfer.record)
        return TransferOutcome(True, "completed", recording)
    except LegFailed as failed:
        STATS.failed += 1
        log.info("call %s: transfer to %s failed: %s", caller.call_id, transfer.target, failed)
        return TransferOutcome(False, failed.reason)
    finally:
        ringing.stop()
        if leg is not None:
            leg.close()


def _context(transfer: Transfer | Queue, caller: SipCall, make_link) -> str:
    """The engine's hand-over summary plus, when links can be made, the signed link to the call's timeline."""
    if make_link is None:
        return transfer.context
    link = f"link={make_link(caller.call_id)}"
    return f"{transfer.context}; {link}" if transfer.context else link


async def _first_of(caller: SipCall, coroutine) -> bool:
    """`coroutine` (on the target's leg) unless the caller hangs up first (CallEnded); the target hanging up
    during the whisper is a decline."""
    task = asyncio.ensure_future(coroutine)
    done, _ = await asyncio.wait({task, caller.ended}, return_when=asyncio.FIRST_COMPLETED)
    if task not in done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise CallEnded(caller.ended.result())
    try:
        return bool(task.result())
    except CallEnded:
        return False
