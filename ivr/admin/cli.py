"""`ivr admin ...`: create, delete and log out admin accounts, rebuild the analytics counters; `ivr calls`."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import NoReturn

import click

from ivr.settings import Settings


def _conn(settings: Settings):
    from ivr.call_session.wiring import CLI_REDIS_TIMEOUT, open_redis

    return open_redis(settings, timeout=CLI_REDIS_TIMEOUT)


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _done(conn, action: str, target: str, detail: str, message: str) -> None:
    """Audit what the command changed (as "cli"), then say so."""
    from ivr.store.audit import AuditLog

    AuditLog(conn).record("cli", action, target, detail)
    click.echo(message)


@click.group()
def admin() -> None:
    """Admin web app: accounts and analytics."""


@admin.command("create-user")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["admin", "viewer"]),
    default="admin",
    show_default=True,
    help="admin: edit, publish, settings; viewer: read only.",
)
@click.pass_context
def create_user(ctx: click.Context, name: str, role: str) -> None:
    """Create an account (or reset its password and role). The password comes from IVR_ADMIN_PASSWORD or a prompt."""
    from ivr.store.users import Role, UserStore

    settings = _settings(ctx)
    password = settings.admin_password or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    conn = _conn(settings)
    try:
        UserStore(conn).save(name, password, Role(role))
    except ValueError as exc:
        _fail(str(exc))
    _done(conn, "save user", f"user:{name}", f"role {role}", f"user {name} saved with role {role}")


@admin.command("delete-user")
@click.argument("name")
@click.pass_context
def delete_user(ctx: click.Context, name: str) -> None:
    """Delete an account: its sessions end and its API tokens are revoked."""
    from ivr.store.users import UserStore

    conn = _conn(_settings(ctx))
    users = UserStore(conn)
    if users.get(name) is None:
        _fail(f"no user {name!r}")
    revoked = users.delete(name)
    detail = f"{revoked} API token(s) revoked"
    _done(conn, "delete user", f"user:{name}", detail, f"user {name} deleted, {detail}")


@admin.command("end-sessions")
@click.argument("name")
@click.pass_context
def end_sessions(ctx: click.Context, name: str) -> None:
    """Log an account out everywhere (a lost laptop, a shared cookie); its password and tokens stay."""
    from ivr.store.users import UserStore

    conn = _conn(_settings(ctx))
    if not UserStore(conn).end_sessions(name):
        _fail(f"no user {name!r}")
    _done(conn, "end sessions", f"user:{name}", "", f"every session of {name} has ended")


@admin.command("rebuild-analytics")
@click.pass_context
def rebuild_analytics(ctx: click.Context) -> None:
    """Count every finished call not yet in the analytics counters (safe to run any time)."""
    from ivr.store import keys
    from ivr.store.analytics import record_calls_finished

    conn = _conn(_settings(ctx))
    counted, batch = 0, []
    for call_id, _ in conn.zscan_iter(keys.CALLS_BY_TIME, count=1000):
        batch.append(call_id.decode())
        if len(batch) == 500:
            counted += record_calls_finished(conn, batch)
            batch = []
    counted += record_calls_finished(conn, batch) if batch else 0
    click.echo(f"{counted} call(s) added to the analytics counters")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per call, per line.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000), help="How many recent calls.")
@click.pass_obj
def calls(settings: Settings, as_json: bool, limit: int) -> None:
    """List recent calls, newest first, with their outcome, path and follow-up jobs."""
    from ivr.store.calls import CallStore
    from ivr.store.followups import FollowupStore

    conn = _conn(settings)
    store, followups = CallStore(conn), FollowupStore(conn)
    for record in store.recent(limit):
        jobs = [
            {"id": f["job_id"], "kind": f.get("kind", ""), "status": f.get("status", ""), "detail": f.get("detail", "")}
            for f in followups.many(record.jobs)
        ]
        if as_json:
            click.echo(json.dumps(dict(record.to_dict(), jobs=jobs), sort_keys=True))
            continue
        started = datetime.fromtimestamp(record.started_at or 0, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        summary = ", ".join(f"{j['kind']}:{j['status']}" for j in jobs) or "no follow-ups"
        click.echo(
            f"{started}  {record.id}  {record.channel:<9} {record.caller:<16} "
            f"{record.outcome or 'in progress':<20} {' > '.join(record.path)}  [{summary}]"
        )
