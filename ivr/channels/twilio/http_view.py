"""Twilio's side of the http step: the request runs off the web worker, and the caller hears a filler meanwhile.

A turn whose actions end in an HttpRequest starts the request in the web process's thread pool (PendingRequests:
the thread takes the answer's turn itself) and waits for it at most `filler_after`. If it is in, the answer's turn
is rendered at once (chained http steps too). If not, the TwiML is the turn's prompts, the filler, and a
<Redirect> to /twilio/voice/http, a poll that answers within POLL_WAIT: the answer's turn once it is in (whichever
web process took it), else the filler again and another <Redirect>. The poll URL carries the filler and the
request's deadline; past it (the process making the request died) the call goes on at the step's `failed` exit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlencode

from ivr.call_session.http_pending import PendingRequests
from ivr.call_session.http_request import MAX_TIMEOUT, filler_say
from ivr.channels.twilio import replies
from ivr.engine import actions as A

POLL_WAIT = 0.3  # seconds a poll waits for the answer: Twilio plays nothing while it waits
DEADLINE_GRACE = 5.0  # seconds past the request's timeout before a poll gives up on it


def http_turn_id(number: int) -> str:
    return f"http{number}"


def answer(pending: PendingRequests, call_id: str, actions: list, next_turn: int, settings, clock: Callable[[], float]):
    """The TwiML for a turn's actions; one that waits for an http step's answer starts the request first."""
    while actions and isinstance(actions[-1], A.HttpRequest):
        request = actions[-1]
        turn_id = http_turn_id(next_turn)
        pending.begin(call_id, request, turn_id)
        answered = pending.wait(call_id, turn_id, min(request.filler_after, request.timeout))
        if answered is None:
            until = clock() + min(request.timeout, MAX_TIMEOUT) + DEADLINE_GRACE
            return _filler(actions[:-1], request, next_turn, until, settings)
        actions, next_turn = actions[:-1] + answered, next_turn + 1
    return replies.render_turn(actions, next_turn, settings)


def poll(pending: PendingRequests, call_id: str, number: int, args: Mapping[str, str], settings, clock):
    turn_id = http_turn_id(number)
    answered = pending.wait(call_id, turn_id, POLL_WAIT)
    if answered is None:
        until = _number(args.get("until", ""))
        if clock() < until:
            request = A.HttpRequest(
                step="",
                url="",
                filler=args.get("f", ""),
                filler_audio=args.get("a", ""),
                voice=args.get("v", ""),
                language=args.get("l", ""),
            )
            return _filler([], request, number, until, settings)
        answered = pending.give_up(call_id, turn_id, clock())
    return answer(pending, call_id, answered, number + 1, settings, clock)


def _filler(before: list, request: A.HttpRequest, number: int, until: float, settings):
    query = {"t": number, "until": f"{until:.0f}"}
    query.update({k: v for k, v in zip("favl", _filler_fields(request), strict=True) if v})
    url = f"{replies.voice_base(settings)}/http?{urlencode(query)}"
    heard = [filler_say(request)] if request.filler or request.filler_audio else []
    return replies.render_turn(before + heard + [request], number, settings, http_url=url)


def _filler_fields(request: A.HttpRequest) -> tuple[str, str, str, str]:
    return request.filler, request.filler_audio, request.voice, request.language


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0
