"""`ivr routes list|export|import`: the routing table (which flow answers each called number) and
flows/routes.yaml, its copy in git. An import checks every number and flow id first and stores nothing when one
is wrong, printing each problem as `file:line:column: message`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ivr.settings import Settings


def _service(ctx: click.Context):
    from ivr.call_session.wiring import CLI_REDIS_TIMEOUT, open_redis

    from .route_service import RouteService

    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()
    return RouteService(open_redis(settings, timeout=CLI_REDIS_TIMEOUT), settings)


def _audit(service, action: str, detail: str) -> None:
    from ivr.store.audit import AuditLog

    AuditLog(service.store.conn).record("cli", action, "routes.yaml", detail)


@click.group("routes")
def routes() -> None:
    """Flows per number: the routing table, and flows/routes.yaml."""


@routes.command("list")
@click.pass_context
def list_routes(ctx: click.Context) -> None:
    """The rows, one a line: number (E.164, or a SIP user name) and flow; then the default."""
    service = _service(ctx)
    table = service.table()
    for key, flow_id in sorted(table.routes.items()):
        click.echo(f"{key}\t{flow_id}")
    click.echo(f"*\t{table.default or service.settings.default_flow}")


@routes.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.pass_context
def export_routes(ctx: click.Context, file: str | None) -> None:
    """Write the table to FILE (default: flows/routes.yaml in IVR_FLOWS_DIR; '-': standard output)."""
    service = _service(ctx)
    if file == "-":
        click.echo(service.export_text(), nl=False)
        return
    if file is None:
        path = service.export_file()
    else:
        path = Path(file)
        path.write_text(service.export_text(), encoding="utf-8")
    _audit(service, "export routes", f"to {path}")
    click.echo(f"routing table written to {path}", err=True)


@routes.command("import")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def import_routes(ctx: click.Context, file: str | None) -> None:
    """Replace the table with FILE (default: flows/routes.yaml), once every number and flow id in it is valid."""
    from .route_service import Invalid

    service = _service(ctx)
    path = Path(file) if file else service.file_path()
    try:
        table = service.import_file(path)
    except Invalid as exc:
        for line in exc.lines:
            click.echo(line)
        click.echo(f"{len(exc.problems)} problem(s) found; the routing table is unchanged", err=True)
        sys.exit(1)
    _audit(service, "import routes", f"{len(table.routes)} row(s) from {path}")
    click.echo(f"{len(table.routes)} row(s) imported, default {table.default or '(IVR_DEFAULT_FLOW)'}", err=True)
