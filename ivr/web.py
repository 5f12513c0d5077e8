"""The Flask application factory: `create_app(test_config=None)` is the only place the web app is assembled.

Each area is one blueprint (Twilio webhooks, admin UI, REST API, health). Connections are built from the
one Settings object and kept on `app.extensions["ivr"]`, created lazily so the Twilio fallback keeps
answering even when Redis is down.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from flask import Flask

from .channels.twilio import views as twilio_web
from .settings import Settings
from .system.private_files import write_private_file

QUEUE_RING_TIMEOUT = 5.0  # seconds a wait URL request waits for Twilio's API to place a contact's call


class WebRuntime:
    """The app's connections: built on first use from Settings, so a dead Redis fails requests, not start-up."""

    def __init__(self, settings: Settings, redis_conn=None):
        self.settings = settings
        self._redis = redis_conn

    @cached_property
    def redis(self):
        if self._redis is not None:
            return self._redis
        from .call_session.wiring import open_redis

        return open_redis(self.settings)

    @cached_property
    def call_session(self):
        from .call_session.wiring import open_call_session

        return open_call_session(self.settings, conn=self.redis)

    @cached_property
    def http_requests(self):
        """http steps' requests, made in this process's threads (ivr/channels/twilio/http_view.py)."""
        from .call_session.http_pending import PendingRequests
        from .call_session.http_request import HttpRunner

        return PendingRequests(self.call_session, HttpRunner.from_settings(self.settings))

    @cached_property
    def sms_conversations(self):
        from .store.sms_conversations import SmsConversationStore

        return SmsConversationStore(self.redis)

    @cached_property
    def queue_board(self):
        from .call_session.wiring import open_queue_board

        return open_queue_board(self.redis)

    @cached_property
    def twilio_client(self):
        """Twilio's REST API, for the calls a queue places to its contacts (TWILIO_API_BASE_URL in tests)."""
        from .call_session.wiring import twilio_client

        return twilio_client(self.settings, QUEUE_RING_TIMEOUT)

    @cached_property
    def call_status(self):
        from .call_session.status import CallStatusRecorder

        return CallStatusRecorder(self.redis, self.call_session)


def development_secret_key(data_dir: Path) -> str:
    """Without IVR_SECRET_KEY (development only): a random key kept in <data_dir>/secret-key (0600), shared by
    every web process on this host and stable across restarts, so nobody can forge sessions with a known key."""
    path = Path(data_dir) / "secret-key"
    try:
        write_private_file(path, secrets.token_hex(32) + "\n", replace=False)
    except FileExistsError:
        pass  # made by another process or an earlier run: every process uses that one
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it or set IVR_SECRET_KEY")
    return key


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. `test_config` may hold Flask config keys plus `IVR_SETTINGS` (a Settings) and
    `IVR_REDIS` (a redis connection) for tests."""
    test_config = dict(test_config or {})
    settings: Settings = test_config.pop("IVR_SETTINGS", None) or Settings.from_env()
    redis_conn = test_config.pop("IVR_REDIS", None)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or development_secret_key(settings.data_dir),
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        IVR_SETTINGS=settings,
    )
    app.config.update(test_config)
    app.extensions["ivr"] = WebRuntime(settings, redis_conn)
    _register_blueprints(app)
    return app


def _register_blueprints(app: Flask) -> None:
    """One line per area; each area's module exposes `bp` (and any per-app setup it needs)."""
    twilio_web.init_app(app)  # /twilio/* webhooks and /audio prompt files
    from .admin import init_app as init_admin

    init_admin(app)  # admin UI, REST API, health and metrics (registers its own blueprints)
