"""A flow's time settings checked where they are written: its `timezone`, and its `business_hours` schedule (the
schedule's zone, each weekly range, each holiday's date, rule, country or calendar and hours, no holiday listed
twice), then the Schedule built with the days of its countries and calendars resolved (holiday_sources.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..engine.holidays import is_sourced, parse_holiday
from ..engine.schedule import Schedule, parse_range
from .holiday_sources import CalendarSource, resolve_sources
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


def dotted(path: NodePath) -> str:
    return ".".join(map(str, path))


def _entry_key(holiday: dict[str, Any]) -> tuple[object, ...]:
    """Two entries with one key name the same days; a bad entry raises ValueError."""
    if "country" in holiday:
        return ("country", holiday["country"], holiday.get("subdivision", ""))
    if "ical" in holiday:
        return ("ical", holiday["ical"])
    return parse_holiday(holiday).key


def _field(holiday: dict[str, Any]) -> str:
    return next((k for k in ("rule", "country", "ical") if k in holiday), "date")


def schedule_problems(spec: dict[str, Any], located: Located) -> list[Problem]:
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
        field, key = _field(holiday), tuple[object, ...]((index,))  # a bad one: unique
        try:
            key = _entry_key(holiday)
        except ValueError as exc:
            problems.append(located.problem(where + (field,), f"{dotted(where)}.{field}: {exc}"))
        if first_listed.setdefault(key, index) != index:
            problems.append(
                located.problem(
                    where + (field,),
                    f"{dotted(where)}.{field}: {holiday[field]} is already holiday {first_listed[key]}: "
                    + ("merge their hours into one entry" if not is_sourced(holiday) else "list it once"),
                )
            )
        ranges += [(where + ("hours", i), text) for i, text in enumerate(holiday.get("hours", ()))]
    for where, text in ranges:
        try:
            parse_range(text)
        except ValueError as exc:
            problems.append(located.problem(where, f"{dotted(where)}: {exc}"))
    return problems


def build_schedule(
    spec: dict[str, Any],
    located: Located,
    problems: list[Problem],
    flows_dir: Path | None,
    calendars: CalendarSource | None,
    today: date,
) -> tuple[Schedule | None, ZoneInfo | None]:
    """The flow's Schedule (None when its spec has problems, which are added) and its time zone; the days of
    countries and calendars are those of the years around `today`."""
    tz = zone(spec["timezone"], ("business_hours", "timezone"), located, problems)
    hours_problems = schedule_problems(spec, located)
    problems += hours_problems
    if tz is None or hours_problems:
        return None, tz
    resolved, source_problems = resolve_sources(spec, tz, located, flows_dir, calendars, today)
    problems += source_problems
    return (Schedule.from_spec(spec, tz, resolved) if not source_problems else None), tz


def time_settings(
    data: dict[str, Any],
    located: Located,
    problems: list[Problem],
    flows_dir: Path | None = None,
    calendars: CalendarSource | None = None,
    today: date | None = None,
) -> tuple[ZoneInfo | None, Schedule | None]:
    """(the flow's zone, its Schedule or None); each problem is added to `problems`. Without a `timezone` of its
    own, a flow with business hours runs in their zone."""
    tz = zone(data.get("timezone", "UTC"), ("timezone",), located, problems)
    schedule = None
    if "business_hours" in data:
        hours = data["business_hours"]
        schedule, hours_zone = build_schedule(hours, located, problems, flows_dir, calendars, today or date.today())
        tz = tz if "timezone" in data else hours_zone
    return tz, schedule
