"""Small flows for the routing-table tests: each greets with its own name ("This is sales.") and waits for a key,
so a test (or SIPp) tells which flow answered from the prompt or the recorded flow_id and step path."""

from __future__ import annotations

from pathlib import Path

GREETING = """id: {id}
start: {id}_greeting
steps:
  {id}_greeting:
    type: menu
    prompt: "This is {id}."
    choices:
      - {{digit: "1", goto: {id}_bye}}
    timeout: 10
    max_retries: 1
    exhausted: {id}_bye
  {id}_bye:
    type: hangup
    say: Goodbye from {id}.
"""


def write_flows(folder: Path, *flow_ids: str) -> Path:
    """`folder` with one greeting flow per id (created if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    for flow_id in flow_ids:
        (folder / f"{flow_id}.yaml").write_text(GREETING.format(id=flow_id))
    return folder


def greeting(actions) -> str:
    """Which flow's greeting the first turn's actions say: 'This is sales.' -> 'sales'."""
    said = " ".join(getattr(a, "text", "") or "" for a in actions if a.type == "say")
    return said.removeprefix("This is ").split(".")[0]
