"""http steps whose answer a channel waits for across requests (Twilio's <Redirect> polls).

`begin` starts the request in the runner's threads; when it is answered, that thread takes the call's next turn
itself (`CallSession.turn` with the HttpResult and a turn id the channel chose), so the turn is saved like any
other: in Redis, or in the spool while Redis is down. `wait` gives that turn's actions once they exist: from the
thread's future in this process, else from the saved turn (a poll may reach another web process). If the process
that made the request died, `give_up` past the deadline takes the same turn as a failure; whichever comes first
wins, the other finds the turn taken (turn ids are idempotent).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from ivr.call_session.http_request import HttpRunner
from ivr.engine import actions as A
from ivr.engine import events as E

POLL_SECONDS = 0.1  # how often a process without the request looks for the saved turn
KEEP_SECONDS = 60.0  # how long an answer's future is kept for this process's polls


class PendingRequests:
    def __init__(self, session, runner: HttpRunner):
        self.session, self.runner = session, runner  # a CallSession
        self._futures: dict[tuple[str, str], Future[list[A.Action]]] = {}
        self._done: dict[tuple[str, str], float] = {}  # when each answer came in
        self._lock = threading.Lock()

    def begin(self, call_id: str, action: A.HttpRequest, turn_id: str) -> None:
        key = (call_id, turn_id)
        with self._lock:
            if key in self._futures:  # the same request delivered twice: one HTTP request
                return
            self._purge()
        if self.session.answered(call_id, turn_id) is not None:  # another process made it already
            return
        with self._lock:
            if key in self._futures:  # begun meanwhile by another thread
                return
            request = self.runner.submit(action)
            answered: Future[list[A.Action]] = Future()
            self._futures[key] = answered
        request.add_done_callback(lambda done: self._answer(key, done, answered))

    def _answer(self, key: tuple[str, str], request: Future[E.HttpResult], answered: Future[list[A.Action]]) -> None:
        try:
            answered.set_result(self.session.turn(key[0], request.result(), turn_id=key[1]))
        except Exception as exc:  # noqa: BLE001 - the poll answers with the fallback
            answered.set_exception(exc)
        finally:
            with self._lock:
                self._done[key] = time.monotonic()

    def _purge(self) -> None:
        """Forget answers older than KEEP_SECONDS: a late poll reads the saved turn instead."""
        old = [key for key, done in self._done.items() if time.monotonic() - done > KEEP_SECONDS]
        for key in old:
            self._futures.pop(key, None)
            self._done.pop(key, None)

    def wait(self, call_id: str, turn_id: str, seconds: float) -> list[A.Action] | None:
        """The actions of the turn the answer took, waiting at most `seconds`; None if it is not in yet."""
        with self._lock:
            future = self._futures.get((call_id, turn_id))
        if future is not None:
            try:
                return future.result(timeout=max(0.0, seconds))
            except FutureTimeout:
                return None
        until = time.monotonic() + max(0.0, seconds)
        while True:
            found = self.session.answered(call_id, turn_id)
            if found is not None or time.monotonic() >= until:
                return found
            time.sleep(min(POLL_SECONDS, max(0.0, until - time.monotonic())))

    def give_up(self, call_id: str, turn_id: str, at: float) -> list[A.Action]:
        """Past the request's deadline with no answer anywhere (its process died): the `failed` exit."""
        lost = E.HttpResult(ok=False, at=at, reason="no answer: the request was lost")
        return list(self.session.turn(call_id, lost, turn_id=turn_id))
