"""A flow as graph data for the browser: steps (id, kind, the line of the flow file they start on), exits (label,
calls that took them in the last 30 days) and the path of a selected call. static/flow_graph.js lays it out with
dagre (vendored in static/vendor/, no CDN: edge labels are laid out as nodes of their own, so no label box meets
another or a step, and edges are routed between the layers) and draws it as SVG; clicking a step opens the editor
at its line."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

from markupsafe import Markup, escape

FUNNEL_DAYS = 30


def exit_label(step, label: str) -> str:
    """'choices.2.goto' -> the choice's digit; 'rules.0.goto' -> 'rule 1'; 'next' -> ''."""
    parts = label.split(".")
    if parts[0] == "choices" and len(parts) > 1 and parts[1].isdigit():
        choice = step.spec.get("choices", [])[int(parts[1])]
        return str(choice.get("digit") or (choice.get("keywords") or [""])[0])
    if parts[0] == "rules" and len(parts) > 1 and parts[1].isdigit():
        return f"rule {int(parts[1]) + 1}"
    return "" if label == "next" else label


def step_lines(text: str | None) -> dict[str, int]:
    """Where each step starts in the YAML text: the line of its key under `steps:` (1-based)."""
    lines, inside, indent = {}, False, None
    for number, line in enumerate((text or "").splitlines(), start=1):
        if re.match(r"^steps\s*:", line):
            inside, indent = True, None
            continue
        if inside and line and not line[0].isspace() and not line.startswith("#"):
            inside = False
        found = re.match(r"^(\s+)([A-Za-z0-9_.-]+)\s*:", line) if inside else None
        if found and (indent is None or len(found[1]) == indent):
            indent = len(found[1])
            lines[found[2]] = number
    return lines


def graph_data(flow, text: str | None = None, counts: dict | None = None, path: list[str] | None = None) -> dict:
    lines, counts = step_lines(text), counts or {}
    nodes = [
        {"id": step_id, "kind": step.kind, "line": lines.get(step_id), "start": step_id == flow.start}
        for step_id, step in flow.steps.items()
    ]
    edges = []
    for step_id, step in flow.steps.items():
        for label, target in step.exits().items():
            if target in flow.steps:
                edges.append(
                    {
                        "from": step_id,
                        "to": target,
                        "label": exit_label(step, label),
                        "calls": counts.get((step_id, target), 0),
                    }
                )
    taken = list(zip(path or [], (path or [])[1:]))
    return {"flow": flow.id, "nodes": nodes, "edges": edges, "path": list(path or []), "taken": taken}


def funnel_days(today: date) -> list[str]:
    return [(today - timedelta(days=i)).isoformat() for i in range(FUNNEL_DAYS)]


def graph_markup(
    flow, text: str | None = None, counts: dict | None = None, path: list[str] | None = None, edit_url: str = ""
) -> Markup:
    """The element flow_graph.js draws into (its data in an attribute: the page's CSP runs no inline script)."""
    data = json.dumps(graph_data(flow, text, counts, path))
    return Markup(
        f'<div class="flow-graph-host" data-graph="{escape(data)}" data-edit="{escape(edit_url)}" '
        f'aria-label="Graph of flow {escape(flow.id)}" role="img"></div>'
    )
