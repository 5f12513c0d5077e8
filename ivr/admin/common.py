"""Shared helpers of the admin blueprints: the app's connections, the logged-in user's role, audit, formatting."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import wraps

from flask import abort, current_app, flash, g, request
from flask_login import UserMixin, current_user

from ivr.flows.repository import FlowRepository
from ivr.settings import Settings
from ivr.store.audit import AuditLog
from ivr.store.flows import FlowStore
from ivr.store.users import Role, User, UserStore


class LoginUser(UserMixin):
    """Flask-Login's view of an account (re-read from Redis on every request, so role changes apply at once).
    Its id, kept in the session cookie, is `name:session_version`: a bumped version voids the cookie."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.name}:{self.user.session_version}"

    @classmethod
    def load(cls, conn, login_id: str) -> LoginUser | None:
        """The account a session's id names, if that session's version is still the account's current one."""
        name, _, version = login_id.rpartition(":")
        user = UserStore(conn).get(name) if name else None
        if user is None or str(user.session_version) != version:
            return None
        return cls(user)

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def is_admin(self) -> bool:
        return self.user.role == Role.ADMIN


def runtime():
    return current_app.extensions["ivr"]


def redis_conn():
    return runtime().redis


def settings() -> Settings:
    return current_app.config["IVR_SETTINGS"]


def flow_repository() -> FlowRepository:
    """One per app: it keeps the flows it built between requests (published revisions refreshed, files re-read
    when they change)."""
    repository = current_app.extensions.get("ivr_flow_repository")
    if repository is None:
        repository = current_app.extensions["ivr_flow_repository"] = FlowRepository(
            settings().flows_dir, source=FlowStore(redis_conn())
        )
    return repository


def actor() -> str:
    """Who is acting: the logged-in user, or the owner of the API token."""
    token = g.get("api_token")
    if token is not None:
        return f"{token['owner']} (token {token['name']})"
    return current_user.name if current_user.is_authenticated else "anonymous"


def is_admin() -> bool:
    token = g.get("api_token")
    if token is not None:
        return token["role"] == Role.ADMIN
    return current_user.is_authenticated and current_user.is_admin


def admin_required(view):
    """Only admins may run this view (viewers are read-only): 403 otherwise."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not is_admin():
            abort(403, description="This needs the admin role; your account is read-only.")
        return view(*args, **kwargs)

    return wrapped


def audit(action: str, target: str, detail: str = "") -> None:
    AuditLog(redis_conn()).record(actor(), action, target, detail)


def found_or_404(found, description: str):
    """`found`, unless it is None: then a 404 saying `description`."""
    if found is None:
        abort(404, description=description)
    return found


def audited(action: str, target: str, message: str, detail: str = "", category: str = "info") -> None:
    """An admin's change done: recorded in the audit log, and `message` flashed to them."""
    audit(action, target, detail)
    flash(message, category)


def fmt_time(at, with_seconds: bool = True) -> str:
    if at in (None, "", 0):
        return "-"
    moment = datetime.fromtimestamp(float(at), timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M") + " UTC"


def wants_json() -> bool:
    """Errors as JSON for the API and for the pages' own JSON requests (editor, simulator, chat)."""
    return request.path.startswith("/api/") or request.is_json
