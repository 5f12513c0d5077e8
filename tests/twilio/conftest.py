"""Fixtures for the Twilio channel: the real app (create_app) on a private redis-server, a pinned clock, and a
signed poster that plays Twilio."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.settings import Settings
from ivr.store import connect
from ivr.web import create_app
from tests.admin import web_server
from tests.twilio.twilio_caller import AUTH_TOKEN, PUBLIC_BASE, FlaskTransport, HttpTransport, SignedPoster

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "flows"
LONDON = ZoneInfo("Europe/London")
OPEN_HOURS = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON).timestamp()  # a Monday morning
CLOSED_HOURS = datetime(2026, 11, 22, 10, 0, tzinfo=LONDON).timestamp()  # a Sunday


class Clock:
    def __init__(self, at: float = OPEN_HOURS):
        self.at = at

    def __call__(self) -> float:
        self.at += 1.0  # every request is a second after the one before
        return self.at


@pytest.fixture
def settings(tmp_path, redis_server) -> Settings:
    # An installation that can text (capabilities): the shipped flow sends its links rather than reading them out
    return Settings(
        data_dir=tmp_path / "data",
        flows_dir=FLOWS,
        redis_url=redis_server.url,
        twilio_auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE,
        twilio_account_sid="AC" + "0" * 32,
        twilio_from_number="+15550000000",
        twilio_api_base_url="http://127.0.0.1:9",
    )  # refused at once: no test reaches Twilio's own API


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(redis_conn, redis_server, clock):
    def make(settings: Settings, **config):
        return create_app(
            {
                "IVR_SETTINGS": settings,
                "IVR_REDIS": connect(redis_server.url),
                "IVR_CLOCK": clock,
                "TESTING": True,
                **config,
            }
        )

    return make


@pytest.fixture
def app(make_app, settings):
    return make_app(settings)


@pytest.fixture
def flask_twilio(app) -> SignedPoster:
    """Twilio in-process (Flask's test client), for tests that pin the clock or reach into the app."""
    return SignedPoster(FlaskTransport(app.test_client()))


@pytest.fixture(params=["flask", "gunicorn-pair"])
def twilio(request, app) -> SignedPoster:
    """The same scripts in-process and over loopback HTTP to two gunicorn servers, alternating turn by turn."""
    if request.param == "flask":
        return SignedPoster(FlaskTransport(app.test_client()))
    return SignedPoster(HttpTransport(request.getfixturevalue("gunicorn_pair")))


def start_gunicorn(env: dict, workers: int = 1, threads: int = 2) -> tuple[subprocess.Popen, str]:
    """`python -m ivr.web_cli` (what `ivr web` runs) on a free loopback port; returns (process, base URL)."""
    return web_server.start(env, workers, threads)


stop_gunicorn = web_server.stop

# An installation that can text; the API address is refused at once, so no test reaches Twilio's own API
CAN_TEXT_ENV = {
    "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "PUBLIC_BASE_URL": PUBLIC_BASE,
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_FROM_NUMBER": "+15550000000",
}


def server_env(redis_url: str, data_dir: Path, **extra) -> dict:
    return web_server.server_env(redis_url, data_dir, **{**CAN_TEXT_ENV, **extra})


@pytest.fixture(scope="session")
def gunicorn_pair(redis_server, tmp_path_factory):
    """Two separate gunicorn servers sharing one Redis: any process can serve any turn of a call."""
    env = server_env(redis_server.url, tmp_path_factory.mktemp("web-data"))
    servers = [start_gunicorn(env) for _ in range(2)]
    yield [base for _, base in servers]
    for proc, _ in servers:
        stop_gunicorn(proc)


@pytest.fixture
def own_flow(make_app, settings, twilio_api, tmp_path):
    """own_flow(flow_yaml) -> (app, poster): the app with that flow alone (its id the default flow), Twilio's REST
    API played by the local fake, and a poster signing as Twilio."""

    def make(text: str):
        flows = tmp_path / "flows"
        flows.mkdir(exist_ok=True)
        flow_id = text.split("id: ", 1)[1].split()[0]
        (flows / f"{flow_id}.yaml").write_text(text)
        flow_settings = settings.with_overrides(
            flows_dir=flows,
            default_flow=flow_id,
            twilio_account_sid=twilio_api.account_sid,
            twilio_api_base_url=twilio_api.base_url,
            twilio_auth_token=twilio_api.auth_token,
        )
        app = make_app(flow_settings)
        return app, SignedPoster(FlaskTransport(app.test_client()), token=twilio_api.auth_token)

    return make
