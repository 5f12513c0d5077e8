"""Sessions and tokens die with what they belong to: a cookie with its logout or password reset, a token with its
owner (or the owner's admin role), and the CSRF token with the anonymous session it was issued to."""

from __future__ import annotations

from ivr.store.users import Role, TokenStore, UserStore
from tests.admin.helpers import PASSWORD, Client, csrf_token, ivr_cli, login


def _copy_cookies(source, target) -> None:
    """Give `target` every cookie `source` holds (a stolen or kept copy of the browser's cookie jar)."""
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


def test_cookie_dies_at_logout(app):
    browser = app.test_client()
    assert login(browser, "ada").status_code == 302
    kept = app.test_client()
    _copy_cookies(browser, kept)
    assert kept.get("/flows/").status_code == 200
    browser.post("/logout", data={"csrf_token": csrf_token(browser, "/flows/")})
    response = kept.get("/flows/")
    assert response.status_code == 302 and "/login" in response.location
    assert kept.get("/api/v1/flows").status_code == 401


def test_logout_ends_every_session_of_that_user_only(app):
    laptop, phone, other = app.test_client(), app.test_client(), app.test_client()
    for client, name in ((laptop, "ada"), (phone, "ada"), (other, "vic")):
        assert login(client, name).status_code == 302
    laptop.post("/logout", data={"csrf_token": csrf_token(laptop, "/flows/")})
    assert phone.get("/flows/").status_code == 302
    assert other.get("/flows/").status_code == 200
    assert login(laptop, "ada").status_code == 302 and laptop.get("/flows/").status_code == 200


def test_cookie_dies_at_password_reset(app, admin):
    vic = app.test_client()
    assert login(vic, "vic").status_code == 302
    admin.post("/settings/users", data={"username": "vic", "password": "a new password", "role": "viewer"})
    assert vic.get("/flows/").status_code == 302
    assert login(vic, "vic", "a new password").status_code == 302


def test_own_password_change_keeps_this_session_only(app, admin):
    other = app.test_client()
    assert login(other, "ada").status_code == 302
    admin.post("/settings/users", data={"username": "ada", "password": "a new password", "role": "admin"})
    assert admin.get("/flows/").status_code == 200
    assert other.get("/flows/").status_code == 302


def test_cookie_dies_at_cli_password_reset(app, redis_server):
    vic = app.test_client()
    assert login(vic, "vic").status_code == 302
    done = ivr_cli(
        redis_server.url, "admin", "create-user", "vic", "--role", "viewer", IVR_ADMIN_PASSWORD="reset from the cli"
    )
    assert done.returncode == 0, done.stderr
    assert vic.get("/flows/").status_code == 302


def test_deleted_users_cookie_and_tokens_die(app, admin, redis_conn, password_hash):
    UserStore(redis_conn).save_hashed("bob", password_hash, Role.ADMIN)
    bob = app.test_client()
    assert login(bob, "bob").status_code == 302
    secret = TokenStore(redis_conn).create(name="ci", role=Role.ADMIN, owner="bob")[1]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/flows", headers=bearer).status_code == 200
    admin.post("/settings/users/bob/delete")
    assert bob.get("/flows/").status_code == 302
    response = app.test_client().post("/api/v1/flows/skype-receptionist/rollback", headers=bearer, json={})
    assert response.status_code == 401 and response.json["error"]["code"] == 401
    assert TokenStore(redis_conn).list() == []
    UserStore(redis_conn).save_hashed("bob", password_hash, Role.ADMIN)  # a new bob inherits nothing
    assert app.test_client().get("/api/v1/flows", headers=bearer).status_code == 401


def test_token_never_outranks_its_owner(app, admin, redis_conn, password_hash):
    secret = TokenStore(redis_conn).create(name="ci", role=Role.ADMIN, owner="bob")[1]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/flows", headers=bearer).status_code == 401  # owner never existed
    UserStore(redis_conn).save_hashed("bob", password_hash, Role.VIEWER)
    client = app.test_client()
    assert client.get("/api/v1/flows", headers=bearer).status_code == 200
    response = client.post("/api/v1/flows/skype-receptionist/rollback", headers=bearer, json={})
    assert response.status_code == 403  # bob is a viewer now: so is his token


def test_cli_delete_user_revokes_tokens(app, redis_server, redis_conn, password_hash):
    UserStore(redis_conn).save_hashed("bob", password_hash, Role.ADMIN)
    TokenStore(redis_conn).create(name="ci", role=Role.ADMIN, owner="bob")
    kept = TokenStore(redis_conn).create(name="ci", role=Role.ADMIN, owner="ada")[1]
    done = ivr_cli(redis_server.url, "admin", "delete-user", "bob")
    assert done.returncode == 0, done.stderr
    assert "1 API token" in done.stdout
    assert UserStore(redis_conn).get("bob") is None
    assert [t["owner"] for t in TokenStore(redis_conn).list()] == ["ada"]
    assert TokenStore(redis_conn).authenticate(kept) is not None
    done = ivr_cli(redis_server.url, "admin", "delete-user", "nobody")
    assert done.returncode == 2 and "no user" in done.stderr


def test_csrf_token_rotates_at_login(app):
    client = app.test_client()
    before = csrf_token(client)
    response = client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": before})
    assert response.status_code == 302
    planted = client.post("/flows/skype-receptionist/rollback", data={"csrf_token": before})
    assert planted.status_code == 400 and "CSRF" in planted.text
    assert Client(client).token != before


def test_cli_end_sessions(app, redis_server):
    vic = app.test_client()
    assert login(vic, "vic").status_code == 302
    done = ivr_cli(redis_server.url, "admin", "end-sessions", "vic")
    assert done.returncode == 0, done.stderr
    assert vic.get("/flows/").status_code == 302
    assert login(vic, "vic").status_code == 302  # the password still works
