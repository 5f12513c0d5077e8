"""Twilio's side of a bridged transfer's whisper: the TwiML the answering party hears before being bridged.

A transfer with a whisper dials `<Dial><Number url=WHISPER>` (or `<Sip url=...>`). When the target answers, Twilio
fetches WHISPER on the target's leg: it says the prompt inside a one-key `<Gather>`; the answer URL bridges the
call (an empty response ends the whisper) when the key is `accept_digit`, and hangs up the target's leg otherwise.
The prompt and key travel in the whisper URL's query, which Twilio's request signature covers, so no state is kept.
The dial action then sees `DialBridged=false` and the engine takes the `failed` exit with the reason "declined".
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from ivr.engine import actions as A

WHISPER_KEY_TIMEOUT = 8  # seconds the answering party has to press a key after the prompt
PROMPT_LIMIT = 600  # characters of whisper text carried in the URL (Twilio URLs must stay under 4 KB)
DECLINED_SAY = "The caller will be offered voicemail. Goodbye."


def whisper_url(base: str, transfer: A.Transfer) -> str | None:
    """Where Twilio fetches the whisper for `transfer`, or None when it has none (bridge at once)."""
    if transfer.mode != "bridge" or not (transfer.whisper or transfer.whisper_audio):
        return None
    query = {
        "text": transfer.whisper[:PROMPT_LIMIT],
        "accept": transfer.accept_digit,
        "voice": transfer.voice,
        "language": transfer.language,
    }
    return f"{base}?{urlencode({k: v for k, v in query.items() if v})}"


def key_gather(response: VoiceResponse, action_url: str, text: str, say_voice: str | None, language: str) -> None:
    """`text` said inside a one-key Gather that posts the key (or none) to `action_url`: what an answering party
    hears before taking a call (a bridged transfer's whisper, a queue contact's)."""
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=WHISPER_KEY_TIMEOUT,
        method="POST",
        action=action_url,
        action_on_empty_result=True,
    )
    gather.say(text, voice=say_voice, language=language or None)


def whisper_twiml(args: Mapping[str, str], answer_url: str, say_voice: str | None) -> str:
    """The prompt in a one-key Gather; no key at all hangs up the answering party's leg (a decline)."""
    response = VoiceResponse()
    action = f"{answer_url}?{urlencode({'accept': args.get('accept', '1')})}"
    key_gather(response, action, args.get("text", ""), say_voice, args.get("language", ""))
    response.say(DECLINED_SAY)
    response.hangup()
    return str(response)


def answer_twiml(args: Mapping[str, str], form: Mapping[str, str]) -> str:
    """The accept key: an empty response, which ends the whisper and bridges the caller; anything else hangs up."""
    response = VoiceResponse()
    if (form.get("Digits") or "").strip() != args.get("accept", "1"):
        response.say(DECLINED_SAY)
        response.hangup()
    return str(response)
