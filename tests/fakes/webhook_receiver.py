"""A local HTTP endpoint that receives IVR webhooks and checks their signature (as a real receiver would).

It verifies `X-IVR-Signature` with the shared secret (rejecting bad or stale signatures with 401), remembers each
delivery and answers with the statuses queued in `responses` (default 200), so tests can script 500/429/400.
"""
from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer

from tests.fakes.http import QuietHandler

from ivr.jobs.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify


class WebhookReceiver:
    def __init__(self, secret: str):
        self.secret = secret
        self.deliveries: list[dict] = []  # every request that carried a valid signature
        self.rejected = 0
        self.responses: list[int] = []  # statuses to answer next, in order; then 200
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/ivr"

    def unique_keys(self) -> set[str]:
        return {d["idempotency_key"] for d in self.deliveries if d["status"] == 200}

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(QuietHandler):

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.receive(self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True).start()
        return self

    def receive(self, headers, body: bytes) -> int:
        if not verify(self.secret, headers.get(SIGNATURE_HEADER, ""), body):
            with self._lock:
                self.rejected += 1
            return 401
        with self._lock:
            status = self.responses.pop(0) if self.responses else 200
            self.deliveries.append({"status": status, "idempotency_key": headers.get(IDEMPOTENCY_HEADER, ""),
                                    "event": json.loads(body), "headers": dict(headers)})
        return status

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
