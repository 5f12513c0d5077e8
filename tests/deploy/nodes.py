"""Real processes for the deployment tests: `ivr sip` nodes and Kamailio, each on free loopback ports.

`SipNode` runs `python -m ivr sip` with the shipped flow, collecting its output in a thread (so a full pipe
never blocks it). `Kamailio` runs deploy/kamailio/kamailio.cfg with defines only, as docs/deploy.md does,
and reads the dispatcher's view of the nodes through kamcmd.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.procs import stop_process
from tests.sip.conftest import free_port_range, free_udp_port, sipp_counts

ROOT = Path(__file__).resolve().parents[2]
FLOW = ROOT / "flows" / "skype-receptionist.yaml"
KAMAILIO_CFG = ROOT / "deploy" / "kamailio" / "kamailio.cfg"
SCENARIOS = Path(__file__).parent / "scenarios"
# Settings of an installation that can text (ivr/settings/capabilities.py): the shipped flow then sends its links
# by SMS; the API address is refused at once, so no test ever reaches Twilio's own API
CAN_TEXT = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "test-token",
    "TWILIO_FROM_NUMBER": "+15550000000",
    "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
}


def free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str, interval: float = 0.1, detail=None):
    """Poll `condition()` until it returns something truthy; fail with `what` (and `detail()`, the state that
    explains it) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f"\n{detail()}" if detail else ""))
        time.sleep(interval)


def start_sipp(
    scenario: Path,
    target_port: int,
    cwd,
    *,
    calls: int = 1,
    rate: float = 1,
    rate_period_ms: int = 1000,
    concurrent: int = 20,
    timeout: int = 90,
    subst: dict | None = None,
) -> subprocess.Popen:
    """SIPp in the background (the test acts while its calls run); `sipp_counts` reads its result."""
    path = scenario
    if subst:
        text = path.read_text()
        for name, value in subst.items():
            text = text.replace(f"@{name}@", str(value))
        path = cwd / f"bg-{scenario.name}"
        path.write_text(text)
    cmd = [
        "sipp",
        f"127.0.0.1:{target_port}",
        "-sf",
        str(path),
        "-i",
        "127.0.0.1",
        "-p",
        str(free_udp_port()),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_port_range(80)[0]),
        "-l",
        str(concurrent),
        "-r",
        str(rate),
        "-rp",
        str(rate_period_ms),
        "-m",
        str(calls),
        "-timeout",
        f"{timeout}s",
        "-timeout_error",
        "-nostdin",
        "-trace_err",
        "-trace_logs",
    ]
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_sipp(proc: subprocess.Popen, timeout: float = 150) -> tuple[subprocess.CompletedProcess, tuple[int, int]]:
    out, err = proc.communicate(timeout=timeout)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return result, sipp_counts(result)


def answered_by(cwd: Path) -> dict[str, int]:
    """Call-ID -> node port of every call SIPp logged as "answered-by PORT (...) call CALL-ID" (-trace_logs)."""
    found = {}
    for log_file in cwd.glob("*_logs.log"):
        for port, call_id in re.findall(r"answered-by (\d+) .* call (\S+)", log_file.read_text()):
            found[call_id] = int(port)
    return found


def collect_output(proc: subprocess.Popen, lines: list[str]) -> None:
    """Read a child's merged stdout/stderr into `lines` until it exits (run in a thread)."""
    lines.extend(proc.stdout)


def node_env(redis_url: str, data_dir: Path, rtp_range: tuple[int, int], **extra: str) -> dict[str, str]:
    """The environment of an `ivr` process under test: this process's, an installation that can text (CAN_TEXT),
    the Redis and data directory given, RTP ports from `rtp_range`, then `extra` (which may override any of them)."""
    rtp_min, rtp_max = rtp_range
    return {
        **os.environ,
        **CAN_TEXT,
        "REDIS_URL": redis_url,
        "IVR_DATA_DIR": str(data_dir),
        "IVR_SIP_RTP_PORT_MIN": str(rtp_min),
        "IVR_SIP_RTP_PORT_MAX": str(rtp_max),
        **extra,
    }


