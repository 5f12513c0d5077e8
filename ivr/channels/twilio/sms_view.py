"""POST /twilio/sms: a flow in text mode, one conversation per (caller, number texted) at a time.

The first message starts a call session (channel "sms", call id "sms-<MessageSid>", flow from `?flow=` or the
default) and gets the flow's prompts back; each reply is one turn (turn id = its MessageSid, so a redelivered
message is answered from the turn cache). Voice-only waits (transfer, voicemail) are answered at once by
`channels.twilio.sms.automatic_result`. A conversation
that reached a Hangup, or stayed quiet past its expiry, is over: the next message starts a new one. The
signature check is done by the blueprint (`channels.twilio.views.bp`), which registers this view.
"""

from __future__ import annotations

import logging
import time

from flask import Response, current_app, jsonify, request

from ivr.call_session.health import UNAVAILABLE
from ivr.channels.twilio import sms
from ivr.channels.twilio.voice import explain_error

log = logging.getLogger(__name__)

MAX_AUTOMATIC_TURNS = 5  # bounded: a flow that keeps asking for transfers cannot loop the request forever


def _answer(text: str) -> Response:
    return Response(sms.render(text), mimetype="text/xml")


def sms_reply():
    form = request.form
    caller, called, sid = form.get("From", ""), form.get("To", ""), form.get("MessageSid", "").strip()
    if not (caller and sid):
        return jsonify(error="From and MessageSid are required", status=400), 400
    runtime = current_app.extensions["ivr"]
    at = current_app.config.get("IVR_CLOCK", time.time)()
    try:
        conversations = runtime.sms_conversations  # ivr.store.sms_conversations, built by ivr/web.py
        current = conversations.get(caller, called)
        actions, conversation = _run(
            runtime.call_session,
            current,
            caller,
            called,
            sid,
            form.get("Body", ""),
            at,
            flow_id=request.args.get("flow") or None,
        )
        conversations.save(caller, called, **conversation)
    except UNAVAILABLE as exc:
        log.warning("sms from %s answered with the fallback text, redis unavailable: %s", caller, exc)
        return _answer(current_app.config["IVR_SETTINGS"].fallback_sms)
    except Exception:  # noqa: BLE001 - the texter still gets the key information
        log.exception("sms from %s failed", caller)
        return _answer(current_app.config["IVR_SETTINGS"].fallback_sms)
    return _answer(sms.reply_text(explain_error(actions, current_app.config["IVR_SETTINGS"].fallback_sms)))


def _run(session, current, caller: str, called: str, sid: str, body: str, at: float, flow_id: str | None = None):
    """One incoming message -> (all actions of the turn, the conversation record to save).

    `current` is the conversation's record (store.sms_conversations.Conversation) or None."""
    if current is not None and sid == current.first_sid:  # the starting message, delivered again
        start, call_id = True, current.call_id
    elif current is not None and (sid == current.last_sid or not current.done):
        start, call_id = False, current.call_id
    else:
        start, call_id = True, f"sms-{sid}"
    if start:
        actions = list(
            session.start(call_id=call_id, channel="sms", caller=caller, called=called, at=at, flow_id=flow_id)
        )
    else:
        actions = list(session.turn(call_id, sms.reply_event(body, at), turn_id=sid))
    for n in range(MAX_AUTOMATIC_TURNS):
        event = sms.automatic_result(actions, at)
        if event is None:
            break
        actions += session.turn(call_id, event, turn_id=f"{sid}:auto{n}")
    first = sid if start else current.first_sid
    return actions, {"call_id": call_id, "first_sid": first, "last_sid": sid, "done": sms.ended(actions)}
