"""Every admin page in a real Chromium at 1366 px and at 390 px (issue 19): no console error, no horizontal
overflow of the page (a wide table scrolls inside its card, never the page)."""

from __future__ import annotations

import time

import pytest

from ivr.store.chats import ChatStore
from tests.admin.helpers import PASSWORD
from tests.admin.test_browser import CHROMIUM_ARGS, browser, server  # noqa: F401 (fixtures)
from tests.admin.test_home import start_call

pytestmark = pytest.mark.slow  # Chromium

PAGES = [
    "/",
    "/flows/",
    "/flows/skype-receptionist",
    "/flows/skype-receptionist/edit",
    "/calls/",
    "/calls/walk-1",
    "/calls/live",
    "/callbacks/",
    "/chats/",
    "/chats/room-w",
    "/analytics/",
    "/simulator/",
    "/routes/",
    "/settings",
    "/audit",
    "/chat/" + "w" * 32,
]
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
assert CHROMIUM_ARGS


@pytest.mark.parametrize("width", [1366, 390])
def test_every_page_fits_and_logs_no_error(browser, server, redis_conn, width):  # noqa: F811
    start_call(redis_conn, "walk-1", outcome="support_links_sent")
    ChatStore(redis_conn).create_room(
        "room-w", call_id="walk-1", caller="+15550007777", at=time.time(), token="w" * 32, token_ttl=600
    )
    context = browser.new_context(base_url=server, viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"{page.url}: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
    page.goto("/login")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#setup")
    overflowing = {}
    try:
        for path in PAGES:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("networkidle")
            extra = page.evaluate(OVERFLOW)
            if extra > 0:
                overflowing[path] = extra
    finally:
        context.close()
    assert problems == []
    assert overflowing == {}, f"pages wider than {width} px (by px): {overflowing}"
