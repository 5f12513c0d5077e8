"""Access: log in and out (rate-limited per account + address and per address), and the admin's settings pages:
accounts, API tokens (created and revoked here; only hashes are stored) and the audit log.

A login starts a fresh session (a new CSRF token: one planted before login is worth nothing after it); a logout
or a password change voids every session of that account (store.users' session version)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ivr.store.audit import AuditLog
from ivr.store.login_limits import LoginLimiter
from ivr.store.users import Role, TokenStore, UserStore

from .common import LoginUser, admin_required, audit, audited, redis_conn, settings

bp = Blueprint("auth", __name__, template_folder="templates", static_folder="static", static_url_path="/admin-static")


def _client_ip() -> str:
    return request.remote_addr or "unknown"  # behind a proxy, IVR_PROXY_FIX makes this the real client


def _safe_next(target: str | None) -> str:
    """Only redirect to a path on this site after login (never to another host)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    if request.method == "GET":
        return render_template("login.html")
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    limiter = LoginLimiter(redis_conn())
    admission = limiter.admit(name, _client_ip())
    if not admission.admitted:
        flash(f"Too many failed attempts. Try again in {admission.retry_after} s.", "error")
        page = render_template("login.html", username=name)
        return page, 429, {"Retry-After": str(admission.retry_after)}
    user = UserStore(redis_conn()).check(name, password)
    if user is None:
        flash("Wrong user name or password.", "error")
        return render_template("login.html", username=name), 401
    limiter.succeeded(name, _client_ip())
    _start_session(user)
    return redirect(_safe_next(request.args.get("next")))


def _start_session(user) -> None:
    """Log `user` in on a new session: nothing of the anonymous one (its CSRF token above all) carries over."""
    session.clear()
    g.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)  # Flask-WTF caches the token of this request in g
    login_user(LoginUser(user))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        UserStore(redis_conn()).end_sessions(current_user.name)  # copies of this cookie die too
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


SECRET_WORDS = ("password", "token", "secret", "key")


def configuration() -> list[dict]:
    """The running Settings for admins to read, by environment variable, secrets masked (they are set in the
    environment, not here); an empty one that a feature the flows use needs is marked."""
    from ivr.settings import describe

    from .setup_check import flow_uses

    config = settings()
    used = flow_uses(config) | {"twilio", "sip", "web"}
    rows = []
    for info in describe():
        value = getattr(config, info.name)
        empty = value in ("", None, ())
        if any(word in info.name for word in SECRET_WORDS):
            value = "not set" if empty else "set"
        if info.name == "secret_key" and empty and config.environment == "development":
            value = "generated in the data folder (development only)"
        rows.append(
            {
                "env": info.env or info.name,
                "value": ", ".join(value) if isinstance(value, tuple) else str(value),
                "help": info.help,
                "unset": empty and info.env not in config.from_environment,
                "needed_by": [f for f in info.needed_by if f in used] if empty else [],
            }
        )
    return rows


def _settings_page(new_token: str | None = None):
    conn = redis_conn()
    return render_template(
        "settings.html",
        users=[UserStore(conn).get(n) for n in UserStore(conn).names()],
        tokens=TokenStore(conn).list(),
        roles=list(Role),
        new_token=new_token,
        configuration=configuration() if current_user.is_admin else [],
    )


@bp.get("/settings")
@login_required
def settings_page():
    return _settings_page()


@bp.post("/settings/users")
@login_required
@admin_required
def save_user():
    name, role = request.form.get("username", "").strip(), request.form.get("role", "viewer")
    if role not in {r.value for r in Role}:
        abort(400, description="role must be admin or viewer")
    try:
        UserStore(redis_conn()).save(name, request.form.get("password", ""), Role(role))
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("auth.settings_page"))
    saved = UserStore(redis_conn()).get(name)
    if name == current_user.name and saved is not None:  # the new password voided every session: keep this one
        login_user(LoginUser(saved))
    audited("save user", f"user:{name}", f"Saved user {name} ({role}).", f"role {role}")
    return redirect(url_for("auth.settings_page"))


@bp.post("/settings/users/<name>/delete")
@login_required
@admin_required
def delete_user(name: str):
    if name == current_user.name:
        flash("You cannot delete your own account.", "error")
    else:
        revoked = UserStore(redis_conn()).delete(name)
        audited("delete user", f"user:{name}", f"Deleted user {name}.", f"{revoked} API token(s) revoked")
    return redirect(url_for("auth.settings_page"))


@bp.post("/settings/tokens")
@login_required
@admin_required
def create_token():
    name = request.form.get("name", "").strip()[:80] or "token"
    role = request.form.get("role", "viewer")
    if role not in {r.value for r in Role}:
        abort(400, description="role must be admin or viewer")
    conn = redis_conn()
    token_id, secret = TokenStore(conn).create(name=name, role=Role(role), owner=current_user.name)
    audit("create token", f"token:{token_id}", f"{name} ({role})")
    return _settings_page(new_token=secret)


@bp.post("/settings/tokens/<token_id>/revoke")
@login_required
@admin_required
def revoke_token(token_id: str):
    if TokenStore(redis_conn()).revoke(token_id):
        audited("revoke token", f"token:{token_id}", "Token revoked.")
    return redirect(url_for("auth.settings_page"))


@bp.get("/audit")
@login_required
def audit_log():
    return render_template("audit.html", entries=AuditLog(redis_conn()).recent(300))
