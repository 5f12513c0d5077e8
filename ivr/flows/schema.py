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
def _document_validator() -> Draft202012Validator:
    """The whole-file schema with steps checked only for a known `type`; each step is then checked
    against its own type's definition (same result as the shipped schema, without 13 if/then per step)."""
    schema = dict(flow_schema())
    defs = dict(schema["$defs"])
    defs["step"] = {key: value for key, value in defs["step"].items() if key != "allOf"}
    schema["$defs"] = defs
    return Draft202012Validator(schema)


@lru_cache(maxsize=None)
def _step_validator(step_type: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/$defs/step_{step_type}", "$defs": flow_schema()["$defs"]})


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def schema_problems(data, located: Located) -> list[Problem]:
    errors = [((), error) for error in _document_validator().iter_errors(data)]
    steps = data.get("steps") if isinstance(data, dict) else None
    if isinstance(steps, dict):
        known = set(flow_schema()["$defs"]["step"]["properties"]["type"]["enum"])
        for step_id, spec in steps.items():
            if isinstance(spec, dict) and spec.get("type") in known:
                errors += [(("steps", step_id), e) for e in _step_validator(spec["type"]).iter_errors(spec)]
    problems = []
    for prefix, error in errors:
        # oneOf/anyOf errors carry their alternatives' errors; best_match picks the one a person can act on
        problems.append(_to_problem(best_match([error]) if error.context else error, located, prefix))
    unique = {(p.line, p.column, p.message): p for p in problems}
    return sorted(unique.values())


def _to_problem(error, located: Located, prefix: tuple = ()) -> Problem:
    path = prefix + tuple(error.absolute_path)
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
