"""The routing table in the REST API (/api/v1/routes): read it, replace it, route or unroute one number.

Authenticated like the rest of /api/v1/ (api.authenticate: a bearer token or the browser session; viewers
read only). A bad body is a 400, a number that is neither a number nor a name, or a flow that does not exist, a
422 listing each problem; every change is audited. Documented in api_spec.py (ROUTE_PATHS).
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify

from .api import _body, authenticate
from .common import audit, redis_conn, settings
from .route_service import REFRESH_SECONDS, Invalid, RouteService

bp = Blueprint("routes_api", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)


def _service() -> RouteService:
    return RouteService(redis_conn(), settings())


@bp.errorhandler(Invalid)
def _unprocessable(exc: Invalid):
    return jsonify(error={"code": 422, "message": str(exc)}, problems=exc.lines), 422


def _table_json(table):
    rows = [{"number": key, "flow_id": flow_id} for key, flow_id in sorted(table.routes.items())]
    return jsonify(default=table.default, routes=rows, refresh_seconds=REFRESH_SECONDS)


@bp.get("/routes")
def get_routes():
    return _table_json(_service().table())


@bp.put("/routes")
def replace_routes():
    body = _body()
    routes, default = body.get("routes"), body.get("default", "")
    if not isinstance(routes, dict) or not all(isinstance(v, str) for v in routes.values()):
        abort(400, description="'routes' (an object: number -> flow id) is required")
    if not isinstance(default, str):
        abort(400, description="'default' is a flow id (a string; '' for IVR_DEFAULT_FLOW)")
    table = _service().replace(routes, default)
    audit("replace routes", "routes", f"{len(table.routes)} row(s), default {default or '(IVR_DEFAULT_FLOW)'} (API)")
    return _table_json(table)


@bp.put("/routes/<number>")
def route_number(number: str):
    flow_id = _body().get("flow_id")
    if not isinstance(flow_id, str):
        abort(400, description="'flow_id' (a string) is required")
    key = _service().set_row(number, flow_id)
    audit("route number", f"route:{key}", f"to flow {flow_id} (API)")
    return jsonify(number=key, flow_id=flow_id)


@bp.delete("/routes/<number>")
def unroute_number(number: str):
    key = _service().remove_row(number)
    if key is None:
        abort(404, description=f"no row for {number!r}")
    audit("remove route", f"route:{key}", "(API)")
    return jsonify(removed=key)
