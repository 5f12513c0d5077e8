"""The simulator channel: caller turns typed as text become engine events; actions become readable lines.

Turn syntax: digits (`3`, `5551234567#`), `say:words` for speech, `silence` for no input,
`hangup`, and for the channel's own results `transfer:ok|fail`, `record:SECONDS`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..engine import actions as A
from ..engine import events as E


class TurnSyntaxError(ValueError):
    pass


def parse_turn(text: str, at: float):
    """One caller turn -> an engine event."""
    value = text.strip()
    lowered = value.lower()
    if lowered in ("silence", "", "timeout"):
        return E.NoInput(at=at)
    if lowered in ("hangup", "bye"):
        return E.HungUp(at=at)
    if lowered.startswith(("say:", "speech:")):
        return E.Speech(text=value.split(":", 1)[1].strip(), at=at)
    if lowered.startswith("transfer:"):
        result = lowered.split(":", 1)[1]
        return E.TransferResult(ok=result in ("ok", "answered", "completed"), reason=result, at=at)
    if lowered.startswith("record:"):
        seconds = float(lowered.split(":", 1)[1] or 0)
        return E.RecordingDone(url="simulator://recording.wav" if seconds > 0 else "", duration=seconds, at=at)
    if all(ch in "0123456789*#" for ch in value):
        return E.Digits(digits=value, at=at)
    raise TurnSyntaxError(f"cannot read {text!r}: type digits (e.g. 3 or 5551234567#), say:words, silence, "
                          f"hangup, transfer:ok|fail or record:SECONDS")


def describe(action) -> str | None:
    """A human-readable line for an action (None for actions a person need not see)."""
    if isinstance(action, A.Say):
        return f"  IVR: {action.text or '[audio ' + action.audio + ']'}"
    if isinstance(action, A.Gather):
        kinds = " or ".join("keys" if i == "dtmf" else "speech" for i in action.input)
        return f"  ... waiting for {kinds} ({action.timeout:g}s)"
    if isinstance(action, A.Job):
        target = action.payload.get("to") or action.payload.get("number") or action.payload.get("url") or ""
        return f"  [job] {action.kind} {target}".rstrip()
    if isinstance(action, A.Transfer):
        return f"  [transfer] to {action.target} (answer with transfer:ok or transfer:fail)"
    if isinstance(action, A.Record):
        return f"  [record] up to {action.max_length:g}s (answer with record:SECONDS)"
    if isinstance(action, A.Hangup):
        return f"  [hangup] {action.reason}"
    if isinstance(action, A.Log) and action.event == "error":
        return f"  [error] {action.data.get('error')}"
    return None


def as_json_line(action) -> str:
    return json.dumps(A.to_dict(action), sort_keys=True)


@dataclass
class Transcript:
    """Everything one simulated call produced, in order."""
    actions: list = field(default_factory=list)
    state: dict | None = None

    @property
    def jobs(self) -> list:
        return [a for a in self.actions if isinstance(a, A.Job)]

    @property
    def said(self) -> list[str]:
        return [a.text for a in self.actions if isinstance(a, A.Say)]
