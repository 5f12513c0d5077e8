"""The flow JSON Schema (shipped as flow.schema.json) and schema errors turned into located Problems."""

from __future__ import annotations

import json
from difflib import get_close_matches
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from ..engine.steps import STEP_TYPES
from .source import Located, NodePath, Problem


@lru_cache(maxsize=1)
def flow_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resources.files(__package__).joinpath("flow.schema.json").read_text())
    return schema


@lru_cache(maxsize=1)
def _document_validator() -> Draft202012Validator:
    """The whole-file schema with steps checked only for a known `type`; each step is then checked
    against its own type's definition (same result as the shipped schema, without 13 if/then per step)."""
    schema = dict(flow_schema())
    defs = dict(schema["$defs"])
    defs["step"] = {key: value for key, value in defs["step"].items() if key != "allOf"}
    schema["$defs"] = defs
    return Draft202012Validator(schema)


@cache
def _step_validator(step_type: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/$defs/step_{step_type}", "$defs": flow_schema()["$defs"]})


def _dotted(path: NodePath) -> str:
    return ".".join(str(p) for p in path) or "flow"


# What a field is for, so "missing required field" can say what to put there.
REQUIRED_HINTS = {
    "id": "a flow needs id, start and steps",
    "start": "the id of the first step",
    "steps": "the flow's steps, keyed by id",
    "type": "one of: " + ", ".join(STEP_TYPES),
    "exhausted": "the step to go to after max_retries failed attempts",
    "failed": "the step to go to when the transfer does not connect",
    "subject": "an email needs a subject",
    "to": "where the message goes",
    "event": "the webhook event name",
    "url": "the http(s) URL the webhook posts to",
    "otherwise": "the step to go to when no rule holds",
    "open": "the step to go to while open",
    "closed": "the step to go to while closed",
    "save_as": "the variable that receives the digits",
    "flow": "the id of the flow file to enter",
    "goto": "the step to go to",
    "timezone": "an IANA name such as 'Europe/London'",
}
# Regular expressions in the schema, said in words.
PATTERN_HINTS = {
    "^[A-Za-z_][A-Za-z0-9_-]*$": "a step id: letters, digits, '_' and '-', not starting with a digit",
    "^[A-Za-z0-9_-]+$": "letters, digits, '_' and '-' only",
    "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$": "a variable name such as 'callback_number' or 'owner.email'",
    "^\\d{1,2}:\\d{2}\\s*-\\s*\\d{1,2}:\\d{2}$": "hours as 'HH:MM-HH:MM', e.g. '09:00-17:30'",
    "^([01]?\\d|2[0-3]):[0-5]\\d$|^24:00$": "a time of day 'HH:MM' between 00:00 and 24:00",
    "^\\d{4}-\\d{2}-\\d{2}$": "a date 'YYYY-MM-DD'",
    "^[0-9*#]{1,4}$": "1 to 4 keys from 0-9, * and #",
    "^[*#0-9]?$": "one key from 0-9, * and #, or empty",
    "^https?://": "an http:// or https:// URL",
}
BOUND_WORDS = {
    "maximum": "at most",
    "minimum": "at least",
    "exclusiveMinimum": "more than",
    "exclusiveMaximum": "less than",
}
TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
}


def schema_problems(data: Any, located: Located) -> list[Problem]:
    errors: list[tuple[NodePath, ValidationError]] = [((), error) for error in _document_validator().iter_errors(data)]
    steps = data.get("steps") if isinstance(data, dict) else None
    if isinstance(steps, dict):
        known = set(flow_schema()["$defs"]["step"]["properties"]["type"]["enum"])
        for step_id, spec in steps.items():
            if isinstance(spec, dict) and isinstance(spec.get("type"), str) and spec["type"] in known:
                errors += [(("steps", step_id), e) for e in _step_validator(spec["type"]).iter_errors(spec)]
    problems = [_to_problem(error, located, prefix) for prefix, error in errors]
    unique = {(p.line, p.column, p.message): p for p in problems}
    return sorted(unique.values())


