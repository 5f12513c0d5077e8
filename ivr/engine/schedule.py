"""Business hours: a weekly schedule in a time zone plus whole- or partial-day holidays (fixed, yearly, rules,
and the days of countries and calendars, resolved by ivr/flows/holiday_sources.py into the spec's `resolved`).

Pure: the caller passes a tzinfo (resolved when the flow loads) and the time as epoch seconds.
A day's hours come from the first that has it: a fixed date, a yearly date or rule, a resolved day, the week.
`is_open(at)` answers now-or-not; `next_open(at)` gives the next opening time (used to schedule callbacks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from .holidays import DAYS, Holiday, is_sourced, parse_holiday, parse_resolved

__all__ = ["DAYS", "Schedule", "parse_clock", "parse_range"]


def parse_clock(text: str) -> time:
    """'09:30' -> time(9, 30); '24:00' is allowed as the end of a day."""
    hours, _, minutes = text.strip().partition(":")
    h, m = int(hours), int(minutes or 0)
    if h == 24 and m == 0:
        return time.max
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"bad time of day {text!r}: use HH:MM between 00:00 and 24:00")
    return time(h, m)


def parse_range(text: str) -> tuple[time, time]:
    """'09:00-17:30' -> (09:00, 17:30); the end must be after the start."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"bad hours {text!r}: use HH:MM-HH:MM")
    opens, closes = parse_clock(start), parse_clock(end)
    if closes <= opens:
        raise ValueError(
            f"bad hours {text!r}: closing time must be after opening time (for hours past "
            f"midnight use two ranges, e.g. '17:00-24:00' and '00:00-09:00' on the next day)"
        )
    return opens, closes


@dataclass(frozen=True)
class Schedule:
    tz: tzinfo
    timezone: str
    weekly: dict[str, tuple[tuple[time, time], ...]]  # "mon" -> ranges
    holidays: dict[date, tuple[tuple[time, time], ...]]  # date -> open ranges that day (empty: closed all day)
    spec: dict[str, Any]  # the mapping with the resolved days, so a worker can rebuild the schedule without I/O
    recurring: tuple[Holiday, ...] = ()  # yearly dates and nth-weekday rules (holidays.py), after the fixed dates
    fixed: tuple[Holiday, ...] = ()  # the fixed-date entries again, with their names (for `closures`)
    dated: dict[date, Holiday] | None = None  # resolved days of countries and calendars, after the rules

    @classmethod
    def from_spec(cls, spec: dict[str, Any], tz: tzinfo, resolved: tuple[dict[str, Any], ...] = ()) -> Schedule:
        """`resolved`: the days of the `{country}` and `{ical}` entries (holiday_sources.py); they are kept in
        the spec's `resolved` list, which a rebuilt schedule (the callback worker's) reads again."""
        if resolved:
            spec = {**spec, "resolved": [*spec.get("resolved", ()), *resolved]}
        weekly = {day: tuple(parse_range(r) for r in spec.get("weekly", {}).get(day, ())) for day in DAYS}
        holidays, recurring, fixed = {}, [], []
        for entry in spec.get("holidays", ()):
            if is_sourced(entry):
                continue
            holiday = parse_holiday(entry, tuple(parse_range(r) for r in entry.get("hours", ())))
            if holiday.fixed is not None:
                holidays[holiday.fixed] = holiday.hours
                fixed.append(holiday)
            else:
                recurring.append(holiday)
        dated: dict[date, Holiday] = {}
        for entry in spec.get("resolved", ()):
            day = parse_resolved(entry, tuple(parse_range(r) for r in entry.get("hours", ())))
            dated.setdefault(day.fixed or date.min, day)  # the first listed source wins a shared day
        return cls(tz, spec.get("timezone", "UTC"), weekly, holidays, spec, tuple(recurring), tuple(fixed), dated)

    def local(self, at: float) -> datetime:
        return datetime.fromtimestamp(at, self.tz)

    def ranges_on(self, day: date) -> tuple[tuple[time, time], ...]:
        if day in self.holidays:
            return self.holidays[day]
        for holiday in self.recurring:
            if holiday.on(day):
                return holiday.hours
        if self.dated and day in self.dated:
            return self.dated[day].hours
        return self.weekly[DAYS[day.weekday()]]

    def holiday_on(self, day: date) -> Holiday | None:
        """The holiday entry that decides `day` (a fixed date, a yearly date or rule, a resolved day), if any."""
        return (
            next((h for h in self.fixed if h.fixed == day), None)
            or next((h for h in self.recurring if h.on(day)), None)
            or (self.dated or {}).get(day)
        )

    def closures(self, at: float, count: int = 10, horizon_days: int = 3 * 366) -> list[tuple[date, Holiday]]:
        """The next `count` holidays from the day of `at` on (the admin's flow page shows them)."""
        first = self.local(at).date()
        found = []
        for offset in range(horizon_days):
            holiday = self.holiday_on(first + timedelta(days=offset))
            if holiday is not None:
                found.append((first + timedelta(days=offset), holiday))
                if len(found) == count:
                    break
        return found

    def is_open(self, at: float) -> bool:
        now = self.local(at)
        clock = now.time()
        return any(start <= clock < end for start, end in self.ranges_on(now.date()))

    def next_open(self, at: float, horizon_days: int = 370) -> float | None:
        """The earliest time >= at when the schedule is open (at itself if open now); None if never within horizon."""
        if self.is_open(at):
            return at
        now = self.local(at)
        for offset in range(horizon_days + 1):
            day = now.date() + timedelta(days=offset)
            for start, _end in sorted(self.ranges_on(day)):
                candidate = datetime.combine(day, start, self.tz)
                if candidate.timestamp() > at:
                    return candidate.timestamp()
        return None
