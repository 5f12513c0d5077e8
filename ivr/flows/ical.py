"""iCalendar text -> the days it closes: all-day events close whole days, timed events the span they cover.

Recurrences (RRULE, RDATE, EXDATE) are expanded by `recurring-ical-events` over a bounded range of years (rules
repeating more often than daily are skipped: they would expand into millions of occurrences). Times
are read in the flow's time zone (an event's own TZID or UTC is converted; a floating time is taken as local).
`closed_days` raises ValueError for text that is not iCalendar, so the validator and the fetching worker can
refuse it; a refused download never replaces the last good copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

Span = tuple[time, time]  # closed from-to within one day; time.max ends the day
WHOLE_DAY: tuple[Span, ...] = ()  # no spans: closed all day
MAX_EVENTS = 5000  # occurrences read from one calendar over the years resolved
SUB_DAILY = {"SECONDLY", "MINUTELY", "HOURLY"}  # RRULE frequencies skipped: a closure is at most daily


def _calendar(text: str) -> Any:
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises ValueError and friends for any malformed content
        raise ValueError(f"not an iCalendar file: {exc}") from None
    if getattr(calendar, "name", "") != "VCALENDAR":
        raise ValueError("not an iCalendar file: it has no BEGIN:VCALENDAR")
    return calendar


def check(text: str, years: range) -> int:
    """How many days the text closes in `years`; ValueError if it is not usable iCalendar (the worker keeps only
    copies that a flow can load)."""
    return len(closed_days(text, timezone.utc, years))


def _local(moment: datetime, tz: tzinfo) -> datetime:
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def _drop_sub_daily(calendar: Any) -> None:
    """Rules repeating more often than daily close no business day on purpose, and would expand into millions."""
    for event in list(calendar.walk("VEVENT")):
        rule = event.get("RRULE")
        if rule is not None and set(rule.get("FREQ", ())) & SUB_DAILY:
            for parent in calendar.walk():
                if event in parent.subcomponents:
                    parent.subcomponents.remove(event)


def _event_days(event: Any, tz: tzinfo) -> list[tuple[date, Span | None]]:
    """(local day, closed span or None for the whole day) for each day one occurrence touches."""
    start = event["DTSTART"].dt
    end = event["DTEND"].dt if "DTEND" in event else None
    if end is None and "DURATION" in event:
        end = start + event["DURATION"].dt
    if not isinstance(start, datetime):  # all-day: DTEND is exclusive, one day when absent
        days = (end - start).days if isinstance(end, date) and not isinstance(end, datetime) and end > start else 1
        return [(start + timedelta(days=i), None) for i in range(days)]
    start = _local(start, tz)
    return list(_spans(start, _local(end, tz) if isinstance(end, datetime) else start))


def _spans(start: datetime, end: datetime) -> Iterable[tuple[date, Span | None]]:
    """(day, closed span) for each local day a timed event touches; None: the whole day."""
    day = start.date()
    while True:
        opens = datetime.combine(day, time(0), start.tzinfo)
        closes = opens + timedelta(days=1)
        first, last = max(start, opens), min(end, closes)
        if first <= opens and last >= closes:
            yield day, None
        elif last > first:
            yield day, (first.time().replace(second=0, microsecond=0), time.max if last >= closes else last.time())
        if closes >= end:
            return
        day += timedelta(days=1)


def closed_days(text: str, tz: tzinfo, years: range) -> dict[date, tuple[str, tuple[Span, ...]]]:
    """date -> (the event's summary, closed spans; () = all day), for the days within `years`."""
    calendar = _calendar(text)
    try:
        _drop_sub_daily(calendar)
        return _collect(calendar, tz, (date(years.start, 1, 1), date(years.stop, 1, 1)))
    except Exception as exc:  # the recurrence expander's own errors on a malformed rule or date, whatever the class
        raise ValueError(f"not a usable iCalendar file: {type(exc).__name__}: {exc}") from None


def _collect(calendar: Any, tz: tzinfo, window: tuple[date, date]) -> dict[date, tuple[str, tuple[Span, ...]]]:
    import recurring_ical_events  # type: ignore[import-untyped]

    found: dict[date, tuple[str, tuple[Span, ...]]] = {}
    for count, event in enumerate(recurring_ical_events.of(calendar).between(*window)):
        if count >= MAX_EVENTS:
            break
        name = str(event.get("SUMMARY", ""))
        for day, span in _event_days(event, tz):
            if not window[0] <= day < window[1]:
                continue
            known_name, spans = found.get(day, (name, ()))
            if span is None or (day in found and not spans):
                found[day] = (known_name, WHOLE_DAY)
            else:
                found[day] = (known_name, (*spans, span))
    return found
