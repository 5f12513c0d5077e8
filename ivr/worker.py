"""`ivr worker`: an RQ worker (with RQ's built-in scheduler) that runs the follow-up tasks in ivr/jobs.

IvrWorker is RQ's SimpleWorker (jobs run in the worker process: they are short, I/O-bound and bounded by
JOB_TIMEOUT, and no fork per job keeps throughput high) that binds a JobContext around every job and, as part of
RQ's periodic maintenance (which also requeues jobs abandoned by a killed worker), replays the local spool that
calls wrote while Redis was down, ends calls no channel will ever end, counts finished calls for analytics, and
fetches the holiday calendar feeds that are due (jobs/calendars.py).
A spool that is not empty is also replayed before each dequeue, so a worker that regains Redis replays first.
"""

from __future__ import annotations

import logging
import os
import signal
import time

import click
import redis
from rq import Queue, SimpleWorker
from rq.scheduler import RQScheduler

from ivr import jobs
from ivr.call_session.writes import replay_spool
from ivr.jobs import calendars
from ivr.jobs.context import JobContext, bound
from ivr.settings import Settings
from ivr.store import UNAVAILABLE, analytics, heartbeats
from ivr.store.calls import CallStore
from ivr.store.spool import Spool
from ivr.system.procs import die_with_parent

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL = 10  # seconds between registry clean-ups (abandoned jobs), spool replays and heartbeats
BEAT_EVERY = 5.0  # seconds between our /healthz heartbeats (keys.HEARTBEAT_TTL is 30)
LOST_REDIS_RETRY = 1.0  # seconds between attempts to start a worker while Redis is unreachable
LOST_REDIS_LOG_EVERY = 60.0  # a long outage logs once a minute, not once per attempt
ABANDON_GRACE = 10  # a job not finished JOB_TIMEOUT + this many seconds after it started was abandoned


class IvrScheduler(RQScheduler):
    """RQ's scheduler process, which must not outlive a killed worker (it would keep the scheduler lock)."""

    def start(self):
        self._parent_pid = os.getpid()
        return super().start()

    def work(self):
        die_with_parent(self._parent_pid)()  # runs in the forked scheduler process
        return super().work()


class IvrWorker(SimpleWorker):
    def __init__(self, queues, *args, context: JobContext, spool: Spool | None = None, **kwargs):
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        super().__init__(queues, *args, **kwargs)
        self.context = context
        self.spool = spool
        self.stop_requested = False
        self._last_beat = self._last_rq_beat = self._next_feed_scan = float("-inf")

    @property
    def dequeue_timeout(self) -> int:
        # Wake up at least once per maintenance interval: abandoned jobs and the spool are handled there.
        return max(1, min(super().dequeue_timeout, int(self.maintenance_interval)))

    @property
    def connection_timeout(self) -> int:
        # RQ sets this as the socket timeout of the worker's connection (its dequeue is a blocking BLPOP):
        # the block time plus one second, so a hung Redis is noticed as soon as the BLPOP should have returned.
        return self.dequeue_timeout + 1

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        # RQ's SimpleWorker allows timeout + 60 s; the death penalty already ends a job at its timeout, so a
        # shorter grace lets a killed worker's job be retried sooner.
        return int(job.timeout or jobs.JOB_TIMEOUT) + ABANDON_GRACE

    def _start_scheduler(self, burst=False, logging_level="INFO", date_format=None, log_format=None):
        kwargs = {k: v for k, v in (("date_format", date_format), ("log_format", log_format)) if v is not None}
        self.scheduler = IvrScheduler(
            self.queues,
            connection=self.connection,
            serializer=self.serializer,
            logging_level=logging_level if logging_level is not None else self.log.level,
            **kwargs,
        )
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            if burst:
                try:
                    self.scheduler.register_birth()
                    self.scheduler.enqueue_scheduled_jobs()
                finally:
                    self.scheduler.release_locks()
                    self.scheduler.register_death()
            else:
                self.scheduler.start()

    def request_stop(self, signum, frame):
        # RQ's SIGTERM/SIGINT handler. Its clean-up talks to Redis, so with Redis gone the stop surfaces as a
        # ConnectionError: run_worker must read it as the stop it is, not as a Redis to wait for.
        self.stop_requested = True
        super().request_stop(signum, frame)

    def perform_job(self, job, queue, *args, **kwargs):
        with bound(self.context):
            return super().perform_job(job, queue, *args, **kwargs)

    def heartbeat(self, timeout=None, pipeline=None):
        now = time.monotonic()
        if pipeline is not None or now - self._last_rq_beat >= 1.0:  # RQ beats several times per job
            super().heartbeat(timeout, pipeline=pipeline)
            self._last_rq_beat = now
        if now - self._last_beat < BEAT_EVERY:  # RQ calls this several times per job; /healthz needs far less
            return
        self._last_beat = now
        try:  # our own heartbeat, read by /healthz; it must never stop the worker
            heartbeats.beat(self.connection, "worker", name=self.name, queues=self.queue_names())
        except UNAVAILABLE:
            pass

    @property
    def should_run_maintenance_tasks(self) -> bool:
        # RQ asks this right before every dequeue, once Redis answers. A spool with something in it means calls
        # ran while Redis was down: replay it first, so their follow-ups do not wait for the next maintenance.
        if self.spool is not None and not self.spool.is_empty():
            self.replay_spool()
        return super().should_run_maintenance_tasks

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        self.replay_spool()
        self.end_abandoned_calls()
        self.count_analytics()
        if time.monotonic() >= self._next_feed_scan:  # reading every flow for its feeds: once a minute is plenty
            self._next_feed_scan = time.monotonic() + calendars.SCAN_EVERY
            calendars.refresh_quietly(self.context.settings, self.connection)  # holiday feeds due (hourly)

    def count_analytics(self) -> None:
        """Count finished calls into the analytics counters, so the pending set stays small without readers."""
        try:
            analytics.count_pending(self.connection)
        except UNAVAILABLE as exc:
            log.warning("analytics counting postponed: redis unavailable: %s", exc)

    def end_abandoned_calls(self) -> None:
        """Calls that no channel will ever end (see CallStore.end_abandoned) leave the live list."""
        try:
            ended = CallStore(self.connection).end_abandoned()
        except UNAVAILABLE as exc:
            log.warning("abandoned calls not checked: redis unavailable: %s", exc)
            return
        if ended:
            log.info("ended %d abandoned call(s): %s", len(ended), ", ".join(ended[:10]))

    def replay_spool(self) -> int:
        if self.spool is None:
            return 0
        try:
            applied = replay_spool(
                self.spool, self.connection, self.context.queue, confirm_ms=self.context.settings.redis_wait_ms
            )
        except UNAVAILABLE as exc:
            log.warning("spool replay postponed: redis unavailable: %s", exc)
            return 0
        if applied:
            log.info("replayed %d spooled call writes", applied)
        return applied


