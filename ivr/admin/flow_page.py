"""What the flow page shows of one revision: its graph (each arrow's calls of the last 30 days, and a call's path
when asked), or its problems when it cannot be built, and the next ten closures of its business hours (holiday
feeds as their last good copies, never fetched here)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import url_for

from ivr.call_session.calendars import StoredCalendars
from ivr.flows import FlowInvalid
from ivr.flows.loader import build_flow
from ivr.store.analytics import edge_counts
from ivr.store.calls import CallStore

from .common import redis_conn, settings
from .flow_graph import funnel_days, graph_markup

CLOSURES_SHOWN = 10


def revision_view(flow_id: str, text: str, shown: int | None, call_id: str) -> dict:
    """The template's `graph`, `problems` and `closures` for one revision's text."""
    calendars = StoredCalendars(redis_conn(), settings().data_dir)
    try:
        flow = build_flow(text, f"{flow_id}.yaml", settings().flows_dir, calendars=calendars)
    except FlowInvalid as exc:
        return {"graph": None, "problems": exc.problems, "closures": []}
    closures = flow.schedule.closures(time.time(), CLOSURES_SHOWN) if flow.schedule is not None else []
    counts = edge_counts(redis_conn(), flow_id, funnel_days(datetime.now(timezone.utc).date()))
    call = CallStore(redis_conn()).get(call_id) if call_id else None
    graph = graph_markup(
        flow, text, counts, call.path if call else None, edit_url=url_for("flows.edit", flow_id=flow_id, rev=shown)
    )
    return {"graph": graph, "problems": [], "closures": closures}
