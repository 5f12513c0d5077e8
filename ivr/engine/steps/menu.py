"""menu: a prompt with choices by digit and by spoken keyword, bounded retries and an `exhausted` exit."""

from __future__ import annotations

import re
from typing import Any

from ..actions import Gather, Log
from ..events import Digits, Event, NoInput, Speech
from ..phrases import DIGIT_WORDS, digit_words
from .base import Context, Outcome, Spec
from .input_base import InputStep

# Spoken digits map onto digit choices ("press or say one"); the call's language adds its own words.
NUMBER_WORDS = DIGIT_WORDS["en"]
_WORD = re.compile(r"(?:[^\W_]|')+")  # letters of any language ("fünf", "zéro") and digits


class Menu(InputStep):
    kind = "menu"

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.choices: list[dict[str, Any]] = spec.get("choices", [])
        self.by_digit = {str(c["digit"]): c for c in self.choices if "digit" in c}
        # keywords as word sequences, so "live chat", "Live-chat" and "live  chat." all match the same way
        self.keywords: list[tuple[str, tuple[str, ...], dict[str, Any]]] = [
            (kw.lower(), tuple(_WORD.findall(kw.lower())), c) for c in self.choices for kw in c.get("keywords", ())
        ]
        self.max_len = max((len(d) for d in self.by_digit), default=1)
        self.min_confidence = float(spec.get("min_confidence", 0.0))
        self.save_as = spec.get("save_as", "")
        self._gathers: dict[bool, Gather] = {}

    def exits(self) -> dict[str, str]:
        exits = super().exits()
        for index, choice in enumerate(self.choices):
            exits[f"choices.{index}.goto"] = choice["goto"]
        return exits

    def defines(self) -> tuple[str, ...]:
        return (self.save_as,) if self.save_as else ()

    def make_gather(self, ctx: Context) -> Gather:
        speech = ctx.flow.speech and bool(self.keywords)
        cached = self._gathers.get(speech)
        if cached is None:  # the same immutable Gather every time this menu asks
            cached = self._gathers[speech] = self.gather(
                input=("dtmf", "speech") if speech else ("dtmf",),
                timeout=self.timeout,
                inter_digit_timeout=self.inter_digit_timeout,
                min_digits=1,
                max_digits=self.max_len,
                hints=tuple(kw for kw, _, _ in self.keywords),
                barge_in=self.barge_in,
                min_confidence=float(self.spec.get("min_confidence", -1.0)),
            )
        return cached

    def enter(self, ctx: Context) -> Outcome:
        return self.ask(ctx)

    def handle(self, ctx: Context, event: Event) -> Outcome:
        if isinstance(event, NoInput):
            return self.retry(ctx, "no_input")
        if isinstance(event, Digits):
            entered = event.digits.strip().rstrip("#") or event.digits.strip()
            return self.choose(ctx, self.by_digit.get(entered), "dtmf", entered)
        if isinstance(event, Speech):
            if event.confidence < self.min_confidence or not event.text.strip():
                return self.retry(ctx, "no_match", event.text)
            return self.choose(ctx, self.match_speech(event.text, ctx.language), "speech", event.text)
        return Outcome(wait=self.waits)

    def match_speech(self, text: str, language: str = "en") -> dict[str, Any] | None:
        words = tuple(_WORD.findall(text.lower()))
        for _, keyword, choice in self.keywords:
            size = len(keyword)
            if size and any(words[i : i + size] == keyword for i in range(len(words) - size + 1)):
                return choice
        numbers = digit_words(language)
        spoken = "".join(numbers.get(w, w if w.isdigit() else "") for w in words)
        return self.by_digit.get(spoken)

    def choose(self, ctx: Context, choice: dict[str, Any] | None, via: str, heard: str) -> Outcome:
        if choice is None:
            return self.retry(ctx, "no_match", heard)
        label = str(choice.get("digit", "")) or choice.get("keywords", [""])[0]
        ctx.vars["digits" if via == "dtmf" else "speech"] = heard
        if self.save_as:
            ctx.vars[self.save_as] = label
        return Outcome(
            actions=[Log(event="menu_choice", data={"step": self.id, "choice": label, "via": via})], next=choice["goto"]
        )
