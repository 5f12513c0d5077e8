"""Holiday kinds of business_hours.holidays: fixed dates, yearly MM-DD, nth-weekday rules; bad ones at file:line."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from ivr.engine.holidays import nth_weekday, parse_holiday
from ivr.flows import FlowInvalid, validate_text
from tests.engine.helpers import OPEN_OR_CLOSED, flow_from, play

FLOW = (
    """
id: t
business_hours:
  timezone: America/New_York
  weekly: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"], thu: ["09:00-17:00"],
           fri: ["09:00-17:00"]}
  holidays:
    - {date: "2027-12-24", hours: ["09:00-12:00"]}
    - {date: "12-25", name: Christmas}
    - {date: "12-24"}
    - {rule: "4th thu of nov", name: Thanksgiving}
    - {rule: "last mon of may", name: Memorial Day}
"""
    + OPEN_OR_CLOSED
)


@pytest.mark.parametrize(
    "local_iso,expected",
    [
        ("2026-12-25T10:00:00-05:00", "say:Closed."),  # Christmas, a Friday
        ("2028-12-25T10:00:00-05:00", "say:Closed."),  # and every year (a Monday)
        ("2026-12-24T10:00:00-05:00", "say:Closed."),  # yearly 12-24 closes all day...
        ("2027-12-24T10:00:00-05:00", "say:Open."),  # ...but 2027's fixed entry opens the morning
        ("2027-12-24T13:00:00-05:00", "say:Closed."),
        ("2026-11-26T10:00:00-05:00", "say:Closed."),  # Thanksgiving 2026: 4th Thursday
        ("2026-11-19T10:00:00-05:00", "say:Open."),  # the 3rd Thursday is a working day
        ("2027-11-25T10:00:00-05:00", "say:Closed."),  # Thanksgiving 2027
        ("2026-05-25T10:00:00-04:00", "say:Closed."),  # Memorial Day 2026: last Monday of May
        ("2026-05-18T10:00:00-04:00", "say:Open."),
    ],
)
def test_holiday_kinds(local_iso, expected):
    _, got, _ = play(flow_from(FLOW), [], at=datetime.fromisoformat(local_iso).timestamp())
    assert got[0][0] == expected


def test_next_open_skips_a_rule_holiday():
    schedule = flow_from(FLOW).schedule
    wednesday_evening = datetime.fromisoformat("2026-11-25T18:00:00-05:00").timestamp()
    opens = datetime.fromtimestamp(schedule.next_open(wednesday_evening), schedule.tz)
    assert opens.isoformat() == "2026-11-27T09:00:00-05:00"


def test_nth_weekday():
    assert nth_weekday(2026, 11, 3, 4) == date(2026, 11, 26)
    assert nth_weekday(2026, 5, 0, -1) == date(2026, 5, 25)
    assert nth_weekday(2026, 2, 0, 5) is None  # February 2026 has four Mondays
    assert parse_holiday({"rule": "1st Monday of September"}).on(date(2026, 9, 7))


@pytest.mark.parametrize(
    "entry,line,message",
    [
        ('{rule: "4th thursday in nov"}', 7, "holidays.0.rule: bad rule '4th thursday in nov'"),
        ('{rule: "6th thu of nov"}', 7, "bad rule '6th thu of nov'"),
        ('{date: "02-30"}', 7, "holidays.0.date: bad date '02-30'"),
        ('{date: "2026-13-01"}', 7, "holidays.0.date: bad date '2026-13-01'"),
        ("{country: GB, subdivision: XYZ}", 7, "holidays.0.subdivision: subdivision 'XYZ': GB has ENG, NIR, SCT, WLS"),
        ("{country: QQ}", 7, "holidays.0.country: country 'QQ': the holidays package has no such country"),
        ("{subdivision: ENG, date: 12-25}", 7, "holidays.0: 'country' is a dependency of 'subdivision'"),
        ("{ical: calendars/none.ics}", 7, "holidays.0.ical: no calendar file 'calendars/none.ics' inside"),
        ('{country: GB, date: "12-25"}', 7, "holidays.0: give one of 'date' or 'country', not both (one per entry)"),
    ],
)
def test_bad_holidays_are_reported_at_their_line(entry, line, message):
    text = (
        FLOW.split("  holidays:")[0] + f"  holidays:\n    - {entry}\nstart: hours\nsteps:\n" + FLOW.split("steps:\n")[1]
    )
    problems = validate_text(text.lstrip("\n"), "t.yaml", flows_dir=Path(__file__).parent)
    assert any(p.line == line and message in p.message for p in problems), problems


def test_the_same_rule_twice_asks_to_merge():
    text = FLOW.replace('    - {date: "12-24"}\n', '    - {rule: "fourth thu of november"}\n')
    with pytest.raises(FlowInvalid) as failed:
        flow_from(text)
    assert "holidays.3.rule: 4th thu of nov is already holiday 2: merge their hours" in str(failed.value.problems[0])
