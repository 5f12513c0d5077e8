"""Calls recorded through the real call_session show up in the log (with filters), the timeline, the live view
and the analytics counters (charts and CSV)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from ivr.call_session.wiring import open_call_session
from ivr.channels.simulator import run_script
from ivr.flows import load_flow
from ivr.store import analytics
from ivr.store.callbacks import CallbackStatus, CallbackStore
from ivr.store.calls import CallStore

MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc).timestamp()
SUNDAY = datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc).timestamp()


@pytest.fixture
def session(settings, redis_conn):
    return open_call_session(settings, conn=redis_conn)


@pytest.fixture
def flow(settings):
    return load_flow(settings.flows_dir / "skype-receptionist.yaml")


def play(session, flow, turns, caller="+15550009999", at=MONDAY_NOON, call_id=None, channel="simulator"):
    return run_script(flow, turns, caller=caller, at=at, session=session, call_id=call_id, channel=channel)


def test_log_filters_and_timeline(admin, session, flow):
    play(session, flow, ["1"], call_id="c-links", caller="+15550001111")
    play(session, flow, ["3", "1"], call_id="c-callback", caller="+15550002222", at=SUNDAY)
    play(session, flow, ["9", "silence", "7"], call_id="c-confused", caller="+15550003333")
    page = admin.get("/calls/").text
    assert all(c in page for c in ("c-links", "c-callback", "c-confused"))
    assert "c-callback" not in admin.get("/calls/?from=2026-11-23").text
    assert "c-callback" in admin.get("/calls/?to=2026-11-22").text
    assert "c-links" not in admin.get("/calls/?to=2026-11-22").text
    only = admin.get("/calls/?caller=2222").text
    assert "c-callback" in only and "c-links" not in only
    stepped = admin.get("/calls/?step=request_callback").text
    assert "c-callback" in stepped and "c-confused" not in stepped
    assert "c-links" in admin.get("/calls/?outcome=support_links_sent").text
    assert "c-links" in admin.get("/calls/?channel=simulator").text
    assert "c-links" not in admin.get("/calls/?channel=sip").text
    detail = admin.get("/calls/c-callback").text
    for expected in ("To ask for a call back, press 3.", "pressed 3", "callback job", "request_callback"):
        assert expected in detail
    assert admin.get("/calls/nope").status_code == 404


def test_log_pages_through_older_calls(admin, session, flow):
    for i in range(55):
        play(session, flow, ["1"], call_id=f"c{i:03d}", at=MONDAY_NOON + i)
    first = admin.get("/calls/").text
    assert "c054" in first and "c004" not in first and "Older calls" in first
    before = MONDAY_NOON + 5
    second = admin.get(f"/calls/?before={before}").text
    assert "c004" in second and "c000" in second and "c054" not in second


def test_live_view_shows_calls_in_progress(admin, session, flow):
    session.start(call_id="c-live", channel="sip", caller="+15550004444", called="+1555", at=MONDAY_NOON)
    page = admin.get("/calls/live?fragment=1").text
    assert "+15550004444" in page and "main_menu" in page


def test_analytics_counts_finished_calls(admin, session, flow, redis_conn):
    play(session, flow, ["1"], call_id="a1")
    play(session, flow, ["say:support"], call_id="a2", channel="twilio")
    play(session, flow, ["silence", "9", "3", "1"], call_id="a3", at=SUNDAY)
    report = admin.get("/api/v1/analytics?from=2026-11-22&to=2026-11-23").json
    assert report["total_calls"] == 3  # the finished calls no worker counted yet are counted by the read
    assert analytics.record_call_finished(redis_conn, "a1") is False  # counted once
    assert admin.get("/api/v1/analytics?from=2026-11-22&to=2026-11-23").json["total_calls"] == 3
    assert {d["day"]: d["total"] for d in report["calls_per_day"]} == {"2026-11-22": 1, "2026-11-23": 2}
    assert report["calls_per_day"][1]["twilio"] == 1
    menu = next(m for m in report["menus"] if m["step"] == "main_menu")
    assert menu["choices"] == {"1": 2, "3": 1}
    rates = next(r for r in report["step_rates"] if r["step"] == "main_menu")
    assert (rates["asked"], rates["no_input"], rates["no_match"]) == (5, 1, 1)
    assert report["hours"][12]["calls"] == 2 and report["hours"][9]["calls"] == 1
    assert report["callbacks"][0]["requested"] == 1
    page = admin.get("/analytics/?from=2026-11-22&to=2026-11-23").text
    assert page.count("<svg") >= 6 and "main_menu" in page
    rows = list(csv.DictReader(io.StringIO(admin.get("/analytics/outcomes.csv?from=2026-11-22&to=2026-11-23").text)))
    assert {r["outcome"]: int(r["calls"]) for r in rows}["support_links_sent"] == 2
    assert admin.get("/analytics/nope.csv").status_code == 404


def test_speech_turns_and_their_no_matches_per_menu(admin, session, flow):
    play(session, flow, ["say:a pizza please", "say:support"], call_id="s1")
    play(session, flow, ["2"], call_id="s2")
    report = admin.get("/api/v1/analytics?from=2026-11-22&to=2026-11-23").json
    rates = next(r for r in report["step_rates"] if r["step"] == "main_menu")
    assert (rates["speech"], rates["speech_no_match"], rates["no_match"]) == (2, 1, 1)
    page = admin.get("/calls/s1").text
    assert "said “a pizza please” (confidence 1.00)" in page
    assert "Speech no match" in admin.get("/analytics/?from=2026-11-22&to=2026-11-23").text


def test_callback_success_rate_settles_final_statuses(admin, session, flow, redis_conn):
    play(session, flow, ["3", "1"], call_id="cb1")
    play(session, flow, ["3", "1"], call_id="cb2")
    job_ids = [j for c in ("cb1", "cb2") for j in CallStore(redis_conn).get(c).jobs]
    callbacks = CallbackStore(redis_conn)
    for job_id in job_ids:  # what the worker does with a callback job
        callbacks.create(job_id, number="+15550009999", call_id="", at=MONDAY_NOON)
    callbacks.set_status(job_ids[0], CallbackStatus.COMPLETED)
    report = admin.get("/api/v1/analytics?from=2026-11-23&to=2026-11-23").json["callbacks"][0]
    assert (report["requested"], report["completed"], report["success_rate"]) == (2, 1, 1.0)
    callbacks.set_status(job_ids[1], CallbackStatus.FAILED)
    report = admin.get("/api/v1/analytics?from=2026-11-23&to=2026-11-23").json["callbacks"][0]
    assert (report["completed"], report["failed"], report["success_rate"]) == (1, 1, 0.5)


def test_rebuild_analytics_counts_calls_written_without_the_hook(redis_server, redis_conn):
    import os
    import subprocess
    import sys

    from tests.admin.helpers import REPO

    calls = CallStore(redis_conn)
    for n in range(3):
        calls.start(f"old{n}", channel="sip", caller="+1555", called="+1", started_at=MONDAY_NOON, flow_id="f")
        calls.finish(f"old{n}", ended_at=MONDAY_NOON + 9, outcome="completed", path=["a"])
    calls.start("running", channel="sip", caller="+1555", called="+1", started_at=MONDAY_NOON, flow_id="f")
    env = {**os.environ, "REDIS_URL": redis_server.url}
    run = [sys.executable, "-m", "ivr", "admin", "rebuild-analytics"]
    done = subprocess.run(run, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "3 call(s)" in done.stdout, done.stderr
    again = subprocess.run(run, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert "0 call(s)" in again.stdout
    assert analytics.read_days(redis_conn, ["2026-11-23"])[0]["2026-11-23"]["channel:sip"] == 3


def test_chart_axes_make_sense_when_empty_and_outcomes_read_as_words():
    """Issue 19: an empty axis read 0/0/1; outcome labels were snake_case, colours arbitrary."""
    import re

    from ivr.admin import charts

    empty = str(charts.stacked_bars(["2026-11-01", "2026-11-02"], {"sip": [0, 0]}))
    assert re.findall(r'class="tick" x="\d+" y="[\d.]+" text-anchor="end">(\d+)<', empty) == ["0", "1"]
    assert charts.words("support_links_sent") == "Support links sent"
    assert charts.outcome_colour("abandoned") == "#dc2626" != charts.outcome_colour("support_links_sent")
    assert charts.outcome_colour("voicemail") == charts.outcome_colour("voicemail")


def bar_fills(page: str) -> dict[str, str]:
    """Each horizontal bar's label -> its fill colour, as drawn by charts.hbars."""
    import re

    return dict(re.findall(r'class="bar-label"[^>]*>([^<]+)</text><rect [^>]*fill="(#[0-9a-f]{6})"', page))


