"""A real `ivr web` (gunicorn, several workers) on a free loopback port, for the admin tests that need real HTTP,
and a browser-like requests session that logs in with the page's CSRF token."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from ivr.system.procs import die_with_parent
from tests.admin.helpers import PASSWORD, REPO
from tests.procs import reap


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(redis_url: str, data_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_", "PUBLIC_", "REDIS_"))}
    env.update(
        REDIS_URL=redis_url,
        IVR_DATA_DIR=str(data_dir),
        IVR_FLOWS_DIR=str(REPO / "flows"),
        IVR_SECRET_KEY="gunicorn-test-secret",
        PYTHONPATH=str(REPO),
        **extra,
    )
    return env


def start(env: dict, workers: int = 2, threads: int = 4) -> tuple[subprocess.Popen, str]:
    """`python -m ivr.web_cli` (what `ivr web` runs); returns (process, base URL) once it accepts connections."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ivr.web_cli",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent(os.getpid()),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError as exc:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}") from exc
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("gunicorn did not listen within 30 s")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: no wait for idle keep-alive connections
    reap(proc, 15)


class Browser:
    """One browser (a cookie jar) at one client address, told to the server by X-Forwarded-For (IVR_PROXY_FIX=1
    makes the server trust one proxy hop, as behind Caddy)."""

    def __init__(self, base: str, address: str = "198.51.100.2"):
        self.base, self.http = base, requests.Session()
        self.http.headers["X-Forwarded-For"] = address

    def csrf_token(self, path: str = "/login") -> str:
        page = self.http.get(self.base + path, allow_redirects=False, timeout=30)
        return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)

    def post(self, path: str, data: dict, token: str | None = None) -> requests.Response:
        data = {**data, "csrf_token": token or self.csrf_token("/flows/")}
        return self.http.post(self.base + path, data=data, allow_redirects=False, timeout=60)

    def login(self, name: str, password: str = PASSWORD, token: str | None = None) -> requests.Response:
        return self.post("/login", {"username": name, "password": password}, token or self.csrf_token())

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=False, timeout=30)
