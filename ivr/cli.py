"""The `ivr` command line (click): validate and simulate flows; later parts add run, web, sip, worker, calls."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from .call_session.http_request import HttpRunner
from .channels.simulator import SimulatedCall, TurnSyntaxError, as_json_line, describe, parse_turn, play
from .flows import FlowInvalid, load_flow, validate_paths
from .flows.deliverability import undeliverable
from .flows.holiday_sources import feed_warnings
from .flows.routes_file import ROUTES_FILE, flow_files, read_routes
from .flows.speech_check import speech_warnings
from .settings import Settings
from .settings.capabilities import capabilities, flags


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Self-hosted IVR: YAML call flows over SIP, Twilio voice/SMS and a browser simulator."""
    try:
        ctx.obj = Settings.from_env()
    except ValueError as exc:  # a bad or retired setting: one clear line, not a traceback
        raise click.ClickException(f"settings: {exc}") from None


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.pass_obj
def validate(settings: Settings, paths: tuple[str, ...]) -> None:
    """Check flow files (or directories of them, with their routes.yaml); print file:line:column: message for each
    problem.

    Follow-up kinds these settings cannot deliver, choices speech cannot reach, and holiday feeds not fetched (or
    not allowed) are warned about (they do not fail the check)."""
    files = _flow_files(paths)
    problems = validate_paths(files) + _routes_problems(paths, settings.default_region)
    cannot = {name: cap.reason for name, cap in capabilities(settings).items() if not cap.ok}
    for warning in undeliverable(files, cannot):
        click.echo(str(warning), err=True)
    for problem in problems:
        click.echo(str(problem))
    copies = _feed_copies(settings)
    for file in files:  # warnings (what speech can do, holiday feeds) never fail the check
        for warning in speech_warnings(file, settings.asr_engine, settings.asr_model):
            click.echo(str(warning), err=True)
        for warning in feed_warnings(file, copies, settings.http_allowlist):
            click.echo(str(warning), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(1)
    click.echo("ok", err=True)


def _feed_copies(settings: Settings):
    """The holiday feeds' last good copies (Redis, else the file copies), for `validate`'s warnings."""
    from .call_session.calendars import StoredCalendars
    from .call_session.wiring import open_redis

    return StoredCalendars(open_redis(settings), settings.data_dir)


def _flow_files(paths: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        found += flow_files(path) if path.is_dir() else [] if path.name == ROUTES_FILE else [path]
    return found


def _routes_problems(paths: tuple[str, ...], region: str) -> list:
    """flows/routes.yaml is checked as the routing table; a flow id it names that has no file beside it is only
    warned about (the flow may live in the admin)."""
    problems = []
    for raw in paths:
        path = Path(raw) / ROUTES_FILE if Path(raw).is_dir() else Path(raw)
        if path.name != ROUTES_FILE or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        found = read_routes(text, str(path), None, region).problems
        problems += found
        beside = {p.stem for p in flow_files(path.parent)}
        for warning in sorted(set(read_routes(text, str(path), beside, region).problems) - set(found)):
            click.echo(f"{warning.file}:{warning.line}:{warning.column}: warning: {warning.message}", err=True)
    return problems


def _parse_time(value: str | None) -> float:
    if not value:
        return datetime.now(timezone.utc).timestamp()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 time such as 2026-11-23T10:30:00+00:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


@main.command()
@click.argument("flow_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--caller", default="+15550009999", show_default=True, help="Caller number (caller ID).")
@click.option("--called", default="+15550000000", show_default=True, help="Number that was dialled.")
@click.option("--at", "at_text", default=None, help="Time of the call, ISO-8601 (default: now).")
@click.option("--input", "inputs", multiple=True, help="A caller turn: digits, say:words, silence, hangup, ...")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per action per line.")
@click.option("--enqueue", is_flag=True, help="Run through call_session: record the call and queue its jobs.")
@click.pass_obj
def simulate(
    settings: Settings,
    flow_path: str,
    caller: str,
    called: str,
    at_text: str | None,
    inputs: tuple[str, ...],
    as_json: bool,
    enqueue: bool,
) -> None:
    """Play a call through a flow: interactively, or with --input turns."""
    try:
        flow = load_flow(flow_path, calendars=_feed_copies(settings))  # feeds as their last good copies
    except FlowInvalid as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    at = _parse_time(at_text)
    session = None
    if enqueue:
        from .call_session.wiring import open_call_session  # storage is only needed here

        session = open_call_session(settings, flows_dir=Path(flow_path).parent)
    emit = (lambda a: click.echo(as_json_line(a))) if as_json else _echo_readable
    call = SimulatedCall(
        flow,
        caller=caller,
        called=called,
        session=session,
        capabilities=flags(settings),
        http=HttpRunner.from_settings(settings),
    )
    if inputs:
        try:
            for turn in inputs:
                parse_turn(turn, at)
        except TurnSyntaxError as exc:
            raise click.BadParameter(str(exc), param_hint="--input") from None
        play(call, inputs, at=at, show=emit)
        return
    # reads turns from stdin, typed or piped, until the call ends or the input ends
    if not as_json:
        click.echo(f"Simulating {flow.id} as {caller}. Type digits, 'say: words', 'silence' or 'hangup'.")
    play(call, _typed_turns(), at=at, show=emit, on_error=lambda exc: click.echo(f"  ! {exc}"))


def _echo_readable(action) -> None:
    line = describe(action)
    if line:
        click.echo(line)


def _typed_turns():
    """Lines typed at the console, until end of input (or Ctrl-C)."""
    while True:
        try:
            yield click.prompt("caller", default="silence", show_default=False, prompt_suffix="> ")
        except (click.Abort, EOFError):
            return


@main.command()
@click.option(
    "--without",
    "without",
    multiple=True,
    type=click.Choice(["web", "worker", "sip"]),
    help="Leave a part out (repeatable).",
)
@click.pass_obj
def run(settings: Settings, without: tuple[str, ...]) -> None:
    """Run the whole product: embedded Redis (unless REDIS_URL is set), web + admin, worker and SIP."""
    import logging

    from .run import Supervisor

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    parts = tuple(p for p in ("web", "worker", "sip") if p in main.commands and p not in without)
    sys.exit(Supervisor(settings, parts).run())


def _add_part_commands() -> None:
    """Each part keeps its commands beside its code; they all hang off this one group."""
    from .admin.cli import admin, calls
    from .admin.doctor import doctor
    from .admin.routes_cli import routes
    from .admin.sip_accounts_cli import sip_account
    from .channels.sip.cli import sip
    from .web_cli import web
    from .worker import worker_command

    for command in (web, worker_command, calls, sip, admin, doctor, sip_account, routes):
        main.add_command(command)


_add_part_commands()


if __name__ == "__main__":
    main()
