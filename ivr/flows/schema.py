"""The flow JSON Schema (shipped as flow.schema.json) and schema errors turned into located Problems."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .source import Located, Problem


@lru_cache(maxsize=1)
def flow_schema() -> dict:
    return json.loads(resources.files(__package__).joinpath("flow.schema.json").read_text())


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(flow_schema())


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def schema_problems(data, located: Located) -> list[Problem]:
    problems = []
    for error in sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        # oneOf/anyOf errors carry their alternatives' errors; best_match picks the one a person can act on
        problems.append(_to_problem(best_match([error]) if error.context else error, located))
    unique = {(p.line, p.column, p.message): p for p in problems}
    return sorted(unique.values())


def _to_problem(error, located: Located) -> Problem:
    path = tuple(error.absolute_path)
    where = _dotted(path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        if extra:
            hint = f" (allowed: {', '.join(sorted(allowed))})" if allowed else ""
            return located.problem(path + (extra[0],), f"{where}: unknown field '{extra[0]}'{hint}", key=True)
    if error.validator == "required":
        return located.problem(path, f"{where}: {error.message}", key=True)
    if error.validator == "enum" and path and path[-1] == "type":
        return located.problem(path, f"{where}: unknown step type {error.instance!r} "
                                     f"(known: {', '.join(error.validator_value)})")
    if error.validator == "oneOf":
        return located.problem(path, f"{where}: {error.instance!r} is not valid here")
    return located.problem(path, f"{where}: {error.message}")
