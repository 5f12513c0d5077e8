"""Flows: live validation gives exactly `ivr validate`'s problems, immutable revisions, diff, publish, rollback,
import/export of flows/*.yaml, the graph, and running processes picking up a published revision."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from datetime import date, timedelta

from ivr.flows import FlowRepository
from ivr.store.audit import AuditLog
from ivr.store.calendars import CalendarCopies
from ivr.store.flows import FlowStore
from tests.admin.helpers import REPO, shipped_yaml
from tests.engine.test_holiday_sources import OFFICE_ICS, STEPS, WEEK

FLOW = "skype-receptionist"
BROKEN = shipped_yaml().replace("goto: send_support_links", "goto: send_suport_links")
NOT_AVAILABLE = '    text: "{{owner.name}} is not available right now."'
AUDIO_OUTSIDE = shipped_yaml().replace(NOT_AVAILABLE, NOT_AVAILABLE + "\n    audio: ../../var/recordings/CA1-1.wav")


def cli_problems(tmp_path, text: str) -> list[tuple[int, int, str]]:
    path = tmp_path / f"{FLOW}.yaml"
    path.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "ivr", "validate", str(path)], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    found = []
    for line in done.stdout.splitlines():
        rest = line[len(str(path)) + 1 :]
        row, column, message = rest.split(":", 2)
        found.append((int(row), int(column), message.strip()))
    return found


def test_validation_matches_the_cli(admin, tmp_path):
    for text in (BROKEN, "id: x\nsteps: [\n", shipped_yaml().replace("timeout: 25", "timeout: soon", 1), AUDIO_OUTSIDE):
        body = admin.post(f"/flows/{FLOW}/validate", json={"yaml": text}).json
        expected = cli_problems(tmp_path, text)
        assert expected, "the CLI found nothing: the fixture text is not broken"
        assert [(p["line"], p["column"], p["message"]) for p in body["problems"]] == expected
        assert body["ok"] is False
    line = BROKEN.splitlines().index("        goto: send_suport_links") + 1
    assert any(
        p["line"] == line and "send_suport_links" in p["message"]
        for p in admin.post(f"/flows/{FLOW}/validate", json={"yaml": BROKEN}).json["problems"]
    )
    assert admin.post(f"/flows/{FLOW}/validate", json={"yaml": shipped_yaml()}).json == {"ok": True, "problems": []}
    outside = admin.post(f"/flows/{FLOW}/validate", json={"yaml": AUDIO_OUTSIDE}).json["problems"]
    assert [p["message"].split(":")[0] for p in outside] == ["steps.after_hours.audio"]


def test_a_revision_must_keep_its_flow_id(admin):
    body = admin.post("/flows/other-flow/validate", json={"yaml": shipped_yaml()}).json
    assert body["problems"][0]["message"].startswith("id: 'skype-receptionist' must be 'other-flow'")


def test_save_publish_diff_rollback(admin, redis_conn):
    store = FlowStore(redis_conn)
    response = admin.post(f"/flows/{FLOW}/save", data={"yaml": BROKEN, "message": "typo"})
    assert response.status_code == 400 and "send_suport_links" in response.text
    assert store.list_revisions(FLOW) == []
    first = admin.post(f"/flows/{FLOW}/save", data={"yaml": shipped_yaml(), "message": "start", "publish": "1"})
    assert first.status_code == 302
    changed = shipped_yaml().replace("Thank you for calling. Goodbye.", "Bye now.")
    admin.post(f"/flows/{FLOW}/save", data={"yaml": changed, "message": "shorter goodbye"})
    assert store.published_rev(FLOW) == 1
    listing = admin.get("/flows/").text
    assert "revision 1" in listing and "revision 2" in listing  # published and draft
    diff = admin.get(f"/flows/{FLOW}/diff?a=1&b=2").text
    assert "-    say: &#34;Thank you for calling. Goodbye.&#34;" in diff and "+    say: &#34;Bye now.&#34;" in diff
    admin.post(f"/flows/{FLOW}/publish", data={"rev": 2})
    assert store.published_rev(FLOW) == 2
    admin.post(f"/flows/{FLOW}/rollback")
    assert store.published_rev(FLOW) == 1
    assert store.get_revision(FLOW, 2).yaml_text == changed  # revisions are never changed
    actions = [e["action"] for e in AuditLog(redis_conn).recent(target=f"flow:{FLOW}")]
    assert actions == ["rollback", "publish", "save revision", "publish", "save revision"]
    page = admin.get(f"/flows/{FLOW}").text
    assert "rollback" in page and "shorter goodbye" in page


def test_published_revision_reaches_running_processes(admin, redis_conn, settings):
    clock = [0.0]
    repository = FlowRepository(settings.flows_dir, source=FlowStore(redis_conn), clock=lambda: clock[0])
    assert repository.get(FLOW).revision == "file"
    admin.post(f"/flows/{FLOW}/save", data={"yaml": shipped_yaml(), "message": "m", "publish": "1"})
    assert repository.get(FLOW).revision == "file"  # cached for up to refresh_seconds
    clock[0] += 2.5
    assert repository.get(FLOW).revision == "1"


def test_flow_without_published_revision_is_looked_up_once_per_refresh(redis_conn, settings):
    clock = [0.0]
    repository = FlowRepository(settings.flows_dir, source=FlowStore(redis_conn), clock=lambda: clock[0])
    repository.get(FLOW)
    clock[0] += 2.5
    redis_conn.config_resetstat()
    for _ in range(50):  # every call start asks; only the first after the refresh interval may reach Redis
        assert repository.get(FLOW).revision == "file"
    assert redis_conn.info("commandstats")["cmdstat_get"]["calls"] == 1


def graph_of(page: str) -> dict:
    return json.loads(html.unescape(re.search(r'data-graph="([^"]*)"', page).group(1)))


def test_graph_shows_every_step_and_exit(admin):
    graph = graph_of(admin.get(f"/flows/{FLOW}").text)
    steps = {n["id"]: n for n in graph["nodes"]}
    for step in ("screen_caller", "main_menu", "request_callback", "goodbye"):
        assert step in steps
    assert len(graph["edges"]) >= 25
    text = shipped_yaml().splitlines()
    assert text[steps["main_menu"]["line"] - 1].strip() == "main_menu:"  # clicking it opens the editor there


def test_import_asks_first_with_the_diff_and_flow_states(admin, redis_conn, settings):
    assert 'data-state="running from file"' in admin.get("/flows/").text
    preview = admin.get("/flows/import").text
    assert "new revision, published (nothing is published yet)" in preview and 'class="add">+id: ' in preview
    store = FlowStore(redis_conn)
    assert store.list_revisions(FLOW) == []  # asking saved nothing
    admin.post("/flows/import", data={})  # publish unticked: a draft only
    assert store.published_rev(FLOW) is None and len(store.list_revisions(FLOW)) == 1
    store.publish(FLOW, 1, author="ada")
    assert 'data-state="published revision 1"' in admin.get("/flows/").text
    (settings.flows_dir / f"{FLOW}.yaml").write_text(shipped_yaml() + "\n# edited\n")
    assert "new draft revision (the published one stays)" in admin.get("/flows/import").text
    admin.post("/flows/import", data={"publish": "1"})
    assert 'data-state="draft ahead of published"' in admin.get("/flows/").text


def test_import_and_export(admin, redis_conn, settings):
    admin.post("/flows/import", data={"publish": "1"})
    store = FlowStore(redis_conn)
    assert store.published_rev(FLOW) == 1
    admin.post("/flows/import", data={"publish": "1"})
    assert len(store.list_revisions(FLOW)) == 1  # unchanged files are not imported twice
    edited = shipped_yaml().replace("Bye", "Bye")  # same text
    (settings.flows_dir / f"{FLOW}.yaml").write_text(edited + "\n# edited in git\n")
    admin.post("/flows/import", data={"publish": "1"})
    assert [r.rev for r in store.list_revisions(FLOW)] == [2, 1] and store.published_rev(FLOW) == 1
    admin.post(f"/flows/{FLOW}/export")
    assert (settings.flows_dir / f"{FLOW}.yaml").read_text() == shipped_yaml()


def test_editor_page_and_new_flow(admin):
    page = admin.get(f"/flows/{FLOW}/edit").text
    assert 'id="yaml"' in page and "screen_caller" in page
    response = admin.post("/flows/new", data={"flow_id": "support-line"})
    assert response.location.endswith("/flows/support-line/edit")
    page = admin.get("/flows/support-line/edit").text
    assert "id: support-line" in page and "✓ valid" in page
    assert admin.get("/flows/Bad%20Id/edit").status_code == 404


def test_large_flows_fit_but_other_posts_keep_the_small_limit(admin):
    big = shipped_yaml() + "".join(f"# padding line {i:06d} to make a large flow file\n" for i in range(3000))
    assert len(big) > 100_000
    assert admin.post(f"/flows/{FLOW}/validate", json={"yaml": big}).json["ok"] is True
    assert admin.post(f"/flows/{FLOW}/save", data={"yaml": big, "message": "big"}).status_code == 302
    assert admin.post("/settings/users", data={"username": "x", "password": "y" * 100_000}).status_code == 413


def test_the_flow_page_shows_the_next_ten_closures(admin):
    """The shipped flow's holidays are yearly dates and rules: whatever today is, ten closures lie ahead."""
    page = admin.get(f"/flows/{FLOW}").text
    section = page.split('id="closures"', 1)[1].split("</section>", 1)[0]
    assert section.count("<tr><td>") == 10
    assert "Christmas Day" in section and "closed all day" in section and "open 09:00-12:00" in section
    assert "bank holiday" in section


