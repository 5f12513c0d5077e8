"""transfer: blind-transfer to a SIP URI or phone number; on failure take the mandatory `failed` exit."""
from __future__ import annotations

from ..actions import Log, Transfer
from ..events import Event, TransferResult
from ..states import End, Waiting
from ..template import compile_template
from .base import Context, Outcome, Prompt, Spec, Step, TemplateRefs


class TransferStep(Step):
    kind = "transfer"
    waits = Waiting.TRANSFER
    outcome_on_success = True
    terminal = True

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.target = compile_template(spec["to"])
        self.timeout = float(spec.get("timeout", 30))
        self.announcement = Prompt.parse(spec.get("say"))

    def exits(self) -> dict[str, str]:
        return {"failed": self.spec["failed"]} if "failed" in self.spec else {}

    def templates(self) -> TemplateRefs:
        found = [(("to",), self.target)]
        if self.announcement is not None:
            found += [(("say",), t) for t in self.announcement.templates()]
        return found

    def enter(self, ctx: Context) -> Outcome:
        target = ctx.render(self.target)
        actions = ctx.say(self.announcement, barge_in=False)
        actions += [Log(event="transfer", data={"step": self.id, "target": target}),
                    Transfer(target=target, timeout=self.timeout)]
        return Outcome(actions=actions, wait=self.waits)

    def handle(self, ctx: Context, event: Event) -> Outcome:
        if not isinstance(event, TransferResult):
            return Outcome(wait=self.waits)
        log = Log(event="transfer_result", data={"step": self.id, "ok": event.ok, "reason": event.reason})
        if event.ok:
            ctx.state["outcome"] = self.outcome or "transferred"
            return Outcome(actions=[log], end=End.TRANSFERRED)
        return Outcome(actions=[log], next=self.spec["failed"])