class SipNode:
    """One `ivr sip` process on 127.0.0.1:`port`, recording into the Redis at `redis_url`. `flow`: the flow file it
    answers with (None: the settings' default); `argv`: the command before `--host` (by default `python -m ivr sip`)."""

    def __init__(
        self,
        redis_url: str,
        data_dir: Path,
        port: int | None = None,
        drain_seconds: float = 60,
        preexec_fn=None,
        env: dict | None = None,
        flow: Path | None = FLOW,
        argv: list[str] | None = None,
    ) -> None:
        self.port = port or free_udp_port()
        self.preexec_fn = preexec_fn
        self.extra_env = env or {}  # e.g. REDIS_SENTINELS (bench/cluster.py), then redis_url is ""
        self.redis_url, self.data_dir, self.drain_seconds = redis_url, data_dir, drain_seconds
        self.flow, self.argv = flow, argv or [sys.executable, "-m", "ivr", "sip"]
        self.rtp_range = free_port_range()
        self.proc: subprocess.Popen | None = None
        self.lines: list[str] = []
        self.reader: threading.Thread | None = None

    def start(self) -> SipNode:
        env = node_env(
            self.redis_url,
            self.data_dir,
            self.rtp_range,
            IVR_SIP_DRAIN_SECONDS=str(self.drain_seconds),
            **self.extra_env,
        )
        self.lines = []
        flow = ["--flow", str(self.flow)] if self.flow is not None else []
        self.proc = subprocess.Popen(
            [*self.argv, "--host", "127.0.0.1", "--port", str(self.port), *flow],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=self.preexec_fn,
        )
        self.reader = threading.Thread(target=collect_output, args=(self.proc, self.lines), daemon=True)
        self.reader.start()
        wait_for(
            lambda: any("SIP listening" in line for line in self.lines) or self.proc.poll() is not None,
            30,
            f"ivr sip on port {self.port} to listen",
        )
        assert self.proc.poll() is None, self.output()
        return self

    def output(self, tail: int | None = 4000) -> str:
        """What it printed: the last `tail` characters (None: all)."""
        text = "".join(self.lines)
        return text if tail is None else text[-tail:]

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """The exit code, once the process and the thread reading its output are done."""
        code = self.proc.wait(timeout)
        if self.reader is not None:
            self.reader.join(10)
        return code

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


class Kamailio:
    """deploy/kamailio/kamailio.cfg on udp 127.0.0.1:`port`, dispatching to `nodes` (host:port strings)."""

    def __init__(self, workdir: Path, nodes: list[str]) -> None:
        assert shutil.which("kamailio") and shutil.which("kamcmd"), "kamailio is not installed"
        self.port = free_udp_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.list_file = workdir / "dispatcher.list"
        self.list_file.write_text("".join(f"1 sip:{node}\n" for node in nodes))
        self.ctl = workdir / "kamailio_ctl"
        self.proc: subprocess.Popen | None = None
        self.lines: list[str] = []

    def start(self) -> Kamailio:
        cmd = [
            "kamailio",
            "-f",
            str(KAMAILIO_CFG),
            "-DD",
            "-E",
            "-A",
            f"LISTEN=udp:127.0.0.1:{self.port}",
            "-A",
            f'DISPATCHER_LIST="{self.list_file}"',
            "-A",
            f'CTL_SOCKET="unix:{self.ctl}"',
            "-Y",
            str(self.workdir),
            "-m",
            "64",
            "-M",
            "8",
        ]
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=collect_output, args=(self.proc, self.lines), daemon=True).start()
        wait_for(lambda: self.ctl.exists() or self.proc.poll() is not None, 30, "kamailio to start")
        assert self.proc.poll() is None, self.output()
        return self

    def output(self) -> str:
        return "".join(self.lines)[-6000:]

    def node_flags(self) -> dict[str, str]:
        """The dispatcher's flags per node URI: "AP" active (probed), "IP"/"TP" inactive or trying."""
        result = subprocess.run(
            ["kamcmd", "-s", f"unix:{self.ctl}", "dispatcher.list"],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        )
        uris = re.findall(r"URI:\s*(\S+)", result.stdout)
        flags = re.findall(r"FLAGS:\s*(\S+)", result.stdout)
        return dict(zip(uris, flags))

    def wait_active(self, node: str, active: bool = True, timeout: float = 30) -> None:
        def reached():
            flag = self.node_flags().get(f"sip:{node}", "")
            return flag.startswith("A") == active and bool(flag)

        wait_for(reached, timeout, f"kamailio to see {node} {'active' if active else 'inactive'}", interval=0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc)
