"""Twilio voice wire format: engine actions -> TwiML (twilio's VoiceResponse), webhook parameters -> engine events.

Translation only: no I/O. Prompts are rendered as <Say voice language> or, when the caller passes a `play_url`
function, as <Play> of the same audio the SIP channel plays. A Gather nests the prompts just before it when they
may be interrupted (barge-in), so a key press or speech stops them as on SIP. A transfer dials its target as
the phone-number policy gives it (ivr/phone: E.164, or a SIP URI); a target the policy refuses is never dialled:
the TwiML redirects to the dial action at once, which reports the transfer as failed. A queue is `<Enqueue>`
(hold_queue.py); a flow's whole-call recording is `<Start><Recording>` (both legs mixed, mono).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from ivr.engine import actions as A
from ivr.engine import events as E
from ivr.phone import NumberRefused, PhonePolicy
from ivr.system.recordings import is_twilio_url

from . import hold_queue
from .whisper import whisper_url

# Voices Twilio's <Say> knows; other names (espeak-ng voices meant for SIP) are left out so Twilio uses its default.
_TWILIO_VOICE = re.compile(r"^(man|woman|alice|(Polly|Google)\.[A-Za-z0-9_-]+)$")
VISIBLE = (
    A.Say,
    A.Gather,
    A.Transfer,
    A.Queue,
    A.Record,
    A.RecordCall,
    A.Hangup,
)  # what a caller hears or does; Jobs/Logs are not
DIAL_OK = frozenset({"completed", "answered"})  # DialCallStatus values that mean the transfer was answered


@dataclass(frozen=True)
class TurnUrls:
    """Action URLs for the next turn (relative URLs resolve against the URL Twilio just requested)."""

    gather: str
    dial: str
    record: str
    whisper: str = "whisper"  # where the answering party of a bridged transfer hears its whisper
    http: str = ""  # where a turn waiting for an http step's answer redirects to (the poll URL)
    queue: str = "queue"  # the Enqueue action: how a queued caller left the line (queue_view.py, hold_queue.py)
    queue_wait: str = "queue/wait"  # Enqueue's waitUrl: the place announced, the hold sound
    recording: str = "recording"  # a whole-call recording's status callback (a flow's `record:`)


PlayUrl = Callable[[A.Say], "str | None"]  # URL of a prompt's audio, or None to fall back to <Say>


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


def twilio_voice(name: str) -> str | None:
    """`name` if Twilio's <Say> knows that voice, else None (Twilio's default)."""
    return name if _TWILIO_VOICE.match(name or "") else None


def _prompt(parent, say: A.Say, play_url: PlayUrl | None) -> None:
    url = play_url(say) if play_url is not None else None
    if url:
        parent.play(url)
        return
    if say.text:
        parent.say(say.text, voice=twilio_voice(say.voice), language=say.language or None)


def _gather_attributes(gather: A.Gather, action_url: str, language: str) -> dict:
    speech = "speech" in gather.input
    attrs = {
        "input": " ".join(gather.input),
        "action": action_url,
        "method": "POST",
        "timeout": _seconds(gather.timeout),
        "finish_on_key": gather.finish_on_key,
        "action_on_empty_result": True,
        "barge_in": gather.barge_in,
    }
    if "dtmf" in gather.input:
        attrs["num_digits"] = gather.max_digits
    if speech:
        attrs["speech_timeout"] = "auto"
        attrs["language"] = language or None
        if gather.hints:
            attrs["hints"] = ",".join(gather.hints)
    return attrs


def _dial(response: VoiceResponse, transfer: A.Transfer, urls: TurnUrls, policy: PhonePolicy) -> None:
    try:
        target = policy.transfer_target(transfer.target, extensions=False)  # Twilio has no PBX to route them
    except NumberRefused:  # no DialCallStatus: the dial action reads it as a failed transfer
        response.redirect(urls.dial, method="POST")
        return
    dial = response.dial(
        timeout=_seconds(transfer.timeout), action=urls.dial, method="POST", caller_id=transfer.caller_id or None
    )
    url = whisper_url(urls.whisper, transfer)
    if target.startswith(("sip:", "sips:")):
        dial.sip(target, url=url, method="POST" if url else None)
    else:
        dial.number(target.removeprefix("tel:"), url=url, method="POST" if url else None)


def _record(response: VoiceResponse, record: A.Record, urls: TurnUrls, policy: PhonePolicy) -> None:
    response.record(
        max_length=_seconds(record.max_length),
        timeout=_seconds(record.silence_timeout),
        finish_on_key=record.finish_on_key,
        play_beep=record.beep,
        action=urls.record,
        method="POST",
    )


def _enqueue(response: VoiceResponse, queue: A.Queue, urls: TurnUrls, policy: PhonePolicy) -> None:
    """The queue's name and max_wait go before the turn number `t` in the action URL (t stays the last pair)."""
    base, _, turn = urls.queue.partition("?")
    result_url = f"{base}?{urlencode({'q': queue.name, 'm': f'{queue.max_wait:g}'})}" + (f"&{turn}" if turn else "")
    hold_queue.enqueue(response, queue, urls.queue_wait, result_url)


