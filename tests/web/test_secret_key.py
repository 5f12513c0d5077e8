"""Without IVR_SECRET_KEY, sessions are signed with a private random key, never a known default."""

from __future__ import annotations

import os

from ivr.settings import Settings
from ivr.web import create_app


def test_development_key_is_random_private_and_stable(tmp_path, redis_conn):
    settings = Settings(data_dir=tmp_path / "data", flows_dir=tmp_path)
    first = create_app({"IVR_SETTINGS": settings, "IVR_REDIS": redis_conn})
    second = create_app({"IVR_SETTINGS": settings, "IVR_REDIS": redis_conn})
    key_file = tmp_path / "data" / "secret-key"
    assert len(first.config["SECRET_KEY"]) == 64 and first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    other = create_app(
        {"IVR_SETTINGS": Settings(data_dir=tmp_path / "other", flows_dir=tmp_path), "IVR_REDIS": redis_conn}
    )
    assert other.config["SECRET_KEY"] != first.config["SECRET_KEY"]


def test_configured_key_wins(tmp_path, redis_conn):
    settings = Settings(data_dir=tmp_path / "data", flows_dir=tmp_path, secret_key="k" * 40)
    assert create_app({"IVR_SETTINGS": settings, "IVR_REDIS": redis_conn}).config["SECRET_KEY"] == "k" * 40
    assert not (tmp_path / "data" / "secret-key").exists()
