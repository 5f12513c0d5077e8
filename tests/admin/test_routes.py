"""Flows per number in the admin: the routes page (admins change, viewers read, CSRF), the REST API (JSON, 4xx JSON
errors), and flows/routes.yaml exported and imported by the page and by `ivr routes` (file:line problems)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ivr.store.audit import AuditLog
from ivr.store.routes import RouteStore, RouteTable
from ivr.store.users import Role, TokenStore
from tests.admin.helpers import REPO
from tests.routing_flows import write_flows

SALES = "+442079460123"


@pytest.fixture(autouse=True)
def flows(settings):
    return write_flows(settings.flows_dir, "sales", "support")


def table(redis_conn) -> RouteTable:
    return RouteStore(redis_conn).table()


def test_an_admin_routes_numbers_in_any_form_to_one_row(admin, redis_conn):
    assert admin.post("/routes/", data={"number": "+44 20 7946 0123", "flow_id": "sales"}).status_code == 302
    assert admin.post("/routes/", data={"number": "0044 20 7946 0123", "flow_id": "support"}).status_code == 302
    assert admin.post("/routes/", data={"number": "Support", "flow_id": "support"}).status_code == 302
    assert admin.post("/routes/default", data={"flow_id": "sales"}).status_code == 302
    assert table(redis_conn) == RouteTable({SALES: "support", "support": "support"}, "sales")
    page = admin.get("/routes/").text
    assert SALES in page and "(the table’s default)" in page
    assert admin.post("/routes/delete", data={"number": "442079460123"}).status_code == 302
    assert table(redis_conn).routes == {"support": "support"}
    assert [e["action"] for e in AuditLog(redis_conn).recent(10)][:2] == ["remove route", "set default route"]


@pytest.mark.parametrize(
    ("number", "flow_id", "message"),
    [
        ("+44 20 7946 0123", "nope", "no flow &#39;nope&#39;"),
        ("sales team", "sales", "neither a phone number nor a name"),
    ],
)
def test_a_bad_row_is_refused_with_a_reason(admin, redis_conn, number, flow_id, message):
    response = admin.post("/routes/", data={"number": number, "flow_id": flow_id})
    assert response.status_code == 400 and message in response.text
    assert table(redis_conn) == RouteTable()


def test_a_viewer_reads_the_table_but_cannot_change_it(viewer, redis_conn):
    RouteStore(redis_conn).set(SALES, "sales")
    assert SALES in viewer.get("/routes/").text
    for path, data in (
        ("/routes/", {"number": "support", "flow_id": "support"}),
        ("/routes/delete", {"number": SALES}),
    ):
        assert viewer.post(path, data=data).status_code == 403
    assert viewer.post("/routes/default", data={"flow_id": "sales"}).status_code == 403
    assert table(redis_conn) == RouteTable({SALES: "sales"})


def test_a_change_without_the_csrf_token_is_refused(admin, redis_conn):
    response = admin.raw.post("/routes/", data={"number": SALES, "flow_id": "sales"})
    assert response.status_code == 400 and "CSRF" in response.text
    assert table(redis_conn) == RouteTable()


def test_the_page_exports_and_imports_routes_yaml(admin, redis_conn, flows):
    RouteStore(redis_conn).replace(RouteTable({SALES: "sales", "support": "support"}, "sales"))
    assert admin.post("/routes/export").status_code == 302
    RouteStore(redis_conn).replace(RouteTable())
    assert admin.post("/routes/import").status_code == 302
    assert table(redis_conn) == RouteTable({SALES: "sales", "support": "support"}, "sales")
    (flows / "routes.yaml").write_text("routes:\n  support: gone\n")
    response = admin.post("/routes/import")
    assert response.status_code == 400 and "routes.yaml:2:12: no flow &#39;gone&#39;" in response.text
    assert table(redis_conn).routes == {SALES: "sales", "support": "support"}  # unchanged


def bearer(redis_conn, role=Role.ADMIN) -> dict:
    return {"Authorization": f"Bearer {TokenStore(redis_conn).create(name='ci', role=role, owner='ada')[1]}"}


def test_the_api_reads_replaces_and_changes_rows(app, redis_conn):
    client, auth = app.test_client(), bearer(redis_conn)
    body = {"routes": {"+44 20 7946 0123": "sales", "support": "support"}, "default": "sales"}
    assert client.put("/api/v1/routes", json=body, headers=auth).status_code == 200
    assert client.get("/api/v1/routes", headers=auth).json["routes"] == [
        {"number": SALES, "flow_id": "sales"},
        {"number": "support", "flow_id": "support"},
    ]
    reply = client.put("/api/v1/routes/0044%202079460123", json={"flow_id": "support"}, headers=auth)
    assert reply.json == {"number": SALES, "flow_id": "support"}
    assert client.delete("/api/v1/routes/support", headers=auth).json == {"removed": "support"}
    assert table(redis_conn) == RouteTable({SALES: "support"}, "sales")


def test_api_errors_are_json_4xx_and_change_nothing(app, redis_conn):
    client, auth = app.test_client(), bearer(redis_conn)
    RouteStore(redis_conn).set(SALES, "sales")
    bad = client.put("/api/v1/routes", json={"routes": {"sales team": "sales", "support": "nope"}}, headers=auth)
    assert bad.status_code == 422 and len(bad.json["problems"]) == 2 and "nope" in bad.json["error"]["message"]
    assert client.put("/api/v1/routes", json={"routes": []}, headers=auth).status_code == 400
    assert client.put("/api/v1/routes/support", json={}, headers=auth).status_code == 400
    assert client.delete("/api/v1/routes/support", headers=auth).json["error"]["code"] == 404
    viewer = bearer(redis_conn, Role.VIEWER)
    assert client.put("/api/v1/routes/support", json={"flow_id": "support"}, headers=viewer).status_code == 403
    assert client.get("/api/v1/routes", headers=viewer).status_code == 200
    assert table(redis_conn) == RouteTable({SALES: "sales"})
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"get", "put"} <= set(paths["/routes"]) and {"put", "delete"} <= set(paths["/routes/{number}"])


def test_ivr_routes_export_and_import_round_trip(redis_server, redis_conn, settings, flows):
    env = {**os.environ, "REDIS_URL": redis_server.url, "IVR_FLOWS_DIR": str(flows)}

    def ivr(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "ivr", "routes", *args]
        return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)

    RouteStore(redis_conn).replace(RouteTable({SALES: "sales", "support": "support"}, "sales"))
    assert ivr("export").returncode == 0
    written = (flows / "routes.yaml").read_text()
    RouteStore(redis_conn).replace(RouteTable())
    assert ivr("import").returncode == 0
    assert table(redis_conn) == RouteTable({SALES: "sales", "support": "support"}, "sales")
    assert ivr("export", "-").stdout == written
    assert ivr("list").stdout == f"{SALES}\tsales\nsupport\tsupport\n*\tsales\n"
    (flows / "routes.yaml").write_text('routes:\n  "+44 20 7946 0123": sales\n  "0044 20 7946 0123": nope\n')
    failed = ivr("import")
    assert failed.returncode == 1
    where = f"{flows}/routes.yaml:3:3: '0044 20 7946 0123' is {SALES}, as '+44 20 7946 0123' above: one row per number"
    assert failed.stdout.splitlines() == [where]
    assert table(redis_conn).default == "sales"  # unchanged
