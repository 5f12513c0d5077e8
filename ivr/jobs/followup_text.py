"""What a follow-up's text says: its `message` and `link`, or a flow's own Jinja2 template.

`template: NAME` names `NAME.txt` (the SMS body, or the email's text part) and optionally `NAME.html` (the email's
HTML part) in the `templates/` folder of the flows folder (IVR_FLOWS_DIR/templates, docs/flows.md). Flow
templates are rendered in Jinja2's sandbox (a flow editor is not a code author) with the follow-up's fields:
message, link, caller, call_id, flow_id, subject. A missing or broken template fails the job for good (Permanent),
and `ivr validate` reports a missing one at its file:line first.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from ivr.jobs.delivery import Permanent

TEMPLATES_FOLDER = "templates"  # inside the flows folder


@lru_cache(maxsize=8)
def _environment(flows_dir: str) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(Path(flows_dir) / TEMPLATES_FOLDER)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
    )


def fields(payload: dict) -> dict:
    return {
        name: payload.get(name, "") or "" for name in ("message", "link", "caller", "call_id", "flow_id", "subject")
    }


def with_link(message: str, link: str) -> str:
    """The message, then the link on its own line unless the message already carries it."""
    return message if not link or link in message else (f"{message}\n{link}" if message else link)


def render_flow_template(
    flows_dir: Path | str, name: str, suffix: str, values: dict, optional: bool = False
) -> str | None:
    """`name.suffix` from the flows folder's templates/, rendered; None if `optional` and it does not exist."""
    environment = _environment(str(flows_dir))
    try:
        return environment.get_template(f"{name}.{suffix}").render(values)
    except TemplateError as exc:
        if optional and type(exc).__name__ == "TemplateNotFound":
            return None
        raise Permanent(
            f"template {name}.{suffix} in {Path(flows_dir) / TEMPLATES_FOLDER}: {type(exc).__name__}: {exc}"
        ) from None


def sms_body(flows_dir: Path | str, payload: dict) -> str:
    """The text of an SMS (or a chat link's text): the flow's template, else message + link."""
    if payload.get("template"):
        return render_flow_template(flows_dir, str(payload["template"]), "txt", fields(payload)) or ""
    return with_link(str(payload.get("message", "") or ""), str(payload.get("link", "") or ""))
