"""Fixtures for the Twilio channel: the real app (create_app) on a private redis-server, a pinned clock, and a
signed poster that plays Twilio."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.settings import Settings
from ivr.store import connect
from ivr.web import create_app

from tests.twilio.twilio_caller import AUTH_TOKEN, FlaskTransport, PUBLIC_BASE, SignedPoster

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
    return Settings(data_dir=tmp_path / "data", flows_dir=FLOWS, redis_url=redis_server.url,
                    twilio_auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(redis_conn, redis_server, clock):
    def make(settings: Settings, **config):
        return create_app({"IVR_SETTINGS": settings, "IVR_REDIS": connect(redis_server.url), "IVR_CLOCK": clock,
                           "TESTING": True, **config})
    return make


@pytest.fixture
def app(make_app, settings):
    return make_app(settings)


@pytest.fixture
def twilio(app) -> SignedPoster:
    return SignedPoster(FlaskTransport(app.test_client()))
