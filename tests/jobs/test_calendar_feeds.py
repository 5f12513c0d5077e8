"""Holiday calendar feeds: a real worker fetches an .ics from a loopback HTTP server (only under
IVR_HTTP_ALLOWLIST), keeps the last good copy in Redis and a file, and calls read that copy, even with Redis down."""

from __future__ import annotations

import socket
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from ivr.admin.setup_check import State, flow_needs
from ivr.admin.setup_feeds import holiday_feeds
from ivr.call_session.calendars import StoredCalendars
from ivr.cli import main
from ivr.flows import FlowRepository
from ivr.flows.holiday_sources import allowed_url
from ivr.jobs.calendars import MAX_BYTES, RETRY_EVERY, refresh_feeds
from ivr.settings import Settings
from ivr.store import connect
from ivr.store.calendars import CalendarCopies
from ivr.store.flows import FlowStore
from ivr.worker import make_worker
from tests.engine.helpers import play
from tests.engine.test_holiday_sources import OFFICE_ICS, STEPS, WEEK
from tests.fakes.calendar_feed import CalendarFeed

LONDON = ZoneInfo("Europe/London")


def founders_day() -> date:
    """A 4 July (yearly in OFFICE_ICS) on a weekday, within the years a flow loaded today resolves."""
    today = date.today()
    return next(d for y in range(today.year, today.year + 4) if (d := date(y, 7, 4)) >= today and d.weekday() < 5)


FOUNDERS = datetime.combine(founders_day(), time(10), LONDON).timestamp()


@pytest.fixture
def feed():
    with CalendarFeed(OFFICE_ICS) as server:
        yield server


@pytest.fixture
def feed_settings(tmp_path, feed, redis_url) -> Settings:
    flows = tmp_path / "flows"
    flows.mkdir()
    holidays = f'    - {{ical: "{feed.url}", name: Office calendar}}\n'
    text = f"id: office\nbusiness_hours:\n  timezone: Europe/London\n  weekly: {WEEK}\n  holidays:\n{holidays}{STEPS}"
    (flows / "office.yaml").write_text(text)
    return Settings(data_dir=tmp_path / "data", flows_dir=flows, http_allowlist=(feed.base,), redis_url=redis_url)


def said(repository: FlowRepository, at: float) -> str:
    return play(repository.get("office"), [], at=at)[1][0][0]


def test_a_real_worker_fetches_the_feed_and_calls_read_its_copy(feed, feed_settings, redis_server, redis_conn):
    conn = connect(redis_server.url)
    repository = FlowRepository(feed_settings.flows_dir, calendars=StoredCalendars(conn, feed_settings.data_dir, 0))
    assert said(repository, FOUNDERS) == "say:Open."  # not fetched yet: the week's hours
    make_worker(feed_settings, conn).work(burst=True, with_scheduler=True, logging_level="WARNING")
    assert feed.downloads == 1
    assert said(repository, FOUNDERS) == "say:Closed."  # the cached flow was built again with the copy
    make_worker(feed_settings, conn).work(burst=True, with_scheduler=True, logging_level="WARNING")
    assert feed.downloads == 1  # not due again for an hour
    day, holiday = repository.get("office").schedule.closures(FOUNDERS, 1)[0]
    assert (day, holiday.name, holiday.source) == (founders_day(), "Founders' day", "Office calendar")


def test_a_bad_download_keeps_the_last_good_copy_and_doctor_says_so(feed, feed_settings, redis_conn):
    assert "has not been fetched yet" in holiday_feeds(feed_settings).detail
    assert refresh_feeds(feed_settings, redis_conn, now=1000.0) == {feed.url: "ok"}
    assert holiday_feeds(feed_settings).state == State.OK
    feed.body = "<html>maintenance</html>"
    assert refresh_feeds(feed_settings, redis_conn, now=1001.0) == {}  # not due
    assert "not an iCalendar file" in refresh_feeds(feed_settings, redis_conn, now=1000.0 + 3600)[feed.url]
    later = 1000.0 + 3600
    for status, body, reason in (
        (302, "", "HTTP 302"),  # a redirect is never followed: it could leave the allowlist
        (200, "BEGIN:VCALENDAR\n" + "X" * MAX_BYTES, f"larger than {MAX_BYTES} bytes"),
        (500, OFFICE_ICS, "HTTP 500"),
    ):
        feed.status, feed.body, later = status, body, later + RETRY_EVERY
        assert refresh_feeds(feed_settings, redis_conn, now=later)[feed.url] == reason
    copy = CalendarCopies(redis_conn, feed_settings.data_dir).get(feed.url)
    assert (copy.text, copy.fetched_at, copy.error) == (OFFICE_ICS, 1000.0, "HTTP 500")
    item = holiday_feeds(feed_settings)  # a warning: doctor never needs it, so it never fails for a feed
    assert item.state == State.BROKEN and "HTTP 500); calls use the copy fetched 1970-01-01 00:16 UTC" in item.detail
    assert "holiday_feeds" not in flow_needs(feed_settings)


def test_a_feed_only_in_a_published_revision_is_fetched_too(feed, feed_settings, redis_conn):
    text = (feed_settings.flows_dir / "office.yaml").read_text()
    (feed_settings.flows_dir / "office.yaml").unlink()
    store = FlowStore(redis_conn)
    store.publish("office", store.save_revision("office", text.replace("office.ics", "published.ics")))
    assert refresh_feeds(feed_settings, redis_conn, now=1000.0) == {feed.base + "published.ics": "ok"}


def test_a_feed_outside_the_allowlist_is_never_fetched(feed, feed_settings, redis_conn, redis_url):
    elsewhere = feed_settings.with_overrides(http_allowlist=("https://calendars.example.org/",))
    assert "IVR_HTTP_ALLOWLIST" in refresh_feeds(elsewhere, redis_conn, now=1000.0)[feed.url]
    assert feed.downloads == 0
    env = {"IVR_DATA_DIR": str(feed_settings.data_dir), "REDIS_URL": redis_url}
    for allowlist, warning in (
        (elsewhere, "is not under any IVR_HTTP_ALLOWLIST prefix"),
        (feed, "has not been fetched yet"),
    ):
        done = CliRunner().invoke(
            main, ["validate", str(feed_settings.flows_dir)], env={**env, "IVR_HTTP_ALLOWLIST": allowlist_of(allowlist)}
        )
        assert done.exit_code == 0 and "office.yaml:6:14: warning: business_hours.holidays.0.ical" in done.output
        assert warning in done.output


def allowlist_of(source) -> str:
    return source.base if isinstance(source, CalendarFeed) else ",".join(source.http_allowlist)


@pytest.mark.parametrize(
    "url,allowed",
    [
        ("https://cal.example.org/office.ics", True),
        ("https://cal.example.org", True),
        ("https://cal.example.org.evil.test/office.ics", False),
        ("https://cal.example.orgx/office.ics", False),
        ("http://cal.example.org/office.ics", False),
    ],
)
def test_the_allowlist_matches_whole_hosts_and_paths(url, allowed):
    assert allowed_url(url, ("https://cal.example.org",)) is allowed


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_with_redis_down_calls_read_the_file_copy(feed, feed_settings, redis_conn):
    refresh_feeds(feed_settings, redis_conn, now=1000.0)
    down = connect(f"redis://127.0.0.1:{_refused_port()}", socket_timeout=0.2)
    repository = FlowRepository(feed_settings.flows_dir, calendars=StoredCalendars(down, feed_settings.data_dir))
    assert said(repository, FOUNDERS) == "say:Closed."
