"""One answered SIP call as the application sees it: say, gather, record, transfer, hang up.

Everything here is media-level and wire-agnostic; `session.py` maps these calls onto the engine's
actions and events. Each await ends early with `CallEnded` when the caller hangs up.
Digits from every source (RFC 2833, INFO, in-band) land in one bounded buffer: digits typed
during a prompt stop it when barge-in is allowed, and stay in the buffer for the next gather.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ivr.engine.phrases import phrase
from ivr.system.recordings import Recording, new_recording

from .media.prompts import PromptError, PromptLibrary, to_frames
from .media.recorder import Recorder
from .media.stream import RtpStream

MAX_BUFFERED_DIGITS = 64
_BEEP_PCM = struct.pack("<3200h", *(int(6000 * math.sin(2 * math.pi * 1000 * t / 8000)) for t in range(3200)))


class CallEnded(Exception):
    """The call is over (caller hung up, timeout, or we hung up)."""


@dataclass(frozen=True)
class TransferOutcome:
    ok: bool
    reason: str
    recording: str = ""  # a recorded bridged transfer: the recording's reference


async def await_transfer(call: "SipCall", refer_status: asyncio.Future, timeout: float) -> TransferOutcome:
    """After a REFER on `call` (whose `transfer_progress` was set before it went out): the REFER's final
    status, then the transfer target's final status from the NOTIFYs, or the peer hanging up on us."""
    await asyncio.wait({refer_status, call.ended}, return_when=asyncio.FIRST_COMPLETED)
    call._check()
    code = refer_status.result()
    if not 200 <= code < 300:
        return TransferOutcome(False, "refused" if code != 408 else "no-answer")
    done, _ = await asyncio.wait(
        {call.transfer_progress, call.ended}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
    )
    if call.ended in done:
        return TransferOutcome(True, "completed")  # the peer took the call and hung up on us
    if not done:
        return TransferOutcome(False, "no-answer")
    final = call.transfer_progress.result()
    return TransferOutcome(200 <= final < 300, "completed" if final < 300 else "failed")


class CallControl(Protocol):
    """What a call asks of its dialog on the wire (control.py's DialogControl for inbound calls and callbacks)."""

    async def transfer(self, call: SipCall, target: str, timeout: float) -> TransferOutcome: ...

    async def hangup(self, call: SipCall, reason: str) -> None: ...


