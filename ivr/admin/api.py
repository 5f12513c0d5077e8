"""The REST API under /api/v1/: flows (list, revisions, validate, publish, rollback), calls, callbacks and
analytics, as JSON. Authenticated by a bearer token (admins create and revoke them in Settings) or by the browser
session; viewer tokens are read-only. Errors are JSON `{"error": {"code", "message"}}` with a 4xx status.
The OpenAPI document is served at /api/v1/openapi.json (api_spec.py)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, abort, g, jsonify, request
from flask_login import current_user

from ivr.store.calls import CallStore
from ivr.store.callbacks import CallbackStore
from ivr.store.flows import FlowStore, RevisionNotFound
from ivr.store.users import TokenStore

from . import analytics, callbacks, calls
from . import flow_service as svc
from .api_spec import openapi_document
from .call_query import find_calls, live_calls
from .common import actor, audit, is_admin, redis_conn, settings

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def authenticate():
    if request.endpoint == "api.openapi":
        return
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = TokenStore(redis_conn()).authenticate(header[7:].strip())
        if token is None:
            abort(401, description="unknown or revoked API token")
        g.api_token = token
    elif not current_user.is_authenticated:
        abort(401, description="send 'Authorization: Bearer <token>' (tokens are created in Settings)")
    if request.method not in ("GET", "HEAD") and not is_admin():
        abort(403, description="this token or account is read-only (viewer)")


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="send a JSON object body")
    return body


def _flow_id(flow_id: str) -> str:
    if not svc.valid_flow_id(flow_id):
        abort(404, description=f"no flow {flow_id!r}")
    return flow_id


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/flows")
def list_flows():
    found = svc.summaries(FlowStore(redis_conn()), settings())
    return jsonify(flows=[{**asdict(f), "draft": f.draft} for f in found])


@bp.get("/flows/<flow_id>")
def get_flow(flow_id: str):
    store = FlowStore(redis_conn())
    revisions = store.list_revisions(_flow_id(flow_id))
    if not revisions and svc.file_text(settings(), flow_id) is None:
        abort(404, description=f"no flow {flow_id!r}")
    return jsonify(
        id=flow_id,
        published=store.published_rev(flow_id),
        history=store.history(flow_id),
        revisions=[
            {"rev": r.rev, "message": r.message, "author": r.author, "created_at": r.created_at} for r in revisions
        ],
    )


@bp.get("/flows/<flow_id>/revisions/<int:rev>")
def get_revision(flow_id: str, rev: int):
    found = FlowStore(redis_conn()).get_revision(_flow_id(flow_id), rev)
    if found is None:
        abort(404, description=f"flow {flow_id!r} has no revision {rev}")
    return jsonify(asdict(found))


@bp.post("/flows/<flow_id>/validate")
def validate_flow(flow_id: str):
    text = _body().get("yaml")
    if not isinstance(text, str):
        abort(400, description="'yaml' (a string) is required")
    problems = svc.validate(settings(), _flow_id(flow_id), text)
    return jsonify(ok=not problems, problems=svc.problem_dicts(problems))


@bp.post("/flows/<flow_id>/revisions")
def create_revision(flow_id: str):
    body = _body()
    text, message = body.get("yaml"), body.get("message", "")
    if not isinstance(text, str) or not isinstance(message, str):
        abort(400, description="'yaml' (string) is required; 'message' is a string")
    store = FlowStore(redis_conn())
    try:
        rev = svc.save(store, settings(), _flow_id(flow_id), text, message, actor())
    except svc.Invalid as exc:
        response = jsonify(
            error={"code": 422, "message": f"{len(exc.problems)} problem(s)"}, problems=svc.problem_dicts(exc.problems)
        )
        return response, 422
    audit("save revision", f"flow:{flow_id}", f"revision {rev}: {message or '(no message)'} (API)")
    if body.get("publish") is True:
        store.publish(flow_id, rev, author=actor())
        audit("publish", f"flow:{flow_id}", f"revision {rev} (API)")
    return jsonify(rev=rev, published=store.published_rev(flow_id)), 201


@bp.post("/flows/<flow_id>/publish")
def publish_flow(flow_id: str):
    rev = _body().get("rev")
    if not isinstance(rev, int) or isinstance(rev, bool):
        abort(400, description="'rev' (an integer) is required")
    try:
        FlowStore(redis_conn()).publish(_flow_id(flow_id), rev, author=actor())
    except RevisionNotFound as exc:
        abort(404, description=str(exc))
    audit("publish", f"flow:{flow_id}", f"revision {rev} (API)")
    return jsonify(published=rev)


@bp.post("/flows/<flow_id>/rollback")
def rollback_flow(flow_id: str):
    body = request.get_json(silent=True) or {}
    rev = body.get("rev") if isinstance(body, dict) else None
    if rev is not None and (not isinstance(rev, int) or isinstance(rev, bool)):
        abort(400, description="'rev' must be an integer")
    try:
        published = FlowStore(redis_conn()).rollback(_flow_id(flow_id), rev, author=actor())
    except RevisionNotFound as exc:
        abort(409 if rev is None else 404, description=str(exc))
    rev = published
    audit("rollback", f"flow:{flow_id}", f"to revision {rev} (API)")
    return jsonify(published=rev)


@bp.get("/calls")
def list_calls():
    limit = min(max(request.args.get("limit", 50, type=int), 1), 500)
    page = find_calls(
        redis_conn(), calls.filter_from(request.args), limit=limit, before=request.args.get("before", type=float)
    )
    return jsonify(calls=page.rows, next_before=page.before, scanned=page.scanned)


@bp.get("/calls/live")
def list_live_calls():
    return jsonify(calls=live_calls(redis_conn()))


@bp.get("/calls/<call_id>")
def get_call(call_id: str):
    store = CallStore(redis_conn())
    found = store.get(call_id)
    if found is None:
        abort(404, description=f"no call {call_id!r}")
    return jsonify(call=found.to_dict(), timeline=store.timeline(call_id))


@bp.get("/callbacks")
def list_callbacks():
    return jsonify(callbacks=[asdict(r) for r in CallbackStore(redis_conn()).pending(500)])


@bp.post("/callbacks/<request_id>/<action>")
def callback_action(request_id: str, action: str):
    if action not in ("call-now", "reschedule", "done", "drop"):
        abort(404, description=f"unknown action {action!r}")
    body = request.get_json(silent=True)
    when = body.get("when") if isinstance(body, dict) else None
    if when is not None and (not isinstance(when, (int, float)) or isinstance(when, bool)):
        abort(400, description="'when' is epoch seconds")
    try:
        result = callbacks.act(redis_conn(), request_id, action, when)
    except LookupError as exc:
        abort(404, description=str(exc))
    except ValueError as exc:
        abort(409, description=str(exc))
    audit(f"callback {action}", f"callback:{request_id}", f"{result} (API)")
    return jsonify(result=result)


@bp.get("/analytics")
def get_analytics():
    first, last = analytics.date_range(request.args)
    return jsonify(analytics.current_report(first, last))
