"""Cluster failure figures (issue 15): Kamailio, two `ivr sip` nodes, Redis with three sentinels and a replica.

Everything real, on loopback: redis-server master + replica + three redis-sentinel (tests/sentinel_cluster.py),
two `python -m ivr sip` nodes with REDIS_SENTINELS and IVR_REDIS_WAIT_MS, Kamailio with deploy/kamailio/kamailio.cfg
(tests/deploy/nodes.py), SIPp running the shipped flow's menu path (tests/deploy/scenarios/uac_menu_via_proxy.xml)
at --rate calls/s with at most --concurrent at once. Figures:
  1 kill-node   SIGKILL one node mid-load: calls it held lost; new calls (placed from 3 s after the kill) failing;
                late share of the surviving node's RTP (tcpdump on lo, > 30 ms after the previous packet)
  2 rolling     SIGTERM (drain) one node, start it again, then the other, under load: failed calls, records once
  3 kill-redis  SIGKILL the Redis master under load (the old master returns as a replica 5 s later, as systemd
                would restart it): failed calls, follow-ups queued once, seconds until a record reaches Redis again
  4 capacity    --capacity calls at once, through Kamailio (2 nodes) and direct to one node: completed ratio, and
                Kamailio's CPU
Needs root for tcpdump on lo. Bounded: each figure runs at most --seconds of calls.

    .venv/bin/python bench/cluster.py                      # all four
    .venv/bin/python bench/cluster.py --only 3 --seconds 20
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sip_load import late_share, start_capture, stop_capture  # noqa: E402

from ivr.call_session.wiring import open_redis  # noqa: E402
from ivr.settings import Settings  # noqa: E402
from ivr.store.calls import CallStore  # noqa: E402
from ivr.store.followups import FollowupStore  # noqa: E402
from ivr.store.spool import Spool  # noqa: E402
from tests.deploy.nodes import SCENARIOS, Kamailio, SipNode, answered_by, finish_sipp, start_sipp, wait_for  # noqa: E402
from tests.sentinel_cluster import SentinelCluster  # noqa: E402
from tests.sip.conftest import free_port_range  # noqa: E402

MENU = SCENARIOS / "uac_menu_via_proxy.xml"
QUICK = {"DIGIT_AFTER_MS": 1000}  # about 6 s a call
SLOW = {"DIGIT_AFTER_MS": 8000}  # about 12 s a call: at 10 calls/s, about 100 at once
WAIT_MS = 100


class Cluster:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.redis = SentinelCluster(tmp / "redis").start()
        env = {
            "REDIS_SENTINELS": ",".join(self.redis.sentinels),
            "REDIS_SENTINEL_MASTER": "ivr",
            "IVR_REDIS_WAIT_MS": str(WAIT_MS),
            "IVR_REDIS_TIMEOUT": "0.5",
            "IVR_SIP_MAX_CALLS": "600",
        }
        self.nodes = [SipNode("", tmp / f"node{i}", env=env, drain_seconds=120) for i in (1, 2)]
        for node in self.nodes:  # two ports a call: room for 600 calls on each node
            node.rtp_range = free_port_range(1400)
            node.start()
        self.kamailio = Kamailio(tmp / "kamailio", [self.address(n) for n in self.nodes]).start()
        for node in self.nodes:
            self.kamailio.wait_active(self.address(node))
        self.settings = Settings(redis_sentinels=self.redis.sentinels, redis_sentinel_master="ivr")

    @staticmethod
    def address(node: SipNode) -> str:
        return f"127.0.0.1:{node.port}"

    def conn(self):
        return open_redis(self.settings, timeout=5)

    def workdir(self, name: str) -> Path:
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def stop(self) -> None:
        self.kamailio.stop()
        for node in self.nodes:
            node.stop()
        self.redis.stop()


def load(cluster: Cluster, name: str, seconds: float, rate: float, concurrent: int, subst=QUICK, target=None):
    work = cluster.workdir(name)
    calls = int(seconds * rate)
    return work, start_sipp(
        MENU,
        target or cluster.kamailio.port,
        work,
        calls=calls,
        rate=rate,
        concurrent=concurrent,
        timeout=int(seconds) + 120,
        subst=subst,
    )


def kill_node(cluster: Cluster, args) -> dict:
    victim, survivor = cluster.nodes
    lo, hi = survivor.rtp_range
    capture = start_capture(cluster.tmp / "survivor.pcap", lo, hi)
    before_dir, before = load(cluster, "kill-before", args.seconds / 2, args.rate, args.concurrent, SLOW)
    time.sleep(args.seconds / 2)
    victim.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    victim.wait(10)
    time.sleep(max(0.0, killed_at + 3.0 - time.monotonic()))
    after_dir, after = load(cluster, "kill-after", args.seconds / 2, args.rate, args.concurrent, SLOW)
    (_, (ok_before, lost)), (_, (ok_after, failed_after)) = finish_sipp(before, 600), finish_sipp(after, 600)
    dropped = stop_capture(capture)
    late, packets = late_share(cluster.tmp / "survivor.pcap")
    held = [c for c, port in answered_by(before_dir).items() if port == victim.port]
    victim.start()
    cluster.kamailio.wait_active(cluster.address(victim), timeout=60)
    return {
        "calls before the kill": ok_before + lost,
        "lost": lost,
        "answered by the victim": len(held),
        "new calls from 3 s after": ok_after + failed_after,
        "new calls failed": failed_after,
        "survivor late %": round(100 * late, 3),
        "survivor rtp packets": packets,
        "capture drops": dropped,
    }


def rolling(cluster: Cluster, args) -> dict:
    conn = cluster.conn()
    recorded_before = {r.id for r in CallStore(conn).recent(limit=100000)}
    work, sipp = load(cluster, "rolling", args.seconds * 3, args.rate, args.concurrent)
    time.sleep(args.seconds / 3)
    for node in cluster.nodes:
        node.signal(signal.SIGTERM)
        cluster.kamailio.wait_active(cluster.address(node), active=False, timeout=60)
        node.wait(200)
        node.start()
        cluster.kamailio.wait_active(cluster.address(node), timeout=60)
    _, (ok, failed) = finish_sipp(sipp, 900)
    records = [r for r in CallStore(conn).recent(limit=100000) if r.id not in recorded_before]
    return {
        "calls": ok + failed,
        "failed": failed,
        "recorded": len(records),
        "recorded once": len({r.id for r in records}) == len(records),
        "answered by": sorted(set(answered_by(work).values())),
    }


def first_new_record(conn, since: float, timeout: float) -> float | None:
    """Seconds from `since` (wall clock) until a call started after it is in Redis."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(float(r.started_at) > since for r in CallStore(conn).recent(limit=20)):
                return time.time() - since
        except Exception:  # the master is away: what we are timing
            pass
        time.sleep(0.05)
    return None