class SipCall:
    def __init__(
        self,
        call_id: str,
        caller: str,
        called: str,
        stream: RtpStream,
        prompts: PromptLibrary,
        recordings_dir: Path,
        control: CallControl | None,
    ) -> None:
        self.call_id = call_id
        self.caller = caller
        self.route = ""  # a flow id the edge sends this call to (the public route), else the app's own
        self.called = called
        self.stream = stream
        self.prompts = prompts
        self.recordings_dir = recordings_dir
        self.control = control  # hang-up and REFER on the wire; set once the dialog exists
        self.digits: deque[str] = deque(maxlen=MAX_BUFFERED_DIGITS)
        self.digits_received = 0
        loop = asyncio.get_running_loop()
        self.ended: asyncio.Future = loop.create_future()  # result: reason
        self._digit_waiter: asyncio.Future = loop.create_future()
        self.transfer_progress: asyncio.Future | None = None
        self.bridger = None  # (call, Transfer) -> TransferOutcome: the server's bridged transfer (bridge.py)
        self.heard: list[dict] = []  # prompts as the caller heard them since the last turn (take_heard)
        self.on_playing = None  # called with the prompt when it starts and with None when it stops (live view)
        self.speech_barge_in = False  # speech may stop the prompt playing now (speech_input.py)

    # --- fed by the server ---------------------------------------------------------------
    def on_digit(self, digit: str) -> None:
        self.digits.append(digit)
        self.digits_received += 1
        if not self._digit_waiter.done():
            self._digit_waiter.set_result(digit)

    def end(self, reason: str) -> None:
        if not self.ended.done():
            self.ended.set_result(reason)
        self.stream.stop_playback()

    # --- helpers -------------------------------------------------------------------------
    def _check(self) -> None:
        if self.ended.done():
            raise CallEnded(self.ended.result())

    def _next_digit(self) -> asyncio.Future:
        if self._digit_waiter.done():
            self._digit_waiter = asyncio.get_running_loop().create_future()
        return self._digit_waiter

    async def _first(self, *futures, timeout: float | None = None) -> set:
        done, _ = await asyncio.wait({*futures, self.ended}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        self._check()
        return done

    # --- the application API ------------------------------------------------------------
    async def say(
        self, text: str = "", audio: str = "", voice: str = "", language: str = "", barge_in: bool = True
    ) -> bool:
        """Play a prompt to its end; True if it finished, False if a digit interrupted it."""
        self._check()
        if barge_in and self.digits:
            return False  # type-ahead: the caller already answered, skip the prompt
        try:
            frames = await self.prompts.frames(
                self.stream.codec, text=text, audio=audio, voice=voice, language=language
            )
        except (PromptError, OSError):
            apology = phrase("unavailable", language)  # in the prompt's language, with its voice
            frames = await self.prompts.frames(self.stream.codec, text=apology, language=language)
        self._check()
        heard = {"text": text[:200], "audio": audio}
        finished = self.stream.play(frames, heard)
        waits = (finished, self._next_digit()) if barge_in else (finished,)
        self._playing(heard)
        try:
            done = await self._first(*waits)
        finally:  # a hang-up mid-prompt is heard too, up to the hang-up
            self._playing(None)
            if "started_at" in heard:
                self.heard.append(heard)
        if finished in done and finished.result():
            return True
        self.stream.stop_playback()  # barge-in
        heard["barged_in"] = True
        return False

    def _playing(self, prompt: dict | None) -> None:
        if self.on_playing is not None:
            self.on_playing(None if prompt is None else {"text": prompt["text"], "audio": prompt["audio"]})

    def take_heard(self) -> list[dict]:
        """The prompts played since the last call, each with the times its audio started and ended."""
        taken, self.heard = self.heard, []
        return taken

    async def gather(
        self,
        max_digits: int = 1,
        timeout: float = 5.0,
        inter_digit_timeout: float = 3.0,
        finish_on_key: str = "",
        min_digits: int = 1,
    ) -> str:
        """Collect digits; the timeout counts from now, i.e. from the end of the preceding prompt."""
        collected = ""
        wait = timeout
        while True:
            while self.digits:
                digit = self.digits.popleft()
                if finish_on_key and digit == finish_on_key:
                    return collected
                collected += digit
                if len(collected) >= max_digits:
                    return collected
            done = await self._first(self._next_digit(), timeout=wait)
            if not done:  # timed out
                return collected if len(collected) >= min_digits else ""
            wait = inter_digit_timeout

    async def record(
        self, max_length: float = 120.0, silence_timeout: float = 5.0, beep: bool = True
    ) -> tuple[Recording, float]:
        """Record the caller to a WAV until max length, silence, a digit or hang-up; (recording, seconds)."""
        self._check()
        if beep:
            await self.stream.play(to_frames(_BEEP_PCM, self.stream.codec))
        self.digits.clear()
        recording = new_recording(self.recordings_dir, self.call_id)
        recorder = Recorder(recording.path, max_length, silence_timeout)
        self.stream.sink = recorder.feed
        try:  # ends at max length, silence, any digit or hang-up
            await asyncio.wait({recorder.finished, self._next_digit(), self.ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.stream.sink = None
            duration = recorder.close()
        self.digits.clear()
        return recording, duration

    async def transfer(self, target: str, timeout: float = 30.0) -> TransferOutcome:
        self._check()
        assert self.control is not None, "transfer before the call was answered"
        return await self.control.transfer(self, target, timeout)

    async def bridge(self, transfer) -> TransferOutcome:
        """A bridged transfer (an engine Transfer action in mode "bridge", see bridge.py); a call whose server
        cannot bridge (no `bridger`) is put through by REFER instead."""
        self._check()
        if self.bridger is None:
            return await self.transfer(transfer.target, timeout=transfer.timeout)
        return await self.bridger(self, transfer)

    async def hangup(self, reason: str = "completed") -> None:
        """End the call (the BYE goes out as the call is released) and unwind the application: CallEnded."""
        if self.control is not None:
            await self.control.hangup(self, reason)
        self.end(reason)
        raise CallEnded(reason)
