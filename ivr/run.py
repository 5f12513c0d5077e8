"""`ivr run`: the whole product in one command on embedded defaults.

Starts an embedded redis-server (unless REDIS_URL is set), then supervises one child process per part:
the web app (Twilio webhooks + admin), the RQ worker and the SIP endpoint. A child that dies is restarted
with backoff; SIGTERM or Ctrl-C stops the children, then Redis. On SIGTERM the SIP child drains first (its calls
in progress finish, for up to IVR_SIP_DRAIN_SECONDS); Ctrl-C also reaches the children directly, and a SIP
process that gets two signals stops at once. Every child gets PR_SET_PDEATHSIG, so even
a SIGKILL of `ivr run` leaves no orphan.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from .settings import Settings
from .store.embedded import EmbeddedRedis
from .system.private_files import private_dir, tighten_tree, write_private_file
from .system.procs import die_with_parent

log = logging.getLogger("ivr.run")
MAX_BACKOFF = 30.0


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = 1.0
    restart_at: float = 0.0
    restarts: int = field(default=0)


def child_commands(settings: Settings, parts: tuple[str, ...]) -> list[Child]:
    python = [sys.executable, "-m", "ivr"]
    table = {
        "web": python + ["web", "--host", settings.web_host, "--port", str(settings.web_port)],
        "worker": python + ["worker"],
        "sip": python + ["sip", "--host", settings.sip_host, "--port", str(settings.sip_port)],
    }
    return [Child(name, table[name]) for name in parts]


class Supervisor:
    def __init__(self, settings: Settings, parts: tuple[str, ...]):
        self.settings = settings
        self.children = child_commands(settings, parts)
        self.redis: EmbeddedRedis | None = None
        self.stopping = False

    def start_redis(self) -> str:
        if self.settings.redis_url or self.settings.redis_sentinels:  # sentinels: the children ask them
            return self.settings.redis_url
        self.redis = EmbeddedRedis(self.settings.data_dir).start()
        log.info("embedded redis-server started (pid %s) at %s", self.redis.pid, self.redis.url)
        return self.redis.url

    def ensure_first_admin(self, url: str) -> None:
        """On a first start, create the `admin` account so the admin UI can be reached at all.

        The password is IVR_ADMIN_PASSWORD, or a random one written to <data_dir>/initial-admin-password (0600).
        """
        from .call_session.wiring import CLI_REDIS_TIMEOUT, open_redis
        from .store.users import Role, UserStore

        users = UserStore(open_redis(self.settings.with_overrides(redis_url=url), timeout=CLI_REDIS_TIMEOUT))
        if users.names():
            return
        password = self.settings.admin_password or secrets.token_urlsafe(12)
        if self.settings.admin_password:
            users.save("admin", password, Role.ADMIN)
            log.info("first start: created the admin account 'admin' with IVR_ADMIN_PASSWORD")
            return
        # The file is complete before the account exists, so a crash in between cannot lock the admin out
        # and nobody ever reads a half-written password.
        path = self.settings.data_dir / "initial-admin-password"
        write_private_file(path, password + "\n")
        users.save("admin", password, Role.ADMIN)
        log.warning(
            "first start: created the admin account 'admin'; its password is in %s "
            "(change it with `ivr admin create-user admin`)",
            path.resolve(),
        )

    def spawn(self, child: Child, env: dict) -> None:
        child.proc = subprocess.Popen(
            child.argv, env=env, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent(os.getpid())
        )
        child.started_at = time.monotonic()
        log.info("started %s (pid %s): %s", child.name, child.proc.pid, " ".join(child.argv[2:]))

    def run(self) -> int:
        private_dir(self.settings.data_dir)
        tighten_tree(self.settings.data_dir)  # recordings, caches and keys an older version left readable
        url = self.start_redis()
        env = dict(os.environ, **({"REDIS_URL": url} if url else {}))
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        try:
            self.ensure_first_admin(url)
            for child in self.children:
                self.spawn(child, env)
            while not self.stopping:
                self._watch(env)
                time.sleep(0.2)
        finally:
            self.stop()
        return 0

    def _watch(self, env: dict) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.proc is not None and child.proc.poll() is not None:
                code = child.proc.returncode
                if now - child.started_at > 60:
                    child.backoff = 1.0  # it ran well for a while: restart quickly
                log.error("%s exited with %s; restarting in %.0f s", child.name, code, child.backoff)
                child.proc, child.restart_at = None, now + child.backoff
                child.backoff = min(child.backoff * 2, MAX_BACKOFF)
                child.restarts += 1
            if child.proc is None and now >= child.restart_at and not self.stopping:
                self.spawn(child, env)

    def _request_stop(self, signum, frame) -> None:
        self.stopping = True

    def stop(self) -> None:
        self.stopping = True
        for child in self.children:
            if child.proc is not None and child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.settings.sip_drain_seconds + 10  # SIP lets its calls finish first
        for child in self.children:
            if child.proc is None:
                continue
            try:
                child.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
