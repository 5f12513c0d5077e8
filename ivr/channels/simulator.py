"""The simulator channel: a call played without a phone, from text turns, by the CLI, the browser and the tests.

Turn syntax: digits (`3`, `5551234567#`), `say:words` for speech, `silence` for no input,
`hangup`, and for the channel's own results `transfer:ok|fail`, `queue:answered|exhausted`, `record:SECONDS`.

`SimulatedCall` is one call: without a session the engine runs in memory and nothing is recorded; with a session
(a CallSession) each turn goes through storage and the job queue exactly as a phone call's would. An http step's
request is made for real (its `http` runner, IVR_HTTP_ALLOWLIST), inline, and its answer is the next turn; a
request that took longer than `filler_after` shows the filler prompt the caller would have heard meanwhile.
`play` is the one loop that feeds it turns (a script, or lines typed at the console) until the call ends.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable

from ivr.call_session.http_request import HttpRunner, filler_say
from ivr.engine import actions as A
from ivr.engine import advance
from ivr.engine import events as E

DEFAULT_CALLER = "+15550009999"
DEFAULT_CALLED = "+15550000000"
STEP_SECONDS = 5.0  # simulated time between two caller turns


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
    if lowered.startswith(("transfer:", "queue:")):  # a queue is answered like a transfer: queue:answered|exhausted
        result = lowered.split(":", 1)[1]
        return E.TransferResult(ok=result in ("ok", "answered", "completed"), reason=result, at=at)
    if lowered.startswith("record:"):
        seconds = float(lowered.split(":", 1)[1] or 0)
        return E.RecordingDone(url="simulator://recording.wav" if seconds > 0 else "", duration=seconds, at=at)
    if all(ch in "0123456789*#" for ch in value):
        return E.Digits(digits=value, at=at)
    raise TurnSyntaxError(
        f"cannot read {text!r}: type digits (e.g. 3 or 5551234567#), say:words, silence, "
        f"hangup, transfer:ok|fail or record:SECONDS"
    )


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
    if isinstance(action, A.Queue):
        contacts = ", ".join(action.contacts) or "nobody"
        return f"  [queue] {action.name}, ringing {contacts} (answer with queue:answered or queue:exhausted)"
    if isinstance(action, A.Record):
        return f"  [record] up to {action.max_length:g}s (answer with record:SECONDS)"
    if isinstance(action, A.HttpRequest):
        return f"  [http] {action.method} {action.url}"
    if isinstance(action, A.Hangup):
        return f"  [hangup] {action.reason}"
    if isinstance(action, A.Log) and action.event == "http_result":
        data = action.data
        return (
            f"  [http] {'ok' if data.get('ok') else 'failed'}: {data.get('status')} {data.get('reason', '')}".rstrip()
        )
    if isinstance(action, A.Log) and action.event == "error":
        return f"  [error] {action.data.get('error')}"
    return None


def filler_heard(request: A.HttpRequest, result: E.HttpResult) -> list[A.Action]:
    """The filler prompt, if the answer took longer than the step's `filler_after`."""
    if result.elapsed <= request.filler_after or not (request.filler or request.filler_audio):
        return []
    return [filler_say(request)]


def as_json_line(action) -> str:
    return json.dumps(A.to_dict(action), sort_keys=True)


