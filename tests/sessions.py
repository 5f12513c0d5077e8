"""A CallSession wired as the processes wire one, on a test's Redis: the flows of a directory (revisions published in
Redis first), the RQ queue of the follow-ups and a spool file."""

from __future__ import annotations

from pathlib import Path

from rq import Queue

from ivr import jobs
from ivr.call_session import CallSession
from ivr.flows import FlowRepository
from ivr.store import connect
from ivr.store.flows import FlowStore
from ivr.store.spool import Spool

FLOWS = Path(__file__).resolve().parents[1] / "flows"
# The shipped flow's steps for a caller who is not a Skype number and presses 1 (the support links by SMS)
SUPPORT_PATH = ["screen_caller", "not_skype", "main_menu", "support_links_route", "send_support_links", "goodbye"]


def flow_session(
    redis_url: str,
    spool: Spool | Path,
    flows_dir: Path = FLOWS,
    default_flow: str = "skype-receptionist",
    **options,
) -> CallSession:
    """`options`: CallSession's own (clock, confirm_ms, ...)."""
    conn = connect(redis_url)
    return CallSession(
        FlowRepository(flows_dir, source=FlowStore(conn)),
        redis_conn=conn,
        queue=Queue(jobs.QUEUE_NAME, connection=conn),
        spool=spool if isinstance(spool, Spool) else Spool(spool),
        default_flow=default_flow,
        **options,
    )
