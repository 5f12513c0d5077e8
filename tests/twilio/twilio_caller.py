"""A scripted Twilio for the tests: signs each webhook like Twilio does and follows the TwiML's action URLs.

`SignedPoster` posts form parameters with an X-Twilio-Signature computed by twilio's RequestValidator over the
full public URL plus the sorted parameters, through any transport (Flask's test client or HTTP to gunicorn).
`TwilioCall` plays one call: it answers, reads the TwiML, and posts each turn to the URL the TwiML asked for.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from twilio.request_validator import RequestValidator

AUTH_TOKEN = "test-twilio-auth-token-0123456789"
PUBLIC_BASE = "https://ivr.example.test"
IVR_NUMBER = "+15550000000"
STRANGER = "+442079460001"  # a valid UK number: the shipped flow (country GB) texts it
KNOWN = "+15550100200"  # Sam, in the shipped flow's contacts

_sids = itertools.count(1)


def new_sid(prefix: str = "CA") -> str:
    return f"{prefix}{next(_sids):032x}"


@dataclass
class Reply:
    status: int
    body: str
    url: str  # the URL that was requested (relative action URLs resolve against it)

    @property
    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)

    def verbs(self) -> list[str]:
        return [child.tag for child in self.xml]

    def find(self, tag: str) -> ET.Element | None:
        return self.xml.find(tag)

    def said(self) -> list[str]:
        return [e.text or "" for e in self.xml.iter("Say")]

    def action(self, tag: str) -> str:
        element = self.find(tag)
        assert element is not None, f"no <{tag}> in {self.body}"
        return urljoin(self.url, element.get("action"))


class FlaskTransport:
    def __init__(self, client):
        self.client = client

    def post(self, url: str, data: dict, headers: dict) -> tuple[int, str]:
        response = self.client.post(url, data=data, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    def post_raw(self, url: str, body: bytes, headers: dict) -> tuple[int, str]:
        """`body` exactly as given, with whatever Content-Type `headers` name (or none)."""
        response = self.client.post(url, data=body, headers=headers)
        return response.status_code, response.get_data(as_text=True)


class HttpTransport:
    """Real HTTP to servers on loopback; `bases` rotate per request (two gunicorns alternate turn by turn)."""

    def __init__(self, bases: list[str]):
        self.bases = itertools.cycle(bases)
        self.session = requests.Session()

    def post(self, url: str, data: dict, headers: dict) -> tuple[int, str]:
        parts = urlsplit(url)
        target = next(self.bases) + parts.path + (f"?{parts.query}" if parts.query else "")
        response = self.session.post(target, data=data, headers=headers, timeout=30)
        return response.status_code, response.text

    def post_raw(self, url: str, body: bytes, headers: dict) -> tuple[int, str]:
        return self.post(url, body, headers)  # requests sends bytes as they are, adding no Content-Type


@dataclass
class SignedPoster:
    transport: object
    token: str = AUTH_TOKEN
    base: str = PUBLIC_BASE

    def post(
        self,
        path_or_url: str,
        params: dict,
        *,
        sign: bool = True,
        signature: str | None = None,
        headers: dict | None = None,
    ) -> Reply:
        url = urljoin(self.base, path_or_url)
        all_headers = dict(headers or {})
        if signature is not None:
            all_headers["X-Twilio-Signature"] = signature
        elif sign:
            all_headers["X-Twilio-Signature"] = RequestValidator(self.token).compute_signature(url, params)
        status, body = self.transport.post(url, params, all_headers)
        return Reply(status, body, url)


@dataclass
class TwilioCall:
    poster: SignedPoster
    caller: str = STRANGER
    called: str = IVR_NUMBER
    sid: str = field(default_factory=new_sid)
    last: Reply | None = None
    replies: list[Reply] = field(default_factory=list)

    def params(self, **extra) -> dict:
        base = {
            "CallSid": self.sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.caller,
            "To": self.called,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        return {**base, **{k: str(v) for k, v in extra.items()}}

    def _post(self, url: str, params: dict) -> Reply:
        reply = self.poster.post(url, params)
        assert reply.status == 200, (reply.status, reply.body)
        self.last = reply
        self.replies.append(reply)
        return reply

    def answer(self, path: str = "/twilio/voice") -> Reply:
        return self._post(path, self.params(CallStatus="ringing"))

    def press(self, digits: str) -> Reply:
        return self._post(self.last.action("Gather"), self.params(Digits=digits, FinishedOnKey=""))

    def speak(self, text: str, confidence: float = 0.9) -> Reply:
        return self._post(self.last.action("Gather"), self.params(SpeechResult=text, Confidence=confidence))

    def silence(self) -> Reply:
        return self._post(self.last.action("Gather"), self.params())

    def dial_result(self, status: str, duration: int = 0) -> Reply:
        return self._post(self.last.action("Dial"), self.params(DialCallStatus=status, DialCallDuration=duration))

    def recorded(self, seconds: int) -> Reply:
        url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/RE{self.sid[2:]}" if seconds else ""
        return self._post(
            self.last.action("Record"),
            self.params(RecordingUrl=url, RecordingDuration=seconds, RecordingSid="RE" + self.sid[2:]),
        )

    def status(self, status: str, duration: int | None = None) -> Reply:
        extra = {"CallStatus": status}
        if duration is not None:
            extra["CallDuration"] = duration
        return self.poster.post("/twilio/voice/status", self.params(**extra))


def turn_number(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["t"][0])
