"""FlowRepository: the flows a process runs, cached in memory.

Published revisions come from an optional revision source (the Redis store); without one, or when it
fails (Redis down), the files in `flows_dir` and the flows already cached keep calls running. A call
pins the revision it started on: `get(flow_id, revision)` returns exactly that revision. With `calendars`
(the last good copies of holiday feeds), a cached flow is built again once a feed's copy has changed.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Protocol

from ..engine.flow import Flow
from .holiday_sources import CalendarSource
from .loader import FlowInvalid, build_flow, load_flow

log = logging.getLogger(__name__)


class RevisionSource(Protocol):
    def published(self, flow_id: str) -> tuple[str, str] | None:
        """(revision id, YAML text) of the published revision, or None if none is published."""

    def revision_text(self, flow_id: str, revision: str) -> str | None:
        """YAML text of one immutable revision."""


class _Recorded:
    """A CalendarSource that remembers what it answered, to see later whether a copy changed."""

    def __init__(self, source: CalendarSource):
        self.source = source
        self.seen: dict[str, str | None] = {}

    def text(self, url: str) -> str | None:
        self.seen[url] = self.source.text(url)
        return self.seen[url]


Build = Callable[[CalendarSource | None], Flow]


class FlowRepository:
    def __init__(
        self,
        flows_dir: str | Path,
        source: RevisionSource | None = None,
        refresh_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        calendars: CalendarSource | None = None,
    ):
        self.flows_dir = Path(flows_dir)
        self.source = source
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.calendars = calendars
        self._flows: dict[tuple[str, str], Flow] = {}
        self._feeds: dict[tuple[str, str], dict[str, str | None]] = {}  # the feed copies each flow was built with
        self._builds: dict[tuple[str, str], Build] = {}
        self._current: dict[str, tuple[float, str]] = {}  # flow id -> (checked at, revision)
        self._file_mtimes: dict[str, int] = {}  # flow id -> mtime of the file last loaded

    def get(self, flow_id: str, revision: str | None = None) -> Flow:
        """The flow to run: a pinned revision, or the currently published one (refreshed every few seconds)."""
        if revision is not None:
            if (flow_id, revision) in self._flows:
                return self._cached((flow_id, revision))
            return self._load_revision(flow_id, revision)
        checked = self._current.get(flow_id)
        if checked and self.clock() - checked[0] < self.refresh_seconds:
            return self._cached((flow_id, checked[1]))
        flow = self._load_published(flow_id)
        if flow is None and checked and checked[1] != "file":  # the source failed: keep the last known revision
            self._current[flow_id] = (self.clock(), checked[1])  # and look again in refresh_seconds, not now
            return self._cached((flow_id, checked[1]))
        if flow is None:
            try:
                flow = self._load_file(flow_id)
            except KeyError:
                if not checked:
                    raise
                flow = self._flows[(flow_id, checked[1])]  # the file went away: calls keep the flow they had
        self._current[flow_id] = (self.clock(), flow.revision)
        return flow

    def _load_published(self, flow_id: str) -> Flow | None:
        if self.source is None:
            return None
        try:
            found = self.source.published(flow_id)
        except Exception as exc:  # Redis down or similar: fall back, never fail the call
            log.warning("cannot read the published revision of %s: %s", flow_id, exc)
            return None
        if found is None:
            return None
        revision, text = found
        return self._cache(
            flow_id,
            revision,
            lambda cal: build_flow(text, f"{flow_id}@{revision}", self.flows_dir, revision=revision, calendars=cal),
        )

    def _load_revision(self, flow_id: str, revision: str) -> Flow:
        if revision == "file":
            return self._load_file(flow_id)
        text = self.source.revision_text(flow_id, revision) if self.source is not None else None
        if text is None:
            raise KeyError(f"no revision {revision} of flow {flow_id}")
        return self._cache(
            flow_id,
            revision,
            lambda cal: build_flow(text, f"{flow_id}@{revision}", self.flows_dir, revision=revision, calendars=cal),
        )

    def _load_file(self, flow_id: str) -> Flow:
        path = self.flows_dir / f"{flow_id}.yaml"
        try:
            changed = path.stat().st_mtime_ns
        except OSError:
            raise KeyError(f"no flow file {path}") from None
        if self._file_mtimes.get(flow_id, changed) != changed:  # edited on disk: a long-lived repository re-reads it
            self._flows.pop((flow_id, "file"), None)
        self._file_mtimes[flow_id] = changed
        return self._cache(flow_id, "file", lambda cal: load_flow(path, calendars=cal))

    def _cache(self, flow_id: str, revision: str, build: Build) -> Flow:
        key = (flow_id, revision)
        self._builds.setdefault(key, build)
        if key not in self._flows or self._feeds_changed(key):
            recorded = _Recorded(self.calendars) if self.calendars is not None else None
            self._flows[key] = build(recorded)
            self._feeds[key] = recorded.seen if recorded is not None else {}
        return self._flows[key]

    def _cached(self, key: tuple[str, str]) -> Flow:
        """A cached flow, built again if a holiday feed it was built with has a new copy."""
        return self._cache(*key, self._builds[key])

    def _feeds_changed(self, key: tuple[str, str]) -> bool:
        seen = self._feeds.get(key, {})
        return self.calendars is not None and any(self.calendars.text(url) != text for url, text in seen.items())


__all__ = ["FlowRepository", "FlowInvalid", "RevisionSource"]
