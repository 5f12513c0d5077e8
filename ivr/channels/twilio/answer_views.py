"""The answering party's webhooks (registered on `views.bp`, so signed like every /twilio/* request): the whisper
of a bridged transfer (whisper.py), and a queue contact's whisper, then `<Dial><Queue>` (hold_queue.py)."""

from __future__ import annotations

from flask import Response, current_app, request

from . import hold_queue, whisper
from .replies import public_root
from .voice import twilio_voice


def _twiml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


def _voice_url(path: str) -> str:
    return f"{public_root(current_app.config['IVR_SETTINGS'])}/twilio/voice/{path}"


def voice_whisper():
    """The answering party of a bridged transfer: the whisper, then their key (ivr/channels/twilio/whisper.py)."""
    voice = twilio_voice(request.args.get("voice", ""))
    return _twiml(whisper.whisper_twiml(request.args, _voice_url("whisper/answer"), voice))


def voice_whisper_answer():
    return _twiml(whisper.answer_twiml(request.args, request.form))


def queue_agent():
    """A contact called for a queue's head caller: the whisper, or the caller at once."""
    voice = twilio_voice(request.args.get("voice", ""))
    return _twiml(hold_queue.agent_twiml(request.args, _voice_url("queue/agent/answer"), voice))


def queue_agent_answer():
    return _twiml(hold_queue.accepted_twiml(request.args, request.form))


VIEWS = {
    "/voice/whisper": voice_whisper,
    "/voice/whisper/answer": voice_whisper_answer,
    "/voice/queue/agent": queue_agent,
    "/voice/queue/agent/answer": queue_agent_answer,
}
