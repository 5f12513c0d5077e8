"""A voice turn's actions -> the TwiML response to the request Twilio made: URLs for the next turn, prompts as
<Say> or as <Play> of the audio the app serves (/audio/<key>.wav), and a cache for the say-mode documents."""

from __future__ import annotations

import logging
from functools import lru_cache

from flask import Response, request

from ivr.channels import prompt_audio as tts
from ivr.channels.twilio import voice
from ivr.engine.actions import Say
from ivr.phone import PhonePolicy

log = logging.getLogger(__name__)

VOICE_PATH = "/twilio/voice"  # the voice blueprint's URLs (views.py)


def twiml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


def play_url(say: Say, settings) -> str | None:
    try:
        path = tts.prompt_wav(
            tts.cache_dir(settings.data_dir),
            text=say.text,
            audio=say.audio,
            voice=say.voice,
            language=say.language,
            audio_root=settings.flows_dir,
            engine=settings.tts_engine,
        )
    except (tts.TtsError, OSError) as exc:  # no audio: Twilio's own TTS says it instead
        log.warning("prompt audio unavailable, using <Say>: %s", exc)
        return None
    return f"{public_root(settings)}/audio/{path.stem}.wav"


@lru_cache(maxsize=2048)
def _render_said(visible: tuple, urls: voice.TurnUrls, policy: PhonePolicy) -> str:
    """Say-mode TwiML depends only on the visible actions, URLs and policy; menus repeat across calls: cache it."""
    return voice.render(list(visible), urls, policy=policy)


def public_root(settings) -> str:
    """Where Twilio reaches the app: PUBLIC_BASE_URL (so a proxy that strips a path prefix keeps working), else
    a root-relative path that Twilio resolves against the URL it just requested."""
    return settings.public_base_url.rstrip("/") or request.script_root


def voice_base(settings) -> str:
    return f"{public_root(settings)}{VOICE_PATH}"


def render_turn(actions: list, next_turn: int, settings, http_url: str = "") -> Response:
    """`http_url`: where a turn that waits for an http step's answer redirects (http_view.py)."""
    actions = voice.explain_error(actions, settings.fallback_message)
    base = voice_base(settings)
    urls = voice.TurnUrls(
        *(f"{base}/{kind}?t={next_turn}" for kind in ("gather", "dial", "record")),
        whisper=f"{base}/whisper",
        http=http_url,
        queue=f"{base}/queue?t={next_turn}",
        queue_wait=f"{base}/queue/wait",
        recording=f"{base}/recording",
    )
    policy = PhonePolicy.from_settings(settings)
    if settings.twilio_prompt_mode == "play":
        return twiml(voice.render(actions, urls, lambda say: play_url(say, settings), policy))
    if http_url or any(isinstance(a, Say) and a.audio for a in actions):  # audio files are <Play>ed in say mode too
        return twiml(voice.render(actions, urls, lambda say: play_url(say, settings) if say.audio else None, policy))
    return twiml(_render_said(tuple(a for a in actions if isinstance(a, voice.VISIBLE)), urls, policy))
