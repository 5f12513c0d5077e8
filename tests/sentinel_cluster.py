"""A real Redis with failover on loopback: a master, one replica and three redis-sentinel processes.

Free ports, a temporary directory, the config files of deploy/redis/ with the ports and quicker timings put in
(sentinels rewrite their file, so each gets its own copy). `kill_master()` SIGKILLs the master;
`wait_for_failover()` waits until the sentinels name the replica the new master and it accepts writes.
Used by the failover test and bench/cluster.py.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
MASTER_NAME = "ivr"


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (redis.RedisError, OSError):
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class SentinelCluster:
    def __init__(self, directory: Path, down_after_ms: int = 1000):
        self.dir = Path(directory)
        self.down_after_ms = down_after_ms
        self.ports = {"master": free_tcp_port(), "replica": free_tcp_port()}
        self.sentinel_ports = [free_tcp_port() for _ in range(3)]
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def sentinels(self) -> tuple[str, ...]:
        return tuple(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def _redis(self, name: str, *extra: str) -> None:
        workdir = self.dir / name
        workdir.mkdir(parents=True, exist_ok=True)
        self.procs[name] = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.ports[name]),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(workdir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(workdir / "redis.log"),
                "--repl-diskless-sync-delay",
                "0",
                *extra,
            ],  # a full resync starts at once, not after 5 s
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _sentinel(self, index: int) -> None:
        workdir = self.dir / f"sentinel{index}"
        workdir.mkdir(parents=True, exist_ok=True)
        template = (ROOT / "deploy/redis/sentinel.conf").read_text()
        text = (
            template.replace("port 26379", f"port {self.sentinel_ports[index]}")
            .replace("127.0.0.1 6379 2", f"127.0.0.1 {self.ports['master']} 2")
            .replace("down-after-milliseconds ivr 5000", f"down-after-milliseconds ivr {self.down_after_ms}")
            .replace("failover-timeout ivr 60000", "failover-timeout ivr 10000")
        )
        conf = workdir / "sentinel.conf"
        conf.write_text(text + f"\ndir {workdir}\nlogfile {workdir / 'sentinel.log'}\n")
        self.procs[f"sentinel{index}"] = subprocess.Popen(
            ["redis-sentinel", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def start(self) -> SentinelCluster:
        self._redis("master")
        self._redis("replica", "--replicaof", "127.0.0.1", str(self.ports["master"]))
        wait_until(
            lambda: self.client("replica").info("replication").get("master_link_status") == "up",
            20,
            "the replica to sync",
        )
        for index in range(3):
            self._sentinel(index)
        wait_until(
            lambda: all(self._sentinel_sees_all(port) for port in self.sentinel_ports),
            30,
            "the sentinels to see the replica and each other",
        )
        return self

    def _sentinel_sees_all(self, port: int) -> bool:
        info = redis.Redis(port=port, socket_timeout=1).sentinel_master(MASTER_NAME)
        return info["num-slaves"] >= 1 and info["num-other-sentinels"] >= 2

    def client(self, name: str) -> redis.Redis:
        return redis.Redis(port=self.ports[name], socket_timeout=2)

    def master_port(self) -> int:
        host, port = redis.Redis(port=self.sentinel_ports[0], socket_timeout=1).sentinel_get_master_addr_by_name(
            MASTER_NAME
        )
        return int(port)

    def kill_master(self) -> None:
        self.procs["master"].kill()
        self.procs["master"].wait()

    def wait_for_failover(self, timeout: float = 60) -> float:
        """Seconds until every sentinel names the replica and it takes writes."""
        started = time.monotonic()
        replica = self.ports["replica"]
        wait_until(
            lambda: all(
                redis.Redis(port=p, socket_timeout=1).sentinel_get_master_addr_by_name(MASTER_NAME)[1] == replica
                for p in self.sentinel_ports
            ),
            timeout,
            "the sentinels to promote the replica",
        )
        wait_until(lambda: self.client("replica").set("failover:probe", "1"), timeout, "the new master to take writes")
        return time.monotonic() - started

    def restart_old_master_as_replica(self) -> None:
        """The killed master comes back (systemd restarts it) as a replica of the promoted one, as sentinel would
        make it; until a replica is there again, WAIT confirms nothing and writes stay in the spool.

        Returns once the new master counts it as an online replica (its first REPLCONF ACK), which is what WAIT
        needs; the replica's own `master_link_status: up` comes up to a second earlier."""
        self._redis("master", "--replicaof", "127.0.0.1", str(self.ports["replica"]))
        wait_until(
            lambda: self.client("replica").execute_command("WAIT", 1, 100) >= 1,
            60,
            "the old master to sync as a replica and acknowledge",
        )

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
