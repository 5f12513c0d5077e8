"""The benchmarked IVR: our SIP channel with the menu path (prompt, one digit, short prompt, hang-up).

    deploy/bootstrap.sh bench      # once: .venv from requirements-bench.lock, plus wrk and tcpdump
    .venv/bin/python bench/sip_ivr.py --port 5070 --prompt p.wav --bye bye.wav --stats stats.json

It writes its counters to --stats every second (calls, digits, live calls, asyncio tasks, open file
descriptors, RTP ports in use, pacing-clock late ticks); bench/sip_load.py reads them. With --flow
it runs the shipped flow through call_session instead (needs REDIS_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.channels.sip.server import SipConfig, SipServer  # noqa: E402


def menu_app(prompt: str, bye: str, counters: dict):
    async def app(call):
        await call.say(audio=prompt, barge_in=False)
        digit = await call.gather(max_digits=1, timeout=15)
        counters["digits_gathered"] += bool(digit)
        await call.say(audio=bye, barge_in=False)

    return app


def bridge_app(target: str, counters: dict):
    """--bridge: every call is put through to `target` (a bridged transfer, no whisper), as a flow's transfer."""
    from ivr.engine.actions import Transfer

    transfer = Transfer(target=target, timeout=20, ringback="tone")

    async def app(call):
        outcome = await call.bridge(transfer)
        counters["bridge_outcomes"][outcome.reason] = counters["bridge_outcomes"].get(outcome.reason, 0) + 1

    return app


def bridge_stats() -> dict:
    from ivr.channels.sip.bridge import STATS

    return {
        "bridged": STATS.bridged,
        "bridge_failed": STATS.failed,
        "first_packet_delays": list(STATS.first_packet_delays),
        "port_pairs": list(STATS.port_pairs),
    }


async def write_stats(server: SipServer, path: Path, counters: dict) -> None:
    while True:
        stats = {
            "calls_started": server.calls_started,
            "calls_finished": server.calls_finished,
            "digits": server.digits_received,
            "digits_gathered": counters["digits_gathered"],
            "live": len(server.live),
            "uas_calls": len(server.endpoint._calls),
            "tasks": len(asyncio.all_tasks()),
            "fds": len(os.listdir("/proc/self/fd")),
            "ports": len(server.ports.in_use),
            "clock_ticks": server.clock.ticks,
            "clock_late_ticks": server.clock.late_ticks,
            "overload_503": server.endpoint.rejected_overload,
            "bridge_outcomes": counters["bridge_outcomes"],
            **bridge_stats(),
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stats))
        tmp.replace(path)
        await asyncio.sleep(1.0)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5070)
    parser.add_argument("--rtp-min", type=int, default=20000)
    parser.add_argument("--rtp-max", type=int, default=30000)
    parser.add_argument("--max-calls", type=int, default=2000)
    parser.add_argument("--prompt", default="-")
    parser.add_argument("--bye", default="-")
    parser.add_argument("--bridge", default="", help="put every call through to this SIP URI (bench/sip_bridge.py)")
    parser.add_argument("--stats", required=True)
    parser.add_argument("--data-dir", default="var/bench")
    parser.add_argument("--flow", action="store_true", help="run the shipped flow through call_session")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    counters = {"digits_gathered": 0, "bridge_outcomes": {}}
    if args.bridge:
        app = bridge_app(args.bridge, counters)
    elif args.flow:
        from ivr.call_session.wiring import open_call_session
        from ivr.channels.sip.session import flow_app
        from ivr.settings import Settings

        app = flow_app(open_call_session(Settings.from_env()))
    else:
        app = menu_app(args.prompt, args.bye, counters)
    config = SipConfig(
        port=args.port,
        rtp_port_min=args.rtp_min,
        rtp_port_max=args.rtp_max,
        max_calls=args.max_calls,
        data_dir=Path(args.data_dir),
        tcp=False,
    )  # UDP load only
    if os.environ.get("BENCH_LOOP_DEBUG"):  # log every loop stall longer than 15 ms, with its culprit
        asyncio.get_running_loop().set_debug(True)
        asyncio.get_running_loop().slow_callback_duration = 0.015
    server = SipServer(config, app)
    await server.start()
    stats_task = asyncio.create_task(write_stats(server, Path(args.stats), counters))
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    stats_task.cancel()
    await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
