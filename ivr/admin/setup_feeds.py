"""The set-up check's holiday calendar feeds item: each `{ical: URL}` the flows name is allowed by
IVR_HTTP_ALLOWLIST and has a good copy the worker fetched. It is a warning: a feed never fails `ivr doctor`
(its calendar only closes no days until the worker has a copy; calls keep the last good copy meanwhile)."""

from __future__ import annotations

from datetime import datetime, timezone

from ivr.call_session.wiring import open_redis
from ivr.flows.holiday_sources import allowed_url
from ivr.jobs.calendars import flow_feeds
from ivr.settings import Settings
from ivr.store import UNAVAILABLE
from ivr.store.calendars import CalendarCopies

from .setup_check import Item, State

TITLE = "Holiday calendar feeds"
NAMES = ("IVR_HTTP_ALLOWLIST", "IVR_FLOWS_DIR")


def _trouble(url: str, settings: Settings, copies: CalendarCopies) -> str:
    if not allowed_url(url, settings.http_allowlist):
        return f"{url} is not under any IVR_HTTP_ALLOWLIST prefix, so it is never fetched"
    copy = copies.get(url)
    if copy is None or not copy.text:
        return f"{url} has not been fetched yet (ivr worker fetches it){': ' + copy.error if copy else ''}"
    if copy.error:
        fetched = datetime.fromtimestamp(copy.fetched_at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return f"{url}: the last try failed ({copy.error}); calls use the copy fetched {fetched}"
    return ""


def holiday_feeds(settings: Settings) -> Item:
    conn = open_redis(settings)
    try:
        feeds = flow_feeds(settings.flows_dir, conn)
    except UNAVAILABLE:
        feeds = flow_feeds(settings.flows_dir, None)  # the flow files still name theirs
    if not feeds:
        return Item("holiday_feeds", TITLE, State.OK, "No flow names a holiday calendar feed ({ical: URL}).", NAMES)
    copies = CalendarCopies(conn, settings.data_dir)
    troubles = [found for url in sorted(feeds) if (found := _trouble(url, settings, copies))]
    if troubles:
        detail = "; ".join(troubles) + ". A feed without a copy closes no days."
        return Item("holiday_feeds", TITLE, State.BROKEN, detail, NAMES)
    detail = f"{len(feeds)} feed(s) fetched; the worker refreshes them hourly."
    return Item("holiday_feeds", TITLE, State.OK, detail, NAMES)
