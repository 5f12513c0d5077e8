"""Twilio's side of the queue step: `<Enqueue>` for the caller, a wait URL that announces the place, and the
TwiML a contact hears before `<Dial><Queue>` takes the caller at the head of the line.

The caller's turn renders `<Enqueue waitUrl=WAIT action=RESULT>name</Enqueue>`. Twilio keeps the line and posts
WAIT with `QueuePosition` and `QueueTime`: `wait_twiml` says the place (when an announcement is due) and plays the
hold sound up to the next one, at most HOLD_CHUNK seconds (then Twilio asks again), or `<Leave/>` once `max_wait`
is over. The queue's settings travel in WAIT's
query, which Twilio's request signature covers, so no state is kept for them. RESULT reads `QueueResult`:
bridged -> answered, leave -> exhausted (or "refused" when it was left early because no contact could be called),
hangup -> the caller hung up. A contact's call fetches `agent_twiml` (the whisper in a one-key Gather) and, with
the accept key, `accepted_twiml`: `<Dial><Queue>`, which bridges the caller at the head of the line.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import wave
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlencode

from twilio.twiml.voice_response import Dial, VoiceResponse

from ivr.engine import actions as A
from ivr.engine import events as E
from ivr.system.private_files import private_dir

from .whisper import PROMPT_LIMIT, key_gather

DECLINED_SAY = "The caller stays in the queue. Goodbye."
GONE_SAY = "The caller is no longer waiting. Goodbye."
SHORTEST_HOLD = 2  # seconds of hold sound at least, between two wait requests
HOLD_CHUNK = 30  # seconds at most between two wait requests: they keep the place fresh (keys.QUEUE_STALE is 90)
UNREADABLE = (OSError, EOFError, wave.Error)  # a hold file that cannot be read or written


def wait_query(queue: A.Queue) -> dict[str, str]:
    """What the wait URL needs to know, in its (signed) query."""
    query = {
        "q": queue.name,
        "announce": queue.announce[:PROMPT_LIMIT],
        "every": f"{queue.announce_every:g}",
        "max": f"{queue.max_wait:g}",
        "hold": queue.hold,
        "ring": f"{queue.ring_timeout:g}",
        "strategy": queue.strategy,
        "contacts": "\n".join(queue.contacts),
        "whisper": queue.whisper[:PROMPT_LIMIT],
        "accept": queue.accept_digit,
        "voice": queue.voice,
        "language": queue.language,
    }
    return {key: value for key, value in query.items() if value}


def enqueue(response: VoiceResponse, queue: A.Queue, wait_url: str, result_url: str) -> None:
    response.enqueue(
        queue.name,
        wait_url=f"{wait_url}?{urlencode(wait_query(queue))}",
        wait_url_method="POST",
        action=result_url,
        method="POST",
    )


def _number(value: str | None, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


def waited(form: Mapping[str, str]) -> float:
    return _number(form.get("QueueTime"), 0.0)


def _chunk(args: Mapping[str, str]) -> float:
    return min(_number(args.get("every"), 30), HOLD_CHUNK)


def hold_seconds(args: Mapping[str, str], form: Mapping[str, str]) -> int:
    """How long this wait request's hold sound plays: until the next announcement (at most HOLD_CHUNK) or the end
    of the wait."""
    left = _number(args.get("max"), 300) - waited(form)
    return max(SHORTEST_HOLD, math.ceil(min(_chunk(args), left)))


def announce_due(args: Mapping[str, str], form: Mapping[str, str]) -> bool:
    """The first wait request, and then the first of each `announce_every` seconds (requests come every chunk)."""
    return waited(form) % _number(args.get("every"), 30) < _chunk(args)


def wait_twiml(args: Mapping[str, str], form: Mapping[str, str], hold_url: str | None, say_voice: str | None) -> str:
    response = VoiceResponse()
    if waited(form) >= _number(args.get("max"), 300):
        response.leave()
        return str(response)
    text = args.get("announce", "").replace(A.POSITION_MARK, str(form.get("QueuePosition") or "1"))
    if text and announce_due(args, form):
        response.say(text, voice=say_voice, language=args.get("language") or None)
    if hold_url:
        response.play(hold_url)
    else:
        response.pause(length=hold_seconds(args, form))
    return str(response)


def leave_now() -> str:
    response = VoiceResponse()
    response.leave()
    return str(response)


def result_event(form: Mapping[str, str], max_wait: float, at: float) -> E.Event:
    """The Enqueue action: how the caller left the line."""
    result = (form.get("QueueResult") or "error").strip().lower()
    if result == "hangup":
        return E.HungUp(at=at)
    if result in ("bridged", "bridging-in-process"):
        return E.TransferResult(ok=True, reason="answered", at=at)
    if result == "leave":
        reason = "exhausted" if waited(form) >= max_wait - 1 else "refused"
        return E.TransferResult(ok=False, reason=reason, at=at)
    return E.TransferResult(ok=False, reason=result, at=at)


def agent_query(args: Mapping[str, str]) -> dict[str, str]:
    """The contact's call URL query: the queue and the whisper."""
    return {k: args[k] for k in ("q", "whisper", "accept", "voice", "language") if args.get(k)}


def _take_caller(response: VoiceResponse, name: str) -> None:
    dial = Dial()
    dial.queue(name)
    response.append(dial)
    response.say(GONE_SAY)  # Dial ends at once when nobody waits any more


def agent_twiml(args: Mapping[str, str], answer_url: str, say_voice: str | None) -> str:
    """What the contact hears on answering: the whisper in a one-key Gather, or (no whisper) the caller at once."""
    response = VoiceResponse()
    if not args.get("whisper"):
        _take_caller(response, args.get("q", ""))
        return str(response)
    action = f"{answer_url}?{urlencode(agent_query(args))}"
    key_gather(response, action, args["whisper"], say_voice, args.get("language", ""))
    response.say(DECLINED_SAY)
    response.hangup()
    return str(response)


def accepted_twiml(args: Mapping[str, str], form: Mapping[str, str]) -> str:
    response = VoiceResponse()
    if (form.get("Digits") or "").strip() == args.get("accept", "1"):
        _take_caller(response, args.get("q", ""))
    else:
        response.say(DECLINED_SAY)
        response.hangup()
    return str(response)


def wav_pcm(path: Path) -> bytes:
    """The samples of a cached prompt WAV (8 kHz 16-bit mono, as prompt_audio writes them)."""
    with wave.open(str(path), "rb") as source:
        return source.readframes(source.getnframes())


def hold_wav(directory: Path, kind: str, seconds: int, pcm: bytes) -> Path:
    """A cached 8 kHz WAV of `seconds` of the hold sound `pcm` (looped), named by its cache key; written to a
    private temporary file first, so concurrent writers never expose half a file."""
    key = hashlib.sha256(f"hold\0{kind}\0{seconds}\0{len(pcm)}".encode()).hexdigest()
    target = Path(directory) / f"{key}.wav"
    if target.is_file():
        return target
    wanted = seconds * 8000 * 2
    body = (pcm * (wanted // max(1, len(pcm)) + 1))[:wanted]
    handle, partial = tempfile.mkstemp(dir=private_dir(directory), suffix=".part")
    try:
        with os.fdopen(handle, "wb") as raw, wave.open(raw, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(body)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target
