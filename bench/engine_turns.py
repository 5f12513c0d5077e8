"""Fixed work for a side-by-side engine comparison: a number of advance() turns along the shipped flow's main
paths (bench/engine.py's scripts), from the source tree ROOT (this checkout, or another one to compare with).

    farm-bench -n 7 --vs '.venv/bin/python bench/engine_turns.py /tmp/base' -- .venv/bin/python bench/engine_turns.py .
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]).resolve()
TURNS = int(sys.argv[2]) if len(sys.argv) > 2 else 40_000
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import engine as bench  # noqa: E402  # ROOT's own bench/engine.py

from ivr.engine import advance  # noqa: E402
from ivr.engine.events import CallStarted  # noqa: E402
from ivr.flows import load_flow  # noqa: E402

flow = load_flow(ROOT / "flows" / "skype-receptionist.yaml")
turns = calls = 0
while turns < TURNS:
    for script in bench.SCRIPTS:
        started = CallStarted(f"c{calls}", "+15557770000", "+15550000000", "sip", 1_795_000_000.0)
        state, _ = advance(flow, None, started)
        calls, turns = calls + 1, turns + 1
        for event in script:
            state, _ = advance(flow, state, event)
            turns += 1
print(turns, "turns from", ROOT)
