"""deploy/caddy/Caddyfile on loopback (its internal CA, a free port, no admin endpoint) in front of a real
`ivr web` (gunicorn): Twilio's signed webhooks pass through the TLS termination; a request signed for another
scheme or host, or one that tries to pass its own X-Forwarded-* headers through Caddy, gets 403.

Both ways docs/twilio.md gives to keep signatures valid behind a proxy are run: IVR_PROXY_FIX=1 (the app
believes Caddy's X-Forwarded-* headers) and PUBLIC_BASE_URL (the app knows its public origin).
"""

from __future__ import annotations

import shutil
import subprocess
import threading

import pytest
import requests
from twilio.request_validator import RequestValidator

from tests.procs import stop_process
from tests.twilio.conftest import server_env, start_gunicorn, stop_gunicorn
from tests.twilio.twilio_caller import AUTH_TOKEN

from .nodes import ROOT, collect_output, free_tcp_port, wait_for

CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
CALL = {
    "CallSid": "CA" + "1" * 32,
    "AccountSid": "AC" + "0" * 32,
    "From": "+15557770001",
    "To": "+15550000000",
    "CallStatus": "ringing",
    "Direction": "inbound",
    "ApiVersion": "2010-04-01",
}


class Caddy:
    """`caddy run` with deploy/caddy/Caddyfile on https://localhost:`port`, proxying to `upstream` (host:port)."""

    def __init__(self, workdir, upstream: str, port: int) -> None:
        assert shutil.which("caddy"), "caddy is not installed"
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.base = f"https://localhost:{self.port}"
        self.workdir = workdir
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(workdir),
            "XDG_DATA_HOME": str(workdir / "data"),
            "XDG_CONFIG_HOME": str(workdir / "config"),
            "CADDY_ADMIN": "off",
            "CADDY_HTTP_PORT": str(free_tcp_port()),
            "CADDY_HTTPS_PORT": str(self.port),
            "IVR_SITE": self.base,
            "IVR_TLS": "tls internal",
            "IVR_UPSTREAM": upstream,
        }
        self.root_ca = workdir / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        self.lines: list[str] = []

    def start(self) -> Caddy:
        self.proc = subprocess.Popen(
            ["caddy", "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=collect_output, args=(self.proc, self.lines), daemon=True).start()
        wait_for(lambda: self._answers() or self.proc.poll() is not None, 30, "caddy to serve https")
        assert self.proc.poll() is None, "".join(self.lines)[-3000:]
        return self

    def _answers(self) -> bool:
        if not self.root_ca.exists():
            return False
        try:
            requests.get(self.base + "/healthz", verify=str(self.root_ca), timeout=2)
            return True
        except requests.RequestException:
            return False

    def post(self, path: str, params: dict, signed_url: str, headers: dict | None = None) -> requests.Response:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(signed_url, params)
        return requests.post(
            self.base + path,
            data=params,
            verify=str(self.root_ca),
            timeout=30,
            headers={"X-Twilio-Signature": signature, **(headers or {})},
        )

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture(params=["IVR_PROXY_FIX", "PUBLIC_BASE_URL"])
def caddy_web(request, redis_server, tmp_path):
    """`ivr web` (gunicorn, tests/twilio's fixture) behind Caddy, configured the way the parameter names."""
    https_port = free_tcp_port()
    env = server_env(redis_server.url, tmp_path / "data")
    env.update(IVR_PROXY_FIX="1", PUBLIC_BASE_URL="")
    if request.param == "PUBLIC_BASE_URL":
        env.update(IVR_PROXY_FIX="0", PUBLIC_BASE_URL=f"https://localhost:{https_port}")
    proc, upstream = start_gunicorn(env)
    (tmp_path / "caddy").mkdir()
    caddy = Caddy(tmp_path / "caddy", upstream.removeprefix("http://"), https_port)
    try:
        yield caddy.start()
    finally:
        if caddy.proc is not None:
            caddy.stop()
        stop_gunicorn(proc)


def test_signed_webhooks_pass_through_caddy(caddy_web):
    reply = caddy_web.post("/twilio/voice", CALL, f"{caddy_web.base}/twilio/voice")
    assert reply.status_code == 200, reply.text
    assert "<Response>" in reply.text and "<Gather" in reply.text
    with_query = caddy_web.post(
        "/twilio/voice?flow=skype-receptionist", CALL, f"{caddy_web.base}/twilio/voice?flow=skype-receptionist"
    )
    assert with_query.status_code == 200, with_query.text


def test_a_signature_for_another_scheme_or_host_is_refused(caddy_web):
    port = caddy_web.port
    for wrong in (
        f"http://localhost:{port}/twilio/voice",
        f"https://ivr.example.org:{port}/twilio/voice",
        f"http://127.0.0.1:{port}/twilio/voice",
    ):
        reply = caddy_web.post("/twilio/voice", CALL, wrong)
        assert reply.status_code == 403, (wrong, reply.status_code, reply.text)


def test_a_client_cannot_pass_its_own_forwarded_headers_through_caddy(caddy_web):
    spoofed = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
    reply = caddy_web.post("/twilio/voice", CALL, "http://evil.example/twilio/voice", headers=spoofed)
    assert reply.status_code == 403, reply.text
    prefixed = caddy_web.post(
        "/twilio/voice", CALL, f"{caddy_web.base}/x/twilio/voice", headers={"X-Forwarded-Prefix": "/x"}
    )
    assert prefixed.status_code == 403, prefixed.text
