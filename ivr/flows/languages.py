"""A flow's languages: reading `languages:` and `voice:` for the engine, and the validator's language checks.

`languages: [en, de]` declares the languages every prompt is given in; the long form (`declared`, optional) adds
how a call's language is chosen from the caller's number (`by_prefix: {"+49": de}`, and `by_region: true` for the
countries whose language is declared, or of the built-in languages without `declared`, by their calling codes from
`phonenumbers`). With languages declared, the validator
reports at its `file:line`: a prompt without a text in one of them (a plain string is in the flow's language
only), a `by_prefix` or `set` language that is not declared, and a step that falls back on a built-in phrase the
engine does not have in a declared language (ivr/engine/phrases.py has en, de, fr and es).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import phonenumbers

from ..engine.language import LANGUAGE_VAR
from ..engine.phrases import PHRASES, primary
from .schema import flow_schema
from .source import Located, NodePath, Problem

# Countries whose calls `by_region: true` gives a language (when that language is declared).
REGION_LANGUAGES = {
    "en": ("GB", "IE", "US", "AU", "NZ"),
    "de": ("DE", "AT", "CH", "LI"),
    "fr": ("FR", "BE", "LU", "MC"),
    "es": ("ES", "MX", "AR", "CO", "CL", "PE"),
}


def declared_languages(data: dict[str, Any]) -> tuple[str, ...]:
    spec = data.get("languages")
    declared = spec.get("declared", ()) if isinstance(spec, dict) else spec or ()
    return tuple(str(tag) for tag in declared)


def languages_by_prefix(data: dict[str, Any]) -> dict[str, str]:
    """Caller number prefix -> the call's language: `by_region`'s calling codes, then `by_prefix` over them."""
    spec = data.get("languages")
    if not isinstance(spec, dict):
        return {}
    found: dict[str, str] = {}
    if spec.get("by_region"):
        for tag in declared_languages(data) or tuple(REGION_LANGUAGES):
            for region in REGION_LANGUAGES.get(primary(tag), ()):
                found.setdefault(f"+{phonenumbers.country_code_for_region(region)}", tag)
    found.update({str(prefix): str(tag) for prefix, tag in (spec.get("by_prefix") or {}).items()})
    return found


def voices(data: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """(the flow's voice, its voices per language): `voice:` is one voice or a map language -> voice."""
    voice = data.get("voice", "")
    if not isinstance(voice, dict):
        return str(voice), {}
    per_language = {str(k): str(v) for k, v in voice.items()}
    language = str(data.get("language", "en-US"))
    own = per_language.get(language) or per_language.get(primary(language), "")
    return own, per_language


def covers(declared: str, keys: list[str]) -> bool:
    """Whether texts in languages `keys` give a call in `declared` its own language (de-AT is covered by de)."""
    lowered = [key.lower() for key in keys]
    return declared.lower() in lowered or primary(declared) in lowered or primary(declared) in map(primary, keys)


def prompt_fields(step_type: str) -> tuple[str, ...]:
    """The fields of a step type that hold a prompt, from the schema (so a new prompt field is checked too)."""
    step = flow_schema()["$defs"].get(f"step_{step_type}", {})
    return tuple(name for name, spec in step.get("properties", {}).items() if _refers_to_prompt(spec))


def _refers_to_prompt(spec: Any) -> bool:
    if isinstance(spec, dict):
        return spec.get("$ref") == "#/$defs/prompt" or any(_refers_to_prompt(v) for v in spec.values())
    return isinstance(spec, list) and any(_refers_to_prompt(v) for v in spec)


# A step that leaves out these fields says the built-in phrase instead: (step type, field, phrase, only when this
# field is true)
BUILTIN_USES = (
    ("menu", "no_input", "no_input", ""),
    ("menu", "no_match", "no_match", ""),
    ("collect_digits", "no_input", "no_input", ""),
    ("collect_digits", "no_match", "no_match", ""),
    ("collect_digits", "confirm", "confirm", "confirm"),
    ("voicemail", "prompt", "voicemail", ""),
    ("transfer", "record_consent", "record_consent", "record"),
)


def language_problems(data: dict[str, Any], located: Located) -> list[Problem]:
    declared = declared_languages(data)
    if not declared:
        return []
    flow_language = str(data.get("language", "en-US"))
    problems = _prefix_problems(data, declared, located)
    for step_id, spec in (data.get("steps") or {}).items():
        if not isinstance(spec, dict):
            continue
        where: NodePath = ("steps", step_id)
        for path, keys in _prompt_texts(spec, where, flow_language):
            missing = [tag for tag in declared if not covers(tag, keys)]
            if missing:
                problems.append(located.problem(path, _missing_message(path, missing, keys, flow_language)))
        problems += _builtin_problems(spec, where, declared, located)
        problems += _set_problems(spec, where, declared, located)
    return problems


def _prompt_texts(spec: dict[str, Any], where: NodePath, flow_language: str) -> Iterator[tuple[NodePath, list[str]]]:
    """(path, the languages its text is given in) for every prompt of a step that has a text."""
    found: list[tuple[NodePath, Any]] = [(where, spec)] if spec.get("type") == "say" else []
    found += [(where + (name,), spec[name]) for name in prompt_fields(str(spec.get("type"))) if name in spec]
    for path, prompt in found:
        if isinstance(prompt, str):
            yield path, [flow_language]
        elif isinstance(prompt, dict) and "text" in prompt:
            text = prompt["text"]
            if isinstance(text, dict):
                yield path + ("text",), [str(key) for key in text]
            elif "language" not in prompt:  # a text with its own `language:` is meant for that language only
                yield path + ("text",), [flow_language]


def _missing_message(path: NodePath, missing: list[str], keys: list[str], flow_language: str) -> str:
    dotted = ".".join(map(str, path))
    if keys == [flow_language]:
        return (
            f"{dotted}: no text in {', '.join(missing)} (a plain text is in the flow's language {flow_language} only);"
            f" give it per language, as text: {{{primary(flow_language)}: ..., {primary(missing[0])}: ...}}"
        )
    return f"{dotted}: no text in {', '.join(missing)}, one of the flow's languages (given: {', '.join(keys)})"


def _builtin_problems(
    spec: dict[str, Any], where: NodePath, declared: tuple[str, ...], located: Located
) -> list[Problem]:
    problems = []
    for step_type, field, phrase, needs in BUILTIN_USES:
        if spec.get("type") != step_type or (needs and spec.get(needs) is not True):
            continue
        if field in spec and spec[field] is not True:  # the step gives its own
            continue
        missing = [tag for tag in declared if not covers(tag, list(PHRASES[phrase]))]
        if missing:
            problems.append(
                located.problem(
                    where,
                    f"{'.'.join(map(str, where))}: the built-in {field} phrase has no {', '.join(missing)} "
                    f"(built in: {', '.join(PHRASES[phrase])}); give {field} with a text in each language",
                    key=True,
                )
            )
    return problems


def _set_problems(spec: dict[str, Any], where: NodePath, declared: tuple[str, ...], located: Located) -> list[Problem]:
    value = (spec.get("vars") or {}).get(LANGUAGE_VAR) if spec.get("type") == "set" else None
    if not isinstance(value, str) or "{{" in value or covers(value, list(declared)):
        return []
    path = where + ("vars", LANGUAGE_VAR)
    message = f"{'.'.join(map(str, path))}: {value!r} is not one of the flow's languages ({', '.join(declared)})"
    return [located.problem(path, message)]


def _prefix_problems(data: dict[str, Any], declared: tuple[str, ...], located: Located) -> list[Problem]:
    spec = data.get("languages")
    by_prefix = spec.get("by_prefix") or {} if isinstance(spec, dict) else {}
    return [
        located.problem(
            ("languages", "by_prefix", prefix),
            f"languages.by_prefix.{prefix}: {tag!r} is not one of the declared languages ({', '.join(declared)})",
        )
        for prefix, tag in by_prefix.items()
        if not covers(str(tag), list(declared))
    ]