class SimulatedCall:
    """One simulated call and everything it produced, in order (`actions`, `jobs`, `said`).

    `state` is the engine state while the engine runs in memory; with a session the session keeps it (None here).
    """

    def __init__(
        self,
        flow,
        *,
        caller: str = DEFAULT_CALLER,
        called: str = DEFAULT_CALLED,
        session=None,
        call_id: str | None = None,
        channel: str = "simulator",
        state: dict | None = None,
        capabilities: dict[str, bool] | None = None,
        http: HttpRunner | None = None,
    ):
        self.flow, self.session = flow, session
        self.http = http or HttpRunner()  # without settings: public addresses only, unsigned
        self.capabilities = dict(capabilities or {})  # without a session: what the engine is told it can do
        self.call_id = call_id or f"sim-{uuid.uuid4().hex[:12]}"
        self.caller, self.called, self.channel = caller, called, channel
        self.state = state
        self.actions: list[A.Action] = []
        self.ended = bool(state and state.get("done"))

    def start(self, at: float) -> list[A.Action]:
        if self.session is not None:
            return self._took(
                self.session.start(
                    call_id=self.call_id,
                    channel=self.channel,
                    caller=self.caller,
                    called=self.called,
                    at=at,
                    flow_id=self.flow.id,
                ),
                at,
            )
        started = E.CallStarted(
            call_id=self.call_id,
            caller=self.caller,
            called=self.called,
            channel=self.channel,
            at=at,
            capabilities=self.capabilities,
        )
        self.state, actions = advance(self.flow, None, started)
        return self._took(actions, at)

    def send(self, event, turn_id: str | None = None) -> list[A.Action]:
        if self.session is not None:
            return self._took(self.session.turn(self.call_id, event, turn_id=turn_id), event.at, turn_id)
        self.state, actions = advance(self.flow, self.state, event)
        return self._took(actions, event.at)

    def _took(self, actions: list[A.Action], at: float, turn_id: str | None = None) -> list[A.Action]:
        self.actions.extend(actions)
        if self.state is not None:
            self.ended = bool(self.state.get("done"))
        else:  # the session keeps the state: a Hangup is how the call's end shows here
            self.ended = self.ended or any(isinstance(a, A.Hangup) for a in actions)
        request = actions[-1] if actions and isinstance(actions[-1], A.HttpRequest) else None
        if request is None or self.ended:
            return actions
        result = self.http.perform(request, at=at)
        heard = filler_heard(request, result)
        self.actions.extend(heard)
        return actions + heard + self.send(result, turn_id=f"{turn_id}-http" if turn_id else None)

    @property
    def jobs(self) -> list[A.Job]:
        return [a for a in self.actions if isinstance(a, A.Job)]

    @property
    def said(self) -> list[str]:
        return [a.text for a in self.actions if isinstance(a, A.Say)]


def play(
    call: SimulatedCall,
    turns: Iterable[str],
    *,
    at: float,
    step_seconds: float = STEP_SECONDS,
    show: Callable[[A.Action], None] = lambda action: None,
    on_error: Callable[[TurnSyntaxError], None] | None = None,
) -> SimulatedCall:
    """Start `call` and feed it `turns` while it goes on; when they run out first, the caller hangs up.

    `turns` may be a list or a generator reading the console: it is only asked for a turn the call waits for.
    A turn that cannot be read goes to `on_error` (and costs a step of simulated time), or raises without it.
    """
    for action in call.start(at):
        show(action)
    turns, step = iter(turns), 0
    while not call.ended:
        text = next(turns, None)
        step += 1
        moment = at + step_seconds * step
        if text is None:
            event = E.HungUp(at=moment)
        else:
            try:
                event = parse_turn(text, moment)
            except TurnSyntaxError as exc:
                if on_error is None:
                    raise
                on_error(exc)
                continue
        for action in call.send(event):
            show(action)
        if text is None:
            break
    return call


def run_script(
    flow,
    turns,
    caller: str = DEFAULT_CALLER,
    called: str = DEFAULT_CALLED,
    at: float = 0.0,
    step_seconds: float = STEP_SECONDS,
    session=None,
    call_id: str | None = None,
    channel: str = "simulator",
    capabilities: dict[str, bool] | None = None,
) -> SimulatedCall:
    """A whole call from a list of turns (the tests' and `ivr simulate --input`'s way in)."""
    call = SimulatedCall(
        flow, caller=caller, called=called, session=session, call_id=call_id, channel=channel, capabilities=capabilities
    )
    return play(call, turns, at=at, step_seconds=step_seconds)
