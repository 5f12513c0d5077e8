"""collect_digits: read a number (e.g. for a callback) with length limits, a finish key, a pattern,
optional read-back-and-confirm, and bounded retries with an `exhausted` exit."""

from __future__ import annotations

import re

from ..actions import Action, Gather, Log
from ..events import Digits, Event, NoInput, Speech
from ..phrases import digit_words, hints, yes_no
from .base import Context, Outcome, Prompt, Spec, TemplateRefs
from .input_base import InputStep

# What a speech recognizer is told to expect (Twilio `hints`, the SIP recognizer's vocabulary).
_WORD = re.compile(r"(?:[^\W_]|')+")  # letters of any language ("fünf", "zéro") and digits
DIGIT_HINTS = ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CONFIRM_HINTS = ("yes", "no", "correct", "one", "two")


class CollectDigits(InputStep):
    kind = "collect_digits"

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.min_digits = int(spec.get("min_digits", 1))
        self.max_digits = int(spec.get("max_digits", 20))
        self.finish_on_key = str(spec.get("finish_on_key", "#"))
        self.pattern = re.compile(spec["pattern"]) if spec.get("pattern") else None
        self.save_as = spec["save_as"]
        confirm = spec.get("confirm", False)  # true: the built-in read-back, in the call's language
        self.confirm = Prompt.builtin("confirm", self.save_as) if confirm is True else Prompt.parse(confirm or None)

    def defines(self) -> tuple[str, ...]:
        return (self.save_as,)

    def templates(self) -> TemplateRefs:
        found = super().templates()
        if self.confirm is not None and isinstance(self.spec.get("confirm"), (str, dict)):
            found += [(("confirm",), t) for t in self.confirm.templates()]
        return found

    def make_gather(self, ctx: Context) -> Gather:
        speech = ctx.flow.speech  # spoken digits, and "yes" / "no" at the read-back
        if ctx.scratch.get("candidate"):
            return self.gather(
                input=("dtmf", "speech") if speech else ("dtmf",),
                timeout=self.timeout,
                min_digits=1,
                max_digits=1,
                hints=hints(ctx.language, CONFIRM_HINTS, confirm=True) if speech else (),
                barge_in=self.barge_in,
            )
        return self.gather(
            input=("dtmf", "speech") if speech else ("dtmf",),
            timeout=self.timeout,
            inter_digit_timeout=self.inter_digit_timeout,
            min_digits=self.min_digits,
            max_digits=self.max_digits,
            finish_on_key=self.finish_on_key,
            hints=hints(ctx.language, DIGIT_HINTS) if speech else (),
            barge_in=self.barge_in,
        )

    def enter(self, ctx: Context) -> Outcome:
        return self.ask(ctx)

    def ask(self, ctx: Context, lead_in: list[Action] | None = None) -> Outcome:
        if ctx.scratch.get("candidate"):
            actions = list(lead_in or ()) + ctx.say(self.confirm, self.barge_in) + [self.make_gather(ctx)]
            return Outcome(actions=actions, wait=self.waits)
        return super().ask(ctx, lead_in)

    def handle(self, ctx: Context, event: Event) -> Outcome:
        if isinstance(event, NoInput):
            return self.retry(ctx, "no_input")
        if isinstance(event, Speech):
            words = _WORD.findall(event.text.lower().replace("-", " "))
            numbers = digit_words(ctx.language)
            digits = "".join(numbers.get(w, "".join(ch for ch in w if ch.isdigit())) for w in words)
            if ctx.scratch.get("candidate"):
                said, (yes, no) = set(words), yes_no(ctx.language)  # "yes" / "one" confirms, "no" / "two" re-enters
                answer = digits[:1] or ("1" if said & yes else "2" if said & no else "")
                return self.answer_confirm(ctx, answer) if answer else self.retry(ctx, "no_match", event.text)
            return self.accept(ctx, digits) if digits else self.retry(ctx, "no_match", event.text)
        if isinstance(event, Digits):
            if ctx.scratch.get("candidate"):
                return self.answer_confirm(ctx, event.digits[:1])
            return self.accept(ctx, event.digits)
        return Outcome(wait=self.waits)

    def accept(self, ctx: Context, raw: str) -> Outcome:
        digits = raw.split(self.finish_on_key, 1)[0] if self.finish_on_key else raw
        valid = self.min_digits <= len(digits) <= self.max_digits and digits.strip("0123456789*") == ""
        if valid and self.pattern is not None:
            valid = self.pattern.fullmatch(digits) is not None
        if not valid:
            return self.retry(ctx, "no_match", digits)
        if self.confirm is None:
            return self.finish(ctx, digits)
        ctx.scratch["candidate"] = digits
        ctx.scratch.setdefault("before", ctx.vars.get(self.save_as))
        ctx.vars[self.save_as] = digits  # so the read-back template can speak it, until confirmed or rejected
        return self.ask(ctx)

    def answer_confirm(self, ctx: Context, key: str) -> Outcome:
        candidate = ctx.scratch.pop("candidate")
        if key == "1":
            return self.finish(ctx, candidate)
        if key == "2":
            self.forget_candidate(ctx)
            ctx.scratch["failures"] = ctx.scratch.get("failures", 0) + 1  # re-entries count: no endless loop
            log = Log(event="reentry", data={"step": self.id, "attempt": ctx.scratch["failures"]})
            if ctx.scratch["failures"] > self.max_retries:
                return Outcome(
                    actions=[log, Log(event="exhausted", data={"step": self.id})], next=self.spec["exhausted"]
                )
            return self.ask(ctx, [log])
        ctx.scratch["candidate"] = candidate
        return self.retry(ctx, "no_match", key)

    def retry(self, ctx: Context, reason: str, detail: str = "") -> Outcome:
        outcome = super().retry(ctx, reason, detail)
        if outcome.wait is None:  # exhausted: a number the caller never confirmed must not be used
            self.forget_candidate(ctx)
        return outcome

    def forget_candidate(self, ctx: Context) -> None:
        """Put back what save_as held before an unconfirmed entry (or remove it)."""
        if "before" in ctx.scratch:
            before = ctx.scratch.pop("before")
            if before is None:
                ctx.vars.pop(self.save_as, None)
            else:
                ctx.vars[self.save_as] = before

    def finish(self, ctx: Context, digits: str) -> Outcome:
        ctx.scratch.pop("before", None)
        ctx.vars[self.save_as] = digits
        ctx.vars["digits"] = digits
        return Outcome(
            actions=[Log(event="digits_collected", data={"step": self.id, "digits": digits})],
            next=self.spec.get("next"),
        )
