"""Health and metrics: /healthz (Redis, worker and SIP status from their heartbeats) and /metrics (Prometheus
text via prometheus-client: calls, turns, jobs, failures), read from Redis at scrape time so every process's
work is counted, not only this web process's."""
from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from rq import Queue, Worker
from rq.registry import FailedJobRegistry

from ivr import jobs
from ivr.store import UNAVAILABLE, heartbeats, keys
from ivr.store import analytics as counters

from .common import redis_conn

bp = Blueprint("health", __name__)


def component_status(conn) -> dict:
    beats = heartbeats.read(conn)
    out = {}
    for name, beat in beats.items():
        out[name] = {"ok": beat is not None, "last_seen": beat["at"] if beat else None,
                     **({k: v for k, v in beat.items() if k != "at"} if beat else {})}
    if not out["worker"]["ok"]:  # a worker without our heartbeat still registers itself with RQ
        workers = Worker.count(connection=conn)
        out["worker"].update(ok=workers > 0, rq_workers=workers)
    return out


@bp.get("/healthz")
def healthz():
    conn = redis_conn()
    started = time.perf_counter()
    try:
        conn.ping()
        body = {"redis": {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}}
        body.update(component_status(conn))
    except UNAVAILABLE as exc:
        body = {"redis": {"ok": False, "error": str(exc)}, "worker": {"ok": None}, "sip": {"ok": None}}
    body["status"] = "ok" if all(v.get("ok") for v in body.values() if isinstance(v, dict)) else (
        "degraded" if body["redis"]["ok"] else "down")
    return jsonify(body), 200 if body["redis"]["ok"] else 503


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
        yield from self._labelled("ivr_callbacks", "Callback requests by final status", "callback", totals,
                                  label="status")
        turns = CounterMetricFamily("ivr_turns", "Caller turns (events) of finished calls")
        turns.add_metric([], totals.get("turns", 0))
        yield turns
        for name, doc, value in (("ivr_calls_live", "Calls in progress", live),
                                 ("ivr_calls_stored", "Call records kept", recorded),
                                 ("ivr_jobs_queued", "Jobs waiting in the queue", queued),
                                 ("ivr_job_failures", "Jobs in RQ's failed registry", failed)):
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


@bp.get("/metrics")
def metrics():
    registry = current_app.extensions.get("ivr_metrics")
    if registry is None:
        registry = current_app.extensions["ivr_metrics"] = CollectorRegistry()
        app = current_app._get_current_object()
        registry.register(RedisCollector(lambda: app.extensions["ivr"].redis))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
