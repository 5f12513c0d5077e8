"""Templates naming unknown variables: the names a flow knows (built-in, graph.BUILTIN_NAMES, `variables`, and what
its steps assign) against every name its templates use, reported at the template's file:line with a did-you-mean.

A step may define a family of names with a trailing `.*` (the http step's `http.json.*`): any name below
that prefix is known, since the fields of a web service's answer cannot be listed in advance.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ..engine.steps import Step
from .source import Located, Problem

FAMILY = ".*"  # a defined name ending so stands for every name below it


def unknown_names(steps: dict[str, Step], located: Located, known: set[str]) -> list[Problem]:
    """`known`: the built-in names and the flow's `variables`; the steps add what they assign."""
    names = set(known)
    for step in steps.values():
        names.update(step.defines())
    families = tuple(name[: -len(FAMILY) + 1] for name in names if name.endswith(FAMILY))
    names = {name for name in names if not name.endswith(FAMILY)}
    problems = []
    for step_id, step in steps.items():
        for path, template in step.templates():
            for name in template.names:
                if name not in names and not name.startswith(families or ("\0",)):
                    problems.append(
                        located.problem(
                            ("steps", step_id) + path,
                            f"steps.{step_id}.{'.'.join(map(str, path))}: unknown variable "
                            f"'{{{{{name}}}}}' "
                            f"({did_you_mean(name, names, 0.75)}define it under "
                            f"variables, or assign it with set or save_as)",
                        )
                    )
    return problems


def did_you_mean(name: str, candidates: Iterable[str], cutoff: float) -> str:
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return f"did you mean '{match[0]}'? " if match else ""
