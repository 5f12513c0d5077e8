"""`ivr doctor`: the set-up check (setup_check.py) on the console; exits 1 when something the shipped flows need
is broken, so an install script or a monitor can stop on it."""

from __future__ import annotations

import json
import sys

import click

from ivr.settings import Settings

from .setup_check import State, failing, run_checks, summary

MARKS = {State.OK: "ok", State.NOT_CONFIGURED: "--", State.BROKEN: "!!"}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document with every item.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check the set-up: Twilio, PUBLIC_BASE_URL, SMTP, the secret key, the data folder, SIP, espeak-ng and sox."""
    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()
    items = run_checks(settings)
    broken = failing(items)
    if as_json:
        click.echo(json.dumps({"items": [i.as_dict() for i in items], "failing": [i.key for i in broken]}, indent=2))
    else:
        for item in items:
            need = " (the flows need this)" if item.needed and item.state != State.OK else ""
            click.echo(f"[{MARKS[item.state]}] {item.title}: {item.state}{need}\n     {item.detail}")
        click.echo(summary(items) + (f"; {len(broken)} needed item(s) broken" if broken else ""))
    sys.exit(1 if broken else 0)
