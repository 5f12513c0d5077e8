"""The admin app in a real Chromium (Playwright, Debian's /usr/bin/chromium) against a real HTTP server:
log in, break a flow and see the error on its line, fix and publish it, see the new revision used by a simulated
call, roll back, play the shipped flow through the callback branch, find the call in the log and the analytics,
with the browser console free of errors. Screenshots of the main pages go to artifacts/screenshots/."""

from __future__ import annotations

import re
import threading
import time

import pytest
from playwright import sync_api as playwright_api
from werkzeug.serving import make_server

from ivr.store.chats import ChatStore
from tests.admin.helpers import PASSWORD, REPO, shipped_yaml

pytestmark = pytest.mark.slow  # Chromium

SHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FLOW = "skype-receptionist"
NEW_GOODBYE = "Thanks for calling revision two. Goodbye."


@pytest.fixture
def server(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server, viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console_problems = []
    page.on("console", lambda m: m.type in ("error", "warning") and page.console_problems.append(m.text))
    page.on("pageerror", lambda e: page.console_problems.append(str(e)))
    yield page
    context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def simulate(page, keys_pressed: list[str], keyboard: bool = False) -> str:
    """Start a recorded call in the simulator, press each key group (on the page's keypad, or typed on the
    keyboard then Enter), return the whole transcript."""
    page.goto(f"/simulator/?flow={FLOW}")
    page.click("#sim-start")
    page.wait_for_selector("#sim-status:has-text('waiting')")
    for group in keys_pressed:
        if keyboard:
            page.locator("#sim-transcript").click()  # focus outside the text fields
            page.keyboard.type(group)
            page.keyboard.press("Enter")
        else:
            for key in group:
                page.click(f"#sim-keypad button[data-key='{key}']")
            page.click("#sim-send")  # disables the keypad until the server answered
        page.wait_for_selector("#sim-send:not([disabled]), #sim-status:text-is('ended')")
    page.wait_for_selector("#sim-status:has-text('ended')")
    return page.inner_text("#sim-transcript")


def test_admin_journey(page, redis_conn):
    page.goto("/flows/")
    assert "/login" in page.url
    shot(page, "login")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/flows/")  # back where the login was asked for
    page.goto("/flows/")
    assert page.inner_text("[data-state]") == "running from file"
    page.click("text=Import from flows/")
    page.wait_for_selector("text=new revision, published (nothing is published yet)")  # asked first
    assert page.locator(".diff .add").count() > 10
    page.click("#confirm-import")
    page.wait_for_selector("text=imported as revision 1 and published")
    shot(page, "flows")

    # break the flow: the problem shows on its line, from the same code as `ivr validate`
    page.goto(f"/flows/{FLOW}/edit")
    broken = shipped_yaml().replace("goto: send_support_links", "goto: send_suport_links")
    line = broken.splitlines().index("        goto: send_suport_links") + 1
    page.fill("#yaml", broken)
    page.wait_for_selector("#problems li:has-text('send_suport_links')")
    assert page.get_attribute("#problems li", "data-line") == str(line)
    assert page.inner_text("#gutter div.error") == str(line)
    follows = page.locator("#problems li.follows").count()  # the step left unreachable follows from the typo
    assert page.inner_text("#validation") == f"1 problem(s) (+{follows} that follow)" and follows >= 1
    page.click(f"#problems li[data-line='{line}']")  # jumps to the line
    shot(page, "editor-error")

    # fix it, publish, and a simulated call uses the new revision
    page.fill("#yaml", shipped_yaml().replace("Thank you for calling. Goodbye.", NEW_GOODBYE))
    page.wait_for_selector("#validation:has-text('valid')")
    assert page.locator("#gutter div.error").count() == 0
    page.fill("#message", "friendlier goodbye")
    page.check("#publish-now")
    page.click("#save")
    page.wait_for_selector("text=Saved and published revision 2")
    shot(page, "flow")
    transcript = simulate(page, ["1"])
    assert "on revision 2" in transcript and NEW_GOODBYE in transcript

    # roll back: new calls run revision 1 again (running processes refresh the published pointer every 2 s)
    page.goto(f"/flows/{FLOW}")
    page.click("#rollback")
    page.wait_for_selector("text=Rolled back to revision 1")
    page.wait_for_timeout(2100)
    transcript = simulate(page, ["1"])
    assert "on revision 1" in transcript and "Thank you for calling. Goodbye." in transcript

    # the shipped flow through the callback branch: press 3, then 1 (call back this number)
    transcript = simulate(page, ["3", "1"], keyboard=True)
    assert "We will call you back" in transcript
    assert "callback" in page.inner_text("#sim-jobs")
    shot(page, "simulator")
    call_id = re.search(r"call (sim-[0-9a-f]+) on revision", transcript).group(1)

    page.goto("/calls/")
    assert call_id in page.inner_html("#calls")
    shot(page, "calls")
    page.click(f"a[href='/calls/{call_id}']")
    page.wait_for_selector("text=request_callback")
    assert "callback job" in page.inner_text(".timeline")
    shot(page, "call")

    page.goto("/analytics/")
    assert int(page.inner_text("#total-calls")) == 3
    funnel = page.inner_text(".menu-funnel:has-text('main_menu')")
    assert "asked 3 times" in funnel
    shot(page, "analytics")

    for name, path in (("callbacks", "/callbacks/"), ("settings", "/settings"), ("audit", "/audit")):
        page.goto(path)
        shot(page, name)
    assert "rollback" in page.inner_text("table")
    page.goto("/calls/live")
    page.wait_for_timeout(2500)  # one auto-refresh
    shot(page, "live")
    assert page.console_problems == []


def test_chat_from_both_sides(browser, page, server, redis_conn):
    token = "t" * 32
    ChatStore(redis_conn).create_room(
        "room-b", call_id="call-b", caller="+15550007777", at=time.time(), token=token, token_ttl=600
    )
    caller = browser.new_context(base_url=server).new_page()  # no login: the link is the key
    caller.on("pageerror", lambda e: page.console_problems.append(str(e)))
    caller.goto(f"/chat/{token}")
    caller.fill("#chat-text", "Is this Skype?")
    caller.click("#chat-form button")
    page.goto("/login")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/chats/")
    page.click("a:has-text('+15550007777')")
    page.wait_for_selector("#chat-log .msg:has-text('Is this Skype?')")
    page.fill("#chat-text", "No, but here is their help page.")
    page.click("#chat-form button")
    caller.wait_for_selector("#chat-log .msg:has-text('here is their help page')")
    shot(page, "chat-operator")
    shot(caller, "chat-caller")
    caller.context.close()
    assert page.console_problems == []


def test_failed_save_keeps_the_cursor_at_the_first_error(page):
    """Issue 19: a save the server refused re-opened the editor with the cursor on line 1."""
    page.goto("/login")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    broken = shipped_yaml().replace("timeout: 25", "timeout: soon")  # two transfers: two problems
    lines = [n for n, text in enumerate(broken.splitlines(), 1) if "timeout: soon" in text]
    assert len(lines) == 2
    page.goto(f"/flows/{FLOW}/edit")
    page.fill("#yaml", broken)
    page.wait_for_selector("#problems li:has-text('soon')")
    page.fill("#message", "broken on purpose")
    page.click("#save")
    page.wait_for_selector("text=Not saved: 2 problem(s)")
    assert page.evaluate("document.activeElement.id") == "yaml"
    cursor_line = page.evaluate(
        "(a => a.value.slice(0, a.selectionStart).split('\\n').length)(document.getElementById('yaml'))"
    )
    assert cursor_line == lines[0]
    assert page.locator("#yaml").input_value() == broken  # the refused text is kept, not the saved one
    # Chromium logs the refused save's own 400 response; nothing else may be logged
    assert [m for m in page.console_problems if "status of 400" not in m] == []


def log_in(page, then: str = "**/") -> None:
    page.goto("/login")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(then)


def test_the_live_queue_refreshes_as_callers_leave(page, redis_conn):
    from ivr.store.queues import QueueBoard

    board, now = QueueBoard(redis_conn), time.time()
    board.join("owner", "call-a", "+442079460001", now, since=now - 30)
    board.join("owner", "call-b", "+442079460002", now)
    log_in(page)
    page.goto("/calls/live")
    assert page.locator("#queue-rows tr.queued").count() == 2
    shot(page, "live-queue")
    board.leave("owner", "call-a")  # the head was put through: the second moves up without a reload
    page.wait_for_selector("#queue-rows tr.queued >> nth=1", state="detached")  # CSP: no string evaluation
    assert "+442079460002" in page.inner_text("#queue-rows") and page.inner_text("#queue-rows td.num") == "1"
    assert page.console_problems == []
