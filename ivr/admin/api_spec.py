"""The OpenAPI 3 document of /api/v1/ (served at /api/v1/openapi.json, checked by schemathesis in the tests)."""

from __future__ import annotations

from functools import lru_cache


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {code: {"$ref": "#/components/responses/Error"} for code in ("400", "401", "403", "404", "405", "413")}
FLOW_ID = {"name": "flow_id", "in": "path", "required": True, "schema": {"type": "string"}}
DATES = [
    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
]
OBJ = {"type": "object"}


def _op(summary: str, ok: dict, params=(), body: dict | None = None, extra: dict | None = None) -> dict:
    op = {"summary": summary, "parameters": list(params), "responses": {**ok, **ERRORS, **(extra or {})}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


COMPONENTS = {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "responses": {"Error": _json(_ref("Error"), "An error, as JSON")},
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
                }
            },
        },
        "Validation": {
            "type": "object",
            "required": ["ok", "problems"],
            "properties": {"ok": {"type": "boolean"}, "problems": {"type": "array", "items": {"type": "object"}}},
        },
    },
}


def _path_param(name: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def _flow_paths() -> dict:
    """/flows: list, revisions, validate, publish and roll back."""
    revision_body = {
        "type": "object",
        "required": ["yaml"],
        "properties": {"yaml": {"type": "string"}, "message": {"type": "string"}, "publish": {"type": "boolean"}},
    }
    rev_body = {"type": "object", "required": ["rev"], "properties": {"rev": {"type": "integer"}}}
    return {
        "/flows": {"get": _op("List flows with their published revision and draft", {"200": _json(OBJ)})},
        "/flows/{flow_id}": {"get": _op("A flow's revisions and publish history", {"200": _json(OBJ)}, [FLOW_ID])},
        "/flows/{flow_id}/revisions": {
            "post": _op(
                "Save a new immutable revision (validated like `ivr validate`)",
                {"201": _json(OBJ, "Created")},
                [FLOW_ID],
                revision_body,
                {"422": _json(OBJ, "The flow has problems")},
            )
        },
        "/flows/{flow_id}/revisions/{rev}": {
            "get": _op("One revision's YAML", {"200": _json(OBJ)}, [FLOW_ID, _path_param("rev", {"type": "integer"})])
        },
        "/flows/{flow_id}/validate": {
            "post": _op(
                "Validate YAML without saving",
                {"200": _json(_ref("Validation"))},
                [FLOW_ID],
                {"type": "object", "required": ["yaml"], "properties": {"yaml": {"type": "string"}}},
            )
        },
        "/flows/{flow_id}/publish": {"post": _op("Publish a revision", {"200": _json(OBJ)}, [FLOW_ID], rev_body)},
        "/flows/{flow_id}/rollback": {
            "post": _op(
                "Publish an earlier revision (default: the one published before)",
                {"200": _json(OBJ)},
                [FLOW_ID],
                {"type": "object", "properties": {"rev": {"type": "integer"}}},
                {"409": _json(_ref("Error"), "Nothing to roll back to")},
            )
        },
    }


def _call_paths() -> dict:
    """/calls, /callbacks and /analytics: what the calls did, the callback queue, the counters."""
    call_filters = (
        DATES
        + [
            {"name": n, "in": "query", "schema": {"type": "string"}}
            for n in ("channel", "caller", "outcome", "step", "followup")
        ]
        + [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
            {"name": "before", "in": "query", "schema": {"type": "number"}},
        ]
    )
    callback_action = _path_param("action", {"type": "string", "enum": ["call-now", "reschedule", "done", "drop"]})
    return {
        "/calls": {"get": _op("Calls, newest first, filtered", {"200": _json(OBJ)}, call_filters)},
        "/calls/live": {"get": _op("Calls in progress", {"200": _json(OBJ)})},
        "/calls/{call_id}": {"get": _op("A call and its timeline", {"200": _json(OBJ)}, [_path_param("call_id")])},
        "/callbacks": {"get": _op("The pending callback queue", {"200": _json(OBJ)})},
        "/callbacks/{request_id}/{action}": {
            "post": _op(
                "Call now, reschedule (when = epoch seconds), mark done or drop",
                {"200": _json(OBJ)},
                [_path_param("request_id"), callback_action],
                {"type": "object", "properties": {"when": {"type": "number"}}},
                {"409": _json(_ref("Error"), "Not pending any more")},
            )
        },
        "/analytics": {"get": _op("Counters for a range of days (UTC)", {"200": _json(OBJ)}, DATES)},
    }


@lru_cache(maxsize=1)
def _route_paths() -> dict:
    """Flows per number (routes_api.py): numbers are kept as E.164 (or a SIP user name)."""
    number = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
    table = {
        "type": "object",
        "required": ["routes"],
        "properties": {
            "routes": {"type": "object", "additionalProperties": {"type": "string"}},
            "default": {"type": "string"},
        },
    }
    invalid = {"422": _json(_ref("Error"), "A number or a flow id is not valid")}
    return {
        "/routes": {
            "get": _op("The routing table: which flow answers each called number", {"200": _json(OBJ)}),
            "put": _op("Replace the whole routing table", {"200": _json(OBJ)}, (), table, invalid),
        },
        "/routes/{number}": {
            "put": _op(
                "Route one called number to a flow",
                {"200": _json(OBJ)},
                [number],
                {"type": "object", "required": ["flow_id"], "properties": {"flow_id": {"type": "string"}}},
                invalid,
            ),
            "delete": _op("Remove a called number's row", {"200": _json(OBJ)}, [number], None, invalid),
        },
    }


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "IVR admin API",
            "version": "1.0.0",
            "description": "Flows, calls, callbacks, analytics and the routing table of the self-hosted IVR. "
            "Authenticate with 'Authorization: Bearer <token>' (admins create tokens in "
            "Settings); viewer tokens are read-only.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {**_flow_paths(), **_call_paths(), **_route_paths()},
        "components": COMPONENTS,
    }
