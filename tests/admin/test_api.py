"""The REST API: bearer tokens (created/revoked by admins, stored as hashes), viewer tokens read-only, JSON errors,
flows/calls/callbacks/analytics endpoints, the OpenAPI document, and schemathesis finding no 5xx."""

from __future__ import annotations

import hashlib

import pytest

import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings

from ivr.store import keys
from ivr.store.flows import FlowStore
from ivr.store.users import Role, TokenStore
from tests.admin.helpers import shipped_yaml

FLOW = "skype-receptionist"


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin_token(redis_conn) -> str:
    return TokenStore(redis_conn).create(name="ci", role=Role.ADMIN, owner="ada")[1]


def test_tokens_created_in_settings_and_revoked(app, admin, redis_conn):
    page = admin.post("/settings/tokens", data={"name": "deploy", "role": "admin"}).text
    secret = page.split('id="new-token"')[1].split("<code>")[1].split("</code>")[0]
    client = app.test_client()
    assert client.get("/api/v1/flows", headers=bearer(secret)).status_code == 200
    stored = redis_conn.hgetall(keys.API_TOKENS)
    assert secret.encode() not in b"".join(stored.values())  # only the hash is kept
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in b"".join(stored.values())
    token_id = TokenStore(redis_conn).list()[0]["id"]
    admin.post(f"/settings/tokens/{token_id}/revoke")
    response = client.get("/api/v1/flows", headers=bearer(secret))
    assert response.status_code == 401 and response.json["error"]["message"] == "unknown or revoked API token"


def test_flow_lifecycle_over_the_api(app, admin_token, redis_conn):
    client, auth = app.test_client(), bearer(admin_token)
    bad = client.post(
        f"/api/v1/flows/{FLOW}/revisions",
        headers=auth,
        json={"yaml": shipped_yaml().replace("next: goodbye", "next: good_bye", 1)},
    )
    assert bad.status_code == 422 and "good_bye" in bad.json["problems"][0]["message"]
    made = client.post(
        f"/api/v1/flows/{FLOW}/revisions", headers=auth, json={"yaml": shipped_yaml(), "message": "v1", "publish": True}
    )
    assert made.status_code == 201 and made.json == {"rev": 1, "published": 1}
    client.post(f"/api/v1/flows/{FLOW}/revisions", headers=auth, json={"yaml": shipped_yaml() + "\n", "message": "v2"})
    assert client.post(f"/api/v1/flows/{FLOW}/publish", headers=auth, json={"rev": 2}).json == {"published": 2}
    assert client.post(f"/api/v1/flows/{FLOW}/rollback", headers=auth).json == {"published": 1}
    assert client.post(f"/api/v1/flows/{FLOW}/publish", headers=auth, json={"rev": 9}).status_code == 404
    info = client.get(f"/api/v1/flows/{FLOW}", headers=auth).json
    assert [r["rev"] for r in info["revisions"]] == [2, 1] and info["published"] == 1
    assert client.get(f"/api/v1/flows/{FLOW}/revisions/2", headers=auth).json["yaml_text"].endswith("\n\n")
    assert FlowStore(redis_conn).history(FLOW)[-1]["author"] == "ada (token ci)"
    valid = client.post(f"/api/v1/flows/{FLOW}/validate", headers=auth, json={"yaml": shipped_yaml()})
    assert valid.json == {"ok": True, "problems": []}


def test_viewer_token_is_read_only(app, redis_conn):
    secret = TokenStore(redis_conn).create(name="dash", role=Role.VIEWER, owner="ada")[1]
    client = app.test_client()
    assert client.get("/api/v1/calls", headers=bearer(secret)).status_code == 200
    response = client.post(f"/api/v1/flows/{FLOW}/publish", headers=bearer(secret), json={"rev": 1})
    assert response.status_code == 403 and "read-only" in response.json["error"]["message"]


def test_errors_are_json(app, admin_token):
    client, auth = app.test_client(), bearer(admin_token)
    for response, code in (
        (client.get("/api/v1/nothing", headers=auth), 404),
        (client.put("/api/v1/flows", headers=auth), 405),
        (client.post(f"/api/v1/flows/{FLOW}/validate", headers=auth, json={"yaml": "x" * 3_000_000}), 413),
        (client.post(f"/api/v1/flows/{FLOW}/publish", headers=auth, json={"rev": 1, "pad": "x" * 70_000}), 413),
        (
            client.post(
                f"/api/v1/flows/{FLOW}/publish", headers=auth, data="not json", content_type="application/json"
            ),
            400,
        ),
        (client.get("/api/v1/calls/nope", headers=auth), 404),
    ):
        assert response.status_code == code
        assert response.is_json and response.json["error"]["code"] == code and response.json["error"]["message"]


def test_unknown_routes_answer_404_405_before_csrf(app):
    client = app.test_client()
    assert client.delete("/api/v1/flows").status_code == 405
    assert client.post("/api/v1/nothing").json["error"]["code"] == 404


def test_openapi_document(app):
    doc = app.test_client().get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.") and "/flows/{flow_id}/publish" in doc["paths"]


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.slow
def test_api_never_answers_5xx(case, admin_token):
    response = case.call(headers=bearer(admin_token))
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
    if response.status_code >= 400:
        assert response.json()["error"]["message"]
