"""An aiosmtpd SMTP server on loopback that keeps every message it accepts (a real SMTP conversation).

`hold()` makes the server stall each RCPT until `release()`: a test can catch a sender mid-conversation
(before the message was accepted) and kill it there.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time

from aiosmtpd.controller import Controller


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    """aiosmtpd hooks; what they accept goes to the sink."""

    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.sink.rcpt_seen.set()
        if not self.sink._open.is_set():
            await asyncio.get_running_loop().run_in_executor(None, self.sink._open.wait, 120)
        if address.endswith("@refused.invalid"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.sink._lock:
            self.sink.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self):
        self.envelopes: list = []  # accepted envelopes; `messages` parses their content on demand
        self.rcpt_seen = threading.Event()
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self.port = _free_port()
        # aiosmtpd inspects its handler's members on every connection: keep that a small separate object
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        with self._lock:
            envelopes = list(self.envelopes)
        return [email.message_from_bytes(e.content, policy=email.policy.default) for e in envelopes]

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.envelopes) >= count:
                return True
            time.sleep(0.02)
        return len(self.envelopes) >= count

    def start(self) -> "SmtpSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self.release()
        if self._controller._thread is not None:
            self._controller.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
