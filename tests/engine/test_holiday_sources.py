"""Holidays from outside the flow file: a country's public holidays (the real `holidays` data) and an iCalendar
file in the flows folder (all-day, timed and yearly RRULE events), resolved at load into days the engine takes."""

from __future__ import annotations

import textwrap
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.engine import advance
from ivr.engine.actions import Log
from ivr.engine.events import CallStarted
from ivr.engine.schedule import Schedule
from ivr.flows import FlowInvalid, load_flow
from tests.engine.helpers import play

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 11, 18)  # the flows load "today": countries and calendars resolve 2025-2029
WEEK = '{mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"], thu: ["09:00-17:00"], fri: ["09:00-17:00"]}'
STEPS = """start: hours
steps:
  hours: {type: business_hours, open: open, closed: closed}
  open: {type: hangup, say: "Open."}
  closed: {type: hangup, say: "Closed."}
"""
EVENTS = [  # (uid, the event's time lines, summary)
    ("move", "DTSTART;VALUE=DATE:20260617\nDTEND;VALUE=DATE:20260619", "Office move"),
    (
        "training",
        "DTSTART;TZID=Europe/London:20260623T130000\nDTEND;TZID=Europe/London:20260623T150000",
        "Staff training",
    ),
    (
        "evening",
        "DTSTART;TZID=Europe/London:20260624T180000\nDTEND;TZID=Europe/London:20260624T210000",
        "Party, after hours",
    ),
    ("night", "DTSTART:20260625T210000Z\nDTEND:20260626T090000Z", "Network upgrade"),
    ("minutely", "DTSTART:20260101T000000Z\nRRULE:FREQ=MINUTELY", "More often than daily: skipped (millions)"),
    ("founders", "DTSTART;VALUE=DATE:20250704\nRRULE:FREQ=YEARLY", "Founders' day"),
]


def calendar_text(events: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f"BEGIN:VEVENT\nUID:{uid}@example.org\n{times}\nSUMMARY:{summary}\nEND:VEVENT\n"
        for uid, times, summary in events
    )
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//ivr tests//EN\n{body}END:VCALENDAR\n"


OFFICE_ICS = calendar_text(EVENTS)


def flow_with(tmp_path, holidays: str, **files: str):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    tmp_path.mkdir(exist_ok=True)
    text = f"id: t\nbusiness_hours:\n  timezone: Europe/London\n  weekly: {WEEK}\n  holidays:\n"
    (tmp_path / "t.yaml").write_text(text + textwrap.indent(holidays.strip(), "    ") + "\n" + STEPS)
    return load_flow(tmp_path / "t.yaml", today=TODAY)


def said(flow, local_iso: str) -> str:
    moment = datetime.fromisoformat(local_iso).replace(tzinfo=LONDON)
    return play(flow, [], at=moment.timestamp())[1][0][0]


@pytest.mark.parametrize(
    "day,expected",
    [
        ("2026-12-24T10:00", "say:Open."),
        ("2026-12-25T10:00", "say:Closed."),  # Christmas Day, a Friday
        ("2026-12-28T10:00", "say:Closed."),  # Boxing Day falls on a Saturday: the Monday is its substitute
        ("2026-12-29T10:00", "say:Open."),
        ("2026-08-31T10:00", "say:Closed."),  # Late Summer Bank Holiday (England's, not Scotland's)
        ("2026-08-03T10:00", "say:Open."),  # Scotland's Summer Bank Holiday is a working day in England
    ],
)
def test_england_public_holidays(tmp_path, day, expected):
    assert said(flow_with(tmp_path, "- {country: GB, subdivision: ENG}"), day) == expected


def test_the_timeline_says_which_holiday_closed_the_day(tmp_path):
    flow = flow_with(tmp_path, "- {country: GB, subdivision: ENG}")
    _, actions = advance(flow, None, CallStarted("c1", "+441", "+442", "sip", datetime(2026, 12, 28, 10).timestamp()))
    logged = next(a.data for a in actions if isinstance(a, Log) and a.event == "business_hours")
    assert logged["holiday"] == {"name": "Boxing Day (observed)", "source": "GB-ENG public holidays"}


