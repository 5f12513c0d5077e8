"""Checks of the flow graph, after the schema: targets, reachability, dead ends, input-free cycles, time zones,
regexes, contact lists, and subflow references (templates naming unknown variables: names.py)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

from ..engine.flow import Flow
from ..engine.steps import Step
from ..engine.steps.collect_digits import CollectDigits
from ..engine.steps.goto import Goto
from .cycles import cyclic_components, loop_through
from .names import did_you_mean, unknown_names
from .source import Located, Problem

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


def graph_problems(
    data: dict[str, Any], steps: dict[str, Step], located: Located, known_vars: set[str], is_subflow: bool
) -> list[Problem]:
    problems: list[Problem] = []
    start = data["start"]
    if start not in steps:
        problems.append(located.problem(("start",), f"start: unknown step '{start}'{_hint(start, steps)}"))
    for step_id, step in steps.items():
        for label, target in step.exits().items():
            if target not in steps:
                path = ("steps", step_id) + tuple(int(p) if p.isdigit() else p for p in label.split("."))
                problems.append(
                    located.problem(path, f"steps.{step_id}.{label}: unknown step '{target}'{_hint(target, steps)}")
                )
    if start in steps:  # otherwise every step would be reported unreachable as well
        problems += _reachability(start, steps, located)
    problems += _dead_ends(steps, located, is_subflow)
    problems += _impossible_inputs(steps, located)
    problems += _input_free_cycles(steps, located)
    problems += unknown_names(steps, located, known_vars | BUILTIN_NAMES)
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


def regex_problems(data: dict[str, Any], located: Located) -> list[Problem]:
    problems = []
    for step_id, spec in data["steps"].items():
        candidates: list[tuple[tuple[Any, ...], Any]] = [(("pattern",), spec.get("pattern"))]
        candidates += [
            (("rules", i, "when", "matches"), r.get("when", {}).get("matches"))
            for i, r in enumerate(spec.get("rules", []) if isinstance(spec.get("rules"), list) else [])
        ]
        for path, pattern in candidates:
            if isinstance(pattern, str):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    problems.append(
                        located.problem(
                            ("steps", step_id) + path,
                            f"steps.{step_id}.{'.'.join(map(str, path))}: bad regular expression {pattern!r}: {exc}",
                        )
                    )
    return problems


def _hint(target: str, steps: Collection[str]) -> str:
    """Did-you-mean for a mistyped step id, or the ids there are when the flow is small."""
    close = _closest(target, steps)
    if close or len(steps) > 8:
        return close
    return f" (steps are: {', '.join(sorted(steps))})"


def _closest(name: str, candidates: Iterable[str]) -> str:
    hint = did_you_mean(name, candidates, 0.6)
    return f" ({hint.strip()})" if hint else ""


def _reachability(start: str, steps: dict[str, Step], located: Located) -> list[Problem]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        current = todo.pop()
        if current in seen or current not in steps:
            continue
        seen.add(current)
        todo.extend(steps[current].exits().values())
    return [
        located.problem(("steps", sid), f"steps.{sid}: unreachable step (nothing leads here from '{start}')", key=True)
        for sid in steps
        if sid not in seen
    ]


def _impossible_inputs(steps: dict[str, Step], located: Located) -> list[Problem]:
    """Input settings that could never be satisfied, or choices that could never be picked."""
    problems = []
    for step_id, step in steps.items():
        spec = step.spec
        if isinstance(step, CollectDigits) and step.min_digits > step.max_digits:
            problems.append(
                located.problem(
                    ("steps", step_id, "min_digits"),
                    f"steps.{step_id}.min_digits: {step.min_digits} is more than max_digits "
                    f"{step.max_digits}, so no entry could ever be accepted",
                )
            )
        if step.kind == "menu":
            seen: dict[str, int] = {}
            for index, choice in enumerate(spec["choices"]):
                answers: list[tuple[str, int | None, str]] = (
                    [("digit", None, str(choice["digit"]))] if "digit" in choice else []
                )
                answers += [("keywords", i, kw.lower()) for i, kw in enumerate(choice.get("keywords", ()))]
                for field, position, answer in answers:
                    key = f"{field}:{answer}"
                    if seen.setdefault(key, index) != index:
                        where = ("steps", step_id, "choices", index, field) + (() if position is None else (position,))
                        problems.append(
                            located.problem(
                                where,
                                f"{'.'.join(map(str, where))}: "
                                f"{'digit' if position is None else 'keyword'} "
                                f"'{answer}' is already used by choice {seen[key]}, so "
                                f"this choice could never be picked by it",
                            )
                        )
        for index, rule in enumerate(spec.get("rules", ()) if step.kind == "branch" else ()):
            start, end = rule["when"].get("time", (None, 0))
            if start == end:
                problems.append(
                    located.problem(
                        ("steps", step_id, "rules", index, "when", "time"),
                        f"steps.{step_id}.rules.{index}.when.time: the range starts and ends "
                        f'at {start}: give two different times ("00:00", "24:00" '
                        f"for all day)",
                    )
                )
    return problems


def _dead_ends(steps: dict[str, Step], located: Located, is_subflow: bool) -> list[Problem]:
    problems = []
    for step_id, step in steps.items():
        if step.kind == "return" and not is_subflow:
            problems.append(
                located.problem(
                    ("steps", step_id),
                    f"steps.{step_id}: 'return' is only allowed in a "
                    f"subflow entered by goto (mark such a flow with "
                    f"'subflow: true', or end this path with a hangup)",
                    key=True,
                )
            )
        if step.terminal or step.exits():
            continue
        if step.kind in ("menu", "collect_digits", "voicemail", "say", "set", "follow_up", "callback", "goto"):
            problems.append(
                located.problem(
                    ("steps", step_id),
                    f"steps.{step_id}: the path ends here without hangup or transfer: add 'next'",
                    key=True,
                )
            )
    return problems


def _input_free_cycles(steps: dict[str, Step], located: Located) -> list[Problem]:
    """Steps that never wait for the caller, in a loop: such a cycle would spin until the step budget ends the call."""
    free = {sid for sid, s in steps.items() if not s.input_step and not isinstance(s, Goto)}
    edges = {sid: [t for t in steps[sid].exits().values() if t in free] for sid in free}
    problems = []
    for component in cyclic_components(free, edges):
        first = component[0]
        loop = " -> ".join(loop_through(component, edges))
        problems.append(
            located.problem(
                ("steps", first), f"steps.{first}: a cycle with no input step would loop forever ({loop})", key=True
            )
        )
    return problems


def subflow_recursion(flow: Flow, located: Located) -> list[Problem]:
    """goto chains that enter a flow again before any input step recurse forever (each goto stacks a return).
    Only the way in counts (goto -> the subflow's start), so a reported loop is certain, never a guess."""
    free = {(fid, sid) for fid, f in flow.library.items() for sid, s in f.steps.items() if not s.input_step}
    edges = {}
    for fid, sid in free:
        step = flow.library[fid].steps[sid]
        targets = (
            [(step.flow_id, flow.library[step.flow_id].start)]
            if isinstance(step, Goto)
            else [(fid, target) for target in step.exits().values()]
        )
        edges[(fid, sid)] = [t for t in targets if t in free]
    problems = []
    for component in cyclic_components(free, edges):
        ours = [sid for fid, sid in component if fid == flow.id and isinstance(flow.steps[sid], Goto)]
        if not ours or not any(isinstance(flow.library[f].steps[s], Goto) for f, s in component):
            continue
        loop = " -> ".join(f"{f}/{s}" if f != flow.id else s for f, s in loop_through(component, edges))
        problems.append(
            located.problem(
                ("steps", ours[0], "flow"),
                f"steps.{ours[0]}.flow: goto enters flows in a loop with no input step ({loop})",
            )
        )
    return problems
