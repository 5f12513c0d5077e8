"""The engine's Flow from a flow document that passed every check: its fields, contact lists and recording."""

from __future__ import annotations

from typing import Any

from ..engine.flow import Flow
from ..engine.schedule import Schedule
from ..engine.steps import Step

DEFAULT_RECORD_CONSENT = "This call will be recorded."


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


def record_consent(data: dict[str, Any]) -> str:
    """What a recorded flow (`record: true`, or `record: {consent: ...}`) says first; "" when it does not record."""
    record = data.get("record", False)
    if isinstance(record, dict):
        return str(record.get("consent", DEFAULT_RECORD_CONSENT))
    return DEFAULT_RECORD_CONSENT if record else ""


def flow_model(
    data: dict[str, Any],
    steps: dict[str, Step],
    variables: dict[str, str],
    schedule: Schedule | None,
    tz: Any,
    **origin: Any,  # revision, source (the file name), library
) -> Flow:
    contacts, names = _contacts(data.get("contacts", {}))
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
        variables=variables,
        outcomes=dict(data.get("outcomes", {})),
        contacts=contacts,
        contact_names=names,
        schedule=schedule,
        webhooks=tuple(data.get("webhooks", ())),
        max_steps=int(data.get("max_steps", 200)),
        speech=bool(data.get("speech", True)),
        record_consent=record_consent(data),
        **origin,
    )