def test_one_bad_reference_is_one_problem_with_its_consequences_under_it(admin):
    """Issue 19: renaming a step gave 14 problems in a flat list; the unreachable steps follow from the reference."""
    bad = shipped_yaml().replace("\n  main_menu:", "\n  main_menuX:")
    problems = admin.post(f"/flows/{FLOW}/validate", json={"yaml": bad}).json["problems"]
    assert "unknown step 'main_menu'" in problems[0]["message"] and problems[0]["follows"] is None
    assert len(problems) > 5 and all(p["follows"] == 0 for p in problems[1:])
    page = admin.post(f"/flows/{FLOW}/save", data={"yaml": bad, "message": "x"}).text
    assert "1 problem(s) (+" in page and 'class="follows"' in page


def test_the_closures_show_each_source_with_a_feed_from_its_last_good_copy(admin, settings, redis_conn):
    """A feed the worker fetched (its copy in Redis) and a country's holidays: the page names where each came from."""
    url = "https://calendars.example.org/office.ics"
    tomorrow = (date.today() + timedelta(days=1)).strftime("%Y%m%d")
    stocktake = OFFICE_ICS.replace(
        "DTSTART;VALUE=DATE:20260617\nDTEND;VALUE=DATE:20260619", f"DTSTART;VALUE=DATE:{tomorrow}"
    )
    CalendarCopies(redis_conn, settings.data_dir).save(url, stocktake.replace("Office move", "Stocktake"), 1000.0)
    holidays = f'    - {{ical: "{url}", name: Office calendar}}\n    - {{country: GB, subdivision: ENG}}\n'
    flow = f"id: office\nbusiness_hours:\n  timezone: Europe/London\n  weekly: {WEEK}\n  holidays:\n{holidays}{STEPS}"
    (settings.flows_dir / "office.yaml").write_text(flow)
    section = admin.get("/flows/office").text.split('id="closures"', 1)[1].split("</section>", 1)[0]
    assert section.count("<tr><td>") == 10
    assert 'Stocktake</td><td class="small">Office calendar' in section.split("</tr>")[1]  # tomorrow, first
    assert 'Christmas Day</td><td class="small">GB-ENG public holidays' in section
