"""hangup: an optional goodbye, then end the call."""

from __future__ import annotations

from ..states import End
from .base import Context, Outcome, Prompt, Spec, Step, TemplateRefs


class HangupStep(Step):
    kind = "hangup"
    terminal = True

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.goodbye = Prompt.parse(spec.get("say"))

    def templates(self) -> TemplateRefs:
        return [(("say",), t) for t in self.goodbye.templates()] if self.goodbye else []

    def enter(self, ctx: Context) -> Outcome:
        if self.outcome:
            ctx.state["outcome"] = self.outcome
        return Outcome(actions=ctx.say(self.goodbye, barge_in=False), end=End.COMPLETED)
