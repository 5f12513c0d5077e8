"""Holiday entries of `business_hours.holidays`: which days each one closes (or opens only some hours).

Pure. Each list item is one kind: `{date: "2026-12-24"}` (that day once), `{date: "12-25"}` (every year), or
`{rule: "4th thu of nov"}` / `{rule: "last mon of may"}` (an nth weekday of a month, every year). A holiday in the
flow's time zone closes its whole day, or with `hours` opens only then. `parse_holiday` raises ValueError with
a message that says what to write instead, for the validator to put at the entry's file:line.

The other two kinds, `{country, subdivision}` and `{ical}`, need data from outside (the `holidays` package, a
calendar file): ivr/flows/holiday_sources.py resolves them into plain dated entries (`parse_resolved`), which
the engine takes as they are.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, time, timedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ORDINALS = {
    "1st": 1,
    "first": 1,
    "2nd": 2,
    "second": 2,
    "3rd": 3,
    "third": 3,
    "4th": 4,
    "fourth": 4,
    "5th": 5,
    "fifth": 5,
    "last": -1,
}
_RULE = re.compile(r"^\s*(\w+)\s+([a-z]{3})[a-z]*\s+of\s+([a-z]{3})[a-z]*\s*$", re.I)
_YEARLY = re.compile(r"^(\d{2})-(\d{2})$")
SOURCED = ("country", "ical")  # entry kinds resolved outside the engine into dated entries

Ranges = tuple[tuple[time, time], ...]


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    """The nth (1-5, or -1 for the last) `weekday` (0 = Monday) of a month; None when the month has no 5th."""
    if nth == -1:
        last = date(year, month, calendar.monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    return day if day.month == month else None


@dataclass(frozen=True)
class Holiday:
    """One entry: `fixed` (a date), or `month`+`day` (yearly), or `month`+`weekday`+`nth` (a rule).

    `source` says where it comes from, for the admin's closures: "date", "every year", "rule ...", or the
    country or calendar a resolved date came from."""

    hours: Ranges
    name: str = ""
    source: str = "date"
    fixed: date | None = None
    month: int = 0
    day: int = 0
    weekday: int = -1
    nth: int = 0

    def on(self, day: date) -> bool:
        if self.fixed is not None:
            return day == self.fixed
        if day.month != self.month:
            return False
        if self.weekday < 0:
            return day.day == self.day
        return day == nth_weekday(day.year, self.month, self.weekday, self.nth)

    @property
    def key(self) -> tuple[object, ...]:
        """Two entries with one key name the same days: the validator asks to merge them."""
        return (self.fixed, self.month, self.day, self.weekday, self.nth)


def _rule(text: str) -> tuple[int, int, int]:
    """'4th thu of nov' -> (month 11, weekday 3, nth 4)."""
    match = _RULE.match(text)
    if (
        not match
        or match.group(1).lower() not in _ORDINALS
        or match.group(2).lower() not in DAYS
        or match.group(3).lower() not in MONTHS
    ):
        raise ValueError(
            f"bad rule {text!r}: write it like '4th thu of nov' or 'last mon of may' (1st-5th or "
            f"last, a weekday, a month)"
        )
    return (
        MONTHS.index(match.group(3).lower()) + 1,
        DAYS.index(match.group(2).lower()),
        _ORDINALS[match.group(1).lower()],
    )


def parse_holiday(entry: dict[str, object], hours: Ranges = ()) -> Holiday:
    """The entry's days; `hours` are its open ranges, parsed by the caller (schedule.parse_range)."""
    name = str(entry.get("name", "") or "")
    if "rule" in entry:
        month, weekday, nth = _rule(str(entry["rule"]))
        return Holiday(hours, name, f"rule {entry['rule']}", month=month, weekday=weekday, nth=nth)
    text = str(entry.get("date", ""))
    yearly = _YEARLY.match(text)
    try:
        if yearly:
            month, day = int(yearly.group(1)), int(yearly.group(2))
            date(2024, month, day)  # a leap year: 02-29 is a (rare) yearly date; 02-30 raises
            return Holiday(hours, name, "every year", month=month, day=day)
        return Holiday(hours, name, fixed=date.fromisoformat(text))
    except ValueError as exc:
        raise ValueError(f"bad date {text!r}: {exc} (use YYYY-MM-DD once, or MM-DD every year)") from None


def is_sourced(entry: dict[str, object]) -> bool:
    """A `{country}` or `{ical}` entry: its days come resolved, in the schedule's `resolved` list."""
    return any(kind in entry for kind in SOURCED)


def parse_resolved(entry: dict[str, object], hours: Ranges) -> Holiday:
    """A resolved day, `{date: YYYY-MM-DD, name, source, hours}`, as ivr/flows/holiday_sources.py writes it."""
    return Holiday(
        hours, str(entry.get("name", "")), str(entry.get("source", "")), fixed=date.fromisoformat(str(entry["date"]))
    )