def test_closures_name_each_day_and_its_source(tmp_path):
    flow = flow_with(tmp_path, '- {country: GB, subdivision: ENG}\n- {date: "2026-12-28", name: Stocktake}')
    start = datetime(2026, 12, 20, tzinfo=LONDON).timestamp()
    found = [(day.isoformat(), h.name, h.source) for day, h in flow.schedule.closures(start, 4)]
    assert found == [
        ("2026-12-25", "Christmas Day", "GB-ENG public holidays"),
        ("2026-12-26", "Boxing Day", "GB-ENG public holidays"),
        ("2026-12-28", "Stocktake", "date"),  # a date written in the flow wins over the country's day
        ("2027-01-01", "New Year's Day", "GB-ENG public holidays"),
    ]


def test_the_callback_worker_rebuilds_the_schedule_with_the_resolved_days(tmp_path):
    """The callback step hands `schedule.spec` to the worker, which rebuilds it without the holidays package."""
    flow = flow_with(tmp_path, "- {country: GB, subdivision: ENG, hours: ['10:00-12:00']}")
    rebuilt = Schedule.from_spec(flow.schedule.spec, LONDON)
    christmas_eve = datetime(2026, 12, 24, 18, tzinfo=LONDON).timestamp()
    opens = datetime.fromtimestamp(rebuilt.next_open(christmas_eve), LONDON)
    assert opens.isoformat() == "2026-12-25T10:00:00+00:00"  # the holiday's own hours, on Christmas Day


@pytest.mark.parametrize(
    "moment,expected",
    [
        ("2026-01-01T10:00", "say:Open."),  # the minutely rule is skipped
        ("2026-06-17T10:00", "say:Closed."),  # an all-day event over two days: DTEND is exclusive
        ("2026-06-18T16:00", "say:Closed."),
        ("2026-06-19T10:00", "say:Open."),
        ("2026-06-23T12:59", "say:Open."),  # a timed event closes only its span
        ("2026-06-23T13:30", "say:Closed."),
        ("2026-06-23T15:00", "say:Open."),
        ("2026-06-25T16:59", "say:Open."),  # a timed event over midnight, in UTC: 22:00-10:00 in London (BST)
        ("2026-06-26T09:59", "say:Closed."),
        ("2026-06-26T10:00", "say:Open."),
        ("2026-07-03T10:00", "say:Open."),
        ("2026-07-04T10:00", "say:Closed."),  # RRULE:FREQ=YEARLY from 2025 (a Saturday in 2026; 2028 is a Tuesday)
        ("2028-07-04T10:00", "say:Closed."),
    ],
)
def test_an_ical_file_in_the_flows_folder(tmp_path, moment, expected):
    flow = flow_with(tmp_path, "- {ical: calendars/office.ics}", **{"calendars/office.ics": OFFICE_ICS})
    assert said(flow, moment) == expected


def test_a_timed_event_leaves_the_rest_of_the_day_open(tmp_path):
    flow = flow_with(tmp_path, "- {ical: calendars/office.ics}", **{"calendars/office.ics": OFFICE_ICS})
    closures = flow.schedule.closures(datetime(2026, 6, 20, tzinfo=LONDON).timestamp(), 2)
    assert closures[1][0].isoformat() == "2026-06-26"  # the party after hours on the 24th closes nothing
    day, holiday = closures[0]
    assert (day.isoformat(), holiday.name, holiday.source) == (
        "2026-06-23",
        "Staff training",
        "calendar calendars/office.ics",
    )
    assert [(a.strftime("%H:%M"), b.strftime("%H:%M")) for a, b in holiday.hours] == [
        ("09:00", "13:00"),
        ("15:00", "17:00"),
    ]


@pytest.mark.parametrize(
    "ics,message",
    [
        ("hello\n", "holidays.0.ical: not an iCalendar file"),
        (OFFICE_ICS.replace("RRULE:FREQ=YEARLY", "RRULE:FREQ=YEARLY;UNTIL=soon"), "ical: not a usable iCalendar file"),
        ("../outside.ics", "holidays.0.ical: no calendar file '../outside.ics' inside"),
    ],
)
def test_a_bad_calendar_file_is_a_problem_at_its_line(tmp_path, ics, message):
    (tmp_path / "outside.ics").write_text(OFFICE_ICS)
    files = {"calendars/bad.ics": ics} if ics.endswith("\n") else {}
    ref = "calendars/bad.ics" if files else ics
    with pytest.raises(FlowInvalid) as failed:
        flow_with(tmp_path / "flows", f"- {{ical: {ref}}}", **files)
    assert [(p.line, message in p.message) for p in failed.value.problems] == [(6, True)], failed.value.problems
