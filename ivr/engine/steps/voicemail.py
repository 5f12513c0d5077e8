"""voicemail: prompt, record up to `max_length` (ended by silence, a key or hang-up), then follow up
with the recording (email/sms/webhook) and go on."""

from __future__ import annotations

from ..actions import Action, Log, Record
from ..events import Event, RecordingDone
from ..states import Waiting
from ..template import compile_template
from .base import Context, Outcome, Prompt, Spec, Step, TemplateRefs
from .follow_up import FIELDS


class Voicemail(Step):
    kind = "voicemail"
    waits = Waiting.RECORD
    outcome_on_success = True
    input_step = True

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.prompt = Prompt.given_or_builtin(spec.get("prompt"), "voicemail")
        self.max_length = float(spec.get("max_length", 120))
        self.silence_timeout = float(spec.get("silence_timeout", 5))
        self.finish_on_key = str(spec.get("finish_on_key", "#"))
        follow_up = spec.get("follow_up") or {}
        self.follow_kind = follow_up.get("kind", "")
        self.follow_fields = {k: compile_template(follow_up[k]) for k in FIELDS if k in follow_up}

    def templates(self) -> TemplateRefs:
        found = [(("prompt",), t) for t in self.prompt.templates()] if "prompt" in self.spec and self.prompt else []
        return found + [(("follow_up", k), t) for k, t in self.follow_fields.items()]

    def enter(self, ctx: Context) -> Outcome:
        actions = ctx.say(self.prompt, barge_in=False)
        actions.append(
            Record(max_length=self.max_length, silence_timeout=self.silence_timeout, finish_on_key=self.finish_on_key)
        )
        return Outcome(actions=actions, wait=self.waits)

    def handle(self, ctx: Context, event: Event) -> Outcome:
        if not isinstance(event, RecordingDone):
            return Outcome(wait=self.waits)
        if not event.url or event.duration <= 0:
            return Outcome(actions=[Log(event="voicemail_empty", data={"step": self.id})], next=self.spec.get("next"))
        ctx.vars["recording.url"] = event.url
        ctx.vars["recording.duration"] = str(round(event.duration))
        recording = {"recording_url": event.url, "recording_duration": event.duration}
        ctx.state["outcome"] = self.outcome or "voicemail"
        actions: list[Action] = [Log(event="voicemail", data={"step": self.id, **recording})]
        if self.follow_kind:
            payload = {k: ctx.render(t) for k, t in self.follow_fields.items()} | recording
            actions.append(ctx.job(self.id, self.follow_kind, payload))
        actions += [
            ctx.job(self.id, "webhook", {"url": url, "event": "voicemail.left", "data": recording}, suffix=f":wh{i}")
            for i, url in enumerate(ctx.flow.webhooks)
        ]
        return Outcome(actions=actions, next=self.spec.get("next"))
