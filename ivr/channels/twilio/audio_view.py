"""Audio Twilio fetches from us (blueprint `audio_bp`, /audio/<key>.wav, unsigned GETs of content-addressed files):
prompts in "play" mode, a flow's audio files and a queue's hold sound, all from the prompt cache; and where
Twilio reaches the app (`public_root`), for every URL we write into TwiML."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request, send_file

from ivr.channels import prompt_audio as tts
from ivr.engine.actions import Say

log = logging.getLogger(__name__)

audio_bp = Blueprint("twilio_audio", __name__)

AUDIO_MAX_AGE = 365 * 24 * 3600  # audio is addressed by the hash of its content's source: never changes


def public_root(settings) -> str:
    """Where Twilio reaches the app: PUBLIC_BASE_URL (so a proxy that strips a path prefix keeps working), else
    a root-relative path that Twilio resolves against the URL it just requested."""
    return settings.public_base_url.rstrip("/") or request.script_root


def play_url(say: Say, settings) -> str | None:
    """The URL of a prompt's audio, or None (Twilio's own TTS says it instead)."""
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
    except (tts.TtsError, OSError) as exc:
        log.warning("prompt audio unavailable, using <Say>: %s", exc)
        return None
    return f"{public_root(settings)}/audio/{path.stem}.wav"


@audio_bp.get("/audio/<key>.wav")
def prompt(key: str):
    path = tts.cached_path(tts.cache_dir(current_app.config["IVR_SETTINGS"].data_dir), key)
    if path is None:
        return jsonify(error="no such prompt audio"), 404
    response = send_file(path, mimetype="audio/wav", max_age=AUDIO_MAX_AGE, conditional=True, etag=key)
    response.cache_control.immutable = True
    return response
