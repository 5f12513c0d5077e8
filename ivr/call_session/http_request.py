"""Making an http step's request (an HttpRequest action) and turning the answer into an HttpResult event.

Every channel uses this one runner (SIP and Twilio in a worker thread, the simulator inline). It checks each URL
(the first and every redirect's) with UrlPolicy, signs the body with the webhook signature (X-IVR-Signature,
IVR_WEBHOOK_SECRET), and keeps all tries within the action's timeout: connect and read timeouts are what is left
of it, and a body still arriving at the deadline is cut off. Timeouts, connection errors, 429 and 5xx are tried
again (`retries`, 0-2) while time is left; a body over MAX_BODY_BYTES, a malformed JSON answer, a refused URL or
any other status is `failed` at once. It never raises: every failure is an HttpResult with ok False and a reason.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import urljoin

import requests

from ivr.call_session.http_pinning import pinned_session
from ivr.call_session.http_policy import Resolver, UrlPolicy, resolve
from ivr.engine import actions as A
from ivr.engine import events as E
from ivr.system.signing import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

MAX_TIMEOUT = 10.0  # seconds, all tries together, whatever the action says
MAX_BODY_BYTES = 256 * 1024  # an answer's body; the parsed JSON goes into the call's state
MAX_REDIRECTS = 3
MAX_TEXT = 1000  # characters of a non-JSON body kept in http.body
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", SIGNATURE_HEADER.lower()})
CHUNK = 16 * 1024


class Failed(Exception):
    def __init__(self, reason: str, retry: bool = False):
        super().__init__(reason)
        self.reason, self.retry = reason, retry


class HttpRunner:
    def __init__(
        self,
        allowlist: Sequence[str] = (),
        secret: str = "",
        *,
        resolver: Resolver = resolve,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        max_bytes: int = MAX_BODY_BYTES,
        threads: int = 32,  # requests at once in one process; more wait for a thread
    ):
        self.policy = UrlPolicy(allowlist, resolver)
        self.secret, self.clock, self.wall, self.max_bytes = secret, clock, wall, max_bytes
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def from_settings(cls, settings) -> HttpRunner:
        return cls(settings.http_allowlist, settings.webhook_secret)

    def submit(self, action: A.HttpRequest, at: float | None = None) -> Future[E.HttpResult]:
        """`perform` in one of the runner's threads (never on a media loop or a web worker's own thread)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="ivr-http")
        return self._pool.submit(self.perform, action, at)

    def perform(self, action: A.HttpRequest, at: float | None = None) -> E.HttpResult:
        """Make the request; `at` (simulated time) dates the result `at` + the time taken, else the wall clock."""
        started = self.clock()
        deadline = started + max(0.0, min(action.timeout, MAX_TIMEOUT))
        tries, status, data, body = 0, 0, None, ""
        while True:
            tries += 1
            try:
                status, data, body = self._try(action, deadline)
                reason, retry = ("", False) if 200 <= status < 300 else (f"HTTP {status}", _retryable(status))
            except Failed as failure:
                status, data, body, reason, retry = 0, None, "", failure.reason, failure.retry
            except Exception as exc:  # noqa: BLE001 - a bug here must still give the flow its failed exit
                log.exception("http step %s: request failed", action.step)
                reason, retry = f"error: {type(exc).__name__}", False
            left = deadline - self.clock()
            if not retry or tries > min(action.retries, 2) or left <= 0:
                break
            time.sleep(min(0.2 * 2 ** (tries - 1), left / 2))  # a short backoff, within what is left
        elapsed = self.clock() - started
        if reason:
            log.info(
                "http step %s: %s %s failed after %d tries: %s", action.step, action.method, action.url, tries, reason
            )
        when = self.wall() if at is None else at + elapsed
        return E.HttpResult(
            ok=not reason, at=when, status=status, data=data, body=body, reason=reason, elapsed=round(elapsed, 3)
        )

    def _try(self, action: A.HttpRequest, deadline: float) -> tuple[int, object, str]:
        url, method, body = action.url, action.method.upper(), action.body.encode()
        for _hop in range(MAX_REDIRECTS + 1):
            refusal, address = self.policy.check(url)
            if refusal:
                raise Failed(f"refused: {refusal}")
            with pinned_session(address) as session:
                response = self._send(method, url, self._headers(action, body), body, deadline, session)
                with response:
                    if not response.is_redirect:
                        return response.status_code, *self._read(response, deadline)
                    url = urljoin(url, response.headers.get("Location", ""))
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, body = "GET", b""  # what browsers (and requests) do
        raise Failed(f"more than {MAX_REDIRECTS} redirects")

    def _headers(self, action: A.HttpRequest, body: bytes) -> dict[str, str]:
        headers = {k: v for k, v in action.headers.items() if k.lower() not in RESERVED_HEADERS}
        headers.setdefault("User-Agent", "ivr-http/1")
        headers.setdefault("Accept", "application/json")
        if body:
            headers.setdefault("Content-Type", "application/json")
        if action.idempotency_key:
            headers.setdefault("Idempotency-Key", action.idempotency_key)
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, int(self.wall()), body)
        return headers

    def _send(self, method: str, url: str, headers: dict, body: bytes, deadline: float, session) -> requests.Response:
        left = deadline - self.clock()
        if left <= 0:
            raise Failed("timeout", retry=True)
        try:
            return session.request(
                method,
                url,
                headers=headers,
                data=body or None,
                timeout=(left, left),
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout:
            raise Failed("timeout", retry=True) from None
        except requests.RequestException as exc:
            raise Failed(f"connection failed: {type(exc).__name__}", retry=True) from None

    def _read(self, response: requests.Response, deadline: float) -> tuple[object, str]:
        """The body as (parsed JSON, "") or (None, text), within the size limit and the deadline."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise Failed(f"the answer is over {self.max_bytes} bytes ({declared})")
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise Failed(f"the answer is over {self.max_bytes} bytes")
                if self.clock() > deadline:
                    raise Failed("timeout while reading the answer", retry=True)
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise Failed(f"the answer broke off: {type(exc).__name__}", retry=True) from None
        raw = b"".join(chunks)
        kind = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if kind == "application/json" or kind.endswith("+json"):
            try:
                return (json.loads(raw) if raw.strip() else None), ""
            except (ValueError, UnicodeDecodeError):
                if 200 <= response.status_code < 300:
                    raise Failed("malformed JSON in the answer") from None
        return None, raw.decode(response.encoding or "utf-8", errors="replace")[:MAX_TEXT]


def filler_say(request: A.HttpRequest) -> A.Say:
    """What the caller hears while the request runs past `filler_after`."""
    return A.Say(
        text=request.filler, audio=request.filler_audio, voice=request.voice, language=request.language, barge_in=False
    )


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500