def test_outcomes_are_coloured_and_labelled_by_the_kind_the_flow_gives_them(admin, session, flow):
    """Issue 19: outcome colours came from the name (abandoned red); the shipped flow says abandoned is neutral."""
    from ivr.admin import charts

    play(session, flow, ["1"], call_id="k-links")
    play(session, flow, ["hangup"], call_id="k-gone")
    page = admin.get("/analytics/?from=2026-11-23&to=2026-11-23").text
    fills = bar_fills(page)
    assert fills["Support links sent"] == charts.KIND_COLOURS["success"] == "#16a34a"
    assert fills["Abandoned"] == charts.KIND_COLOURS["neutral"] != charts.outcome_colour("abandoned")
    assert 'class="legend-item kind-success"' in page and 'class="legend-item kind-neutral"' in page
    assert "kind-failure" not in page  # the legend names the kinds shown
    outcomes = admin.get("/api/v1/analytics?from=2026-11-23&to=2026-11-23").json["outcomes"]
    assert {r["outcome"]: r["kind"] for r in outcomes} == {"support_links_sent": "success", "abandoned": "neutral"}
    csv_text = admin.get("/analytics/outcomes.csv?from=2026-11-23&to=2026-11-23").text
    assert csv_text.splitlines()[0] == "outcome,calls,kind"


