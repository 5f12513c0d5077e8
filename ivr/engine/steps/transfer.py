"""transfer: put the caller through to a SIP URI or phone number; on failure take the mandatory `failed` exit.

`mode: bridge` (the default) has the channel dial the target itself and relay the audio, with an optional
`whisper` the answering party hears (and must accept with `accept_digit`) before the caller is bridged;
`mode: refer` is the blind transfer some PBXs want. The channel answers with TransferResult; its reason
("no-answer", "busy", "declined", "refused", ...) is kept in the variable `transfer.reason` for the `failed` path.
"""

from __future__ import annotations

from ..actions import Log, Transfer
from ..events import Event, TransferResult
from ..states import End, Waiting
from ..template import compile_template
from .base import Context, Outcome, Prompt, Spec, Step, TemplateRefs

CONTEXT_STEPS = 12  # the last steps visited that go into the hand-over context (a SIP header stays short)


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
        self.mode = str(spec.get("mode", "bridge"))
        self.whisper = Prompt.parse(spec.get("whisper"))
        self.accept_digit = str(spec.get("accept_digit", "1"))
        self.ringback = str(spec.get("ringback", "tone"))
        self.record = bool(spec.get("record", False)) and self.mode == "bridge"
        self.consent = Prompt.given_or_builtin(spec.get("record_consent"), "record_consent") if self.record else None

    def exits(self) -> dict[str, str]:
        return {"failed": self.spec["failed"]} if "failed" in self.spec else {}

    def templates(self) -> TemplateRefs:
        found = [(("to",), self.target)]
        for field_name, prompt in (
            ("say", self.announcement),
            ("whisper", self.whisper),
            ("record_consent", self.consent),
        ):
            if prompt is not None:
                found += [((field_name,), t) for t in prompt.templates()]
        return found

    def defines(self) -> tuple[str, ...]:
        return ("transfer.reason",)

    def enter(self, ctx: Context) -> Outcome:
        target = ctx.render(self.target)
        actions = ctx.say(self.announcement, barge_in=False) + ctx.say(self.consent, barge_in=False)
        actions += [
            Log(event="transfer", data={"step": self.id, "target": target, "mode": self.mode}),
            self._action(ctx, target),
        ]
        return Outcome(actions=actions, wait=self.waits)

    def _action(self, ctx: Context, target: str) -> Transfer:
        whisper = self.whisper
        if whisper is not None:  # given per language, it follows the call's; a single text stays the flow's
            _, text, voice, language = ctx.spoken(whisper)
        else:
            text, voice, language = None, ctx.flow.voice, ctx.flow.language
        return Transfer(
            target=target,
            timeout=self.timeout,
            mode=self.mode,
            accept_digit=self.accept_digit,
            whisper=ctx.render(text),
            whisper_audio=whisper.audio if whisper else "",
            ringback=self.ringback,
            context=hand_over_context(ctx),
            voice=voice,
            language=language,
            record=self.record,
        )

    def handle(self, ctx: Context, event: Event) -> Outcome:
        if not isinstance(event, TransferResult):
            return Outcome(wait=self.waits)
        log = Log(event="transfer_result", data={"step": self.id, "ok": event.ok, "reason": event.reason})
        if event.ok and event.recording:
            log.data["recording"] = event.recording
        if event.ok:
            ctx.state["outcome"] = self.outcome or "transferred"
            return Outcome(actions=[log], end=End.TRANSFERRED)
        ctx.vars["transfer.reason"] = event.reason or "failed"
        return Outcome(actions=[log], next=self.spec["failed"])


def hand_over_context(ctx: Context) -> str:
    """`path=a>b>c; digits=0; caller=+44...`: what the caller went through and the last input heard, for the
    answering party (the SIP X-IVR-Context header)."""
    parts = ["path=" + ">".join(str(step) for step in ctx.state["path"][-CONTEXT_STEPS:])]
    for name in ("digits", "speech"):
        heard = str(ctx.vars.get(name, "")).replace(";", ",")[:80]
        if heard:
            parts.append(f"{name}={heard}")
    parts.append(f"caller={ctx.state.get('caller', '')}")
    return "; ".join(parts)