def _alternative(error: ValidationError) -> ValidationError | None:
    """For a failed oneOf/anyOf, the sub-error a person can act on: not 'wrong type' when some alternative
    had the right type (e.g. an unknown field in a prompt mapping rather than 'not a string')."""
    relevant = [e for e in error.context if e.validator not in ("type", "anyOf", "oneOf")]
    return min(relevant, key=lambda e: -len(e.absolute_path)) if relevant else None


def _types(value: Any) -> str:
    names = [value] if isinstance(value, str) else list(value)
    return " or ".join(TYPE_WORDS.get(n, n) for n in names)


def _to_problem(error: Any, located: Located, prefix: NodePath = ()) -> Problem:
    # error: a jsonschema ValidationError; Any, as its schema fields are typed loosely (bool | Unset | ...)
    path = prefix + tuple(error.absolute_path)
    where = _dotted(path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        if extra:
            close = get_close_matches(str(extra[0]), sorted(allowed), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            return located.problem(
                path + (extra[0],),
                f"{where}: unknown field '{extra[0]}' ({hint}allowed: {', '.join(sorted(allowed))})",
                key=True,
            )
    if error.validator == "required":
        field = error.message.split("'")[1]
        hint = f" ({REQUIRED_HINTS[field]})" if field in REQUIRED_HINTS else ""
        return located.problem(path, f"{where}: missing required field '{field}'{hint}", key=True)
    if error.validator == "enum" and path and path[-1] == "type":
        return located.problem(
            path, f"{where}: unknown step type {error.instance!r} (known: {', '.join(error.validator_value)})"
        )
    if error.validator == "pattern":
        wanted = PATTERN_HINTS.get(error.validator_value, f"text matching {error.validator_value!r}")
        if "propertyNames" in error.relative_schema_path:
            return located.problem(
                path + (error.instance,), f"{where}: bad name {error.instance!r}: use {wanted}", key=True
            )
        return located.problem(path, f"{where}: {error.instance!r} is not {wanted}")
    if error.validator == "type":
        return located.problem(path, f"{where}: expected {_types(error.validator_value)}, got {error.instance!r}")
    if error.validator in ("minItems", "minProperties") and not error.instance:
        return located.problem(path, f"{where}: must not be empty")
    if error.validator in BOUND_WORDS:
        words = BOUND_WORDS[error.validator]
        return located.problem(path, f"{where}: must be {words} {error.validator_value} (got {error.instance!r})")
    if error.validator in ("oneOf", "anyOf"):
        return _no_alternative_fits(error, located, prefix)
    return located.problem(path, f"{where}: {error.message}")


def _no_alternative_fits(error: Any, located: Located, prefix: NodePath) -> Problem:
    """A failed oneOf/anyOf: the fields every alternative needs, two alternatives given at once, else the one
    sub-error to act on, else the types."""
    path = prefix + tuple(error.absolute_path)
    where = _dotted(path)
    missing = [e.message.split("'")[1] for e in error.context if e.validator == "required"]
    if missing and len(missing) == len(error.context):
        return located.problem(path, f"{where}: needs {' or '.join(repr(m) for m in missing)}", key=True)
    given = [
        alternative["required"][0]
        for alternative in error.validator_value
        if isinstance(error.instance, dict) and set(alternative.get("required", ["\0"])) <= set(error.instance)
    ]
    if error.validator == "oneOf" and len(given) > 1:  # e.g. a holiday with both `date` and `country`
        return located.problem(path, f"{where}: give one of {' or '.join(map(repr, given))}, not both (one per entry)")
    inner = _alternative(error)
    if inner is not None:
        return _to_problem(inner, located, prefix)
    types = [e.validator_value for e in error.context if e.validator == "type"]
    if types:
        return located.problem(
            path, f"{where}: expected {' or '.join(_types(t) for t in types)}, got {error.instance!r}"
        )
    return located.problem(path, f"{where}: {error.instance!r} is not valid here")
