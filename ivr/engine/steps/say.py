"""say: speak text (with {{variables}}) or play an audio file, optionally repeated, then go on."""
from __future__ import annotations

from .base import Context, Outcome, Prompt, Step


class SayStep(Step):
    kind = "say"

    def __init__(self, step_id: str, spec: dict):
        super().__init__(step_id, spec)
        self.prompt = Prompt.parse({k: spec[k] for k in ("text", "audio", "voice", "language") if k in spec})
        self.repeat = int(spec.get("repeat", 1))
        self.barge_in = bool(spec.get("barge_in", True))

    def templates(self):
        return [(("text",), t) for t in self.prompt.templates()]

    def enter(self, ctx: Context) -> Outcome:
        return Outcome(actions=ctx.say(self.prompt, self.barge_in) * self.repeat, next=self.spec.get("next"))
