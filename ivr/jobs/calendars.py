"""The worker's side of holiday calendar feeds: fetch each `{ical: URL}` the flows name, keep the last good copy.

`ivr worker` calls `refresh_feeds` in its periodic maintenance (worker.py), never on a call's path. A feed is
fetched when first seen, then every REFRESH_EVERY seconds (RETRY_EVERY after a failure), only from a URL under
a prefix of IVR_HTTP_ALLOWLIST (no redirects, at most MAX_BYTES). A download that fails or is not iCalendar is
recorded beside the good copy (store/calendars.py), which calls keep using.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import redis
import requests
import yaml

from ivr.flows import ical
from ivr.flows.holiday_sources import allowed_url, feed_entries, resolved_years
from ivr.settings import Settings
from ivr.store import UNAVAILABLE
from ivr.store.calendars import CalendarCopies
from ivr.store.flows import FlowStore

log = logging.getLogger(__name__)

SCAN_EVERY = 60.0  # seconds between looks at the flows for feeds that are due (the worker's maintenance)
REFRESH_EVERY = 3600.0
RETRY_EVERY = 300.0
FETCH_TIMEOUT = 10.0
MAX_BYTES = 2 * 1024 * 1024


def feeds_in(text: str) -> set[str]:
    """The `{ical: URL}` feeds of one flow's YAML text (a flow that does not parse names none)."""
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: ~10x faster
    except yaml.YAMLError:
        return set()
    return {url for _, url in feed_entries(data)}


def flow_feeds(flows_dir: Path, conn: redis.Redis | None) -> set[str]:
    """Every feed named by the flow files and the published revisions."""
    found: set[str] = set()
    for path in sorted(Path(flows_dir).glob("*.yaml")):
        found |= feeds_in(path.read_text(encoding="utf-8", errors="replace"))
    if conn is not None:
        store = FlowStore(conn)
        for flow_id in store.flow_ids():
            published = store.published(flow_id)
            found |= feeds_in(published[1]) if published else set()
    return found


def fetch(url: str, prefixes: Iterable[str]) -> str:
    """The feed's text, checked as iCalendar; ValueError saying why not."""
    if not allowed_url(url, prefixes):
        raise ValueError("not under any IVR_HTTP_ALLOWLIST prefix: not fetched")
    try:
        with requests.get(url, timeout=FETCH_TIMEOUT, allow_redirects=False, stream=True) as response:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            body, deadline = b"", time.monotonic() + FETCH_TIMEOUT
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_BYTES:
                    raise ValueError(f"larger than {MAX_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise ValueError(f"took longer than {FETCH_TIMEOUT:g} s")
    except requests.RequestException as exc:
        raise ValueError(f"cannot fetch: {exc}") from None
    text = body.decode("utf-8", errors="replace")
    ical.check(text, resolved_years(date.today()))
    return text


def refresh_feeds(settings: Settings, conn: redis.Redis, now: float | None = None) -> dict[str, str]:
    """Fetch the feeds that are due; url -> "ok" or the reason it failed (feeds not due are left out)."""
    now = time.time() if now is None else now
    copies = CalendarCopies(conn, settings.data_dir)
    done = {}
    for url in sorted(flow_feeds(settings.flows_dir, conn)):
        known = copies.get(url)
        wait = RETRY_EVERY if known is None or known.error or not known.text else REFRESH_EVERY
        if known is not None and now - known.checked_at < wait:
            continue
        try:
            copies.save(url, fetch(url, settings.http_allowlist), now)
            done[url] = "ok"
        except ValueError as exc:
            copies.failed(url, str(exc), now)
            done[url] = str(exc)
            log.warning("holiday calendar %s not refreshed: %s", url, exc)
    return done


def refresh_quietly(settings: Settings, conn: redis.Redis) -> dict[str, str]:
    try:
        return refresh_feeds(settings, conn)
    except UNAVAILABLE as exc:
        log.warning("holiday calendars not refreshed: redis unavailable: %s", exc)
        return {}