# The verbs that end what a turn renders (after the prompts before them), by action type.
VERBS = {
    A.Transfer: _dial,
    A.Queue: _enqueue,
    A.Record: _record,
    A.Hangup: lambda response, action, urls, policy: response.hangup(),
}


def render(actions: list, urls: TurnUrls, play_url: PlayUrl | None = None, policy: PhonePolicy | None = None) -> str:
    """One turn's actions as a TwiML document. Jobs and Logs are not the caller's business and render nothing."""
    policy = policy or PhonePolicy()
    response = VoiceResponse()
    says: list[A.Say] = []
    language = ""
    ended = False

    def flush(upto: int | None = None) -> None:
        for say in says[:upto]:
            _prompt(response, say, play_url)
        del says[:upto]

    for action in actions:
        if isinstance(action, A.Say):
            says.append(action)
            language = action.language or language
            ended = False
            continue
        if isinstance(action, A.Gather):
            nested = 0  # the trailing run of interruptible prompts goes inside the Gather
            while action.barge_in and nested < len(says) and says[-1 - nested].barge_in:
                nested += 1
            flush(len(says) - nested)
            verb = response.gather(**_gather_attributes(action, urls.gather, language))
            for say in says:
                _prompt(verb, say, play_url)
            says.clear()
        elif isinstance(action, A.RecordCall):  # <Start><Recording>: the call goes on, recorded
            flush()
            response.start().recording(
                channels="mono",
                recording_status_callback=urls.recording,
                recording_status_callback_method="POST",
                recording_status_callback_event="completed",
            )
            continue
        elif isinstance(action, A.HttpRequest) and urls.http:  # the filler was said: ask again for the answer
            flush()
            response.redirect(urls.http, method="POST")
        elif type(action) in VERBS:
            flush()
            VERBS[type(action)](response, action, urls, policy)
        else:
            continue
        ended = True
    flush()
    if not ended:
        response.hangup()  # nothing left to wait for: end the call explicitly rather than by running off the end
    return str(response)


def explain_error(actions: list, text: str) -> list:
    """A turn that ends in an error (the flow failed or cannot be loaded): its generic goodbye becomes `text`,
    which still gives the caller the key information."""
    if not actions or not (isinstance(actions[-1], A.Hangup) and actions[-1].reason == "error"):
        return actions
    explained = list(actions)
    for index in range(len(explained) - 2, -1, -1):
        if isinstance(explained[index], A.Say):
            explained[index] = replace(explained[index], text=text, audio="")
            break
    return explained


def speak_and_hang_up(text: str, language: str = "en-US") -> str:
    """A static goodbye (the fallback URL, an unknown call, a failed backend)."""
    response = VoiceResponse()
    response.say(text, language=language)
    response.hangup()
    return str(response)


# Webhook parameters -> events
def gather_event(form: Mapping[str, str], at: float):
    """A <Gather> result: Digits, else Speech, else (actionOnEmptyResult) NoInput."""
    digits = (form.get("Digits") or "").strip()
    if digits:
        return E.Digits(digits=digits, at=at)
    speech = (form.get("SpeechResult") or "").strip()
    if speech:
        try:
            confidence = float(form.get("Confidence") or 1.0)
        except ValueError:
            confidence = 1.0
        return E.Speech(text=speech, at=at, confidence=confidence)
    return E.NoInput(at=at)


def dial_event(form: Mapping[str, str], at: float) -> E.TransferResult:
    """The dial action: answered and bridged is a transfer; answered but not bridged (the answering party
    declined the whisper, `DialBridged=false`) is "declined"."""
    status = (form.get("DialCallStatus") or "failed").strip().lower()
    if status in DIAL_OK and (form.get("DialBridged") or "").strip().lower() == "false":
        return E.TransferResult(ok=False, reason="declined", at=at)
    return E.TransferResult(ok=status in DIAL_OK, reason=status, at=at)


def record_event(form: Mapping[str, str], at: float) -> E.RecordingDone:
    try:
        duration = float(form.get("RecordingDuration") or 0)
    except ValueError:
        duration = 0.0
    url = (form.get("RecordingUrl") or "").strip()
    if not is_twilio_url(url):  # a path or another host is no recording: it ends as an empty voicemail
        url = ""
    return E.RecordingDone(url=url, duration=duration, at=at)
