"""The login limit, on the real Redis and through the app: keyed on account + address, an exponential wait and
no lock-out, and the source address taken from X-Forwarded-For only when IVR_PROXY_FIX says a proxy is trusted."""

from __future__ import annotations

from ivr.store import keys
from ivr.store.login_limits import LoginLimiter
from ivr.web import create_app
from tests.admin.helpers import PASSWORD, csrf_token


def _pair_wait_ms(redis_conn, limiter: LoginLimiter, name: str, address: str) -> int:
    return redis_conn.pttl(limiter._keys(name, address)[1])


def test_free_attempts_then_a_doubling_wait(redis_conn):
    limiter = LoginLimiter(redis_conn, per_account_address=3, base_delay=60)
    assert all(limiter.admit("ada", "203.0.113.7").admitted for _ in range(3))
    refused = limiter.admit("ada", "203.0.113.7")
    assert not refused.admitted and 59 <= refused.retry_after <= 60
    waits = []
    for _ in range(3):
        redis_conn.delete(limiter._keys("ada", "203.0.113.7")[1])  # as if the wait had passed
        assert limiter.admit("ada", "203.0.113.7").admitted
        waits.append(round(_pair_wait_ms(redis_conn, limiter, "ada", "203.0.113.7") / 60_000))
    assert waits == [2, 4, 8]


def test_refused_attempts_are_not_counted(redis_conn):
    limiter = LoginLimiter(redis_conn, per_account_address=2, base_delay=60)
    limiter.admit("ada", "203.0.113.7")
    limiter.admit("ada", "203.0.113.7")
    for _ in range(10):
        assert not limiter.admit("ada", "203.0.113.7").admitted
    assert int(redis_conn.get(limiter._keys("ada", "203.0.113.7")[0])) == 2


def test_the_wait_is_capped_and_expires(redis_conn):
    limiter = LoginLimiter(redis_conn, per_account_address=1, base_delay=60, max_delay=90)
    redis_conn.set(limiter._keys("ada", "203.0.113.7")[0], 40)
    assert limiter.admit("ada", "203.0.113.7").admitted
    assert 60_000 < _pair_wait_ms(redis_conn, limiter, "ada", "203.0.113.7") <= 90_000
    assert 0 < redis_conn.ttl(limiter._keys("ada", "203.0.113.7")[0]) <= keys.LOGIN_WINDOW


def test_other_addresses_and_accounts_are_not_slowed(redis_conn):
    limiter = LoginLimiter(redis_conn, per_account_address=2, base_delay=60)
    for _ in range(2):
        limiter.admit("ada", "203.0.113.7")
    assert not limiter.admit("ada", "203.0.113.7").admitted
    assert limiter.admit("ada", "198.51.100.2").admitted
    assert limiter.admit("vic", "203.0.113.7").admitted


def test_one_address_spraying_accounts_is_slowed(redis_conn):
    limiter = LoginLimiter(redis_conn, per_address=5, base_delay=60)
    assert all(limiter.admit(f"guess{i}", "203.0.113.7").admitted for i in range(5))
    assert not limiter.admit("ada", "203.0.113.7").admitted
    assert limiter.admit("ada", "198.51.100.2").admitted


def test_success_forgets_the_pair_and_gives_the_attempt_back(redis_conn):
    limiter = LoginLimiter(redis_conn, per_account_address=3, per_address=3, base_delay=60)
    for _ in range(2):
        limiter.admit("ada", "192.0.2.1")
    limiter.admit("ada", "192.0.2.1")
    limiter.succeeded("ada", "192.0.2.1")
    assert redis_conn.exists(*limiter._keys("ada", "192.0.2.1")[:2]) == 0
    assert int(redis_conn.get(limiter._keys("ada", "192.0.2.1")[2])) == 2
    assert limiter.admit("vic", "192.0.2.1").admitted  # the address wait left with the attempt it gave back


def test_odd_user_names_get_fixed_length_keys(redis_conn):
    limiter = LoginLimiter(redis_conn)
    limiter.admit("x" * 10_000 + ":\n*", "203.0.113.7")
    assert all(len(key) < 200 for key in redis_conn.keys("*login*"))


def _login(client, name, password, address):
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
        headers={"X-Forwarded-For": address},
    )


def test_forwarded_for_ignored_without_proxy_fix(app):
    client = app.test_client()
    for i in range(5):
        assert _login(client, "ada", "nope", f"203.0.113.{i}").status_code == 401
    refused = _login(client, "ada", PASSWORD, "203.0.113.99")  # a new header is not a new address
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_forwarded_for_trusted_with_proxy_fix(settings, redis_conn):
    app = create_app({"IVR_SETTINGS": settings.with_overrides(proxy_fix=1), "IVR_REDIS": redis_conn})
    from ivr.store.users import Role, UserStore

    UserStore(redis_conn).save("ada", PASSWORD, Role.ADMIN)
    client = app.test_client()
    for _ in range(5):
        assert _login(client, "ada", "nope", "203.0.113.7").status_code == 401
    assert _login(client, "ada", PASSWORD, "203.0.113.7").status_code == 429
    assert _login(client, "ada", PASSWORD, "198.51.100.2").status_code == 302
