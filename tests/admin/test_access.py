"""Access: login, rate limits, roles, CSRF, cookie flags, the secret-key rule and `ivr admin create-user`."""

from __future__ import annotations

import pytest

from ivr.admin import InsecureSettings
from ivr.store.audit import AuditLog
from ivr.store.users import UserStore
from ivr.web import create_app
from tests.admin.helpers import REPO, csrf_token, ivr_cli, login


def test_pages_need_login(app):
    client = app.test_client()
    response = client.get("/flows/")
    assert response.status_code == 302 and "/login" in response.location
    assert client.get("/api/v1/flows").status_code == 401
    assert client.get("/api/v1/flows").json["error"]["code"] == 401


def test_login_and_logout(app):
    client = app.test_client()
    assert login(client, "ada", "wrong password").status_code == 401
    response = login(client, "ada")
    assert response.status_code == 302 and response.location == "/"  # the home page
    assert client.get("/flows/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/flows/")})
    assert client.get("/flows/").status_code == 302


def test_login_redirects_only_within_the_site(app):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": "ada", "password": "correct horse battery", "csrf_token": token},
    )
    assert response.location == "/"  # not the other host: the home page


def test_login_rate_limited_per_account_and_address(app):
    client = app.test_client()
    for _ in range(5):
        assert login(client, "ada", "nope").status_code == 401
    refused = login(client, "ada")  # even the right password waits, from this address
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert login(client, "vic").status_code == 302  # other accounts are unaffected


def test_login_rate_limited_per_address(app):
    client = app.test_client()
    for i in range(20):
        login(client, f"guess{i}", "nope")
    assert login(client, "ada").status_code == 429


def test_viewer_is_read_only(viewer, admin):
    rev = admin.post(
        "/api/v1/flows/skype-receptionist/revisions",
        json={"yaml": (REPO / "flows/skype-receptionist.yaml").read_text(), "message": "first"},
    ).json["rev"]
    assert viewer.get("/flows/skype-receptionist").status_code == 200
    assert viewer.post("/flows/skype-receptionist/publish", data={"rev": rev}).status_code == 403
    assert viewer.post("/flows/skype-receptionist/rollback").status_code == 403
    assert viewer.post("/flows/skype-receptionist/save", data={"yaml": "x", "message": "m"}).status_code == 403
    assert viewer.post("/settings/tokens", data={"name": "t", "role": "admin"}).status_code == 403
    assert admin.post("/flows/skype-receptionist/publish", data={"rev": rev}).status_code == 302


def test_post_without_csrf_token_is_refused(admin):
    response = admin.raw.post("/flows/skype-receptionist/publish", data={"rev": 1})
    assert response.status_code == 400 and "CSRF" in response.text
    response = admin.raw.post("/flows/skype-receptionist/validate", json={"yaml": "id: x"})
    assert response.status_code == 400
    response = admin.raw.post("/api/v1/flows/skype-receptionist/validate", json={"yaml": "id: x"})
    assert response.status_code == 400 and response.json["error"]["message"].startswith("CSRF")


def test_twilio_paths_are_not_csrf_checked(app):
    client = app.test_client()
    response = client.post("/twilio/voice", data={"CallSid": "CA1"})
    assert "CSRF" not in response.text  # whatever Twilio's blueprint answers, it is not our CSRF refusal


def test_session_cookie_flags(app, settings, redis_conn):
    client = app.test_client()
    response = login(client, "ada")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = create_app(
        {"IVR_SETTINGS": settings.with_overrides(public_base_url="https://ivr.example.com"), "IVR_REDIS": redis_conn}
    )
    client = secure.test_client()
    response = login(client, "ada")
    assert "Secure" in response.headers["Set-Cookie"]
    client = app.test_client()  # no https base URL, but this request came over https
    token = csrf_token(client)
    response = client.post(
        "/login",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
        data={"username": "ada", "password": "correct horse battery", "csrf_token": token},
    )
    assert response.status_code == 302 and "Secure" in response.headers["Set-Cookie"]


def test_secret_key_required_outside_development(settings, redis_conn):
    with pytest.raises(InsecureSettings, match="IVR_SECRET_KEY"):
        create_app(
            {"IVR_SETTINGS": settings.with_overrides(environment="production", secret_key=""), "IVR_REDIS": redis_conn}
        )
    create_app(
        {
            "IVR_SETTINGS": settings.with_overrides(environment="production", secret_key="k" * 32),
            "IVR_REDIS": redis_conn,
        }
    )


def test_cli_create_user(redis_server, redis_conn):
    done = ivr_cli(
        redis_server.url, "admin", "create-user", "olga", "--role", "viewer", IVR_ADMIN_PASSWORD="from-the-env-1"
    )
    assert done.returncode == 0, done.stderr
    assert UserStore(redis_conn).check("olga", "from-the-env-1").role == "viewer"
    done = ivr_cli(redis_server.url, "admin", "create-user", "pat", stdin="prompted-pass\nprompted-pass\n")
    assert done.returncode == 0, done.stderr
    assert UserStore(redis_conn).check("pat", "prompted-pass").role == "admin"
    assert AuditLog(redis_conn).recent()[0]["target"] == "user:pat"


def test_audit_records_who_did_what(admin, redis_conn):
    admin.post("/settings/users", data={"username": "newbie", "password": "long enough", "role": "viewer"})
    entry = AuditLog(redis_conn).recent()[0]
    assert (entry["who"], entry["action"], entry["target"]) == ("ada", "save user", "user:newbie")
    assert "newbie" in admin.get("/audit").text


def test_configuration_shown_to_admins_without_secrets(admin, viewer):
    page = admin.get("/settings").text
    assert "IVR_FLOWS_DIR" in page and "test-secret" not in page
    assert 'IVR_SECRET_KEY</th>\n    <td class="mono">set' in page
    assert 'id="configuration"' not in viewer.get("/settings").text


def test_settings_page_names_variables_and_marks_what_is_unset_and_needed(settings, redis_conn, password_hash):
    """Issue 19: the real variable names (IVR_ prefixes kept); an empty setting the shipped flow needs is marked."""
    from tests.admin.conftest import without_twilio
    from tests.admin.test_health import admin_client, app_with

    admin = admin_client(app_with(without_twilio(settings), redis_conn, password_hash))
    page = admin.get("/settings").text
    assert 'data-env="TWILIO_AUTH_TOKEN" class="needed"' in page  # the flow texts links; no token, no SMS
    assert "needed by sms, chat" in page.split('data-env="TWILIO_ACCOUNT_SID"')[1].split("</tr>")[0]
    assert 'data-env="IVR_SIP_PORT"' in page and "unset" in page.split('data-env="IVR_SIP_PORT"')[1][:400]
