"""Building a flow from its checked YAML: its steps (a step that cannot be built becomes a Problem at its field),
the variables the subflows it enters define (the caller may use them after a subflow returns), and the engine's
Flow itself (make_flow)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import tzinfo
from pathlib import Path
from typing import Any

from ..engine.flow import Flow, flatten
from ..engine.schedule import Schedule
from ..engine.steps import Step, build_step
from ..engine.template import TemplateError, compile_template
from .languages import declared_languages, languages_by_prefix
from .languages import voices as language_voices
from .source import Located, NodePath, Problem, read_yaml


def failing_template(spec: Any, path: NodePath = ()) -> NodePath:
    """The path of the first text in a step spec that is not a valid template (to point at the field)."""
    if isinstance(spec, dict):
        items: Iterable[tuple[Any, Any]] = spec.items()
    elif isinstance(spec, list):
        items = enumerate(spec)
    else:
        try:
            compile_template(spec)
        except TemplateError:
            return path
        return ()
    for key, value in items:
        found = failing_template(value, path + (key,))
        if found:
            return found
    return ()


def build_steps(data: dict[str, Any], located: Located, problems: list[Problem]) -> dict[str, Step]:
    """The flow's steps; a step that cannot be built adds its problem instead (at the field, where known)."""
    steps = {}
    for step_id, spec in data["steps"].items():
        try:
            steps[step_id] = build_step(step_id, spec)
        except re.error:
            pass  # regex_problems reports it at the pattern itself
        except TemplateError as exc:
            where = ("steps", step_id) + failing_template(spec)
            problems.append(located.problem(where, f"{'.'.join(map(str, where))}: {exc}"))
        except ValueError as exc:
            problems.append(located.problem(("steps", step_id), f"steps.{step_id}: {exc}"))
    return steps


def subflow_names(data: dict[str, Any], flows_dir: Path | None, seen: set[str]) -> set[str]:
    """Variables that subflows entered by goto define (their defaults, save_as, set): the caller may use them
    after the subflow returns. Unreadable subflows add nothing here; loading them reports their problems."""
    names: set[str] = set()
    for spec in data.get("steps", {}).values():
        flow_id = spec.get("flow") if isinstance(spec, dict) and spec.get("type") == "goto" else None
        if not isinstance(flow_id, str) or flow_id in seen or flows_dir is None:
            continue
        seen.add(flow_id)
        try:
            sub, _ = read_yaml((flows_dir / f"{flow_id}.yaml").read_text(encoding="utf-8"), flow_id)
        except (OSError, UnicodeDecodeError):
            continue
        if not isinstance(sub, dict):
            continue
        names.update(flatten(sub.get("variables") or {}) if isinstance(sub.get("variables"), dict) else ())
        for step in (sub.get("steps") or {}).values() if isinstance(sub.get("steps"), dict) else ():
            if isinstance(step, dict):
                names.update([step["save_as"]] if isinstance(step.get("save_as"), str) else ())
                names.update(step["vars"] if step.get("type") == "set" and isinstance(step.get("vars"), dict) else ())
        names |= subflow_names(sub, flows_dir, seen)
    return names


def _contacts(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    lists: dict[str, Any] = {}
    names: dict[str, str] = {}
    for list_name, entries in spec.items():
        numbers = []
        for entry in entries:
            number = entry if isinstance(entry, str) else entry["number"]
            numbers.append(number)
            if isinstance(entry, dict) and entry.get("name"):
                names[number] = entry["name"]
        lists[list_name] = tuple(numbers)
    return lists, names


DEFAULT_RECORD_CONSENT = "This call will be recorded."


def record_consent(data: dict[str, Any]) -> str:
    """What a recorded flow (`record: true`, or `record: {consent: ...}`) says first; "" when it does not record."""
    record = data.get("record", False)
    if isinstance(record, dict):
        return str(record.get("consent", DEFAULT_RECORD_CONSENT))
    return DEFAULT_RECORD_CONSENT if record else ""


def make_flow(
    data: dict[str, Any],
    steps: dict[str, Step],
    variables: dict[str, str],
    schedule: Schedule | None,
    tz: tzinfo | None,
    filename: str,
    revision: str,
    library: dict[str, Flow] | None,
) -> Flow:
    """The engine's Flow from a flow file's checked data and the parts built from it."""
    contacts, names = _contacts(data.get("contacts", {}))
    voice, voices = language_voices(data)
    return Flow(
        id=data["id"],
        start=data["start"],
        steps=steps,
        description=data.get("description", ""),
        language=data.get("language", "en-US"),
        voice=voice,
        voices=voices,
        languages=declared_languages(data),
        language_by_prefix=languages_by_prefix(data),
        timezone=data.get("timezone", schedule.timezone if schedule else "UTC"),
        tz=tz,
        country=data.get("country", ""),
        variables=variables,
        outcomes=dict(data.get("outcomes", {})),
        contacts=contacts,
        contact_names=names,
        schedule=schedule,
        webhooks=tuple(data.get("webhooks", ())),
        max_steps=int(data.get("max_steps", 200)),
        speech=bool(data.get("speech", True)),
        record_consent=record_consent(data),
        revision=revision,
        source=filename,
        library=library if library is not None else {},
    )
