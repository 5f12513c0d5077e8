"""Engine glue for SIP: a per-call coroutine that renders actions, waits for the event, takes a turn.

The session is an `ivr.call_session.CallSession` (or anything with its `start`/`turn` contract). Its
calls touch Redis, so they run in worker threads and the media clock never waits for storage.
Wire -> events: digits from any DTMF source -> Digits, speech (speech_input.py) -> Speech, gather timeout ->
NoInput, REFER outcome or a queue's end -> TransferResult, recording -> RecordingDone, BYE/timeout -> HungUp, an
http step's request (made in a worker thread while the media loop plays the filler, http_wait.py) -> HttpResult;
a flow's whole-call recording (RecordCall) -> a RecordingDone once the call is over.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ivr.call_session.http_request import HttpRunner
from ivr.engine import actions as A
from ivr.engine import events as E

from .call import CallEnded, SipCall, TransferOutcome
from .call_recording import finish_recording, start_recording
from .http_wait import ask
from .speech_input import SpeechInput, gather_digits, gather_with_speech, stop_listening

log = logging.getLogger(__name__)


async def render(call: SipCall, actions: list, speech: SpeechInput | None = None, http=None) -> E.Event | None:
    """Play the actions in order; return the event the engine waits for, or None when the call is over."""
    listener = _listener(call, actions, speech)
    try:
        return await _render(call, actions, speech, listener, http)
    finally:
        if listener is not None:
            stop_listening(call)


async def _render(call: SipCall, actions: list, speech: SpeechInput | None, listener, http) -> E.Event | None:
    for action in actions:
        if isinstance(action, A.Say):
            if listener is not None and action.barge_in and listener.speaking:
                continue  # the caller already talks over the prompts: skip the rest, as type-ahead digits do
            call.speech_barge_in = action.barge_in
            await call.say(
                text=action.text,
                audio=action.audio,
                voice=action.voice,
                language=action.language,
                barge_in=action.barge_in,
            )
            call.speech_barge_in = False
        elif isinstance(action, A.Gather):
            if listener is not None and speech is not None:
                return await gather_with_speech(call, action, listener, speech)
            return await gather_digits(call, action)
        elif isinstance(action, A.Queue):  # held, then bridged by the server's bridger (queue_hold.py)
            outcome = await call.bridge(action) if call.bridger is not None else TransferOutcome(False, "unavailable")
            return E.TransferResult(ok=outcome.ok, at=time.time(), reason=outcome.reason, recording=outcome.recording)
        elif isinstance(action, A.Record):
            recording, duration = await call.record(
                max_length=action.max_length, silence_timeout=action.silence_timeout, beep=action.beep
            )
            return E.RecordingDone(at=time.time(), url=recording.reference if duration else "", duration=duration)
        elif isinstance(action, A.Transfer):
            if action.mode == "bridge":
                outcome = await call.bridge(action)
            else:
                outcome = await call.transfer(action.target, timeout=action.timeout)
            return E.TransferResult(ok=outcome.ok, at=time.time(), reason=outcome.reason, recording=outcome.recording)
        elif isinstance(action, A.HttpRequest):
            return await ask(call, action, http)
        elif isinstance(action, A.RecordCall):
            start_recording(call)
        elif isinstance(action, A.Hangup):
            return None
        # Job and Log: call_session already queued/recorded them
    return None


def _keep_heard(session, call: SipCall) -> None:
    """Hand the prompts' start and end times to the session (in a worker thread: it writes to Redis)."""
    heard, keep = call.take_heard(), getattr(session, "heard", None)
    if heard and keep is not None:
        try:
            keep(call.call_id, heard)
        except Exception:  # a timeline note must never end a live call
            log.exception("call %s: could not keep the prompts' times", call.call_id)


class PlayingNotes:
    """Tells the session which prompt plays now, in order (each write waits for the one before), off the loop."""

    def __init__(self, session, call_id: str):
        self.session, self.call_id, self.last = session, call_id, None

    def __call__(self, prompt: dict | None) -> None:
        previous, keep = self.last, getattr(self.session, "playing", None)
        if keep is None:
            return

        async def write() -> None:
            if previous is not None:
                await previous
            try:
                await asyncio.to_thread(keep, self.call_id, prompt)
            except Exception:  # the live view's note must never end a live call
                log.exception("call %s: could not note the prompt playing", self.call_id)

        self.last = asyncio.get_running_loop().create_task(write())


def _listener(call: SipCall, actions: list, speech: SpeechInput | None):
    """Listen from the first prompt on when this turn ends in a gather that accepts speech."""
    if speech is None:
        return None
    gather = next((a for a in actions if isinstance(a, A.Gather)), None)
    language = next((a.language for a in actions if isinstance(a, A.Say) and a.language), "en")
    return speech.listen(call, gather, language)


async def _keep_recording(session, call: SipCall) -> None:
    """A recorded call's WAV goes to its timeline once the call is over (the flow's `record:`)."""
    done = finish_recording(call)
    if done is None:
        return
    try:
        await asyncio.to_thread(session.turn, call.call_id, done, "sip-call-recording")
    except Exception:  # the file is kept; only its timeline entry is missing
        log.exception("call %s: recording %s not noted in the timeline", call.call_id, done.url)


def flow_app(session, flow_id: str | None = None, speech: SpeechInput | None = None, http=None):
    """The SipServer application that runs calls through `session` (channel "sip"); `speech` listens too;
    `http` (an HttpRunner, IVR_HTTP_ALLOWLIST) makes http steps' requests."""
    http = http or HttpRunner()

    async def app(call: SipCall) -> None:
        try:
            await run_call(call)
        finally:
            await _keep_recording(session, call)

    async def run_call(call: SipCall) -> None:
        turn = 0
        call.on_playing = PlayingNotes(session, call.call_id)
        try:
            actions = await asyncio.to_thread(
                session.start,
                call_id=call.call_id,
                channel="sip",
                caller=call.caller,
                called=call.called,
                at=time.time(),
                flow_id=call.route or flow_id,
            )
        except Exception:
            log.exception("call %s: could not start the flow", call.call_id)
            await call.say(text=getattr(session, "fallback_text", A.GOODBYE), barge_in=False)
            return
        while True:
            try:
                event = await render(call, actions, speech, http)
            except CallEnded:
                event = E.HungUp(at=time.time())
            await asyncio.to_thread(_keep_heard, session, call)
            if event is None:
                return
            turn += 1
            try:
                actions = await asyncio.to_thread(session.turn, call.call_id, event, f"sip-{turn}")
            except Exception:
                log.exception("call %s: turn %d failed", call.call_id, turn)
                if isinstance(event, E.HungUp):
                    return
                await call.say(text=getattr(session, "fallback_text", A.GOODBYE), barge_in=False)
                return
            if isinstance(event, E.HungUp):
                return

    return app
