"""say: speak text (with {{variables}}) or play an audio file, optionally repeated, then go on."""

from __future__ import annotations

from .base import Context, Outcome, Prompt, Spec, Step, TemplateRefs


class SayStep(Step):
    kind = "say"

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.prompt = Prompt.parse({k: spec[k] for k in ("text", "audio", "voice", "language") if k in spec})
        self.repeat = int(spec.get("repeat", 1))
        self.barge_in = bool(spec.get("barge_in", True))

    def templates(self) -> TemplateRefs:
        return [(("text",), t) for t in self.prompt.templates()] if self.prompt is not None else []

    def enter(self, ctx: Context) -> Outcome:
        return Outcome(actions=ctx.say(self.prompt, self.barge_in) * self.repeat, next=self.spec.get("next"))
