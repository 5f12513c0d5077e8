"""A flow's clock: its time zone and business hours (opening ranges, holidays), checked where each is written."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..engine.holidays import parse_holiday
from ..engine.schedule import Schedule, parse_range
from .source import Located, NodePath, Problem


def zone(name: str, path: NodePath, located: Located, problems: list[Problem]) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            located.problem(
                path, f"{'.'.join(path)}: unknown time zone {name!r} (use an IANA name such as 'Europe/London')"
            )
        )
        return None


def _schedule_problems(spec: dict[str, Any], located: Located) -> list[Problem]:
    """Each opening-hours range and holiday date checked where it is written."""
    problems = []
    ranges: list[tuple[NodePath, Any]] = [
        (("business_hours", "weekly", day, i), text)
        for day, texts in spec.get("weekly", {}).items()
        for i, text in enumerate(texts)
    ]
    first_listed: dict[tuple[object, ...], int] = {}
    for index, holiday in enumerate(spec.get("holidays", ())):
        where: NodePath = ("business_hours", "holidays", index)
        field, key = "rule" if "rule" in holiday else "date", tuple[object, ...]((index,))  # a bad one: unique
        try:
            key = parse_holiday(holiday).key
        except ValueError as exc:
            problems.append(located.problem(where + (field,), f"{_dotted(where)}.{field}: {exc}"))
        if first_listed.setdefault(key, index) != index:
            problems.append(
                located.problem(
                    where + (field,),
                    f"{_dotted(where)}.{field}: {holiday[field]} is already"
                    f" holiday {first_listed[key]}: merge their hours "
                    f"into one entry",
                )
            )
        ranges += [(where + ("hours", i), text) for i, text in enumerate(holiday.get("hours", ()))]
    for where, text in ranges:
        try:
            parse_range(text)
        except ValueError as exc:
            problems.append(located.problem(where, f"{_dotted(where)}: {exc}"))
    return problems


def _dotted(path: NodePath) -> str:
    return ".".join(map(str, path))


def schedule_of(data: dict[str, Any], located: Located, problems: list[Problem]) -> tuple[Schedule | None, Any]:
    """The flow's business hours (None without them or with a problem, which is added) and its time zone."""
    tz = zone(data.get("timezone", "UTC"), ("timezone",), located, problems)
    if "business_hours" not in data:
        return None, tz
    spec = data["business_hours"]
    hours_zone = zone(spec["timezone"], ("business_hours", "timezone"), located, problems)
    hours_problems = _schedule_problems(spec, located)
    problems += hours_problems
    schedule = Schedule.from_spec(spec, hours_zone) if hours_zone is not None and not hours_problems else None
    return schedule, tz if "timezone" in data else hours_zone
