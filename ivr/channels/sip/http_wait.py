"""An http step on SIP: the request runs in the runner's threads, never on the media loop; the caller hears the
filler from `filler_after` on, again while the answer is out, and the filler stops as soon as the answer is in."""

from __future__ import annotations

import asyncio

from ivr.engine import actions as A
from ivr.engine import events as E

from .call import SipCall


async def ask(call: SipCall, request: A.HttpRequest, http) -> E.HttpResult:
    """The HttpResult for `request` (an HttpRunner makes it); raises CallEnded if the caller hangs up meanwhile."""
    answer = asyncio.wrap_future(http.submit(request))
    filler: asyncio.Future | None = None
    try:
        await call._first(answer, timeout=request.filler_after)
        while not answer.done():
            if not (request.filler or request.filler_audio):
                await call._first(answer)
                break
            filler = asyncio.ensure_future(_say_filler(call, request))
            await call._first(answer, filler)
            if answer.done() and not filler.done():
                call.stream.stop_playback()  # the answer is in: on with the flow
            await filler
        return answer.result()
    finally:
        answer.cancel()  # after a hang-up: the request's thread finishes on its own, nobody waits for it
        if filler is not None and not filler.done():
            filler.cancel()


async def _say_filler(call: SipCall, request: A.HttpRequest) -> bool:
    return await call.say(
        text=request.filler,
        audio=request.filler_audio,
        voice=request.voice,
        language=request.language,
        barge_in=False,
    )
