"""Odd query strings and unknown ids on every page: a clear 4xx or a normal page, never a 500."""

from __future__ import annotations

ODD = [
    "/flows/skype-receptionist?rev=999",
    "/flows/skype-receptionist?rev=abc",
    "/flows/no-such-flow",
    "/flows/skype-receptionist/edit?rev=999",
    "/flows/skype-receptionist/diff?a=1&b=999",
    "/flows/skype-receptionist/diff",
    "/flows/skype-receptionist/revisions/5.yaml",
    "/flows/..%2F..%2Fetc",
    "/calls/?before=abc",
    "/calls/?from=yesterday&to=2026-99-99",
    "/calls/?before=1e308",
    "/calls/nope",
    "/calls/nope/recordings/0",
    "/calls/live?fragment=1",
    "/analytics/?from=1999-01-01&to=2999-12-31",
    "/analytics/?from=2026-13-01",
    "/analytics/hours.csv?from=x",
    "/simulator/graph?flow=nope",
    "/simulator/graph?flow=skype-receptionist&rev=999",
    "/simulator/graph",
    "/chats/nope",
    "/chats/nope/messages",
    "/chat/short",
    "/chat/" + "z" * 40 + "/messages",
    "/api/v1/calls?limit=abc&before=x",
    "/api/v1/calls?limit=-5",
    "/api/v1/flows/NO/revisions/1",
    "/api/v1/analytics?from=2026-02-30",
]


def test_no_server_errors(admin):
    for url in ODD:
        response = admin.get(url)
        assert response.status_code < 500, (url, response.text[:300])


def test_no_server_errors_on_odd_posts(admin):
    for path, data in (
        ("/flows/skype-receptionist/publish", {"rev": "x"}),
        ("/flows/skype-receptionist/rollback", {}),
        ("/flows/skype-receptionist/export", {"rev": "77"}),
        ("/callbacks/nope/done", {}),
        ("/callbacks/nope/reschedule", {"when": "soon"}),
        ("/settings/tokens/nope/revoke", {}),
        ("/settings/users", {"username": "bad name!", "password": "long enough", "role": "admin"}),
        ("/settings/users", {"username": "ok", "password": "long enough", "role": "king"}),
    ):
        assert admin.post(path, data=data).status_code < 500, path
    for body in (None, [], {"yaml": 5}, {"sim": "x"}, {"flow": ["a"]}):
        for path in (
            "/flows/skype-receptionist/validate",
            "/simulator/start",
            "/simulator/turn",
            "/chats/nope/messages",
        ):
            assert admin.post(path, json=body).status_code < 500, (path, body)
