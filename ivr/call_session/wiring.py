"""Wiring of the storage side for a process: Redis connection, RQ queue, spool, flow repository, call session.

Every `ivr` command that records calls or queues jobs builds its objects here from the one Settings object.
Redis timeouts are chosen here (and in `ivr.store.connect` / `for_blocking`) only. Without REDIS_URL the
embedded redis-server's socket in the data directory is used (`ivr run` starts it).
Opening a session replays whatever an earlier process left in the spool, and gives it the routing table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

import redis
from rq import Queue

from ivr.call_session import CallSession
from ivr.call_session import followups as jobs
from ivr.call_session.calendars import StoredCalendars
from ivr.call_session.routing import FlowRouter, file_copy
from ivr.call_session.writes import replay_spool
from ivr.flows import FlowRepository
from ivr.flows.routes_file import ROUTES_FILE
from ivr.settings import Settings
from ivr.settings.capabilities import flags
from ivr.store import UNAVAILABLE, connect, connect_sentinel, for_blocking, heartbeats
from ivr.store.dial_requests import DialRequests
from ivr.store.embedded import EmbeddedRedis
from ivr.store.flows import FlowStore
from ivr.store.queues import QueueBoard
from ivr.store.routes import RouteStore
from ivr.store.sip_accounts import SipAccountStore
from ivr.store.spool import Spool
from ivr.system.private_files import private_dir

log = logging.getLogger(__name__)

SPOOL_FILE = "spool.sqlite3"


def redis_url(settings: Settings) -> str:
    return settings.redis_url or EmbeddedRedis(settings.data_dir).url


CLI_REDIS_TIMEOUT = 5.0  # seconds: a command run by hand may wait for a big reply; no caller is waiting on it


def open_redis(settings: Settings, timeout: float | None = None) -> redis.Redis:
    """The connection of webhooks and call turns: each reply waited for at most IVR_REDIS_TIMEOUT (0.2 s), after
    which the spool and fallback paths take over. Blocking commands get their own client (store.for_blocking).
    With REDIS_SENTINELS the client follows the master the sentinels name (RQ's queue and worker use it too)."""
    socket_timeout = settings.redis_timeout if timeout is None else timeout
    if settings.redis_sentinels:
        return connect_sentinel(settings.redis_sentinels, settings.redis_sentinel_master, socket_timeout=socket_timeout)
    return connect(redis_url(settings), socket_timeout=socket_timeout)


def open_queue(conn: redis.Redis) -> Queue:
    return Queue(jobs.QUEUE_NAME, connection=conn)


def open_spool(settings: Settings) -> Spool:
    return Spool(private_dir(settings.data_dir) / SPOOL_FILE)  # the data directory is created 0700


def replay_quietly(spool: Spool, conn: redis.Redis, queue: Queue, confirm_ms: int = 0) -> int:
    try:
        return replay_spool(spool, conn, queue, confirm_ms=confirm_ms)
    except UNAVAILABLE as exc:
        log.warning("spool not replayed yet, redis unavailable: %s", exc)
        return 0


def open_call_session(
    settings: Settings, flows_dir: str | Path | None = None, conn: redis.Redis | None = None, **session_options
) -> CallSession:
    """`session_options` go to CallSession (e.g. `clock`, the Redis breaker's monotonic clock, for tests)."""
    conn = conn or open_redis(settings)
    queue, spool = open_queue(conn), open_spool(settings)
    flows = FlowRepository(
        flows_dir or settings.flows_dir, source=FlowStore(conn), calendars=StoredCalendars(conn, settings.data_dir)
    )
    replay_quietly(spool, conn, queue, settings.redis_wait_ms)
    session_options.setdefault("confirm_ms", settings.redis_wait_ms)
    session_options.setdefault("capabilities", flags(settings))  # what every call is told it can deliver
    session = CallSession(
        flows,
        redis_conn=conn,
        queue=queue,
        spool=spool,
        default_flow=settings.default_flow,
        fallback_text=settings.fallback_message,
        **session_options,
    )
    session.router = open_router(settings, conn, session, Path(flows_dir or settings.flows_dir))
    return session


def open_router(settings: Settings, conn: redis.Redis, session: CallSession, flows_dir: Path) -> FlowRouter:
    """The routing table of every call this process starts: Redis's, copied in the process (flows/routes.yaml
    until Redis first answers), behind the session's Redis breaker."""
    region = settings.default_region
    initial = file_copy(flows_dir / ROUTES_FILE, region)
    return FlowRouter(RouteStore(conn).table, session.health, region=region, initial=initial)


def heartbeat_writer(conn: redis.Redis, component: str) -> Callable[..., None]:
    """`beat(**info)` for a process that /healthz watches (store/heartbeats.py)."""
    return partial(heartbeats.beat, conn, component)


DIAL_POLL_SECONDS = 1  # the SIP process's BLPOP timeout: how quickly its loop notices shutdown


def open_dial_requests(conn: redis.Redis) -> DialRequests:
    """The queue through which the worker hands callback calls to the `ivr sip` process. Its BLPOP client waits
    the block time + 1 s, not the turns' IVR_REDIS_TIMEOUT."""
    return DialRequests(for_blocking(conn, DIAL_POLL_SECONDS))


def sip_account_loader(conn: redis.Redis) -> Callable[[], tuple[dict[tuple[str, str, str], str], dict[str, str]]]:
    """What `ivr sip` calls (off its media loop) to refresh its copy of the digest accounts: their HA1s and
    their own SRTP policies (edge/accounts.py AccountBook.replace)."""
    return SipAccountStore(conn).book_tables


def open_queue_board(conn: redis.Redis) -> QueueBoard:
    """The hold queues (the queue step) that `ivr sip` and the Twilio webhooks share (store/queues.py)."""
    return QueueBoard(conn)


def twilio_client(settings: Settings, timeout: float):
    """A twilio.rest.Client; TWILIO_API_BASE_URL (for tests) points its REST API at another host."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(
        settings.twilio_account_sid, settings.twilio_auth_token, http_client=TwilioHttpClient(timeout=timeout)
    )
    if settings.twilio_api_base_url:
        client.api.base_url = settings.twilio_api_base_url.rstrip("/")
    return client
