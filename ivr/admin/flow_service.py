"""What the flows pages and the REST API both do with flows: validate, save revisions, publish, roll back,
import from and export to the YAML files in `flows/`, and summarise each flow.

Validation is `ivr.flows.build_flow`, the code behind `ivr validate`, so the editor shows exactly its problems;
on top of that a revision's `id` must be the flow it is saved under.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from ivr.flows import FlowInvalid, Problem
from ivr.flows.loader import build_flow
from ivr.flows.routes_file import ROUTES_FILE
from ivr.settings import Settings
from ivr.store import keys
from ivr.store.flows import FlowStore

FLOW_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
NEW_FLOW = """id: {flow_id}
description: A new flow
start: welcome

steps:
  welcome:
    type: say
    text: "Hello, thank you for calling."
    next: goodbye

  goodbye:
    type: hangup
    say: "Goodbye."
"""


class Invalid(ValueError):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def flow_yaml_files(settings: Settings) -> list[Path]:
    """flows/*.yaml, sorted, without flows/routes.yaml (the routing table, route_service.py)."""
    return sorted(p for p in Path(settings.flows_dir).glob("*.yaml") if p.name != ROUTES_FILE)


def valid_flow_id(flow_id: str) -> bool:
    return bool(FLOW_ID.match(flow_id))


def validate(settings: Settings, flow_id: str, text: str) -> list[Problem]:
    filename = f"{flow_id}.yaml"
    try:
        flow = build_flow(text, filename, Path(settings.flows_dir))
    except FlowInvalid as exc:
        return list(exc.problems)
    if flow.id != flow_id:
        match = re.search(r"^id\s*:", text, re.MULTILINE)
        line = text.count("\n", 0, match.start()) + 1 if match else 1
        return [Problem(filename, line, 1, f"id: '{flow.id}' must be '{flow_id}', the flow this revision belongs to")]
    return []


def problem_dicts(problems: list[Problem]) -> list[dict]:
    """Problems as the editor and the API show them, each consequence right after its cause: steps unreachable
    because a reference names no step follow from that reference (`follows`: the cause's index in the list)."""
    causes = [p for p in problems if "unknown step" in p.message]
    follow = [p for p in problems if causes and "unreachable step" in p.message]
    ordered = [p for p in problems if p not in follow]
    first = ordered.index(causes[0]) if causes else -1
    ordered[first + 1 : first + 1] = follow
    return [
        {
            "line": p.line,
            "column": p.column,
            "message": p.message,
            "text": str(p),
            "follows": first if p in follow else None,
        }
        for p in ordered
    ]


def save(store: FlowStore, settings: Settings, flow_id: str, text: str, message: str, author: str) -> int:
    """Validate, then store an immutable revision. Raises Invalid with the problems."""
    if not valid_flow_id(flow_id):
        raise Invalid([Problem(f"{flow_id}.yaml", 1, 1, "a flow id is lower-case letters, digits, '-' or '_'")])
    problems = validate(settings, flow_id, text)
    if problems:
        raise Invalid(problems)
    return store.save_revision(flow_id, text, message=message.strip() or "(no message)", author=author)


@dataclass
class FlowSummary:
    id: str
    published: int | None
    latest: int | None
    latest_message: str
    latest_author: str
    latest_at: float | None
    has_file: bool

    @property
    def state(self) -> str:
        """What answers calls: "published revision N", "draft ahead of published", "running from file"."""
        if self.published is not None:
            return "draft ahead of published" if self.draft else f"published revision {self.published}"
        return "running from file" if self.has_file else "not published"

    @property
    def draft(self) -> int | None:
        """The newest revision when it is newer than the published one: the work in progress."""
        if self.latest is not None and (self.published is None or self.latest > self.published):
            return self.latest
        return None


def summaries(store: FlowStore, settings: Settings) -> list[FlowSummary]:
    files = {p.stem for p in flow_yaml_files(settings)}
    out = []
    for flow_id in sorted(set(store.flow_ids()) | files):
        revisions = store.conn.zrevrange(keys.flow_revisions(flow_id), 0, 0)
        latest = store.get_revision(flow_id, int(revisions[0])) if revisions else None
        out.append(
            FlowSummary(
                flow_id,
                store.published_rev(flow_id),
                latest.rev if latest else None,
                latest.message if latest else "",
                latest.author if latest else "",
                latest.created_at if latest else None,
                flow_id in files,
            )
        )
    return out


def file_text(settings: Settings, flow_id: str) -> str | None:
    path = Path(settings.flows_dir) / f"{flow_id}.yaml"
    return path.read_text(encoding="utf-8") if valid_flow_id(flow_id) and path.is_file() else None


def editable_text(store: FlowStore, settings: Settings, flow_id: str) -> tuple[str, int | None]:
    """What the editor opens: the newest revision (text, rev), else the file in flows/, else a starter flow."""
    newest = store.list_revisions(flow_id)[:1]
    if newest:
        return newest[0].yaml_text, newest[0].rev
    return file_text(settings, flow_id) or NEW_FLOW.format(flow_id=flow_id), None


def import_preview(store: FlowStore, settings: Settings) -> list[dict]:
    """What "Import from flows/" would do, per file, with the diff against the flow's newest revision: shown
    before anything is saved or published."""
    out = []
    for path in flow_yaml_files(settings):
        flow_id, text = path.stem, path.read_text(encoding="utf-8")
        newest = store.list_revisions(flow_id)[:1] if valid_flow_id(flow_id) else []
        old = newest[0].yaml_text if newest else ""
        if not valid_flow_id(flow_id):
            action = "skipped: not a valid flow id"
        elif newest and old == text:
            action = f"unchanged (revision {newest[0].rev})"
        else:
            action = (
                "new revision, published (nothing is published yet)"
                if store.published_rev(flow_id) is None
                else "new draft revision (the published one stays)"
            )
        diff = difflib.unified_diff(
            old.splitlines(),
            text.splitlines(),
            f"revision {newest[0].rev}" if newest else "nothing",
            path.name,
            lineterm="",
            n=2,
        )
        out.append({"flow_id": flow_id, "action": action, "diff": list(diff) if old != text else []})
    return out


def import_files(store: FlowStore, settings: Settings, author: str, publish: bool = True) -> list[tuple[str, str]]:
    """Save each flows/*.yaml whose text differs from the flow's newest revision; publish it if nothing is
    published yet (and `publish`). Returns (flow id, what happened) per file."""
    report = []
    for path in flow_yaml_files(settings):
        flow_id, text = path.stem, path.read_text(encoding="utf-8")
        if not valid_flow_id(flow_id):
            report.append((flow_id, "skipped: not a valid flow id"))
            continue
        newest = store.list_revisions(flow_id)[:1]
        if newest and newest[0].yaml_text == text:
            report.append((flow_id, f"unchanged (revision {newest[0].rev})"))
            continue
        try:
            rev = save(store, settings, flow_id, text, f"imported from {path.name}", author)
        except Invalid as exc:
            report.append((flow_id, f"not imported: {len(exc.problems)} problem(s), first: {exc.problems[0]}"))
            continue
        if publish and store.published_rev(flow_id) is None:
            store.publish(flow_id, rev, author=author)
            report.append((flow_id, f"imported as revision {rev} and published"))
        else:
            report.append((flow_id, f"imported as revision {rev} (draft)"))
    return report


def export_file(store: FlowStore, settings: Settings, flow_id: str, rev: int | None = None) -> Path:
    """Write a revision (default: the published one) to flows/<id>.yaml, so it can be committed to git."""
    rev = rev if rev is not None else store.published_rev(flow_id)
    found = store.get_revision(flow_id, rev) if rev is not None else None
    if found is None or not valid_flow_id(flow_id):
        raise LookupError(f"flow {flow_id!r} has no revision {rev} to export")
    path = Path(settings.flows_dir) / f"{flow_id}.yaml"
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(found.yaml_text, encoding="utf-8")
    tmp.replace(path)  # atomic: a running process never reads half a file
    return path
