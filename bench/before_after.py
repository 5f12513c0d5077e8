"""Before/after on one machine: the engine's CPU per turn and per validation, for two checkouts, side by side.

A restructuring (issue 13) must not make the engine slower. Wall-clock rates on a shared machine move with the
other tenants, so this measures CPU time (`time.process_time`) in a fresh interpreter per run, alternates the two
checkouts run by run (A B A B ...), and reports the after/before ratio pair by pair and its median. Both checkouts
get the same flow file (the `before` one's shipped flow unless --flow is given), so only the code differs.

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/before_after.py --before /tmp/before [--after .] [--rounds 7] [--turns 20000] [--rt 20]

The Twilio webhook turn and the SIP step are compared with each checkout's own bench, run alternately:
bench/twilio_webhooks.py reports its ratio to the constant-TwiML ceiling measured beside it, and
bench/sip_load.py the IVR's CPU per step (BENCHMARKS.md, issue 13, has the commands).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from engine import generated_flow_text  # noqa: E402

# Runs inside the checkout under test: its own ivr package, the flow given on the command line.
PROBE = r"""
import json, sys, time
from ivr.engine import advance
from ivr.engine.events import CallStarted, Digits, NoInput
from ivr.flows import build_flow, load_flow
flow_path, turns_wanted, generated = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read()
scripts = [[Digits("1", 0)], [NoInput(0), Digits("9", 0), NoInput(0)],
           [Digits("3", 0), Digits("2", 0), Digits("442079460123#", 0), Digits("1", 0)], [Digits("2", 0)]]
flow = load_flow(flow_path)
turns, calls = 0, 0
started = time.process_time()
while turns < turns_wanted:
    for script in scripts:
        state, _ = advance(flow, None, CallStarted(f"c{calls}", "+15557770000", "+15550000000", "sip", 1.0))
        calls += 1
        turns += 1
        for event in script:
            if state.get("done"):
                break
            state, _ = advance(flow, state, event)
            turns += 1
turn_cpu = (time.process_time() - started) / turns
started = time.process_time()
for _ in range(5):
    build_flow(generated, "generated.yaml")
validate_cpu = (time.process_time() - started) / 5
print(json.dumps({"turn_us": turn_cpu * 1e6, "validate_ms": validate_cpu * 1e3, "turns": turns}))
"""


def run_probe(tree: Path, flow: Path, turns: int, generated: Path, rt: int = 0) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-c", PROBE, str(flow), str(turns), str(generated)]
    if rt:  # SCHED_FIFO (root): other tenants of a shared machine no longer take the CPU mid-run
        command = ["chrt", "-f", str(rt), *command]
    done = subprocess.run(
        command,
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode:
        raise SystemExit(f"{tree}: the probe failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the checkout before the change")
    parser.add_argument("--after", type=Path, default=ROOT, help="the checkout after it (default: this one)")
    parser.add_argument("--flow", type=Path, help="flow file for both (default: before's shipped flow)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--turns", type=int, default=20000)
    parser.add_argument("--rt", type=int, default=0, help="run each probe under SCHED_FIFO at this priority (root)")
    args = parser.parse_args()
    flow = (args.flow or args.before / "flows" / "skype-receptionist.yaml").resolve()
    generated = Path(tempfile.mkdtemp()) / "generated.yaml"
    generated.write_text(generated_flow_text(1000))  # bench/engine.py's 1,000-step flow, the same for both
    ratios: dict[str, list[float]] = {"turn_us": [], "validate_ms": []}
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    print(
        f"flow {flow}; {args.rounds} pairs, {args.turns} turns each; CPU per turn (us) and per 1,000-step "
        "validation (ms)"
    )
    print("round | before turn | after turn | after/before | before validate | after validate | after/before")
    for n in range(args.rounds):
        first, second = (args.before, args.after) if n % 2 == 0 else (args.after, args.before)
        results = {tree: run_probe(tree, flow, args.turns, generated, args.rt) for tree in (first, second)}
        before, after = results[args.before], results[args.after]
        runs["before"].append(before)
        runs["after"].append(after)
        for key in ratios:
            ratios[key].append(after[key] / before[key])
        print(
            f"{n + 1} | {before['turn_us']:.2f} | {after['turn_us']:.2f} | {ratios['turn_us'][-1]:.3f} | "
            f"{before['validate_ms']:.1f} | {after['validate_ms']:.1f} | {ratios['validate_ms'][-1]:.3f}"
        )
    print(
        f"median after/before: turn {statistics.median(ratios['turn_us']):.3f}, "
        f"validation {statistics.median(ratios['validate_ms']):.3f}"
    )
    for key, label in (("turn_us", "turn"), ("validate_ms", "validation")):  # each side's least disturbed run
        best = {side: min(r[key] for r in runs[side]) for side in ("before", "after")}
        print(
            f"best of each, {label}: before {best['before']:.2f}, after {best['after']:.2f}, "
            f"after/before {best['after'] / best['before']:.3f}"
        )


if __name__ == "__main__":
    main()
