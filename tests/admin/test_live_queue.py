"""The live queue on the live calls page (Flask client, viewer and admin): who waits in each hold queue, in which
place, for how long and what is happening for them; the fragment the page refreshes from; a caller who left."""

from __future__ import annotations

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.store.queues import QueueBoard


def test_the_live_page_shows_who_waits_in_which_place_for_how_long(viewer, admin, redis_conn):
    board = QueueBoard(redis_conn)
    now = time.time()
    board.join("skype.owner_queue", "call-first", "+442079460001", now, since=now - 95)
    board.join("skype.owner_queue", "call-second", "+442079460002", now, since=now - 20)
    board.note("skype.owner_queue", "call-first", "ringing +442079460100")
    for client in (viewer, admin):
        page = client.get("/calls/live").text
        assert "Live queue" in page and "skype.owner_queue" in page
        rows = re.findall(r'<tr class="queued">(.*?)</tr>', page, re.S)
        assert len(rows) == 2
        assert "+442079460001" in rows[0] and ">1<" in rows[0] and "ringing +442079460100" in rows[0]
        assert "+442079460002" in rows[1] and ">2<" in rows[1] and "waiting" in rows[1]
        assert re.search(r">9[5-7] s<", rows[0]) and re.search(r">2[0-2] s<", rows[1])
    board.leave("skype.owner_queue", "call-first")
    fragment = viewer.get("/calls/live?fragment=queue").text
    assert "+442079460001" not in fragment and re.search(
        r'class="num">1</td>\s*<td class="mono"><a href="/calls/call-second"', fragment
    )
    board.leave("skype.owner_queue", "call-second")
    assert "Nobody is waiting." in viewer.get("/calls/live?fragment=queue").text


def test_a_queued_call_shows_its_queue_in_the_timeline(admin, settings, redis_conn):
    from ivr.call_session.wiring import open_call_session
    from ivr.channels.simulator import run_script
    from ivr.flows import load_flow

    flow = load_flow(settings.flows_dir / "skype-receptionist.yaml")
    session = open_call_session(settings, conn=redis_conn)
    office_hours = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/London")).timestamp()  # a Monday
    call = run_script(flow, ["0", "transfer:busy", "queue:exhausted", "hangup"], at=office_hours, session=session)
    page = admin.get(f"/calls/{call.call_id}").text
    assert "queued in skype-receptionist.wait_for_owner, ringing +442079460100" in page
