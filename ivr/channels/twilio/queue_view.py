"""The queue step's Twilio webhooks (registered on `views.bp`, so signed like every /twilio/* request).

- /twilio/voice/queue/wait: Twilio's `waitUrl` for a caller in `<Enqueue>`. It mirrors the caller's place into the
  shared queue board (the admin's live queue), calls the contacts through Twilio's REST API when the caller is at
  the head of the line (once per ring slot of `ring_timeout` seconds: in turn, or all at once), and answers with
  the place announced and the hold sound (hold_queue.py), or `<Leave/>` when the wait is over or no contact
  can be called (every number refused by the phone-number policy).
A contact's call is answered by answer_views.py (the whisper, then `<Dial><Queue>`).
A failure here (Redis, Twilio's API) is logged and the caller keeps hearing the hold sound: never dead air.
"""

from __future__ import annotations

import logging
import math
import time
from urllib.parse import urlencode

from flask import Response, current_app, request

from ivr.channels import prompt_audio as tts
from ivr.phone import NumberRefused, PhonePolicy

from . import hold_queue
from .replies import public_root
from .voice import twilio_voice

log = logging.getLogger(__name__)

PREFIX = "/twilio/voice/queue"


def _twiml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


def _root() -> str:
    return public_root(current_app.config["IVR_SETTINGS"])


def _now() -> float:
    return current_app.config.get("IVR_CLOCK", time.time)()


def _hold_url(kind: str, seconds: int) -> str | None:
    """Where Twilio fetches `seconds` of the hold sound: our music or tone, or the flow's audio file, looped."""
    from ivr.channels.sip.media.ringback import sound_pcm  # the same sound a SIP caller hears

    settings = current_app.config["IVR_SETTINGS"]
    directory = tts.cache_dir(settings.data_dir)
    try:
        if kind in ("music", "tone"):
            pcm = sound_pcm(kind)
        else:
            source = tts.prompt_wav(directory, audio=kind, audio_root=settings.flows_dir)
            pcm, kind = hold_queue.wav_pcm(source), source.stem
        path = hold_queue.hold_wav(directory, kind, seconds, pcm)
    except (tts.TtsError, *hold_queue.UNREADABLE) as exc:
        log.warning("hold sound %r unavailable, pausing instead: %s", kind, exc)
        return None
    return f"{_root()}/audio/{path.stem}.wav"


def _callable(args) -> list[str]:
    """The contacts the phone-number policy lets us call, as Twilio dials them."""
    policy, targets = PhonePolicy.from_settings(current_app.config["IVR_SETTINGS"]), []
    for contact in (c for c in args.get("contacts", "").split("\n") if c):
        try:
            targets.append(policy.transfer_target(contact, extensions=False).removeprefix("tel:"))
        except NumberRefused as refused:
            log.warning("queue %s: contact %s refused: %s", args.get("q"), contact, refused)
    return targets


def _ring_contacts(args, form) -> bool:
    """Call the contacts due in this ring slot (all, or the next in turn); False when none can be called at all."""
    targets = _callable(args)
    if not targets:
        return False
    ring = max(1.0, float(args.get("ring") or 20))
    slot = int(hold_queue.waited(form) // ring)
    due = targets if args.get("strategy") == "all" else [targets[slot % len(targets)]]
    runtime = current_app.extensions["ivr"]
    if runtime.queue_board.claim_ring(args["q"], form["CallSid"], slot):
        agent_url = f"{_root()}{PREFIX}/agent?{urlencode(hold_queue.agent_query(args))}"
        for target in due:
            runtime.twilio_client.calls.create(
                to=target, from_=form.get("To", ""), url=agent_url, method="POST", timeout=math.ceil(ring)
            )
        runtime.queue_board.note(args["q"], form["CallSid"], "ringing " + ", ".join(due))
    return True


def queue_wait():
    args, form = request.args, request.form
    name, call_id, at = args.get("q", ""), form.get("CallSid", ""), _now()
    try:
        board = current_app.extensions["ivr"].queue_board
        board.join(name, call_id, form.get("From", ""), at, since=at - hold_queue.waited(form))
        if form.get("QueuePosition") == "1" and args.get("contacts") and not _ring_contacts(args, form):
            return _twiml(hold_queue.leave_now())  # nobody can be called: the flow goes on at `failed`
    except Exception:  # noqa: BLE001 - the caller keeps holding; the next wait request tries again
        log.exception("queue %s: wait request for %s failed", name, call_id)
    hold = _hold_url(args.get("hold", "music"), hold_queue.hold_seconds(args, form))
    return _twiml(hold_queue.wait_twiml(args, form, hold, twilio_voice(args.get("voice", ""))))


def leave_board(name: str, call_id: str) -> None:
    """The caller left the line (bridged, gone, hung up): out of the admin's live queue at once."""
    try:
        current_app.extensions["ivr"].queue_board.leave(name, call_id)
    except Exception:  # noqa: BLE001 - the entry goes stale and is dropped (keys.QUEUE_STALE)
        log.exception("queue %s: could not remove %s", name, call_id)


VIEWS = {"/voice/queue/wait": queue_wait}
