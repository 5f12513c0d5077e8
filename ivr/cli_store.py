"""Click commands for the storage side, wired into ivr/cli.py: `ivr worker` and `ivr calls`."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import click

from ivr.settings import Settings


@click.command()
@click.option("--burst", is_flag=True, help="Exit once the queues are empty (scheduled jobs due now included).")
@click.option("--maintenance-interval", default=10, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds between clean-ups that requeue jobs of killed workers, spool replays and heartbeats.")
@click.pass_obj
def worker(settings: Settings, burst: bool, maintenance_interval: int) -> None:
    """Run the follow-up worker (email, sms, webhook, chat, callback) with RQ's scheduler."""
    from ivr import runtime
    from ivr.worker import run_worker
    conn = runtime.open_redis(settings)  # RQ raises its socket timeout to the dequeue's block time + 1 s
    spool = runtime.open_spool(settings)
    runtime.replay_quietly(spool, conn, runtime.open_queue(conn))
    run_worker(settings, conn, spool, burst=burst, maintenance_interval=maintenance_interval)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per call, per line.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000), help="How many recent calls.")
@click.pass_obj
def calls(settings: Settings, as_json: bool, limit: int) -> None:
    """List recent calls, newest first, with their outcome, path and follow-up jobs."""
    from ivr import runtime
    from ivr.store.calls import CallStore
    from ivr.store.followups import FollowupStore
    conn = runtime.open_redis(settings, timeout=runtime.CLI_REDIS_TIMEOUT)
    store, followups = CallStore(conn), FollowupStore(conn)
    for record in store.recent(limit):
        jobs = [{"id": f["job_id"], "kind": f.get("kind", ""), "status": f.get("status", ""),
                 "detail": f.get("detail", "")} for f in followups.many(record.jobs)]
        if as_json:
            click.echo(json.dumps(dict(record.to_dict(), jobs=jobs), sort_keys=True))
            continue
        started = datetime.fromtimestamp(record.started_at or 0, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        summary = ", ".join(f"{j['kind']}:{j['status']}" for j in jobs) or "no follow-ups"
        click.echo(f"{started}  {record.id}  {record.channel:<9} {record.caller:<16} "
                   f"{record.outcome or 'in progress':<20} {' > '.join(record.path)}  [{summary}]")

