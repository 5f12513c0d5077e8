"""http: ask a web service something and branch on the answer (`ok` or `failed` exit).

The step renders its URL, headers and JSON body (string leaves are templates) into an HttpRequest action and
waits; the channel makes the request (allowlist, signature, timeout, retries, filler prompt) and answers with
HttpResult. The answer lands in variables: `http.status`, `http.reason`, `http.body` (a non-JSON body) and
`http.json.<field>...` for every scalar of a JSON object (a list of scalars becomes one comma-separated value).
"""

from __future__ import annotations

import json
from typing import Any

from ..actions import HttpRequest, Log
from ..events import Event, HttpResult
from ..states import Waiting
from ..template import Template, compile_template
from .base import Context, Outcome, Prompt, Spec, Step, TemplateRefs

MAX_TIMEOUT = 10.0  # seconds, all tries together
DEFAULT_TIMEOUT = 5.0
DEFAULT_FILLER = "One moment please."
MAX_VARIABLES = 200  # JSON fields kept as variables (the state goes to storage on every turn)
MAX_VALUE = 1000  # characters kept of one value
PREFIX = "http."
JSON_PREFIX = "http.json."


class HttpStep(Step):
    kind = "http"
    waits = Waiting.HTTP

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.url = compile_template(spec["url"])
        self.method = str(spec.get("method", "POST" if "body" in spec else "GET")).upper()
        self.headers = {str(name): compile_template(value) for name, value in spec.get("headers", {}).items()}
        self.body = _compile(spec["body"]) if "body" in spec else None
        self.timeout = min(float(spec.get("timeout", DEFAULT_TIMEOUT)), MAX_TIMEOUT)
        self.retries = int(spec.get("retries", 0))
        self.filler_after = float(spec.get("filler_after", 1.5))
        self.filler = Prompt.parse(spec.get("filler", DEFAULT_FILLER))

    def exits(self) -> dict[str, str]:
        return {label: self.spec[label] for label in ("ok", "failed") if label in self.spec}

    def templates(self) -> TemplateRefs:
        found: TemplateRefs = [(("url",), self.url)]
        found += [(("headers", name), t) for name, t in self.headers.items()]
        found += [(("body",) + path, t) for path, t in _leaves(self.body, ())]
        found += [(("filler",), t) for t in self.filler.templates()] if self.filler else []
        return found

    def defines(self) -> tuple[str, ...]:
        return ("http.status", "http.reason", "http.body", JSON_PREFIX + "*")  # "*": any field below

    def enter(self, ctx: Context) -> Outcome:
        filler = self.filler or Prompt()
        action = HttpRequest(
            step=self.id,
            url=ctx.render(self.url),
            method=self.method,
            headers={name: ctx.render(t) for name, t in self.headers.items()},
            body="" if self.body is None else json.dumps(_render(self.body, ctx), separators=(",", ":")),
            timeout=self.timeout,
            retries=self.retries,
            filler_after=self.filler_after,
            filler=ctx.render(filler.text),
            filler_audio=filler.audio,
            voice=filler.voice or ctx.flow.voice,
            language=filler.language or ctx.flow.language,
            idempotency_key=ctx.job(self.id, "http", {}).idempotency_key,
        )
        return Outcome(actions=[action], wait=self.waits)

    def handle(self, ctx: Context, event: Event) -> Outcome:
        if not isinstance(event, HttpResult):
            return Outcome(wait=self.waits)
        for name in [n for n in ctx.vars if n.startswith(PREFIX)]:  # an earlier request's answer
            del ctx.vars[name]
        ctx.vars.update({"http.status": str(event.status), "http.reason": event.reason, "http.body": event.body})
        ctx.vars.update(flatten(event.data, JSON_PREFIX[:-1]))
        log = Log(
            event="http_result",
            data={"step": self.id, "ok": event.ok, "status": event.status, "reason": event.reason},
        )
        return Outcome(actions=[log], next=self.spec["ok" if event.ok else "failed"])


def _compile(value: Any) -> Any:
    """The body with every string (keys stay literal) parsed as a template."""
    if isinstance(value, str):
        return compile_template(value)
    if isinstance(value, dict):
        return {str(k): _compile(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compile(v) for v in value]
    return value


def _leaves(value: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], Template]]:
    if isinstance(value, Template):
        return [(path, value)]
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, path + (k,))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, path + (i,))]
    return []


def _render(value: Any, ctx: Context) -> Any:
    if isinstance(value, Template):
        return ctx.render(value)
    if isinstance(value, dict):
        return {k: _render(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, ctx) for v in value]
    return value


def flatten(data: Any, prefix: str) -> dict[str, str]:
    """`{"a": {"b": 1}}` -> {"<prefix>.a.b": "1"}: the scalars a template can name, at most MAX_VARIABLES."""
    found: dict[str, str] = {}
    pending: list[tuple[str, Any]] = [(prefix, data)]
    while pending and len(found) < MAX_VARIABLES:
        name, value = pending.pop(0)
        if isinstance(value, dict):
            pending += [(f"{name}.{k}", v) for k, v in value.items() if isinstance(k, str) and k.isidentifier()]
        elif isinstance(value, list):
            if all(not isinstance(v, dict | list) for v in value):
                found[name] = ", ".join(_scalar(v) for v in value)[:MAX_VALUE]
        elif name != prefix:
            found[name] = _scalar(value)[:MAX_VALUE]
    return found


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
