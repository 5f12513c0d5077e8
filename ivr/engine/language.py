"""A call's language: how it is chosen, and which of a prompt's texts it hears.

The call's language is the variable `language`. At the start it is the flow's `languages.by_prefix` entry for the
caller's number (the longest prefix wins), else the flow's `language`; a `set` step may change it at any time
(`vars: {language: de}`). A prompt given per language (`text: {en: ..., de: ...}`) is heard in the first of: the
call's language ("de-AT"), its primary language ("de"), the flow's language, its primary language, English, or
else its first text. The Say then carries a full locale ("de" -> "de-DE", the call's "de-AT" when it shares the
language), which picks the TTS voice on SIP and the <Say language> on Twilio.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from .phrases import DEFAULT_LOCALES, primary

LANGUAGE_VAR = "language"
T = TypeVar("T")


def language_for_caller(caller: str, by_prefix: Mapping[str, str], default: str) -> str:
    """The language for a caller's number: the longest matching prefix's, else `default`."""
    best = ""
    for prefix in by_prefix:
        if caller.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return by_prefix[best] if best else default


def fallback_chain(call_language: str, flow_language: str) -> tuple[str, ...]:
    """The keys to try, in order, for a call in `call_language` of a flow in `flow_language`."""
    chain: list[str] = []
    for tag in (call_language, primary(call_language), flow_language, primary(flow_language), "en"):
        if tag and tag not in chain:
            chain.append(tag)
    return tuple(chain)


def pick(variants: Mapping[str, T], call_language: str, flow_language: str) -> str:
    """The key of `variants` (language tag -> text) a call hears; matching is case-insensitive. A text in the
    call's language for another region ("de-CH" for a "de-AT" call) comes before the flow's language."""
    by_lower = {key.lower(): key for key in variants}
    chain = fallback_chain(call_language, flow_language)
    own = 2 if "-" in call_language else 1  # the call's own tags lead the chain
    for tag in chain[:own]:
        if tag.lower() in by_lower:
            return by_lower[tag.lower()]
    for key in variants:
        if primary(key) == primary(call_language):
            return key
    for tag in chain[own:]:
        if tag.lower() in by_lower:
            return by_lower[tag.lower()]
    return next(iter(variants))


def locale(key: str, call_language: str, flow_language: str) -> str:
    """The full locale a text in language `key` is spoken with: its own region, else the call's or the flow's
    when they share its language, else the language's default region."""
    if "-" in key:
        return key
    for tag in (call_language, flow_language):
        if "-" in tag and primary(tag) == key.lower():
            return tag
    return DEFAULT_LOCALES.get(key.lower(), key)


def voice_for(language: str, voice: str, voices: Mapping[str, str], flow_language: str) -> str:
    """The flow's voice for a Say in `language`: from its per-language `voice:` map, or its one voice when the
    Say is in the flow's own language ("" otherwise: the channel's voice for that language)."""
    if voices:
        lowered = {key.lower(): value for key, value in voices.items()}
        for tag in (language, primary(language)):
            if tag.lower() in lowered:
                return lowered[tag.lower()]
        return ""
    return voice if primary(language) == primary(flow_language) else ""
