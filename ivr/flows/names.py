"""Checks that what a flow's steps name is defined: the variables their templates use (the flow's variables,
what steps assign, and the built-in names), the contact lists a branch tests the caller against, and the
business_hours schedule a business_hours step reads.

A step may define a family of names with a trailing `.*` (the http step's `http.json.*`): any name below that
prefix is known, since the fields of a web service's answer cannot be listed in advance.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from ..engine.steps import Step
from .source import Located, Problem

FAMILY = ".*"  # a defined name ending so stands for every name below it

BUILTIN_NAMES = {
    "caller.number",
    "caller.name",
    "called.number",
    "channel",
    "call.id",
    "digits",
    "speech",
    "recording.url",
    "recording.duration",
    # yes/no, from CallStarted.capabilities (ivr/settings/capabilities.py; the schema's `capability` enum)
    *(f"capabilities.{name}" for name in ("email", "sms", "chat", "webhook", "callback", "twilio", "sip", "simulator")),
}


def did_you_mean(name: str, candidates: Iterable[str], cutoff: float) -> str:
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return f"did you mean '{match[0]}'? " if match else ""


def name_problems(
    data: dict[str, Any], steps: dict[str, Step], located: Located, known_vars: set[str]
) -> list[Problem]:
    problems: list[Problem] = []
    names = known_vars | BUILTIN_NAMES
    for step in steps.values():
        names.update(step.defines())
    families = tuple(name[: -len(FAMILY) + 1] for name in names if name.endswith(FAMILY)) or ("\0",)
    names = {name for name in names if not name.endswith(FAMILY)}
    for step_id, step in steps.items():
        for path, template in step.templates():
            for name in template.names:
                if name not in names and not name.startswith(families):
                    problems.append(
                        located.problem(
                            ("steps", step_id) + path,
                            f"steps.{step_id}.{'.'.join(map(str, path))}: unknown variable "
                            f"'{{{{{name}}}}}' "
                            f"({did_you_mean(name, names, 0.75)}define it under "
                            f"variables, or assign it with set or save_as)",
                        )
                    )
    contacts = set(data.get("contacts", {}))
    for step_id, step in steps.items():
        for index, rule in enumerate(step.spec.get("rules", ()) if step.kind == "branch" else ()):
            lists = rule["when"].get("caller_in", [])
            for name in [lists] if isinstance(lists, str) else lists:
                if name not in contacts:
                    known = f"known lists: {', '.join(sorted(contacts))}" if contacts else "no lists are defined"
                    problems.append(
                        located.problem(
                            ("steps", step_id, "rules", index, "when", "caller_in"),
                            f"steps.{step_id}.rules.{index}.when.caller_in: unknown contact "
                            f"list '{name}' (define it under contacts; {known})",
                        )
                    )
        if step.kind == "business_hours" and "business_hours" not in data:
            problems.append(
                located.problem(
                    ("steps", step_id),
                    f"steps.{step_id}: a business_hours step needs "
                    f"the flow's top-level business_hours schedule "
                    f"(add business_hours: with timezone and weekly)",
                    key=True,
                )
            )
    return problems
