"""The admin web app and REST API: `init_app(app)` adds login, CSRF, cookie policy, error pages and every blueprint.

One blueprint per area: auth (login, users, tokens, audit), flows, calls, callbacks, chats, analytics, simulator,
api (/api/v1/), health (/healthz, /metrics), home (/), sip_accounts, routes (+ routes_api: flows per number).
Errors are JSON under /api/ and an HTML page elsewhere. CSRF is checked on every unsafe request except the Twilio
webhooks (signed by Twilio instead) and API requests carrying a bearer token (no cookie, so no cross-site forgery).
"""

from __future__ import annotations

from flask import Flask, has_request_context, jsonify, make_response, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from . import common

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
FLOW_MAX_BYTES = 2 * 1024 * 1024
FLOW_ENDPOINTS = {"flows.save", "flows.validate", "api.create_revision", "api.validate_flow"}
CSRF_EXEMPT_PREFIXES = ("/twilio/",)
# Every asset is served by the app itself: scripts only from our origin, never inline.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "media-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class InsecureSettings(RuntimeError):
    pass


class SessionCookies(SecureCookieSessionInterface):
    """Session cookies are Secure whenever the request came over https (directly or via a trusted proxy),
    even if PUBLIC_BASE_URL does not say so. Twilio's webhooks get no session at all: Twilio sends no admin
    cookie and must never be handed one (and opening and saving a session is ~6% of a webhook turn)."""

    def open_session(self, app, request):
        if request.path.startswith(CSRF_EXEMPT_PREFIXES):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def check_settings(settings) -> None:
    if settings.environment != "development" and not settings.secret_key:
        raise InsecureSettings(
            f"IVR_SECRET_KEY must be set when IVR_ENV={settings.environment!r} (it signs session cookies). "
            "Generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"
        )


def init_app(app: Flask) -> None:
    settings = app.config["IVR_SETTINGS"]
    check_settings(settings)
    _configure_cookies(app, settings.public_base_url.startswith("https://"))
    csrf = CSRFProtect(app)
    login = LoginManager(app)
    login.login_view = "auth.login"
    login.login_message_category = "info"

    @login.user_loader
    def load_user(login_id: str):
        return common.LoginUser.load(common.redis_conn(), login_id)

    _register_request_hooks(app, csrf)
    app.jinja_env.filters["time"] = common.fmt_time
    app.jinja_env.globals["is_admin"] = common.is_admin
    _register_errors(app)
    _register_blueprints(app)


def _configure_cookies(app: Flask, secure: bool) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
    )
    app.session_interface = SessionCookies()
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked in _csrf_guard, with our two exemptions
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # tied to the session instead of a wall-clock hour


def _register_request_hooks(app: Flask, csrf: CSRFProtect) -> None:
    """The flow-size allowance, the CSRF check with its exemptions, and the security headers."""

    @app.before_request
    def _flow_size_limit():
        # Flow YAML may be far larger than a webhook (the app-wide limit): allow it on the flow endpoints only.
        if request.endpoint in FLOW_ENDPOINTS:
            request.max_content_length = FLOW_MAX_BYTES

    @app.before_request
    def _csrf_guard():
        if request.method in SAFE_METHODS or request.path.startswith(CSRF_EXEMPT_PREFIXES):
            return
        if request.routing_exception is not None:
            return  # no view will run: answer the 404/405 itself
        if request.path.startswith("/api/") and request.headers.get("Authorization", "").startswith("Bearer "):
            return
        csrf.protect()

    @app.after_request
    def _security_headers(response):
        if not request.path.startswith(CSRF_EXEMPT_PREFIXES):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def _register_blueprints(app: Flask) -> None:
    from . import analytics, api, auth, callbacks, calls, chats, flows, health, home, simulator, sip_accounts
    from .routes import bp as routes_page
    from .routes_api import bp as routes_api

    for module in (auth, home, flows, calls, callbacks, chats, analytics, simulator, api, health, sip_accounts):
        app.register_blueprint(module.bp)
    for blueprint in (routes_page, routes_api):  # flows per number: the page, the REST API
        app.register_blueprint(blueprint)


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _error(400, f"CSRF check failed: {exc.description}")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _error(exc.code or 500, exc.description or exc.name, exc)

    @app.errorhandler(Exception)
    def unexpected(exc):
        app.logger.exception("unhandled error on %s", request.path)
        return _error(500, "Internal error; the details are in the server log.")


def _error(code: int, message: str, exc: HTTPException | None = None):
    if common.wants_json():
        response = jsonify(error={"code": code, "message": message})
    else:
        response = make_response(render_template("error.html", code=code, message=message))
    response.status_code = code
    if exc is not None and code == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response