def sip_dialers(settings: Settings) -> dict:
    """The SIP channel's callback dialer, when callbacks go out over SIP.

    Contract for the SIP channel: `ivr/jobs/sip_dialer.py` defines `make_dialer(settings)` returning
    an object with `place(number, request) -> reference` that raises `ivr.jobs.callback.DialError` on failure.
    Without it, SIP callback attempts fail visibly ("no dialer for callback channel 'sip'").
    """
    if settings.callback_channel != "sip":
        return {}
    try:
        from ivr.jobs.sip_dialer import make_dialer
    except ImportError:
        log.error("IVR_CALLBACK_CHANNEL=sip but the SIP channel has no callback dialer")
        return {}
    return {"sip": make_dialer(settings)}


def make_worker(
    settings: Settings,
    conn: redis.Redis,
    spool: Spool | None = None,
    maintenance_interval: int = MAINTENANCE_INTERVAL,
    **context_options,
) -> IvrWorker:
    queue = Queue(jobs.QUEUE_NAME, connection=conn)
    context_options.setdefault("dialers", sip_dialers(settings))
    context = JobContext(settings=settings, redis=conn, queue=queue, **context_options)
    return IvrWorker([queue], connection=conn, context=context, spool=spool, maintenance_interval=maintenance_interval)


def run_worker(
    settings: Settings,
    conn: redis.Redis,
    spool: Spool | None = None,
    burst: bool = False,
    maintenance_interval: int = MAINTENANCE_INTERVAL,
    logging_level: str = "INFO",
) -> bool:
    last_logged = float("-inf")
    worker = None
    while True:  # Redis lost (a failover, or not up yet): a fresh worker reconnects through the same client
        try:  # building the worker talks to Redis too (RQ names its connection), so it is inside the try
            worker = make_worker(settings, conn, spool, maintenance_interval)
            last_logged = float("-inf")  # Redis answered: the next loss is news
            return worker.work(burst=burst, with_scheduler=True, logging_level=logging_level)
        except redis.ConnectionError as exc:  # sentinel's MasterNotFoundError included
            if burst:
                raise
            if worker is not None and worker.stop_requested:
                return False  # told to stop (a SIGTERM, the parent's death): Redis being gone changes nothing
            # RQ's handlers belong to the worker that failed; until the next one runs, a signal ends the process
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            if time.monotonic() - last_logged >= LOST_REDIS_LOG_EVERY:
                last_logged = time.monotonic()
                log.warning("worker lost Redis (%s); trying again every %.0f s", exc, LOST_REDIS_RETRY)
            time.sleep(LOST_REDIS_RETRY)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit once the queues are empty (scheduled jobs due now included).")
@click.option(
    "--maintenance-interval",
    default=10,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds between clean-ups that requeue jobs of killed workers, spool replays and heartbeats.",
)
@click.pass_obj
def worker_command(settings: Settings, burst: bool, maintenance_interval: int) -> None:
    """Run the follow-up worker (email, sms, webhook, chat, callback) with RQ's scheduler."""
    from ivr.call_session import wiring

    conn = wiring.open_redis(settings)
    spool = wiring.open_spool(settings)
    wiring.replay_quietly(spool, conn, wiring.open_queue(conn), settings.redis_wait_ms)
    run_worker(settings, conn, spool, burst=burst, maintenance_interval=maintenance_interval)
