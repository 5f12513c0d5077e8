"""Sessions and the login limit through a real gunicorn with two workers, as an attacker on the network meets them:
a kept cookie after logout, and 30 concurrent password guesses (each worker has its own Redis connection)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ivr.store.users import Role, UserStore
from tests.admin import web_server
from tests.admin.web_server import Browser

GUESSER = "203.0.113.7"
OWNER = "198.51.100.2"


@pytest.fixture(scope="module")
def web(redis_server, tmp_path_factory):
    env = web_server.server_env(redis_server.url, tmp_path_factory.mktemp("web-data"), IVR_PROXY_FIX="1")
    proc, base = web_server.start(env, workers=2, threads=16)
    yield base
    web_server.stop(proc)


@pytest.fixture
def users(redis_conn, password_hash):
    store = UserStore(redis_conn)
    store.save_hashed("ada", password_hash, Role.ADMIN)
    return store


def test_cookie_after_logout_is_refused(web, users):
    browser = Browser(web)
    assert browser.login("ada").status_code == 302
    kept = Browser(web, address="192.0.2.99")  # the cookie, copied elsewhere
    kept.http.cookies.update(browser.http.cookies)
    assert kept.get("/flows/").status_code == 200
    assert browser.post("/logout", {}).status_code == 302
    response = kept.get("/flows/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert kept.get("/api/v1/flows").status_code == 401


def test_cookie_after_password_reset_is_refused(web, users):
    browser = Browser(web)
    assert browser.login("ada").status_code == 302
    users.save("ada", "another long password", Role.ADMIN)
    assert browser.get("/flows/").status_code == 302
    assert browser.login("ada", "another long password").status_code == 302


def _concurrent_guesses(web, count: int) -> list[int]:
    """`count` wrong passwords for ada from one address, all sent at once (each browser has its CSRF token)."""
    browsers = [Browser(web, address=GUESSER) for _ in range(count)]
    tokens = [b.csrf_token() for b in browsers]
    start = threading.Barrier(count)

    def guess(i: int) -> int:
        start.wait()
        return browsers[i].login("ada", f"wrong guess {i}", tokens[i]).status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(guess, range(count)))


def _retry_after_of_next_failure(browser: Browser) -> int:
    """Guess again once the current delay has passed; returns the Retry-After of the refusal that follows."""
    deadline = time.monotonic() + 60
    while (status := browser.login("ada", "still wrong").status_code) == 429 and time.monotonic() < deadline:
        time.sleep(0.1)  # polling the limiter until it lets this address guess again
    assert status == 401
    refused = browser.login("ada", "still wrong")
    assert refused.status_code == 429
    return int(refused.headers["Retry-After"])


def test_concurrent_guesses_are_checked_at_most_the_limit(web, users):
    statuses = _concurrent_guesses(web, 30)
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) <= 5, statuses
    assert statuses.count(429) >= 25
    owner = Browser(web, address=OWNER)  # the real user, elsewhere, is not locked out
    assert owner.login("ada").status_code == 302
    guesser = Browser(web, address=GUESSER)
    delays = [_retry_after_of_next_failure(guesser) for _ in range(2)]
    assert delays[0] < delays[1], delays  # exponential: each failure doubles the wait
