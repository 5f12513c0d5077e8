"""The holidays that come from outside a flow file, resolved when the flow loads into plain dated entries.

- `{country: GB, subdivision: ENG}`: the public holidays of the `holidays` package (substitute days included).
- `{ical: calendars/office.ics}` (a file inside the flows folder) or `{ical: https://...}` (a feed the worker
  fetches: ivr/jobs/calendars.py; here only its last good copy is read, through a CalendarSource).

Each resolved day is `{date, name, source}` plus `hours` (the open ranges left that day: the entry's own
`hours`, or the week's hours minus a timed event's span), for a bounded range of years around today, so the
pure engine gets dates only (ivr/engine/schedule.py). Problems point at the entry's file:line.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, time, tzinfo
from pathlib import Path
from typing import Any, Protocol

from ..engine.holidays import DAYS
from ..engine.schedule import parse_range
from . import ical
from .audio import resolve_audio
from .source import Located, NodePath, Problem

YEARS_BEFORE, YEARS_AHEAD = 1, 3  # resolved around the year the flow loads: closures and callbacks look ahead


class CalendarSource(Protocol):
    def text(self, url: str) -> str | None:
        """The last good copy of the calendar at `url`, or None if it was never fetched."""


def is_url(ical_ref: str) -> bool:
    return ical_ref.startswith(("http://", "https://"))


def allowed_url(url: str, prefixes: Iterable[str]) -> bool:
    """Under one of the IVR_HTTP_ALLOWLIST prefixes, at a boundary ("https://cal.example" does not allow
    "https://cal.example.evil/"); none set: nothing may be fetched."""
    for prefix in prefixes:
        rest = url[len(prefix) :] if prefix and url.startswith(prefix) else None
        if rest is not None and (prefix.endswith("/") or rest[:1] in ("", "/", "?", "#")):
            return True
    return False


def resolved_years(today: date) -> range:
    return range(today.year - YEARS_BEFORE, today.year + YEARS_AHEAD + 1)


@functools.lru_cache(maxsize=64)
def country_days(country: str, subdivision: str, years: range) -> tuple[tuple[date, str], ...]:
    """The public holidays of a country (and subdivision) in `years`; ValueError naming the valid codes."""
    import holidays

    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"country {country!r}: the holidays package has no such country (use an ISO code, e.g. GB)")
    if subdivision and subdivision not in supported[country]:
        raise ValueError(
            f"subdivision {subdivision!r}: {country} has {', '.join(supported[country]) or 'no subdivisions'}"
        )
    try:
        found = holidays.country_holidays(country, subdiv=subdivision or None, years=years)
    except (NotImplementedError, KeyError, ValueError) as exc:
        raise ValueError(f"country {country!r}: the holidays package cannot list its holidays ({exc})") from None
    return tuple(sorted(found.items()))


def _clock(moment: time) -> str:
    return "24:00" if moment == time.max else moment.strftime("%H:%M")


def open_after(ranges: tuple[tuple[time, time], ...], closed: tuple[ical.Span, ...]) -> list[str]:
    """The open ranges left when `closed` spans are taken out, as "HH:MM-HH:MM" texts."""
    left = list(ranges)
    for shut, reopen in closed:
        left = [
            piece
            for opens, closes in left
            for piece in ((opens, min(closes, shut)), (max(opens, reopen), closes))
            if piece[0] < piece[1] and piece[0].replace(second=0) != piece[1].replace(second=0)
        ]
    return [f"{_clock(opens)}-{_clock(closes)}" for opens, closes in left]


def _ical_text(ref: str, flows_dir: Path | None, calendars: CalendarSource | None) -> str | None:
    if is_url(ref):
        return calendars.text(ref) if calendars is not None else None
    target = resolve_audio(ref, flows_dir) if flows_dir is not None else None
    if flows_dir is not None and (target is None or not target.is_file()):
        raise ValueError(f"no calendar file {ref!r} inside {flows_dir} (a path relative to the flows folder)")
    return target.read_text(encoding="utf-8") if target is not None else None


def _entry_days(
    entry: dict[str, Any], spec: dict[str, Any], tz: tzinfo, years: range, where: tuple[Path | None, Any]
) -> list[dict[str, Any]]:
    """One `{country}` or `{ical}` entry's resolved days."""
    hours = list(entry.get("hours", ()))
    if "country" in entry:
        country, subdivision = str(entry["country"]), str(entry.get("subdivision", ""))
        source = entry.get("name") or f"{country}{'-' + subdivision if subdivision else ''} public holidays"
        days = country_days(country, subdivision, years)
        return [{"date": day.isoformat(), "name": name, "source": source, "hours": hours} for day, name in days]
    ref = str(entry["ical"])
    text = _ical_text(ref, *where)
    try:
        closed_days = ical.closed_days(text, tz, years) if text is not None else {}
    except ValueError:
        if not is_url(ref):
            raise  # the flow's own file: the author fixes it; a feed's copy was checked when it was fetched
        closed_days = {}
    source = entry.get("name") or f"calendar {ref}"
    weekly = spec.get("weekly", {})
    resolved = []
    for day, (name, closed) in sorted(closed_days.items()):
        week_hours = tuple(parse_range(r) for r in weekly.get(DAYS[day.weekday()], ()))
        left = hours if hours or not closed else open_after(week_hours, closed)
        if closed and not hours and left == open_after(week_hours, ()):
            continue  # an event outside the day's opening hours closes nothing
        resolved.append({"date": day.isoformat(), "name": name, "source": source, "hours": left})
    return resolved


