"""Twilio webhooks (blueprint `bp`, /twilio/*): voice turns, status callbacks, the fallback URL and SMS.

Every /twilio/* request must be a url-encoded form post (415 otherwise: that is all Twilio sends) carrying a
valid X-Twilio-Signature (403 otherwise, before anything is read or written); bodies over `max_request_bytes`
get 413. All call state is in Redis keyed by CallSid (through the call session), so any number of web
processes can serve the turns of one call. Each action URL carries the
turn number `t`; the turn id given to the call session is derived from it and the signed parameters, so a
request Twilio delivers twice gets the same TwiML and queues nothing twice. Any failure still answers with
TwiML: a caller never hears dead air. Prompt audio for "play" mode is served by `audio_bp` (/audio/<key>.wav).
An http step's turn is answered by http_view.py (the filler, then polls of /twilio/voice/http); replies.py renders;
the answering party's views are in answer_views.py, the queue's wait URL in queue_view.py.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time

from flask import Blueprint, Flask, Response, current_app, jsonify, request, send_file
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr.channels import prompt_audio as tts
from ivr.channels.twilio import answer_views, hold_queue, http_view, queue_view, voice
from ivr.channels.twilio import sms_view as twilio_sms
from ivr.channels.twilio.replies import twiml
from ivr.channels.twilio.signature import FORM_MIMETYPE, is_signed

log = logging.getLogger(__name__)

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
audio_bp = Blueprint("twilio_audio", __name__)

AUDIO_MAX_AGE = 365 * 24 * 3600  # audio is addressed by the hash of its content's source: never changes
TURN_PARAMS = ("Digits", "SpeechResult", "DialCallStatus", "DialBridged", "RecordingUrl", "RecordingDuration")
TURN_NUMBER = re.compile(r"[0-9]{1,9}")
EVENT_READERS = {
    "gather": voice.gather_event,
    "dial": voice.dial_event,
    "record": voice.record_event,
    "queue": lambda form, at: hold_queue.result_event(form, float(request.args.get("m") or 0), at),
}


def init_app(app: Flask) -> None:
    """Register the Twilio blueprints, exempt them from the admin's CSRF check and trust configured proxies."""
    app.register_blueprint(bp)
    app.register_blueprint(audio_bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:  # Flask-WTF: Twilio cannot send a CSRF token; the signature protects these endpoints
        csrf.exempt(bp)
    hops = app.config["IVR_SETTINGS"].proxy_fix
    if hops and not isinstance(app.wsgi_app, ProxyFix):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)


def _settings():
    return current_app.config["IVR_SETTINGS"]


def _runtime():
    return current_app.extensions["ivr"]


def now() -> float:
    """Seconds since the epoch; tests may pin the clock with the `IVR_CLOCK` config key (a callable)."""
    return current_app.config.get("IVR_CLOCK", time.time)()


@bp.before_request
def require_signature():
    if request.mimetype != FORM_MIMETYPE:  # checked before the body is parsed: no other parser ever runs here
        log.warning("refused %s: Content-Type %r is not %s", request.path, request.mimetype, FORM_MIMETYPE)
        return jsonify(error=f"Twilio webhooks must be {FORM_MIMETYPE} posts", status=415), 415
    settings = _settings()
    request.form  # noqa: B018 - parse first: a body over MAX_CONTENT_LENGTH raises 413 here
    if not is_signed(request._get_current_object(), settings.twilio_auth_token, settings.public_base_url):
        # the body stays generic; the operator's log names the setting when that is the cause
        log.warning(
            "refused %s: %s",
            request.path,
            "missing or invalid X-Twilio-Signature"
            if settings.twilio_auth_token
            else "TWILIO_AUTH_TOKEN is not set, so no request can be verified",
        )
        return jsonify(error="missing or invalid X-Twilio-Signature"), 403
    return None


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    return jsonify(error=exc.description or exc.name, status=exc.code), exc.code


def _fallback(exc: Exception | None = None) -> Response:
    if exc is not None:
        log.exception("twilio %s failed; answering with the fallback message", request.path)
    return twiml(voice.speak_and_hang_up(_settings().fallback_message))


# The views read `request.form` and the settings once and pass them on: each access through Flask's context
# proxies costs a few microseconds, and a turn has a budget of a few hundred.
def _call_id(form) -> str:
    call_id = form.get("CallSid", "").strip()
    if not call_id:
        raise BadRequest("CallSid is required")
    return call_id


def _turn_number() -> int:
    """The `t` of the action URL we wrote. Strictly digits: Twilio's signing string has no separators, so a
    signed request's first pairs appended to its URL land in `t`, and a lenient reading would turn a replayed
    turn into a new one."""
    raw = request.args.get("t", "0")
    if not TURN_NUMBER.fullmatch(raw):
        raise BadRequest("t must be the turn number of an action URL this app wrote")
    return int(raw)


