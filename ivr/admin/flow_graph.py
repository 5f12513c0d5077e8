"""A picture of a flow: steps as boxes, exits as labelled arrows, laid out in layers and drawn as inline SVG.

Layers are the breadth-first distance from the start step; arrows that go back up (retries, loops) are drawn as
curves on the right so they never cross the boxes. Pure: a Flow in, SVG text out (escaped by markupsafe).
"""
from __future__ import annotations

from markupsafe import Markup, escape

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 180, 46, 36, 64, 24
COLOURS = {"menu": "#dbeafe", "collect_digits": "#dbeafe", "branch": "#fef3c7", "business_hours": "#fef3c7",
           "transfer": "#dcfce7", "hangup": "#fee2e2", "voicemail": "#ede9fe", "follow_up": "#fce7f3",
           "callback": "#fce7f3", "goto": "#e0f2fe", "return": "#e0f2fe"}


def exit_label(step, label: str) -> str:
    """'choices.2.goto' -> the choice's digit; 'rules.0.goto' -> 'rule 1'; 'next' -> ''."""
    parts = label.split(".")
    if parts[0] == "choices" and len(parts) > 1 and parts[1].isdigit():
        choice = step.spec.get("choices", [])[int(parts[1])]
        return str(choice.get("digit") or (choice.get("keywords") or [""])[0])
    if parts[0] == "rules" and len(parts) > 1 and parts[1].isdigit():
        return f"rule {int(parts[1]) + 1}"
    return "" if label == "next" else label


def layers(flow) -> list[list[str]]:
    """Longest-path layers (so shared ends such as `goodbye` sink to the bottom), ignoring loop-back edges, then
    a few barycentre sweeps to order each layer by its parents' positions (fewer crossings)."""
    steps = flow.steps
    order, back, state = [], set(), {}

    def visit(root):  # iterative DFS: post-order for a topological order, and the edges that loop back
        stack = [(root, iter(steps[root].exits().values()))]
        state[root] = "open"
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = "done"
                order.append(node)
                stack.pop()
            elif child in steps:
                if state.get(child) == "open":
                    back.add((node, child))
                elif child not in state:
                    state[child] = "open"
                    stack.append((child, iter(steps[child].exits().values())))

    for root in [flow.start] + [s for s in steps if s != flow.start]:
        if root not in state:
            visit(root)
    level = {}
    for node in reversed(order):
        level.setdefault(node, 0)
        for child in steps[node].exits().values():
            if child in steps and (node, child) not in back:
                level[child] = max(level.get(child, 0), level[node] + 1)
    rows: list[list[str]] = [[] for _ in range(max(level.values()) + 1)]
    for node in reversed(order):
        rows[level[node]].append(node)
    parents: dict[str, list[str]] = {s: [] for s in steps}
    for node in steps:
        for child in steps[node].exits().values():
            if child in steps and (node, child) not in back:
                parents[child].append(node)
    for _ in range(3):
        where = {n: i for row in rows for i, n in enumerate(row)}
        for row in rows[1:]:
            row.sort(key=lambda n: sum(where[p] for p in parents[n]) / len(parents[n]) if parents[n] else where[n])
            where.update({n: i for i, n in enumerate(row)})
    return rows


def render_svg(flow, visited: list[str] | None = None) -> Markup:
    rows = layers(flow)
    widest = max(len(r) for r in rows)
    width = MARGIN * 2 + widest * BOX_W + (widest - 1) * GAP_X + 80
    height = MARGIN * 2 + len(rows) * BOX_H + (len(rows) - 1) * GAP_Y
    pos = {}
    for y, row in enumerate(rows):
        row_w = len(row) * BOX_W + (len(row) - 1) * GAP_X
        left = MARGIN + (widest * BOX_W + (widest - 1) * GAP_X - row_w) / 2
        for x, step_id in enumerate(row):
            pos[step_id] = (left + x * (BOX_W + GAP_X), MARGIN + y * (BOX_H + GAP_Y))
    seen = set(visited or ())
    edges, boxes = [], []
    for step_id, step in flow.steps.items():
        sx, sy = pos[step_id]
        for label, target in step.exits().items():
            if target not in pos:
                continue
            tx, ty = pos[target]
            text = escape(exit_label(step, label))
            if ty > sy:  # downwards: a smooth S-curve from the bottom to the top
                x1, y1, x2, y2 = sx + BOX_W / 2, sy + BOX_H, tx + BOX_W / 2, ty
                path = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{y1 + GAP_Y / 2:.0f} {x2:.0f},{y2 - GAP_Y / 2:.0f} {x2:.0f},{y2:.0f}"
                lx, ly = _bezier(0.72, (x1, y1), (x1, y1 + GAP_Y / 2), (x2, y2 - GAP_Y / 2), (x2, y2))
            else:  # back or sideways: a loop out to the right
                x1, y1, x2, y2 = sx + BOX_W, sy + BOX_H / 2, tx + BOX_W, ty + BOX_H / 2
                bulge = max(x1, x2) + 40 + abs(y1 - y2) / 8
                path = f"M{x1:.0f},{y1:.0f} C{bulge:.0f},{y1:.0f} {bulge:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
                lx, ly = bulge - 6, (y1 + y2) / 2
            hot = " hot" if step_id in seen and target in seen else ""
            edges.append(f'<path class="edge{hot}" d="{path}" marker-end="url(#arrow)"/>')
            if text:
                edges.append(f'<text class="edge-label" x="{lx:.0f}" y="{ly:.0f}">{text}</text>')
        fill = COLOURS.get(step.kind, "#f1f5f9")
        start = " start" if step_id == flow.start else ""
        visited_cls = " visited" if step_id in seen else ""
        boxes.append(
            f'<g class="node{start}{visited_cls}" data-step="{escape(step_id)}"><rect x="{sx:.0f}" y="{sy:.0f}" '
            f'width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}"/>'
            f'<text class="node-id" x="{sx + BOX_W / 2:.0f}" y="{sy + 19:.0f}">{escape(_short(step_id))}</text>'
            f'<text class="node-kind" x="{sx + BOX_W / 2:.0f}" y="{sy + 35:.0f}">{escape(step.kind)}</text>'
            f'<title>{escape(step_id)} ({escape(step.kind)})</title></g>')
    return Markup(
        f'<svg class="flow-graph" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="Graph of flow {escape(flow.id)}" xmlns="http://www.w3.org/2000/svg">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker></defs>'
        + "".join(edges) + "".join(boxes) + "</svg>")


def _bezier(t: float, *points) -> tuple[float, float]:
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = points
    u = 1 - t
    return (u ** 3 * ax + 3 * u * u * t * bx + 3 * u * t * t * cx + t ** 3 * dx,
            u ** 3 * ay + 3 * u * u * t * by + 3 * u * t * t * cy + t ** 3 * dy)


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