def resolve_sources(
    spec: dict[str, Any],
    tz: tzinfo,
    located: Located,
    flows_dir: Path | None,
    calendars: CalendarSource | None,
    today: date,
) -> tuple[tuple[dict[str, Any], ...], list[Problem]]:
    """Every `{country}` / `{ical}` entry's days, in list order, and a problem for each that cannot be read."""
    resolved: list[dict[str, Any]] = []
    problems = []
    for index, entry in enumerate(spec.get("holidays", ())):
        field = "country" if "country" in entry else "ical" if "ical" in entry else None
        if field is None:
            continue
        where: NodePath = ("business_hours", "holidays", index)
        try:
            resolved += _entry_days(entry, spec, tz, resolved_years(today), (flows_dir, calendars))
        except ValueError as exc:
            key = "subdivision" if str(exc).startswith("subdivision") else field
            problems.append(located.problem(where + (key,), f"business_hours.holidays.{index}.{key}: {exc}"))
    return tuple(resolved), problems


def feed_entries(data: object) -> list[tuple[int, str]]:
    """(index in business_hours.holidays, URL) of each `{ical: URL}` feed in a flow's parsed YAML, checked or not."""
    hours = data.get("business_hours") if isinstance(data, dict) else None
    entries = hours.get("holidays") if isinstance(hours, dict) else None
    found = []
    for index, entry in enumerate(entries if isinstance(entries, list) else ()):
        url = str(entry.get("ical", "")) if isinstance(entry, dict) else ""
        if is_url(url):
            found.append((index, url))
    return found


def feed_warnings(path: Path, calendars: CalendarSource | None, allowlist: tuple[str, ...]) -> list[Problem]:
    """`ivr validate`'s warnings for `{ical: URL}` feeds the worker may not fetch, or has no copy of yet (the flow
    is not wrong for it: another installation may allow and have fetched it)."""
    from .source import read_yaml

    data, located = read_yaml(path.read_text(encoding="utf-8"), str(path))
    warnings = []
    for index, url in feed_entries(data):
        where = f"warning: business_hours.holidays.{index}.ical: {url}"
        if not allowed_url(url, allowlist):
            reason = "is not under any IVR_HTTP_ALLOWLIST prefix, so the worker will not fetch it"
        elif calendars is None or calendars.text(url) is None:
            reason = "has not been fetched yet (ivr worker fetches it): it closes no days until then"
        else:
            continue
        warnings.append(located.problem(("business_hours", "holidays", index, "ical"), f"{where} {reason}"))
    return warnings