def kill_redis(cluster: Cluster, args) -> dict:
    conn = cluster.conn()
    recorded_before = {r.id for r in CallStore(conn).recent(limit=100000)}
    work, sipp = load(cluster, "kill-redis", args.seconds, args.rate, args.concurrent)
    time.sleep(args.seconds / 3)
    cluster.redis.kill_master()
    killed_wall = time.time()
    failover = {}
    threading.Thread(target=lambda: failover.update(s=cluster.redis.wait_for_failover()), daemon=True).start()
    threading.Timer(5.0, cluster.redis.restart_old_master_as_replica).start()
    again = first_new_record(open_redis(cluster.settings, timeout=1), killed_wall, 120)
    _, (ok, failed) = finish_sipp(sipp, 900)
    spools = [Spool(node.data_dir / "spool.sqlite3") for node in cluster.nodes]
    wait_for(lambda: not any(spool.pending() for spool in spools), 120, "the nodes' spools to empty", interval=0.2)
    spool_empty = time.time() - killed_wall  # looked at once SIPp is done: at most this long
    conn = cluster.conn()
    records = [r for r in CallStore(conn).recent(limit=100000) if r.id not in recorded_before]
    job_ids = [job for r in records for job in r.jobs]
    found = [f for f in FollowupStore(conn).many(job_ids) if f.get("status") != "unknown"]
    return {
        "calls": ok + failed,
        "failed": failed,
        "recorded": len(records),
        "recorded once": len({r.id for r in records}) == len(records),
        "follow-ups": len(job_ids),
        "follow-ups queued once": len(set(job_ids)) == len(job_ids) == len(found),
        "promotion s": round(failover.get("s", float("nan")), 2),
        "records written again after s": None if again is None else round(again, 2),
        "spools empty after s": round(spool_empty, 2),
    }


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of `pid` and its children (Kamailio's work is done by the processes it forks)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(stat.parent.name) == pid or int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            continue
    return total


def capacity(cluster: Cluster, args) -> dict:
    """The same two nodes and the same calls: half straight to each node, or all through Kamailio."""
    out = {}
    rate = max(1.0, args.capacity / 6.0)  # 6 s calls: about --capacity at once
    seconds = args.capacity / rate
    runs = {
        "direct (half to each node)": [(f"direct-{n.port}", n.port, 2) for n in cluster.nodes],
        "through kamailio": [("via-kamailio", cluster.kamailio.port, 1)],
    }
    for name, targets in runs.items():
        kam_cpu = process_tree_cpu(cluster.kamailio.proc.pid)
        sipps = [
            load(cluster, work, seconds, rate / share, args.capacity // share, target=port)[1]
            for work, port, share in targets
        ]
        counts = [finish_sipp(sipp, 900)[1] for sipp in sipps]
        out[name] = {
            "completed": sum(ok for ok, _ in counts),
            "failed": sum(bad for _, bad in counts),
            "kamailio cpu s": round(process_tree_cpu(cluster.kamailio.proc.pid) - kam_cpu, 2),
        }
    direct, proxied = (out[name]["completed"] for name in runs)
    out["ratio kamailio/direct"] = round(proxied / direct, 3) if direct else None
    return out


FIGURES = {"1": kill_node, "2": rolling, "3": kill_redis, "4": capacity}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="1,2,3,4")
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--capacity", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp))
        try:
            for figure in args.only.split(","):
                print(f"load average before figure {figure}: {os.getloadavg()}", flush=True)
                started = os.times()
                result = FIGURES[figure](cluster, args)
                spent = os.times()
                print(
                    f"figure {figure} {FIGURES[figure].__name__}: {result} (cpu of the SIPp runs it waited for "
                    f"{spent.children_user + spent.children_system - started.children_user - started.children_system:.1f} s"
                    f"; load {os.getloadavg()})",
                    flush=True,
                )
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
