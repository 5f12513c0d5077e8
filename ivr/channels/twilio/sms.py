"""SMS text mode: a flow's prompts become one reply text; a reply's digits or words become Digits or Speech.

Translation only: no I/O. Voice-only actions have no SMS meaning, so the channel answers them at once with the
result that lets the flow go on: a Transfer fails (the flow's "failed" exit runs) and a Record records nothing.
Flows can still branch on `channel: sms` to do better (the shipped flow emails the owner instead).
"""

from __future__ import annotations

import re

from twilio.twiml.messaging_response import MessagingResponse

from ivr.engine import actions as A
from ivr.engine import events as E

MAX_SMS_CHARS = 1600  # Twilio's limit for one message body (it splits it into segments itself)

# "1", " 2. ", "+1 (555) 123-4567#": keys the caller would have pressed on a phone.
_KEYS = re.compile(r"^\+?[0-9*#][0-9*# ().\-]*[.!]?$")


def reply_event(body: str, at: float):
    """A text reply -> Digits when it is only keys (spaces and phone punctuation ignored), else Speech."""
    text = (body or "").strip()
    if not text:
        return E.NoInput(at=at)
    if _KEYS.match(text):
        return E.Digits(digits=re.sub(r"[^0-9*#]", "", text), at=at)
    return E.Speech(text=text, at=at)


def reply_text(actions: list) -> str:
    """The prompts of a turn as one SMS body ("" when the flow said nothing)."""
    parts = [a.text.strip() for a in actions if isinstance(a, A.Say) and a.text.strip()]
    text = "\n\n".join(parts)
    return text if len(text) <= MAX_SMS_CHARS else text[: MAX_SMS_CHARS - 3].rstrip() + "..."


def automatic_result(actions: list, at: float):
    """The event that answers a voice-only wait at the end of a turn (None when the flow waits for a reply)."""
    last = next((a for a in reversed(actions) if isinstance(a, (A.Gather, A.Transfer, A.Record, A.Hangup))), None)
    if isinstance(last, A.Transfer):
        return E.TransferResult(ok=False, reason="sms", at=at)
    if isinstance(last, A.Record):
        return E.RecordingDone(url="", duration=0.0, at=at)
    return None


def ended(actions: list) -> bool:
    return any(isinstance(a, A.Hangup) for a in actions)


def render(text: str) -> str:
    """The TwiML answer to an incoming SMS: one reply message, or none."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)
