"""follow_up: emit a job (email, sms, webhook or chat) with rendered fields, optionally tell the caller, go on.

The job's idempotency key is call id + step id + visit, so a replayed turn never sends twice.
"""

from __future__ import annotations

from ..actions import Action, Log
from ..template import compile_template
from .base import Context, Outcome, Prompt, Spec, Step, TemplateRefs

FIELDS = ("to", "subject", "message", "url", "event", "template", "link")


class FollowUp(Step):
    kind = "follow_up"

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.job_kind = spec["kind"]
        self.fields = {name: compile_template(spec[name]) for name in FIELDS if name in spec}
        self.confirmation = Prompt.parse(spec.get("say"))

    def templates(self) -> TemplateRefs:
        found = [((name,), t) for name, t in self.fields.items()]
        if self.confirmation is not None:
            found += [(("say",), t) for t in self.confirmation.templates()]
        return found

    def enter(self, ctx: Context) -> Outcome:
        payload = {name: ctx.render(t) for name, t in self.fields.items()}
        if ctx.flow.country and self.job_kind in ("sms", "chat"):  # where the worker reads a number without '+'
            payload["country"] = ctx.flow.country
        job = ctx.job(self.id, self.job_kind, payload)
        ctx.state["outcome"] = self.outcome or f"{self.job_kind}_sent"
        actions: list[Action] = [
            job,
            Log(event="follow_up", data={"step": self.id, "kind": self.job_kind, "job_id": job.idempotency_key}),
        ]
        actions += ctx.say(self.confirmation)
        return Outcome(actions=actions, next=self.spec.get("next"))
