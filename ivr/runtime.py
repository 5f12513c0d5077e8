"""Wiring of the storage side for a process: Redis connection, RQ queue, spool, flow repository, call session.

Every `ivr` command that records calls or queues jobs builds its objects here from the one Settings object.
Without REDIS_URL the embedded redis-server's socket in the data directory is used (`ivr run` starts it).
Opening a session replays whatever an earlier process left in the spool.
"""
from __future__ import annotations

import logging
from pathlib import Path

import redis
from rq import Queue

from ivr import jobs
from ivr.call_session import CallSession
from ivr.flows import FlowRepository
from ivr.redis_embedded import EmbeddedRedis
from ivr.settings import Settings
from ivr.store import UNAVAILABLE, connect
from ivr.store.flows import FlowStore
from ivr.store.spool import Spool
from ivr.turn_writes import replay_spool

log = logging.getLogger(__name__)

SPOOL_FILE = "spool.sqlite3"


def redis_url(settings: Settings) -> str:
    return settings.redis_url or EmbeddedRedis(settings.data_dir).url


def open_redis(settings: Settings) -> redis.Redis:
    return connect(redis_url(settings))


def open_queue(conn: redis.Redis) -> Queue:
    return Queue(jobs.QUEUE_NAME, connection=conn)


def open_spool(settings: Settings) -> Spool:
    return Spool(Path(settings.data_dir) / SPOOL_FILE)


def replay_quietly(spool: Spool, conn: redis.Redis, queue: Queue) -> int:
    try:
        return replay_spool(spool, conn, queue)
    except UNAVAILABLE as exc:
        log.warning("spool not replayed yet, redis unavailable: %s", exc)
        return 0


def open_call_session(settings: Settings, flows_dir: str | Path | None = None,
                      conn: redis.Redis | None = None, **session_options) -> CallSession:
    """`session_options` go to CallSession (e.g. `clock`, the Redis breaker's monotonic clock, for tests)."""
    conn = conn or open_redis(settings)
    queue, spool = open_queue(conn), open_spool(settings)
    flows = FlowRepository(flows_dir or settings.flows_dir, source=FlowStore(conn))
    replay_quietly(spool, conn, queue)
    return CallSession(flows, redis_conn=conn, queue=queue, spool=spool, default_flow=settings.default_flow,
                       fallback_text=settings.fallback_message, **session_options)
