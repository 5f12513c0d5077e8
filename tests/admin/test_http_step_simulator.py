"""The http step without a phone: the browser simulator (its endpoints, and its page in Chromium) and `ivr simulate`
make the request (IVR_HTTP_ALLOWLIST) and show the filler a caller would have heard while a slow answer was out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.store.calls import CallStore
from tests.admin.helpers import browser_login
from tests.admin.test_browser import browser, page, server  # noqa: F401 - the Chromium fixtures
from tests.fakes.web_service import WebService, lookup_flow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def service():
    with WebService() as running:
        yield running


@pytest.fixture
def settings(settings, service):
    (settings.flows_dir / "lookup.yaml").write_text(
        lookup_flow(service.url + "/slow?s=0.8", filler_after=0.3, filler="Just a moment.")
    )
    return settings.with_overrides(http_allowlist=(service.url + "/",))


def says(body) -> list[str]:
    return [a["text"] for a in body["actions"] if a["type"] == "say"]


def test_the_browser_simulator_makes_the_request_and_shows_the_filler(admin, redis_conn, service):
    started = admin.post("/simulator/start", json={"flow": "lookup", "record": False}).json
    assert started["done"] and says(started) == ["Just a moment.", "Hello Slow."]
    lines = [a["line"] for a in started["actions"] if a["line"]]
    assert f"[http] POST {service.url}/slow?s=0.8" in lines and "[http] ok: 200" in lines  # the page shows both
    recorded = admin.post("/simulator/start", json={"flow": "lookup", "record": True}).json
    assert says(recorded) == ["Just a moment.", "Hello Slow."]
    assert CallStore(redis_conn).get(recorded["call_id"]).path == ["ask", "greet"]
    assert len(service.requests) == 2


def test_ivr_simulate_makes_the_request_under_the_allowlist(tmp_path, service):
    flow = tmp_path / "lookup.yaml"
    flow.write_text(lookup_flow(service.url + "/customer"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}

    def simulate(**extra) -> list[dict]:
        out = subprocess.run(
            [sys.executable, "-m", "ivr", "simulate", str(flow), "--json"],
            cwd=ROOT,
            env={**env, "IVR_DATA_DIR": str(tmp_path / "data"), **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]

    allowed = simulate(IVR_HTTP_ALLOWLIST=service.url + "/")
    assert [line["text"] for line in allowed if line["type"] == "say"] == ["Hello Ada."]
    refused = simulate()  # no allowlist: loopback is refused, the flow takes its failed exit
    (sorry,) = [line["text"] for line in refused if line["type"] == "say"]
    assert sorry.startswith("Sorry, refused: ") and "loopback" in sorry
    assert len(service.requests) == 1


@pytest.mark.slow  # Chromium
def test_the_simulator_page_plays_the_http_step(page, service):  # noqa: F811 - the imported fixture
    browser_login(page)
    page.goto("/simulator/?flow=lookup")
    page.click("#sim-start")
    page.wait_for_selector("#sim-status:has-text('ended')")
    transcript = page.inner_text("#sim-transcript")
    assert transcript.index("Just a moment.") < transcript.index("Hello Slow.")
    assert f"[http] POST {service.url}/slow?s=0.8" in transcript and "[http] ok: 200" in transcript
    assert page.console_problems == []
