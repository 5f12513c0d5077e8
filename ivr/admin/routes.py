"""Flows per number: the routing table page (which flow answers each called number, and the table's default).

Viewers see the table; only admins add, change or remove a row, set the default, or import and export
flows/routes.yaml. Every change is audited and reaches every process within REFRESH_SECONDS
(route_service.py checks each number and flow first).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from .common import admin_required, audit, redis_conn, settings
from .route_service import REFRESH_SECONDS, Invalid, RouteService

bp = Blueprint("routes", __name__)


def _service() -> RouteService:
    return RouteService(redis_conn(), settings())


def _page(status: int = 200):
    service = _service()
    table = service.table()
    return render_template(
        "routes/index.html",
        rows=sorted(table.routes.items()),
        default=table.default,
        flows=sorted(service.known_flows()),
        process_default=settings().default_flow,
        refresh_seconds=REFRESH_SECONDS,
        file_exists=service.file_path().is_file(),
    ), status


@bp.errorhandler(Invalid)
def _refused(exc: Invalid):
    """A number or flow that cannot be stored: the page again, with each reason (file:line for routes.yaml)."""
    for line in exc.lines:
        flash(line, "error")
    return _page(400)


@bp.get("/routes/")
@login_required
def index():
    return _page()


def _changed(what: str, target: str, detail: str = ""):
    audit(what, target, detail)
    flash(f"{what[0].upper()}{what[1:]}: {target} {detail}".strip(), "ok")
    return redirect(url_for("routes.index"))


@bp.post("/routes/")
@login_required
@admin_required
def save():
    number, flow_id = request.form.get("number", "").strip(), request.form.get("flow_id", "").strip()
    key = _service().set_row(number, flow_id)
    return _changed("route number", f"route:{key}", f"to flow {flow_id}")


@bp.post("/routes/delete")
@login_required
@admin_required
def delete():
    key = _service().remove_row(request.form.get("number", ""))
    if key is None:
        flash("No such row", "error")
        return _page(404)
    return _changed("remove route", f"route:{key}")


@bp.post("/routes/default")
@login_required
@admin_required
def set_default():
    flow_id = request.form.get("flow_id", "").strip()
    _service().set_default(flow_id)
    return _changed("set default route", "route:default", f"to flow {flow_id or '(IVR_DEFAULT_FLOW)'}")


@bp.post("/routes/export")
@login_required
@admin_required
def export():
    return _changed("export routes", "routes.yaml", f"to {_service().export_file()}")


@bp.post("/routes/import")
@login_required
@admin_required
def import_file():
    table = _service().import_file()
    return _changed("import routes", "routes.yaml", f"{len(table.routes)} row(s)")
