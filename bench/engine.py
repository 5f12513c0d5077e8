"""Engine benchmark: turns per second of advance() on the shipped flow, and validation time of a
generated 1,000-step flow. Targets: >= 50,000 turns/s on one core; 1,000 steps validated in < 1 s.

    deploy/bootstrap.sh bench      # once: .venv from requirements-bench.lock, plus wrk and tcpdump
    .venv/bin/python bench/engine.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.engine import advance  # noqa: E402
from ivr.engine.events import CallStarted, Digits, NoInput  # noqa: E402
from ivr.flows import build_flow, load_flow  # noqa: E402

# Calls along the shipped flow's main paths; each turn is one advance() call.
SCRIPTS = [
    [Digits("1", 0)],
    [NoInput(0), Digits("9", 0), NoInput(0)],
    [Digits("3", 0), Digits("2", 0), Digits("442079460123#", 0), Digits("1", 0)],
    [Digits("2", 0)],
]


def bench_turns(seconds: float) -> tuple[float, int]:
    flow = load_flow(ROOT / "flows" / "skype-receptionist.yaml")
    turns, calls, start = 0, 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for script in SCRIPTS:
            state, _ = advance(
                flow, None, CallStarted(f"c{calls}", "+15557770000", "+15550000000", "sip", 1_795_000_000.0)
            )
            turns += 1
            for event in script:
                state, _ = advance(flow, state, event)
                turns += 1
            calls += 1
    elapsed = time.perf_counter() - start
    return turns / elapsed, turns


def generated_flow_text(steps: int) -> str:
    """A chain of menus, says, sets and branches: every step reachable, every path ending in a hangup."""
    body = {}
    for i in range(steps - 1):
        nxt = f"s{i + 1}"
        kind = i % 4
        if kind == 0:
            body[f"s{i}"] = {
                "type": "menu",
                "prompt": f"Menu {i}, press 1.",
                "choices": [{"digit": "1", "keywords": ["next"], "goto": nxt}, {"digit": "2", "goto": f"s{steps - 1}"}],
                "max_retries": 2,
                "exhausted": f"s{steps - 1}",
            }
        elif kind == 1:
            body[f"s{i}"] = {"type": "say", "text": f"Step {i} for {{{{caller.number}}}}.", "next": nxt}
        elif kind == 2:
            body[f"s{i}"] = {"type": "set", "vars": {f"v{i}": "{{caller.number}}"}, "next": nxt}
        else:
            body[f"s{i}"] = {
                "type": "branch",
                "rules": [{"when": {"var": f"v{i - 1}", "equals": "x"}, "goto": f"s{steps - 1}"}],
                "otherwise": nxt,
            }
    body[f"s{steps - 1}"] = {"type": "hangup", "say": "Goodbye."}
    return json.dumps({"id": "generated", "start": "s0", "steps": body}, indent=1)  # JSON is YAML


def bench_validation(steps: int = 1000, repeats: int = 5) -> float:
    text = generated_flow_text(steps)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        flow = build_flow(text, "generated.yaml")
        best = min(best, time.perf_counter() - start)
    assert len(flow.steps) == steps
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    rate, turns = bench_turns(args.seconds)
    print(f"advance(): {rate:,.0f} turns/s on one core ({turns:,} turns along the shipped flow)")
    seconds = bench_validation()
    print(f"validation of a generated 1,000-step flow: {seconds * 1000:.0f} ms (best of 5)")


if __name__ == "__main__":
    main()
