"""Prompts: the one place a prompt's spec is parsed, and where a call's language picks what it hears.

A prompt is a string, or a mapping with `text`, `audio`, `voice` and `language`. Its `text` may be given per
language (`text: {en: "Welcome", de: "Willkommen"}`); ivr/engine/language.py says which one a call hears. The
built-in phrases (ivr/engine/phrases.py) are prompts given in every language they have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .actions import Say
from .language import locale, pick
from .phrases import PHRASES
from .template import Template, compile_template

# What a call hears: (the text's language key, or "" for a single text; the template; the Say's language)
Choice = tuple[str, Template | None, str]


@dataclass(frozen=True)
class Prompt:
    """Text (a template, or one per language) and/or an audio file, with optional voice and language overrides."""

    text: Template | None = None
    audio: str = ""
    voice: str = ""
    language: str = ""
    texts: dict[str, Template] = field(default_factory=dict)  # per-language texts: language tag -> template
    # prebuilt Say actions by (voice, language, barge_in, text key)
    cache: dict[tuple[str, str, bool, str], Say] = field(default_factory=dict, compare=False, repr=False)
    # Worked out once, not on every turn: nothing to say; one text for every call (no languages to choose from)
    empty: bool = field(init=False, compare=False, repr=False)
    single: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        blank = not self.audio and not self.texts and (self.text is None or not self.text.source)
        object.__setattr__(self, "empty", blank)
        object.__setattr__(self, "single", not self.texts and not self.language)

    @classmethod
    def parse(cls, spec: Any) -> Prompt | None:
        if spec is None:
            return None
        if not isinstance(spec, dict):
            return cls(text=compile_template(spec))
        text = spec.get("text")
        return cls(
            text=compile_template(text) if "text" in spec and not isinstance(text, dict) else None,
            audio=spec.get("audio", ""),
            voice=spec.get("voice", ""),
            language=spec.get("language", ""),
            texts={str(k): compile_template(v) for k, v in text.items()} if isinstance(text, dict) else {},
        )

    @classmethod
    def builtin(cls, name: str, *args: str) -> Prompt:
        """A built-in phrase in every language it has (`args` fill its `%s`, e.g. a variable's name)."""
        phrases = PHRASES[name].items()
        return cls(texts={lang: compile_template(text % args if args else text) for lang, text in phrases})

    @classmethod
    def given_or_builtin(cls, spec: Any, name: str, *args: str) -> Prompt | None:
        """The step's own prompt when its spec gives one, else the built-in phrase `name`."""
        return cls.parse(spec) if spec is not None else cls.builtin(name, *args)

    def templates(self) -> list[Template]:
        return ([self.text] if self.text is not None else []) + list(self.texts.values())

    def choose(self, call_language: str, flow_language: str) -> Choice:
        """The text a call in `call_language` hears, and the language its Say carries."""
        if not self.texts:
            return "", self.text, self.language or flow_language
        key = pick(self.texts, call_language, flow_language)
        return key, self.texts[key], self.language or locale(key, call_language, flow_language)
