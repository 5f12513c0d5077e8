"""Events: what happened on a call, as the channels report it to the engine.

Every event carries `at`, seconds since the epoch (UTC); the engine never reads a clock.
Events round-trip through plain dicts (`to_dict` / `event_from_dict`) so they can be
queued, logged and replayed by any process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class CallStarted:
    call_id: str
    caller: str
    called: str
    channel: str  # "sip" | "twilio" | "sms" | "simulator"
    at: float
    # What the installation can deliver ({"sms": False, ...}, settings.capabilities.flags); empty: not told, all assumed
    capabilities: dict[str, bool] = field(default_factory=dict)
    type: str = field(default="call_started", init=False)


@dataclass(frozen=True, slots=True)
class Digits:
    digits: str
    at: float
    type: str = field(default="digits", init=False)


@dataclass(frozen=True, slots=True)
class Speech:
    text: str
    at: float
    confidence: float = 1.0
    type: str = field(default="speech", init=False)


@dataclass(frozen=True, slots=True)
class NoInput:
    at: float
    type: str = field(default="no_input", init=False)


@dataclass(frozen=True, slots=True)
class TransferResult:
    ok: bool
    at: float
    reason: str = ""  # e.g. "busy", "no-answer", "refused", "completed"
    recording: str = ""  # a recorded bridge: where the recording is stored (as RecordingDone.url)
    type: str = field(default="transfer_result", init=False)


@dataclass(frozen=True, slots=True)
class RecordingDone:
    at: float
    url: str = ""  # where the recording is stored (file path or URL); "" when nothing was recorded
    duration: float = 0.0  # seconds
    type: str = field(default="recording_done", init=False)


@dataclass(frozen=True, slots=True)
class JobResult:
    job_id: str
    ok: bool
    at: float
    detail: str = ""
    type: str = field(default="job_result", init=False)


@dataclass(frozen=True, slots=True)
class HttpResult:
    """The answer to an HttpRequest action: `ok` for a 2xx whose body (if JSON) parsed, within the size limit."""

    ok: bool
    at: float
    status: int = 0  # 0: no HTTP answer (refused, timed out, unreachable)
    data: Any = None  # the parsed JSON body, or None
    body: str = ""  # a non-JSON body's text (truncated)
    reason: str = ""  # why it failed ("timeout", "HTTP 503", "refused: ...", "malformed JSON", ...)
    elapsed: float = 0.0  # seconds all tries took
    type: str = field(default="http_result", init=False)


@dataclass(frozen=True, slots=True)
class HungUp:
    at: float
    type: str = field(default="hung_up", init=False)


Event = CallStarted | Digits | Speech | NoInput | TransferResult | RecordingDone | JobResult | HttpResult | HungUp

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__dataclass_fields__["type"].default: cls  # type: ignore[misc]
    for cls in (CallStarted, Digits, Speech, NoInput, TransferResult, RecordingDone, JobResult, HttpResult, HungUp)
}


def to_dict(event: Event) -> dict[str, Any]:
    return {name: getattr(event, name) for name in event.__dataclass_fields__}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from `to_dict` output; raises ValueError on an unknown type or bad fields."""
    cls = EVENT_TYPES.get(str(data.get("type")))
    if cls is None:
        raise ValueError(f"unknown event type {data.get('type')!r}")
    kwargs = {k: v for k, v in data.items() if k != "type"}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad {data['type']} event: {exc}") from None
