"""Actions: what the engine asks a channel to do, in order.

A channel renders them into its wire format (RTP audio, TwiML, SMS text, console lines).
Each action has a `type` field in its dict form; the dict form is what goes into call timelines
and `ivr simulate --json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# What a caller hears when their call cannot go on (a runaway flow, an unknown call, a failure in a channel).
GOODBYE = "Sorry, something went wrong and this call can no longer be continued. Please call again later. Goodbye."


@dataclass(frozen=True, slots=True)
class Say:
    """Speak `text` (TTS) or play `audio` (a file path relative to the flow directory)."""

    text: str = ""
    audio: str = ""
    voice: str = ""
    language: str = ""
    barge_in: bool = True  # a digit or speech may interrupt the prompt
    type: str = field(default="say", init=False)


@dataclass(frozen=True, slots=True)
class Gather:
    """Wait for caller input after the preceding prompts have finished playing.

    `timeout` counts from the end of the last prompt; `inter_digit_timeout` between digits.
    The channel answers with Digits, Speech or NoInput.
    """

    step: str
    input: tuple[str, ...] = ("dtmf",)  # subset of ("dtmf", "speech")
    timeout: float = 5.0
    inter_digit_timeout: float = 3.0
    min_digits: int = 1
    max_digits: int = 1
    finish_on_key: str = ""  # "" = none
    hints: tuple[str, ...] = ()  # speech keywords
    barge_in: bool = True
    min_confidence: float = -1.0  # speech below it is a no-match; -1: the channel's default (IVR_ASR_MIN_CONFIDENCE)
    type: str = field(default="gather", init=False)


@dataclass(frozen=True, slots=True)
class Job:
    """A follow-up for the worker. `idempotency_key` is deterministic (call id + step id + visit)."""

    kind: str  # "email" | "sms" | "webhook" | "chat" | "callback"
    payload: dict[str, Any]
    idempotency_key: str
    type: str = field(default="job", init=False)


@dataclass(frozen=True, slots=True)
class Transfer:
    """Put the caller through to a SIP URI or phone number; the channel answers with TransferResult.

    `mode` "bridge": the IVR dials the target itself and relays the audio (the caller hears `ringback`: "tone",
    "music" or an audio file); with a `whisper` the answering party hears it first and is bridged only after
    pressing `accept_digit`. "refer": a blind transfer, the caller's side places the new call. `context` is the
    warm hand-over summary (the steps visited) a channel may pass on to the answering party. With `record`, the
    bridged conversation is recorded (the flow has played its consent prompt first).
    """

    target: str
    timeout: float = 30.0
    caller_id: str = ""
    mode: str = "bridge"  # "bridge" | "refer"
    whisper: str = ""  # text the answering party hears before being bridged
    whisper_audio: str = ""
    accept_digit: str = "1"
    ringback: str = "tone"  # "tone" | "music" | an audio file path
    context: str = ""
    voice: str = ""
    language: str = ""
    record: bool = False  # bridge mode: both legs mixed into one recording, reported in TransferResult
    type: str = field(default="transfer", init=False)


@dataclass(frozen=True, slots=True)
class Queue:
    """Hold the caller in queue `name` until one of `contacts` takes the call; the channel answers with
    TransferResult: ok (reason "answered") once a contact accepted and was bridged, reason "exhausted" after
    `max_wait` seconds, any other reason when no contact could be rung at all.

    The caller hears `hold` ("music", "tone" or an audio file) and, every `announce_every` seconds, `announce`
    with POSITION_MARK replaced by their place in the queue (kept by the channel across calls and nodes).
    Contacts ring one after another for `ring_timeout` each (`strategy` "in_turn") or all at once ("all"), only
    for the caller at the head of the queue; the one who answers hears `whisper` and presses `accept_digit`, as
    in a bridged Transfer.
    """

    name: str
    contacts: tuple[str, ...]
    strategy: str = "in_turn"  # "in_turn" | "all"
    ring_timeout: float = 20.0  # seconds each ring lasts
    max_wait: float = 300.0  # seconds before "exhausted"
    announce_every: float = 30.0  # seconds between two announcements of the place
    announce: str = ""  # with POSITION_MARK
    hold: str = "music"  # "music" | "tone" | an audio file path
    whisper: str = ""
    whisper_audio: str = ""
    accept_digit: str = "1"
    context: str = ""
    voice: str = ""
    language: str = ""
    type: str = field(default="queue", init=False)


POSITION_MARK = "{position}"  # where a Queue's `announce` takes the caller's place in the queue


@dataclass(frozen=True, slots=True)
class Record:
    """Record the caller; the channel answers with RecordingDone."""

    max_length: float = 120.0
    silence_timeout: float = 5.0
    finish_on_key: str = "#"
    beep: bool = True
    type: str = field(default="record", init=False)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """Make an HTTP request for an http step; the channel answers with HttpResult.

    `body` is JSON text ("" for none); `timeout` bounds all `retries` + 1 tries together. Past `filler_after`
    seconds without an answer the caller hears `filler` (text or audio), so there is no dead air.
    """

    step: str
    url: str
    method: str = "GET"  # "GET" | "POST"
    body: str = ""
    idempotency_key: str = ""  # the same for every try of one step visit
    # seconds all tries take together (the channel caps it at 10), and the tries after the first (0-2)
    timeout: float = 5.0
    retries: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    # what the caller hears once `filler_after` seconds have gone by without an answer
    filler_after: float = 1.5
    filler: str = ""
    filler_audio: str = ""
    voice: str = ""
    language: str = ""
    type: str = field(default="http", init=False)


@dataclass(frozen=True, slots=True)
class RecordCall:
    """Record the rest of the call, both directions mixed into one recording (a flow's `record:`, after its consent
    prompt); the channel reports it at the end of the call as a RecordingDone, kept in the call's timeline."""

    type: str = field(default="record_call", init=False)


@dataclass(frozen=True, slots=True)
class Hangup:
    reason: str = "completed"
    type: str = field(default="hangup", init=False)


@dataclass(frozen=True, slots=True)
class Log:
    """A timeline/analytics entry; channels do not render it. `event` names what happened."""

    event: str
    data: dict[str, Any] = field(default_factory=dict)
    type: str = field(default="log", init=False)


Action = Say | Gather | Job | Transfer | Queue | Record | RecordCall | HttpRequest | Hangup | Log


def to_dict(action: Action) -> dict[str, Any]:
    """A shallow field copy (dataclasses.asdict deep-copies, which costs more than the rest of a turn)."""
    data = {}
    for name in action.__dataclass_fields__:
        value = getattr(action, name)
        data[name] = list(value) if isinstance(value, tuple) else value
    return data


ACTION_TYPES: dict[str, type[Action]] = {
    cls.__dataclass_fields__["type"].default: cls  # type: ignore[misc]
    for cls in (Say, Gather, Job, Transfer, Queue, Record, RecordCall, HttpRequest, Hangup, Log)
}


def action_from_dict(data: dict[str, Any]) -> Action:
    """The action `to_dict` gave `data` for (lists back to tuples); raises KeyError for an unknown type."""
    cls = ACTION_TYPES[data["type"]]
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k != "type"}
    return cls(**kwargs)  # type: ignore[arg-type]  # the fields are those to_dict wrote
