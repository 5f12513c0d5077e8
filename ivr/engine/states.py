"""The words of the engine's state machine, as str enums (they are plain strings in the JSON state).

`Waiting` is what `state["waiting"]` holds after a turn: what the engine expects next from the channel.
`End` is how a step's Outcome ends the call (or a subflow). `Move` names what the runner does with an Outcome that
does not wait (a waiting step simply ends the turn); runner.py maps each Move to its handler in one table, as h11's
_state.py does.
"""

from __future__ import annotations

from enum import StrEnum


class Waiting(StrEnum):
    INPUT = "input"  # answer a Gather with Digits, Speech or NoInput
    TRANSFER = "transfer"  # TransferResult
    RECORD = "record"  # RecordingDone
    HTTP = "http"  # HttpResult (an http step's request, made by the channel)
    QUEUE = "queue"  # TransferResult: answered, exhausted or failed


class End(StrEnum):
    COMPLETED = "completed"
    TRANSFERRED = "transferred"
    RETURN = "return"  # leave a subflow (the call goes on in the flow that called it)


class Move(StrEnum):
    TYPEAHEAD = "typeahead"  # waits for input and digits were typed ahead: the step handles them at once
    RETURN = "return"  # a subflow returned: go on after the goto that called it
    FINISH = "finish"  # the call ends
    ENTER = "enter"  # enter the next step (or, past the flow's max_steps, end politely)

    __hash__ = str.__hash__  # the runner looks a Move up on every step; Enum's own hash is Python code
