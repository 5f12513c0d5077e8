"""What every step type shares: the Step base class, the per-turn Context and the Outcome a step returns.

A step never performs I/O: it reads the context (variables, caller, time from the event) and returns
actions plus where to go next. Waiting steps (menu, collect_digits, transfer, voicemail) also `handle`
the event that answers them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..actions import Action, Gather, Job, Say
from ..events import Event
from ..language import LANGUAGE_VAR, voice_for
from ..prompt import Prompt as Prompt  # the steps import it from here
from ..states import End, Waiting
from ..template import Template

Spec = dict[str, Any]  # a step's mapping from the flow file
TemplateRefs = list[tuple[tuple[Any, ...], Template]]  # (spec path, template) pairs, for the validator


@dataclass
class Outcome:
    actions: list[Action] = field(default_factory=list)
    next: str | None = None  # step id to enter now
    wait: Waiting | None = None  # stay on this step until the channel answers
    end: End | None = None  # the call ends (or, with End.RETURN, a subflow)


class Context:
    """One turn's view of the call, given to steps. Mutations go to the (copied) state."""

    __slots__ = ("flow", "state", "at", "root")

    def __init__(self, flow: Any, state: dict[str, Any], at: float, root: Any = None):
        self.flow = flow  # the flow whose step runs now (a subflow after a goto)
        self.state = state
        self.at = at
        self.root = flow if root is None else root  # the call's own flow, which holds every subflow

    @property
    def vars(self) -> dict[str, Any]:
        variables: dict[str, Any] = self.state["vars"]
        return variables

    @property
    def scratch(self) -> dict[str, Any]:
        """Per-step working memory (retries, digits being confirmed); cleared when a step is entered."""
        scratch: dict[str, Any] = self.state["scratch"]
        return scratch

    def render(self, template: Template | None) -> str:
        return template.render(self.state["vars"]) if template is not None else ""

    @property
    def language(self) -> str:
        """The call's language (the variable `language`; ivr/engine/language.py)."""
        return str(self.state["vars"].get(LANGUAGE_VAR) or self.flow.language)

    def spoken(self, prompt: Prompt) -> tuple[str, Template | None, str, str]:
        """(text key, template, voice, language) of what this call hears of `prompt`."""
        flow = self.flow
        if prompt.single and not flow.voices:  # one text: the flow's, as it always was
            return "", prompt.text, prompt.voice or flow.voice, flow.language
        key, text, language = prompt.choose(self.language, flow.language)
        voice = prompt.voice or voice_for(language, flow.voice, flow.voices, flow.language)
        return key, text, voice, language

    def say(self, prompt: Prompt | None, barge_in: bool = True) -> list[Action]:
        if prompt is None or prompt.empty:
            return []
        flow = self.flow
        if prompt.single and not flow.voices:  # inline (as spoken() does): most prompts, on every turn
            key, template, voice, language = "", prompt.text, prompt.voice or flow.voice, flow.language
        else:
            key, template, voice, language = self.spoken(prompt)
        if template is None or not template.names:  # fixed text: build the (immutable) action once
            cache_key = (voice, language, barge_in, key)
            cached = prompt.cache.get(cache_key)
            if cached is None:
                cached = prompt.cache[cache_key] = Say(
                    text=self.render(template), audio=prompt.audio, voice=voice, language=language, barge_in=barge_in
                )
            return [cached]
        text = self.render(template)
        if not text.strip() and not prompt.audio:  # e.g. "{{caller.name}}" for a caller with no name
            return []
        return [Say(text=text, audio=prompt.audio, voice=voice, language=language, barge_in=barge_in)]

    def job(self, step_id: str, kind: str, payload: dict[str, Any], suffix: str = "") -> Job:
        """A job whose idempotency key is the same whenever the same call reaches the same step visit."""
        visit = self.state["visits"].get(self.state_key(step_id), 1)
        key = f"{self.state['call_id']}:{self.state_key(step_id)}:{visit}{suffix}"
        base = {
            "call_id": self.state["call_id"],
            "flow_id": self.state["flow_id"],
            "step": step_id,
            "caller": self.state["caller"],
            "channel": self.state["channel"],
        }
        base.update(payload)
        return Job(kind=kind, payload=base, idempotency_key=key)

    def state_key(self, step_id: str) -> str:
        current = self.state.get("current_flow") or self.state["flow_id"]
        return step_id if current == self.state["flow_id"] else f"{current}/{step_id}"


class Step:
    """Base class: subclasses set `kind`, parse their spec, and implement `enter` (and `handle` if they wait)."""

    kind: ClassVar[str] = ""
    waits: ClassVar[Waiting | None] = None  # what a waiting step expects
    input_step: ClassVar[bool] = False  # breaks a cycle for the validator (the caller must act)
    terminal: ClassVar[bool] = False  # may end a path (hangup, transfer, return)
    outcome_on_success: ClassVar[bool] = False  # `outcome` applies only once the step succeeds (transfer, voicemail)

    def __init__(self, step_id: str, spec: Spec):
        self.id = step_id
        self.spec = spec
        self.outcome = spec.get("outcome", "")

    def exits(self) -> dict[str, str]:
        """Exit label -> target step id (labels are the spec keys, for error locations)."""
        return {"next": self.spec["next"]} if "next" in self.spec else {}

    def templates(self) -> TemplateRefs:
        """(spec path, template) pairs, so the validator can check every name."""
        return []

    def defines(self) -> tuple[str, ...]:
        """Variable names this step assigns (for the validator's unknown-name check)."""
        return ()

    def enter(self, ctx: Context) -> Outcome:
        raise NotImplementedError

    def handle(self, ctx: Context, event: Event) -> Outcome:
        return Outcome(wait=self.waits)

    def gather(self, **kwargs: Any) -> Gather:
        return Gather(step=self.id, **kwargs)
