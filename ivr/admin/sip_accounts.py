"""SIP accounts: the softphones that may dial in directly with digest authentication (list, add, remove).

Viewers see the names; only admins add, change or remove. Passwords are hashed at once (store/sip_accounts.py)
and never shown again. Each account may have its own SRTP policy (off, optional, required, or the source's).
`ivr sip` picks changes up within ACCOUNTS_REFRESH_SECONDS.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ivr.store.sip_accounts import SipAccountStore

from .common import admin_required, audited, redis_conn, settings

bp = Blueprint("sip_accounts", __name__)


def _page():
    return render_template(
        "sip_accounts/index.html", accounts=SipAccountStore(redis_conn()).list(), realm=settings().sip_realm
    )


@bp.get("/sip-accounts/")
@login_required
def index():
    return _page()


@bp.post("/sip-accounts/")
@login_required
@admin_required
def save():
    name = request.form.get("username", "").strip()
    try:
        SipAccountStore(redis_conn()).save(
            name, request.form.get("password", ""), settings().sip_realm, request.form.get("srtp", "")
        )
    except ValueError as exc:
        flash(str(exc), "error")
        return _page(), 400
    audited("save sip account", f"sip-account:{name}", f"SIP account {name} saved", category="ok")
    return redirect(url_for("sip_accounts.index"))


@bp.post("/sip-accounts/<username>/delete")
@login_required
@admin_required
def delete(username: str):
    if SipAccountStore(redis_conn()).delete(username):
        audited("delete sip account", f"sip-account:{username}", f"SIP account {username} removed", category="ok")
    return redirect(url_for("sip_accounts.index"))
