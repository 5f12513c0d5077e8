"""The engine Flow from a flow file's data once every check passed (loader.py): its fields, defaults and
contact lists (numbers per list, and the names of known callers)."""

from __future__ import annotations

from typing import Any

from ..engine.flow import Flow, flatten
from ..engine.steps import Step


def contact_lists(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
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


def assemble_flow(
    data: dict[str, Any],
    steps: dict[str, Step],
    tz: Any,
    schedule: Any,
    revision: str,
    filename: str,
    library: dict[str, Flow],
) -> Flow:
    contacts, names = contact_lists(data.get("contacts", {}))
    return Flow(
        id=data["id"],
        start=data["start"],
        steps=steps,
        description=data.get("description", ""),
        language=data.get("language", "en-US"),
        voice=data.get("voice", ""),
        timezone=data.get("timezone", schedule.timezone if schedule else "UTC"),
        tz=tz,
        country=data.get("country", ""),
        variables=flatten(data.get("variables", {})),
        outcomes=dict(data.get("outcomes", {})),
        contacts=contacts,
        contact_names=names,
        schedule=schedule,
        webhooks=tuple(data.get("webhooks", ())),
        max_steps=int(data.get("max_steps", 200)),
        speech=bool(data.get("speech", True)),
        revision=revision,
        source=filename,
        library=library,
    )