def test_outcomes_the_flow_does_not_name_keep_their_fixed_colours(admin, redis_conn):
    calls = CallStore(redis_conn)
    for call_id, outcome in (("u1", "mystery_ending"), ("u2", "error")):
        calls.start(call_id, channel="sip", caller="+1555", called="+1", started_at=MONDAY_NOON, flow_id="gone")
        calls.finish(call_id, ended_at=MONDAY_NOON + 5, outcome=outcome, path=["a"])
    from ivr.admin import charts

    fills = bar_fills(admin.get("/analytics/?from=2026-11-23&to=2026-11-23").text)
    assert fills["Mystery ending"] == charts.outcome_colour("mystery_ending")
    assert fills["Error"] == charts.KIND_COLOURS["failure"]  # the shipped flow names error as a failure


def test_the_analytics_keep_their_flows_between_requests_and_see_an_edited_file(app, admin, session, flow, settings):
    """The page once built every flow on every request; one repository per app now keeps them, and re-reads a
    flow file that changed on disk."""
    import os

    from ivr.admin import charts

    play(session, flow, ["hangup"], call_id="k-gone")
    page = "/analytics/?from=2026-11-23&to=2026-11-23"
    assert bar_fills(admin.get(page).text)["Abandoned"] == charts.KIND_COLOURS["neutral"]
    repository = app.extensions["ivr_flow_repository"]
    built = repository.get("skype-receptionist")
    admin.get(page)
    assert app.extensions["ivr_flow_repository"] is repository and repository.get("skype-receptionist") is built
    path = settings.flows_dir / "skype-receptionist.yaml"
    path.write_text(path.read_text().replace("abandoned: neutral", "abandoned: failure"))
    os.utime(path, ns=(1, path.stat().st_mtime_ns + 1_000_000))
    later = repository.clock() + repository.refresh_seconds + 1
    repository.clock = lambda: later  # past the refresh interval, without a sleep
    assert bar_fills(admin.get(page).text)["Abandoned"] == charts.KIND_COLOURS["failure"]
