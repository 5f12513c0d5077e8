"""callback: queue a callback to a number, to be placed within business hours; tell the caller; go on."""

from __future__ import annotations

from ..actions import Action, Log
from ..template import compile_template
from .base import Context, Outcome, Prompt, Spec, Step, TemplateRefs


class Callback(Step):
    kind = "callback"

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.number = compile_template(spec.get("number", "{{caller.number}}"))
        self.connect_to = compile_template(spec["connect_to"]) if "connect_to" in spec else None
        self.confirmation = Prompt.parse(spec.get("say"))

    def templates(self) -> TemplateRefs:
        found = [(("number",), self.number)]
        if self.connect_to is not None:
            found.append((("connect_to",), self.connect_to))
        if self.confirmation is not None:
            found += [(("say",), t) for t in self.confirmation.templates()]
        return found

    def enter(self, ctx: Context) -> Outcome:
        number = ctx.render(self.number)
        schedule = ctx.flow.schedule
        payload = {
            "number": number,
            "requested_at": ctx.at,
            "connect_to": ctx.render(self.connect_to),
            "schedule": schedule.spec if schedule is not None else None,
        }
        if ctx.flow.country:  # where the worker reads digits typed without a '+' (ivr/phone)
            payload["country"] = ctx.flow.country
        job = ctx.job(self.id, "callback", payload)
        ctx.state["outcome"] = self.outcome or "callback_requested"
        actions: list[Action] = [job, Log(event="callback_requested", data={"step": self.id, "number": number})]
        actions += [
            ctx.job(self.id, "webhook", {"url": url, "event": "callback.requested", "data": payload}, suffix=f":wh{i}")
            for i, url in enumerate(ctx.flow.webhooks)
        ]
        actions += ctx.say(self.confirmation)
        return Outcome(actions=actions, next=self.spec.get("next"))
