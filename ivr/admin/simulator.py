"""The browser simulator: play a call through any flow or revision with a keypad and a speech box, using the same
engine as the phone channels (turn syntax of `ivr simulate`). Unrecorded calls keep their engine state in a
signed blob held by the page; recorded ones go through call_session (channel "simulator"), so they appear in the
call log and the analytics and their jobs are queued like a phone call's."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_login import login_required
from itsdangerous import BadSignature, URLSafeSerializer

from ivr.call_session import CallSession
from ivr.call_session.http_request import HttpRunner
from ivr.channels.simulator import STEP_SECONDS, SimulatedCall, TurnSyntaxError, describe, parse_turn
from ivr.engine import actions as A
from ivr.settings.capabilities import flags
from ivr.store.flows import FlowStore

from . import flow_service as svc
from .common import is_admin, redis_conn, runtime, settings
from .flow_graph import graph_markup

bp = Blueprint("simulator", __name__, url_prefix="/simulator")


class PinnedFlows:
    """The FlowRepository, but a new call starts on `revision` instead of the published one."""

    def __init__(self, repository, revision: str | None):
        self.repository, self.revision = repository, revision

    def get(self, flow_id: str, revision: str | None = None):
        return self.repository.get(flow_id, revision if revision is not None else self.revision)


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="ivr-simulator")


def _repository():
    return runtime().call_session.flows


def _flow(flow_id: str, revision: str | None):
    if not svc.valid_flow_id(flow_id):
        abort(404, description=f"no flow {flow_id!r}")
    try:
        return _repository().get(flow_id, revision)
    except (KeyError, svc.FlowInvalid) as exc:
        abort(404, description=f"cannot load {flow_id} revision {revision or 'published'}: {exc}")


def _session(revision: str | None) -> CallSession:
    shared = runtime().call_session
    return CallSession(
        PinnedFlows(shared.flows, revision),
        redis_conn=shared.redis,
        queue=shared.queue,
        spool=shared.spool,
        default_flow=shared.default_flow,
        capabilities=shared.capabilities,
    )


def _reply(blob: dict, call: SimulatedCall, actions: list):
    """The page's view of the call; an unrecorded call's engine state travels in the signed blob."""
    if blob["record"]:  # the session keeps the state: read it back for the page's path and waiting hints
        state = (runtime().call_session.sessions.load(call.call_id) or {}).get("state")
    else:
        state = blob["state"] = call.state
    done = bool(state.get("done")) if state else call.ended
    return jsonify(
        sim=_signer().dumps(blob),
        done=done,
        call_id=blob["call_id"],
        recorded=blob["record"],
        revision=blob["revision"],
        waiting=(state or {}).get("waiting"),
        path=(state or {}).get("path", []),
        actions=[{**A.to_dict(a), "line": (describe(a) or "").strip()} for a in actions],
    )


@bp.get("/")
@login_required
def index():
    store = FlowStore(redis_conn())
    flows = svc.summaries(store, settings())
    revisions = {f.id: [r.rev for r in store.list_revisions(f.id)] for f in flows}
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M")
    return render_template(
        "simulator.html", flows=flows, revisions=revisions, now=now, default_flow=settings().default_flow
    )


@bp.get("/graph")
@login_required
def graph():
    flow = _flow(request.args.get("flow", ""), request.args.get("rev") or None)
    return graph_markup(flow)


@bp.post("/start")
@login_required
def start():
    body = request.get_json(silent=True) or {}
    flow_id, revision = str(body.get("flow", "")), (str(body.get("revision") or "") or None)
    caller = str(body.get("caller") or "+15550009999")[:32]
    try:
        at = datetime.fromisoformat(str(body.get("at"))).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        at = time.time()
    record = bool(body.get("record"))
    if record and not is_admin():  # a recorded call queues real jobs (texts, callbacks): not for read-only users
        abort(403, description="Recording simulated calls needs the admin role; untick 'record it'.")
    flow = _flow(flow_id, revision)
    call = SimulatedCall(
        flow,
        caller=caller,
        session=_session(flow.revision) if record else None,
        capabilities=flags(settings()),
        http=HttpRunner.from_settings(settings()),
    )
    blob = {
        "call_id": call.call_id,
        "flow": flow_id,
        "revision": flow.revision,
        "caller": caller,
        "at": at,
        "turn": 0,
        "record": record,
        "state": None,
    }
    return _reply(blob, call, call.start(at))


@bp.post("/turn")
@login_required
def turn():
    body = request.get_json(silent=True) or {}
    try:
        blob = _signer().loads(str(body.get("sim", "")))
    except BadSignature:
        abort(400, description="this simulated call is not valid any more; start a new one")
    blob["turn"] += 1
    try:
        event = parse_turn(str(body.get("input", ""))[:200], blob["at"] + STEP_SECONDS * blob["turn"])
    except TurnSyntaxError as exc:
        abort(400, description=str(exc))
    if not blob["record"] and (not blob["state"] or blob["state"].get("done")):
        abort(400, description="this call has ended; start a new one")
    flow = None if blob["record"] else _flow(blob["flow"], blob["revision"])  # a recorded call's session loads it
    call = SimulatedCall(
        flow,
        caller=blob["caller"],
        call_id=blob["call_id"],
        state=blob["state"],
        session=_session(blob["revision"]) if blob["record"] else None,
        http=HttpRunner.from_settings(settings()),
    )
    return _reply(blob, call, call.send(event, turn_id=f"t{blob['turn']}" if blob["record"] else None))
