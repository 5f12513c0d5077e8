"""`ivr worker`: an RQ worker (with RQ's built-in scheduler) that runs the follow-up tasks in ivr/jobs.

IvrWorker is RQ's SimpleWorker (jobs run in the worker process: they are short, I/O-bound and bounded by
JOB_TIMEOUT, and no fork per job keeps throughput high) that binds a JobContext around every job and, as part of
RQ's periodic maintenance (which also requeues jobs abandoned by a killed worker), replays the local spool that
calls wrote while Redis was down.
"""
from __future__ import annotations

import logging

import redis
from rq import Queue, SimpleWorker

from ivr import jobs
from ivr.jobs.context import JobContext, bound
from ivr.settings import Settings
from ivr.store import UNAVAILABLE
from ivr.store.spool import Spool
from ivr.turn_writes import replay_spool

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL = 30  # seconds between registry clean-ups (abandoned jobs) and spool replays


class IvrWorker(SimpleWorker):
    def __init__(self, queues, *args, context: JobContext, spool: Spool | None = None, **kwargs):
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        super().__init__(queues, *args, **kwargs)
        self.context = context
        self.spool = spool

    def perform_job(self, job, queue, *args, **kwargs):
        with bound(self.context):
            return super().perform_job(job, queue, *args, **kwargs)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        self.replay_spool()

    def replay_spool(self) -> int:
        if self.spool is None:
            return 0
        try:
            applied = replay_spool(self.spool, self.connection, self.context.queue)
        except UNAVAILABLE as exc:
            log.warning("spool replay postponed: redis unavailable: %s", exc)
            return 0
        if applied:
            log.info("replayed %d spooled call writes", applied)
        return applied


def make_worker(settings: Settings, conn: redis.Redis, spool: Spool | None = None,
                maintenance_interval: int = MAINTENANCE_INTERVAL, **context_options) -> IvrWorker:
    queue = Queue(jobs.QUEUE_NAME, connection=conn)
    context = JobContext(settings=settings, redis=conn, queue=queue, **context_options)
    return IvrWorker([queue], connection=conn, context=context, spool=spool,
                     maintenance_interval=maintenance_interval)


def run_worker(settings: Settings, conn: redis.Redis, spool: Spool | None = None, burst: bool = False,
               maintenance_interval: int = MAINTENANCE_INTERVAL, logging_level: str = "INFO") -> bool:
    worker = make_worker(settings, conn, spool, maintenance_interval)
    return worker.work(burst=burst, with_scheduler=True, logging_level=logging_level)
