"""`ivr sip-account add|list|remove`: the digest accounts of softphones that dial in directly."""

from __future__ import annotations

import sys

import click

from ivr.settings import Settings

SRTP_CHOICE = click.Choice(["", "off", "optional", "required"], case_sensitive=False)


def _store(ctx: click.Context):
    from ivr.call_session.wiring import CLI_REDIS_TIMEOUT, open_redis
    from ivr.store.sip_accounts import SipAccountStore

    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()
    return settings, SipAccountStore(open_redis(settings, timeout=CLI_REDIS_TIMEOUT))


@click.group("sip-account")
def sip_account() -> None:
    """SIP accounts for softphones (digest authentication; passwords are stored hashed)."""


@sip_account.command("add")
@click.argument("name")
@click.option("--password", default=None, help="Default: prompted (never put it on a shared command line).")
@click.option("--srtp", type=SRTP_CHOICE, default="", help="Its own SRTP policy (default: its source's).")
@click.pass_context
def add(ctx: click.Context, name: str, password: str | None, srtp: str) -> None:
    """Create an account or set its password."""
    from ivr.store.audit import AuditLog

    settings, store = _store(ctx)
    password = password or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        store.save(name, password, settings.sip_realm, srtp)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    AuditLog(store.conn).record("cli", "save sip account", f"sip-account:{name}")
    click.echo(f"SIP account {name} saved (realm {settings.sip_realm})")


@sip_account.command("srtp")
@click.argument("name")
@click.argument("policy", type=SRTP_CHOICE)
@click.pass_context
def set_srtp(ctx: click.Context, name: str, policy: str) -> None:
    """Set an account's SRTP policy: off, optional, required, or "" for its source's."""
    from ivr.store.audit import AuditLog

    _, store = _store(ctx)
    if not store.set_srtp(name, policy):
        click.echo(f"error: no SIP account {name}", err=True)
        sys.exit(1)
    AuditLog(store.conn).record("cli", "save sip account", f"sip-account:{name}")
    click.echo(f"SIP account {name}: SRTP {policy or 'as its source'}")


@sip_account.command("list")
@click.pass_context
def list_accounts(ctx: click.Context) -> None:
    """The accounts, one a line: name, realm and SRTP policy (- : its source's)."""
    _, store = _store(ctx)
    for account in store.list():
        click.echo(f"{account.username}\t{account.realm}\t{account.srtp or '-'}")


@sip_account.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove an account; `ivr sip` refuses it within 10 seconds."""
    from ivr.store.audit import AuditLog

    _, store = _store(ctx)
    if not store.delete(name):
        click.echo(f"error: no SIP account {name}", err=True)
        sys.exit(1)
    AuditLog(store.conn).record("cli", "delete sip account", f"sip-account:{name}")
    click.echo(f"SIP account {name} removed")
