"""A local HTTP endpoint that receives IVR webhooks and checks their signature (as a real receiver would).

It verifies `X-IVR-Signature` with the shared secret (rejecting bad or stale signatures with 401), remembers each
delivery and answers with the statuses queued in `responses` (default 200), so tests can script 500/429/400.
"""

from __future__ import annotations

import json
import threading

from tests.fakes.http import LoopbackServer, QuietHandler

from ivr.jobs.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify


class WebhookReceiver(LoopbackServer):
    def __init__(self, secret: str):
        self.secret = secret
        self.deliveries: list[dict] = []  # every request that carried a valid signature
        self.rejected = 0
        self.responses: list[int] = []  # statuses to answer next, in order; then 200
        self._lock = threading.Lock()

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

        self.serve(Handler, "webhook-receiver")
        return self

    def receive(self, headers, body: bytes) -> int:
        if not verify(self.secret, headers.get(SIGNATURE_HEADER, ""), body):
            with self._lock:
                self.rejected += 1
            return 401
        with self._lock:
            status = self.responses.pop(0) if self.responses else 200
            self.deliveries.append(
                {
                    "status": status,
                    "idempotency_key": headers.get(IDEMPOTENCY_HEADER, ""),
                    "event": json.loads(body),
                    "headers": dict(headers),
                }
            )
        return status
