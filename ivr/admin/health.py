"""Health and metrics: /healthz and /metrics (Prometheus text via prometheus-client: calls, turns, jobs, failures).

/healthz checks Redis with a PING, the worker by its heartbeat, and SIP by sending the listener an OPTIONS (a
heartbeat proves only that a process lives, not that its socket receives). Without a login or an API token it
tells the state alone ("ok", "degraded" or "down"); the detail (pids, hosts, addresses, errors) needs one, and
`/healthz?verbose` adds the set-up check (setup_check.py, as `ivr doctor` shows it).
/metrics reads the shared counters from Redis at scrape time, so every process's work is counted. It is served
to a login or API token, to `Authorization: Bearer <IVR_METRICS_TOKEN>`, or without either on the separate
address IVR_METRICS_BIND (then only there). A refusal is a bare 403; the log names the setting.
"""

from __future__ import annotations

import hmac
import logging
import time

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from rq import Queue, Worker
from rq.registry import FailedJobRegistry

from ivr import jobs
from ivr.channels.sip.probe import cached_probe
from ivr.store import UNAVAILABLE, heartbeats, keys
from ivr.store import analytics as counters
from ivr.store.users import TokenStore

from .common import redis_conn, settings

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def component_status(conn) -> dict:
    beats = heartbeats.read(conn)
    out = {}
    for name, beat in beats.items():
        out[name] = {
            "ok": beat is not None,
            "last_seen": beat["at"] if beat else None,
            **({k: v for k, v in beat.items() if k != "at"} if beat else {}),
        }
    if not out["worker"]["ok"]:  # a worker without our heartbeat still registers itself with RQ
        workers = Worker.count(connection=conn)
        out["worker"].update(ok=workers > 0, rq_workers=workers)
    return out


def sip_status(beat: dict | None) -> dict:
    """The listener answers an OPTIONS, or it is down, whatever its heartbeat says (issue 12 item 1)."""
    config = settings()
    answered = cached_probe(config.sip_host, config.sip_port)
    return {**(beat or {}), **answered, "probed": f"{config.sip_host}:{config.sip_port}"}


def health_report() -> tuple[dict, int]:
    conn = redis_conn()
    started = time.perf_counter()
    try:
        conn.ping()
        body = {"redis": {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}}
        body.update(component_status(conn))
    except UNAVAILABLE as exc:
        body = {"redis": {"ok": False, "error": str(exc)}, "worker": {"ok": None}, "sip": None}
    body["sip"] = sip_status(body.get("sip"))
    body["status"] = overall_state(body)
    return body, 200 if body["redis"]["ok"] else 503


def overall_state(body: dict) -> str:
    """ok, draining (a SIP node lets its calls finish and takes no new ones), degraded or down."""
    if not body["redis"]["ok"]:
        return "down"
    if not all(v.get("ok") for v in body.values() if isinstance(v, dict)):
        return "degraded"
    return "draining" if body["sip"].get("draining") else "ok"


def signed_in() -> bool:
    """A login session or a valid API token (Redis down: neither can be checked, so no)."""
    header = request.headers.get("Authorization", "")
    try:
        if header.startswith("Bearer "):
            return TokenStore(redis_conn()).authenticate(header[7:].strip()) is not None
        return bool(current_user.is_authenticated)
    except UNAVAILABLE:
        return False


@bp.get("/healthz")
def healthz():
    body, code = health_report()
    if not signed_in():
        return jsonify(status=body["status"]), code
    if "verbose" in request.args:  # the set-up check as well (it connects to SMTP and Twilio: only on request)
        from .setup_check import failing, run_checks

        items = run_checks(settings())
        body["setup"] = {"items": [i.as_dict() for i in items], "failing": [i.key for i in failing(items)]}
    return jsonify(body), code


class RedisCollector:
    """Prometheus collector reading the shared counters from Redis on each scrape."""

    def __init__(self, conn_factory):
        self.conn_factory = conn_factory

    def collect(self):
        up = GaugeMetricFamily("ivr_redis_up", "1 when Redis answers")
        try:
            conn = self.conn_factory()
            totals = counters.totals(conn)
            live, recorded = conn.scard(keys.CALLS_LIVE), conn.zcard(keys.CALLS_BY_TIME)
            queue = Queue(jobs.QUEUE_NAME, connection=conn)
            queued, failed = queue.count, FailedJobRegistry(queue=queue).count
        except UNAVAILABLE:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from self._labelled("ivr_calls", "Finished calls by channel", "channel", totals)
        yield from self._labelled("ivr_call_outcomes", "Finished calls by outcome", "outcome", totals)
        yield from self._labelled("ivr_jobs", "Follow-up jobs emitted, by kind", "job", totals, label="kind")
        yield from self._labelled(
            "ivr_callbacks", "Callback requests by final status", "callback", totals, label="status"
        )
        turns = CounterMetricFamily("ivr_turns", "Caller turns (events) of finished calls")
        turns.add_metric([], totals.get("turns", 0))
        yield turns
        for name, doc, value in (
            ("ivr_calls_live", "Calls in progress", live),
            ("ivr_calls_stored", "Call records kept", recorded),
            ("ivr_jobs_queued", "Jobs waiting in the queue", queued),
            ("ivr_job_failures", "Jobs in RQ's failed registry", failed),
        ):
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], value)
            yield gauge

    @staticmethod
    def _labelled(name, doc, prefix, totals, label=None):
        family = CounterMetricFamily(name, doc, labels=[label or prefix])
        for key, value in sorted(totals.items()):
            if key.startswith(prefix + ":") and not key.endswith(":requested"):
                family.add_metric([key.split(":", 1)[1]], value)
        yield family


def on_metrics_address() -> bool:
    """The request came in on IVR_METRICS_BIND: the socket's own address says so, never a Host header."""
    bind = settings().metrics_bind
    sock = request.environ.get("gunicorn.socket")
    if not bind or sock is None:
        return False
    host, _, port = bind.rpartition(":")
    local = sock.getsockname()
    return str(local[1]) == port and host.strip("[]") in (local[0], "0.0.0.0", "::", "")


def metrics_allowed() -> bool:
    config = settings()
    if on_metrics_address():
        return True
    if config.metrics_bind:
        log.warning("refused /metrics on the main address: IVR_METRICS_BIND serves it on %s", config.metrics_bind)
        return False
    header = request.headers.get("Authorization", "")
    if config.metrics_token and hmac.compare_digest(header.encode(), f"Bearer {config.metrics_token}".encode()):
        return True
    if signed_in():
        return True
    log.warning(
        "refused /metrics from %s: no login or API token, and %s",
        request.remote_addr,
        "the bearer token is not IVR_METRICS_TOKEN"
        if config.metrics_token
        else "IVR_METRICS_TOKEN is not set (or bind /metrics apart with IVR_METRICS_BIND)",
    )
    return False


@bp.get("/metrics")
def metrics():
    if not metrics_allowed():
        abort(403)
    registry = current_app.extensions.get("ivr_metrics")
    if registry is None:
        registry = current_app.extensions["ivr_metrics"] = CollectorRegistry()
        app = current_app._get_current_object()
        registry.register(RedisCollector(lambda: app.extensions["ivr"].redis))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


@bp.before_app_request
def _metrics_address_serves_metrics_only():
    """On IVR_METRICS_BIND nothing but /metrics (and /healthz for its own monitor) is served."""
    if on_metrics_address() and request.path not in ("/metrics", "/healthz"):
        abort(404)
