"""Shared behaviour of steps that ask the caller for input (menu, collect_digits).

Bounded retries: every no-input or no-match counts; after `max_retries` re-prompts the step
takes its mandatory `exhausted` exit, so no menu can loop forever.
"""

from __future__ import annotations

from ..actions import Action, Gather, Log
from ..states import Waiting
from .base import Context, Outcome, Prompt, Spec, Step, TemplateRefs


class InputStep(Step):
    waits = Waiting.INPUT
    input_step = True

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.prompt = Prompt.parse(spec.get("prompt"))
        # without their own, the built-in phrases in the call's language (ivr/engine/phrases.py)
        self.no_input = Prompt.given_or_builtin(spec.get("no_input"), "no_input")
        self.no_match = Prompt.given_or_builtin(spec.get("no_match"), "no_match")
        self.timeout = float(spec.get("timeout", 6))
        self.inter_digit_timeout = float(spec.get("inter_digit_timeout", 3))
        self.max_retries = int(spec.get("max_retries", 2))
        self.barge_in = bool(spec.get("barge_in", True))

    def exits(self) -> dict[str, str]:
        exits = super().exits()
        if "exhausted" in self.spec:
            exits["exhausted"] = self.spec["exhausted"]
        return exits

    def templates(self) -> TemplateRefs:
        found = []
        for key in ("prompt", "no_input", "no_match"):
            prompt = getattr(self, key)
            if prompt is not None and key in self.spec:
                found += [((key,), t) for t in prompt.templates()]
        return found

    def ask(self, ctx: Context, lead_in: list[Action] | None = None) -> Outcome:
        """Play the prompt (after an optional apology) and wait for input."""
        actions = list(lead_in or ())
        actions += ctx.say(self.prompt, self.barge_in)
        actions.append(self.make_gather(ctx))
        return Outcome(actions=actions, wait=self.waits)

    def make_gather(self, ctx: Context) -> Gather:
        raise NotImplementedError

    def retry(self, ctx: Context, reason: str, detail: str = "") -> Outcome:
        """Count a failed attempt; re-prompt with an apology, or take the exhausted exit."""
        scratch = ctx.scratch
        scratch["failures"] = scratch.get("failures", 0) + 1
        log = Log(event=reason, data={"step": self.id, "input": detail, "attempt": scratch["failures"]})
        if scratch["failures"] > self.max_retries:
            return Outcome(actions=[log, Log(event="exhausted", data={"step": self.id})], next=self.spec["exhausted"])
        apology = ctx.say(self.no_input if reason == "no_input" else self.no_match, self.barge_in)
        return self.ask(ctx, [log] + apology)