def _turn_id(form, kind: str, number: int) -> str:
    """Stable for a repeated delivery of the same turn (same URL, same signed parameters)."""
    signed = "\0".join(f"{name}={form.get(name, '')}" for name in TURN_PARAMS)
    return f"{kind}{number}-{hashlib.sha256(signed.encode()).hexdigest()[:16]}"


@bp.post("/voice")
def voice_start():
    form, settings = request.form, _settings()
    call_id = _call_id(form)
    try:
        actions = _runtime().call_session.start(
            call_id=call_id,
            channel="twilio",
            caller=form.get("From", ""),
            called=form.get("To", ""),
            at=now(),
            flow_id=request.args.get("flow") or None,
        )
        return http_view.answer(_runtime().http_requests, call_id, actions, 1, settings, now)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the caller still hears something useful
        return _fallback(exc)


@bp.post("/voice/<any(gather, dial, record, queue):kind>")
def voice_turn(kind: str):
    form, settings = request.form, _settings()
    call_id, number = _call_id(form), _turn_number()
    event = EVENT_READERS[kind](form, now())
    if kind == "record" and form.get("RecordingUrl") and not event.url:
        log.warning(
            "call %s: ignored RecordingUrl %r, not a recording on Twilio's API host",
            call_id,
            form["RecordingUrl"][:200],
        )
    if kind == "queue":  # out of the line, whatever the reason
        queue_view.leave_board(request.args.get("q", ""), call_id)
    try:
        actions = _runtime().call_session.turn(call_id, event, turn_id=_turn_id(form, kind, number))
        return http_view.answer(_runtime().http_requests, call_id, actions, number + 1, settings, now)
    except Exception as exc:  # noqa: BLE001
        return _fallback(exc)


@bp.post("/voice/http")
def voice_http():
    """A poll for an http step's answer, after its filler prompt (ivr/channels/twilio/http_view.py)."""
    form, settings = request.form, _settings()
    call_id, number = _call_id(form), _turn_number()
    try:
        return http_view.poll(_runtime().http_requests, call_id, number, request.args, settings, now)
    except Exception as exc:  # noqa: BLE001
        return _fallback(exc)


@bp.post("/voice/recording")
def voice_recording():
    """A whole-call recording is ready (`<Start><Recording>` of a flow's `record:`): into the call's timeline."""
    form = request.form
    call_id, event = _call_id(form), voice.record_event(form, now())
    if form.get("RecordingStatus", "completed") != "completed" or not event.url:
        return jsonify(call_id=call_id, kept=False)
    try:
        _runtime().call_session.turn(call_id, event, turn_id=f"recording-{form.get('RecordingSid', '')}")
    except Exception:  # noqa: BLE001 - 503: Twilio may retry the callback
        log.exception("recording callback for %s failed", call_id)
        return jsonify(call_id=call_id, kept=False), 503
    return jsonify(call_id=call_id, kept=True)


@bp.post("/voice/status")
def voice_status():
    form = request.form
    call_id, status = _call_id(form), form.get("CallStatus", "")
    runtime = _runtime()
    try:
        result = runtime.call_status.record(call_id, status, at=now(), duration=form.get("CallDuration", ""))
    except Exception:  # noqa: BLE001
        log.exception("status callback for %s failed", call_id)
        result = "error"
    # 503 when nothing could be recorded: Twilio retries it if the URL asks for retries (#rc=...&rp=5xx)
    code = 503 if result in ("unavailable", "error") else 200
    return jsonify(call_id=call_id, status=status, result=result), code


@bp.post("/voice/fallback")
def voice_fallback():
    """Twilio's fallback URL: static, needs neither Redis nor the flows."""
    log.warning(
        "twilio fallback used for %s: %s %s",
        request.form.get("CallSid"),
        request.form.get("ErrorCode"),
        request.form.get("ErrorUrl"),
    )
    return _fallback()


@audio_bp.get("/audio/<key>.wav")
def prompt(key: str):
    path = tts.cached_path(tts.cache_dir(_settings().data_dir), key)
    if path is None:
        return jsonify(error="no such prompt audio"), 404
    response = send_file(path, mimetype="audio/wav", max_age=AUDIO_MAX_AGE, conditional=True, etag=key)
    response.cache_control.immutable = True
    return response


bp.add_url_rule("/sms", view_func=twilio_sms.sms_reply, methods=["POST"])
for rule, view in {**answer_views.VIEWS, **queue_view.VIEWS}.items():  # the answering party's, the queue's
    bp.add_url_rule(rule, view_func=view, methods=["POST"])
