"""Fixtures of the admin tests: a fresh app per test on the session's real redis-server (flushed per test), a copy
of flows/ in a temporary directory, and logged-in clients for an admin and a viewer."""

from __future__ import annotations

import shutil

import pytest
from werkzeug.security import generate_password_hash

from ivr.settings import Settings
from ivr.store.users import Role, UserStore
from ivr.web import create_app
from tests.admin.helpers import PASSWORD, REPO, Client, login


@pytest.fixture
def settings(tmp_path, redis_url) -> Settings:
    flows = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows)
    # An installation that can text (capabilities): the shipped flow sends its links rather than reading them out
    return Settings(
        data_dir=tmp_path / "data",
        flows_dir=flows,
        redis_url=redis_url,
        secret_key="test-secret",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="test-token",
        twilio_from_number="+15550000000",
        public_base_url="http://localhost",
        twilio_api_base_url=NO_TWILIO,
    )


NO_TWILIO = "http://127.0.0.1:9"  # the discard port: refused at once; no test ever reaches Twilio's own API


def without_twilio(settings: Settings) -> Settings:
    """An installation with no Twilio account: what a fresh install's set-up check and Settings page see."""
    return settings.with_overrides(twilio_account_sid="", twilio_auth_token="", twilio_from_number="")


@pytest.fixture(scope="session")
def password_hash() -> str:
    return generate_password_hash(PASSWORD)  # scrypt is slow on purpose: hash once per test session


@pytest.fixture
def app(settings, redis_conn, password_hash):
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app({"IVR_SETTINGS": settings, "IVR_REDIS": redis_conn, "TESTING": True})
    users = UserStore(redis_conn)
    users.save_hashed("ada", password_hash, Role.ADMIN)
    users.save_hashed("vic", password_hash, Role.VIEWER)
    return app


@pytest.fixture
def admin(app) -> Client:
    client = app.test_client()
    assert login(client, "ada").status_code == 302
    return Client(client)


@pytest.fixture
def viewer(app) -> Client:
    client = app.test_client()
    assert login(client, "vic").status_code == 302
    return Client(client)
