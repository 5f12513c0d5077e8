"""The flow graph in a real Chromium (issue 19): laid out by the vendored dagre, no label box meets another label
or a step, no edge passes through a step other than its ends; a click opens the editor at the step's line; a
selected call's path is drawn; each edge shows its calls of the last 30 days."""

from __future__ import annotations

import pytest
from rq import Queue

from ivr import jobs
from ivr.call_session.writes import apply_write, new_write
from ivr.flows import load_flow
from ivr.store import analytics
from tests.admin.helpers import PASSWORD, REPO
from tests.admin.test_browser import CHROMIUM_ARGS, browser, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow  # Chromium
assert CHROMIUM_ARGS

GEOMETRY = """() => {
  const box = (e) => { const b = e.getBBox(); return {x: b.x, y: b.y, w: b.width, h: b.height}; };
  const nodes = [...document.querySelectorAll('.flow-graph .node')].map(
    (g) => ({id: g.dataset.step, ...box(g.querySelector('rect'))}));
  const labels = [...document.querySelectorAll('.flow-graph .edge-label')].map(
    (g) => ({from: g.dataset.from, to: g.dataset.to, text: g.querySelector('text').textContent,
            ...box(g.querySelector('rect'))}));
  const edges = [...document.querySelectorAll('.flow-graph path.edge')].map((p) => {
    const points = [], length = p.getTotalLength();
    for (let at = 0; at <= length; at += 3) { const q = p.getPointAtLength(at); points.push([q.x, q.y]); }
    return {from: p.dataset.from, to: p.dataset.to, hot: p.classList.contains('hot'), points};
  });
  return {nodes, labels, edges};
}"""


def overlap(a: dict, b: dict, pad: float = 0.5) -> bool:
    return (
        a["x"] + pad < b["x"] + b["w"]
        and b["x"] + pad < a["x"] + a["w"]
        and a["y"] + pad < b["y"] + b["h"]
        and b["y"] + pad < a["y"] + a["h"]
    )


def inside(point, rect: dict, pad: float = 2.0) -> bool:
    x, y = point
    return rect["x"] + pad < x < rect["x"] + rect["w"] - pad and rect["y"] + pad < y < rect["y"] + rect["h"] - pad


def finished_call(conn, call_id: str, path: list[str]) -> None:
    import time

    write = new_write(call_id, 1, at=time.time())
    write["start"] = {
        "channel": "sip",
        "caller": "+15550001111",
        "called": "+1",
        "started_at": time.time(),
        "flow_id": "skype-receptionist",
    }
    write["path"] = path
    write["finish"] = {"ended_at": time.time(), "outcome": "support_links_sent"}
    apply_write(conn, Queue(jobs.QUEUE_NAME, connection=conn), write)
    analytics.record_call_finished(conn, call_id)


def logged_in(browser, server, width=1366):  # noqa: F811
    page = browser.new_context(base_url=server, viewport={"width": width, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.goto("/login")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#setup")
    return page


def test_graph_rules_click_to_edit_path_and_funnel(browser, server, redis_conn):  # noqa: F811
    flow = load_flow(REPO / "flows" / "skype-receptionist.yaml")
    second = next(iter(flow.steps[flow.start].exits().values()))
    path = [flow.start, second, next(iter(flow.steps[second].exits().values()))]
    finished_call(redis_conn, "g1", path)
    page = logged_in(browser, server)
    page.goto("/flows/skype-receptionist?call=g1")
    page.wait_for_selector(".flow-graph .node")
    found = page.evaluate(GEOMETRY)
    nodes, labels, edges = found["nodes"], found["labels"], found["edges"]
    assert len(nodes) >= 10 and len(labels) == len(edges) >= 25
    crossings = [(a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1 :] if overlap(a, b)]
    assert crossings == []
    on_steps = [(a["text"], n["id"]) for a in labels for n in nodes if overlap(a, n)]
    assert on_steps == []
    through = {
        (e["from"], e["to"], n["id"])
        for e in edges
        for n in nodes
        if n["id"] not in (e["from"], e["to"])
        for point in e["points"]
        if inside(point, n)
    }
    assert through == set()
    hot = {(e["from"], e["to"]) for e in edges if e["hot"]}
    assert hot == set(zip(path, path[1:]))
    funnel = [lab["text"] for lab in labels if (lab["from"], lab["to"]) == (path[0], path[1])]
    assert funnel and funnel[0].endswith("1 call")
    page.click(f".flow-graph .node[data-step='{path[1]}']")
    page.wait_for_url("**/edit**line=*")
    selected = page.evaluate(
        "() => { const a = document.querySelector('textarea');"
        " return a.value.slice(a.selectionStart, a.selectionEnd); }"
    )
    assert selected.strip() == f"{path[1]}:"
    assert page.problems == []
