"""A local HTTP server standing in for Twilio's REST API (2010-04-01): Messages and Calls, with Twilio's JSON.

Real HTTP over loopback, so `twilio.rest.Client` is exercised for real (point it here with
`client.api.base_url = server.base_url`, which is what TWILIO_API_BASE_URL does). It checks HTTP basic auth
(account SID + auth token), validates numbers and bodies the way Twilio does, answers with Twilio's resource and
error shapes (`{"code", "message", "more_info", "status"}`), and records what it accepted. `fail_next` makes it
answer the next requests with an error (429, 500, ...); `delay` slows every answer down.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from email.utils import formatdate
from urllib.parse import parse_qs

from tests.fakes.http import LoopbackServer, QuietHandler

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ROUTE = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)(?:/(?P<kind>Messages|Calls)(?:/(?P<sid>\w+))?)?\.json$")


def error(status: int, code: int, message: str) -> tuple[int, dict]:
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class FakeTwilioAPI(LoopbackServer):
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token"):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict] = []
        self.calls: list[dict] = []
        self.requests = 0
        self.account_status = "active"  # what a fetch of the account answers (the set-up check reads it)
        self.delay = 0.0
        self._failures: list[tuple[int, int, str]] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(
        self, status: int = 500, code: int = 20500, message: str = "Internal Server Error", times: int = 1
    ) -> None:
        with self._lock:
            self._failures.extend([(status, code, message)] * times)

    def start(self) -> "FakeTwilioAPI":
        fake = self

        class Handler(QuietHandler):
            def do_POST(self):
                self._answer(*fake.handle("POST", self.path, self.headers, self._body()))

            def do_GET(self):
                self._answer(*fake.handle("GET", self.path, self.headers, b""))

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _answer(self, status: int, doc: dict):
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.serve(Handler, "fake-twilio")
        return self

    def _authorized(self, headers) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return headers.get("Authorization", "") == f"Basic {expected}"

    def handle(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict]:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.requests += 1
            failure = self._failures.pop(0) if self._failures else None
        match = ROUTE.match(path.split("?", 1)[0])
        if match is None:
            return error(404, 20404, f"The requested resource {path} was not found")
        if not self._authorized(headers) or match["account"] != self.account_sid:
            return error(401, 20003, "Authenticate")
        if failure is not None:
            return error(*failure)
        kind = match["kind"]
        if kind is None:  # the account itself
            return 200, {
                "sid": self.account_sid,
                "friendly_name": "fake",
                "status": self.account_status,
                "type": "Full",
                "auth_token": self.auth_token,
                "date_created": formatdate(usegmt=True),
            }
        if method == "GET":
            found = [r for r in (self.messages if kind == "Messages" else self.calls) if r["sid"] == match["sid"]]
            return (200, found[0]) if found else error(404, 20404, f"The requested resource {path} was not found")
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        return self._create_message(form) if kind == "Messages" else self._create_call(form)

    def _resource(self, prefix: str, kind: str, form: dict) -> dict:
        sid = prefix + uuid.uuid4().hex
        now = formatdate(usegmt=True)
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "to": form.get("To"),
            "from": form.get("From"),
            "status": "queued",
            "direction": "outbound-api",
            "date_created": now,
            "date_updated": now,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/{kind}/{sid}.json",
        }

    def _check_numbers(self, form: dict) -> tuple[int, dict] | None:
        if not form.get("To"):
            return error(400, 21604, "A 'To' phone number is required.")
        if not E164.match(form["To"]):
            return error(400, 21211, f"Invalid 'To' Phone Number: {form['To']}")
        if not form.get("From"):
            return error(400, 21603, "A 'From' phone number is required.")
        return None

    def _create_message(self, form: dict) -> tuple[int, dict]:
        problem = self._check_numbers(form)
        if problem:
            return problem
        if not form.get("Body"):
            return error(400, 21602, "Message body is required.")
        sent = {"body": form["Body"], "num_segments": "1", "num_media": "0", "price_unit": "USD"}
        unknown_yet = ("price", "error_code", "error_message", "messaging_service_sid", "date_sent")
        resource = self._resource("SM", "Messages", form) | sent | dict.fromkeys(unknown_yet)
        with self._lock:
            self.messages.append(resource)
        return 201, resource

    def _create_call(self, form: dict) -> tuple[int, dict]:
        problem = self._check_numbers(form)
        if problem:
            return problem
        if not form.get("Url") and not form.get("Twiml") and not form.get("ApplicationSid"):
            return error(400, 21205, "Url parameter is required.")
        placed = {"url": form.get("Url"), "twiml": form.get("Twiml")}
        unknown_yet = ("parent_call_sid", "price", "duration", "answered_by")
        resource = self._resource("CA", "Calls", form) | placed | dict.fromkeys(unknown_yet)
        with self._lock:
            self.calls.append(resource)
        return 201, resource
