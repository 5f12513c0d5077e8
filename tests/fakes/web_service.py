"""A web service for http steps to ask, on loopback: scripted answers (JSON, slow, failing, malformed, huge,
redirecting) by path, and a record of every request it got (method, path, headers, body)."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

from .http import LoopbackServer, QuietHandler

CUSTOMER = {"name": "Ada", "account": {"balance": 12.5, "vip": True}, "tags": ["gold", "early"]}
BIG = 10 * 1024 * 1024


class WebService(LoopbackServer):
    def __init__(self):
        self.requests: list[dict] = []
        self.release = threading.Event()  # set at stop: slow answers end at once
        self.failures_left = 0  # /flaky answers 503 this many times, then 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> WebService:
        self.serve(_handler(self), "web-service")
        return self

    def stop(self) -> None:
        self.release.set()
        super().stop()


def _handler(service: WebService) -> type:
    class Handler(QuietHandler):
        def do_GET(self):
            self._answer(b"")

        def do_POST(self):
            self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _answer(self, body: bytes) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            service.requests.append(
                {
                    "at": time.time(),
                    "method": self.command,
                    "path": parts.path,
                    "headers": dict(self.headers),
                    "body": body,
                }
            )
            route = ROUTES.get(parts.path, _not_found)
            route(self, service, query)

        def send(self, status: int, body: bytes, kind: str = "application/json", extra: dict | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (its timeout): nothing to answer
                self.close_connection = True

    return Handler


def _customer(handler, service, query):
    handler.send(200, json.dumps(CUSTOMER).encode())


def _slow(handler, service, query):
    service.release.wait(float(query.get("s", "3")))
    handler.send(200, json.dumps({"name": "Slow"}).encode())


def _fail(handler, service, query):
    handler.send(int(query.get("status", "503")), b'{"error": "down"}')


def _flaky(handler, service, query):
    if service.failures_left > 0:
        service.failures_left -= 1
        handler.send(503, b'{"error": "try again"}')
        return
    _customer(handler, service, query)


def _malformed(handler, service, query):
    handler.send(200, b'{"name": "Ada", ')


def _text(handler, service, query):
    handler.send(200, b"plain words", kind="text/plain; charset=utf-8")


def _big(handler, service, query):
    """10 MB of JSON without a Content-Length (the limit must hold while reading, not only on the header)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Connection", "close")
    handler.end_headers()
    chunk = b" " * 65536
    try:
        handler.wfile.write(b"[")
        for _ in range(BIG // len(chunk)):
            handler.wfile.write(chunk)
        handler.wfile.write(b"]")
    except OSError:  # the client hung up at its size limit
        pass
    handler.close_connection = True


def _redirect(handler, service, query):
    handler.send(302, b"", extra={"Location": query.get("to", "/customer")})


def _not_found(handler, service, query):
    handler.send(404, b'{"error": "no such path"}')


ROUTES = {
    "/customer": _customer,
    "/slow": _slow,
    "/fail": _fail,
    "/flaky": _flaky,
    "/malformed": _malformed,
    "/text": _text,
    "/big": _big,
    "/redirect": _redirect,
}


def lookup_flow(url: str, *, timeout: float = 5, filler_after: float = 0.5, filler: str = "One moment please.") -> str:
    """A flow `lookup` that asks `url` and greets the caller with the answer's `name`, or says why it failed."""
    return f"""id: lookup
start: ask
steps:
  ask:
    type: http
    url: "{url}"
    body: {{number: "{{{{caller.number}}}}"}}
    timeout: {timeout}
    filler_after: {filler_after}
    filler: "{filler}"
    ok: greet
    failed: sorry
  greet:
    type: hangup
    say: "Hello {{{{http.json.name}}}}."
  sorry:
    type: hangup
    say: "Sorry, {{{{http.reason}}}}."
"""
