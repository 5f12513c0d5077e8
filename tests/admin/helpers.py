"""Helpers of the admin tests: logging in and posting with the CSRF token, as the pages do."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path)
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def login(client, name: str, password: str = PASSWORD):
    return client.post("/login", data={"username": name, "password": password, "csrf_token": csrf_token(client)})


class Client:
    """A logged-in test client that adds the CSRF token to form posts and JSON posts, as the pages do."""

    def __init__(self, client):
        self.raw = client
        self.token = csrf_token(client, "/flows/")

    def get(self, *args, **kwargs):
        return self.raw.get(*args, **kwargs)

    def post(self, path, data=None, json=None, **kwargs):
        if json is not None:
            return self.raw.post(path, json=json, headers={"X-CSRFToken": self.token}, **kwargs)
        return self.raw.post(path, data={**(data or {}), "csrf_token": self.token}, **kwargs)


def shipped_yaml() -> str:
    return (REPO / "flows" / "skype-receptionist.yaml").read_text()


def ivr_cli(redis_url: str, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    """`python -m ivr ARGS` against the Redis at `redis_url`, as an operator runs it, `env` added (60 s at most)."""
    return subprocess.run(
        [sys.executable, "-m", "ivr", *args],
        cwd=REPO,
        env={**os.environ, "REDIS_URL": redis_url, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def browser_login(page, name: str = "ada") -> None:
    """Log a Playwright page in through the login form."""
    page.goto("/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
