"""Benchmark: signed Twilio webhook turns against gunicorn on loopback, and the framework ceiling beside it.

Each simulated call is three signed requests in order: answer (/twilio/voice -> menu), gather result (Digits=1 ->
an SMS follow-up queued, goodbye) and the final status callback (completed). Requests are signed beforehand with
twilio's RequestValidator; wrk (one connection per wrk thread, so a call's turns stay in order) replays them from
per-thread files with a small Lua script. The same gunicorn settings then serve a minimal Flask endpoint that
returns constant TwiML: our ratio to it shows what the IVR costs on top of Flask + gunicorn.

    deploy/bootstrap.sh bench      # once: .venv from requirements-bench.lock, plus wrk and tcpdump
    .venv/bin/python bench/twilio_webhooks.py [--seconds 10] [--rounds 3] [--connections 8] [--workers 3] [--threads 4]

Both servers run side by side and are measured in alternating rounds; the medians are reported.

Needs redis-server, and wrk (apt-get install wrk) for trustworthy figures: without it (or with --python-client) a
multi-process Python client with keep-alive sends the same requests. Loopback only; a private redis-server.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from tests.conftest import RedisServer  # noqa: E402

TOKEN = "bench-twilio-auth-token"
PUBLIC = "https://ivr.example.test"
CEILING_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/twilio/voice/gather?t=1" '
    'input="dtmf speech" timeout="6"><Say>Hello.</Say></Gather></Response>'
)

LUA = r"""
local requests, index = {}, 0
function setup(thread) thread:set("id", tostring(__thread_count or 0)); __thread_count = (__thread_count or 0) + 1 end
function init(args)
  local file = io.open(args[1] .. "/" .. args[2] .. "-" .. id .. ".txt", "r")
  for line in file:lines() do
    local path, sig, body = line:match("^(%S+) (%S+) (.*)$")
    requests[#requests + 1] = wrk.format("POST", path, {["Content-Type"] = "application/x-www-form-urlencoded",
                                         ["X-Twilio-Signature"] = sig}, body)
  end
  file:close()
end
function request()
  index = index % #requests + 1
  return requests[index]
end
"""


def ceiling_app():
    """The framework ceiling: Flask returning constant TwiML, nothing else."""
    from flask import Flask, Response

    app = Flask("ceiling")

    @app.post("/twilio/voice")
    @app.post("/twilio/voice/<kind>")
    def constant(kind: str = ""):
        return Response(CEILING_TWIML, mimetype="text/xml")

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}")
            time.sleep(0.05)
    raise SystemExit("server did not start")


def write_requests(directory: Path, name: str, threads: int, calls_per_thread: int) -> int:
    """Per wrk thread, a file of signed requests: one line per turn, `path signature body`, call after call.
    Every file name gives its calls their own CallSids, so no run replays another run's calls."""
    validator = RequestValidator(TOKEN)
    total = 0
    tag = hashlib.sha256(name.encode()).hexdigest()[:8]
    for thread in range(threads):
        with open(directory / f"{name}-{thread}.txt", "w") as out:
            for n in range(calls_per_thread):
                sid = f"CA{tag}{thread:04d}{n:020d}"
                base = {
                    "CallSid": sid,
                    "AccountSid": "AC" + "0" * 32,
                    "From": f"+1555{thread:03d}{n % 10000:04d}",
                    "To": "+15550000000",
                    "Direction": "inbound",
                }
                for path, extra in (
                    ("/twilio/voice", {"CallStatus": "ringing"}),
                    ("/twilio/voice/gather?t=1", {"CallStatus": "in-progress", "Digits": "1"}),
                    ("/twilio/voice/status", {"CallStatus": "completed", "CallDuration": "9"}),
                ):
                    params = {**base, **extra}
                    signature = validator.compute_signature(PUBLIC + path, params)
                    out.write(f"{path} {signature} {urlencode(params)}\n")
                    total += 1
    return total


def run_wrk(port: int, directory: Path, threads: int, seconds: int, name: str) -> dict:
    script = directory / "turns.lua"
    script.write_text(LUA)
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(threads),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
            "--",
            str(directory),
            name,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        figures[f"p{pct}"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["errors"] = int(errors.group(1)) if errors else 0
    figures["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    return figures


def _client(args: tuple) -> tuple[list[float], int]:
    """One Python load process: its request file in order on one keep-alive connection, for `seconds`."""
    import http.client

    port, path, seconds = args
    lines = Path(path).read_text().splitlines()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, errors, index, deadline = [], 0, 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        target, signature, body = lines[index % len(lines)].split(" ", 2)
        index += 1
        started = time.perf_counter()
        conn.request(
            "POST", target, body, {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        )
        response = conn.getresponse()
        response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        errors += response.status >= 300
    conn.close()
    return latencies, errors


def run_python_client(port: int, directory: Path, threads: int, seconds: int, name: str) -> dict:
    """Fallback load generator without wrk: one process per connection (slower than wrk; it shares the CPUs)."""
    from multiprocessing import Pool

    with Pool(threads) as pool:
        results = pool.map(_client, [(port, directory / f"{name}-{n}.txt", seconds) for n in range(threads)])
    latencies = sorted(x for lat, _ in results for x in lat)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {
        "rps": len(latencies) / seconds,
        "p50": pick(0.50),
        "p99": pick(0.99),
        "errors": sum(e for _, e in results),
        "requests": len(latencies),
    }


def cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process and all its descendants (from /proc), so the figures say what a turn
    costs in CPU even when other work shares the machine."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, utime + stime
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in stats.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(stats[pid][1] for pid in tree if pid in stats) / os.sysconf("SC_CLK_TCK")


def cpu_times() -> tuple[int, int]:
    """(steal, total) jiffies of the whole machine: steal is CPU time the hypervisor gave to other guests, which
    this VM's speed depends on far more than on its own load."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[7], sum(fields[:8])


def serve(argv: list[str], env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before measuring")
    parser.add_argument("--connections", type=int, default=8, help="wrk threads = connections")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="measured runs of each, alternating")
    parser.add_argument(
        "--python-client",
        action="store_true",
        help="use the Python load client even if wrk is installed (it is used anyway when wrk is missing)",
    )
    parser.add_argument("--serve-ceiling", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from ivr.web_cli import GunicornServer, gunicorn_options

    if args.serve_ceiling:
        GunicornServer(ceiling_app, gunicorn_options("127.0.0.1", args.serve_ceiling, args.workers, args.threads)).run()
        return
    load = run_wrk if shutil.which("wrk") and not args.python_client else run_python_client
    load_before = os.getloadavg()[0]  # other work on the machine; the run itself adds ~20 runnable threads
    runs: dict[str, list[dict]] = {"ivr": [], "ceiling": []}
    with tempfile.TemporaryDirectory(prefix="ivr-bench-") as tmp:
        work = Path(tmp)
        redis = RedisServer(work / "redis")  # no persistence, as a bench wants
        redis.start()
        redis_sock = redis.socket_path
        servers: dict[str, tuple[subprocess.Popen, int]] = {}
        try:
            # room for 5,000 turns/s without reusing a call: each round has its own CallSids
            calls = max(200, args.seconds * 5000 // (3 * args.connections))
            for r in range(args.rounds):
                total = write_requests(work, f"measured{r}", args.connections, calls)
            write_requests(work, "warmup", args.connections, max(100, args.warmup * 5000 // (3 * args.connections)))
            env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_", "REDIS_"))}
            env.update(
                REDIS_URL=f"unix://{redis_sock}",
                IVR_DATA_DIR=str(work / "data"),
                TWILIO_AUTH_TOKEN=TOKEN,
                PUBLIC_BASE_URL=PUBLIC,
                IVR_FLOWS_DIR=str(ROOT / "flows"),
            )
            sizing = ["--workers", str(args.workers), "--threads", str(args.threads)]
            for name, argv in (
                ("ivr", [sys.executable, "-m", "ivr.web_cli", *sizing, "--host", "127.0.0.1", "--port"]),
                ("ceiling", [sys.executable, __file__, *sizing, "--serve-ceiling"]),
            ):
                port = free_port()
                servers[name] = serve(argv + [str(port)], env, port), port
                load(port, work, args.connections, args.warmup, "warmup")  # every worker connected and warm
            # Alternate the two, round by round, so that a change in the machine's speed hits both alike.
            for r in range(args.rounds):
                for name, (proc, port) in servers.items():
                    before = cpu_seconds(proc.pid), cpu_seconds(redis.proc.pid), cpu_times()
                    result = load(port, work, args.connections, args.seconds, f"measured{r}")
                    after = cpu_seconds(proc.pid), cpu_seconds(redis.proc.pid), cpu_times()
                    result["steal_pct"] = 100 * (after[2][0] - before[2][0]) / max(1, after[2][1] - before[2][1])
                    result["web_cpu_ms"] = (after[0] - before[0]) * 1000 / result["requests"]
                    result["redis_cpu_ms"] = (after[1] - before[1]) * 1000 / result["requests"]
                    runs[name].append(result)
        finally:
            for proc, _ in servers.values():
                stop(proc)
            redis.kill()
    print(f"load generator: {'wrk' if load is run_wrk else 'Python processes (http.client keep-alive)'}")
    print(
        f"signed call turns prepared: {total} per round ({args.connections} connections, gunicorn {args.workers} "
        f"workers x {args.threads} threads, {args.rounds} rounds of {args.seconds} s each, {os.cpu_count()} CPUs)"
    )
    for r in range(args.rounds):
        for name in runs:
            x = runs[name][r]
            print(
                f"round {r + 1} {name:8s} {x['rps']:6.0f} turns/s  p50 {x['p50']:6.2f} ms  p99 {x['p99']:6.2f} ms  "
                f"requests {x['requests']}  non-2xx {x['errors']}  CPU/turn: web {x['web_cpu_ms']:.2f} ms, "
                f"redis {x['redis_cpu_ms']:.2f} ms  steal {x['steal_pct']:.0f}%"
            )
    ivr = {key: statistics.median(x[key] for x in runs["ivr"]) for key in runs["ivr"][0]}
    ceiling = {key: statistics.median(x[key] for x in runs["ceiling"]) for key in runs["ceiling"][0]}
    ratios = [i["rps"] / c["rps"] for i, c in zip(runs["ivr"], runs["ceiling"])]
    print(
        f"median   ivr {ivr['rps']:.0f} turns/s, p99 {ivr['p99']:.1f} ms, web CPU {ivr['web_cpu_ms']:.2f} ms/turn; "
        f"ceiling {ceiling['rps']:.0f} turns/s, web CPU {ceiling['web_cpu_ms']:.2f} ms/turn; "
        f"non-2xx {sum(x['errors'] for x in runs['ivr'])}"
    )
    print(
        f"1-min load average before the run: {load_before:.1f}; CPU stolen by the hypervisor during the rounds: "
        f"{statistics.median(x['steal_pct'] for x in runs['ivr'] + runs['ceiling']):.0f}% median (other work on "
        f"the machine lowers turns/s much more than CPU/turn)"
    )
    print(
        f"ratio to ceiling: {statistics.median(ratios):.2f} median (rounds: {', '.join(f'{x:.2f}' for x in ratios)}; "
        f"aim >= 0.5); targets: >= 1000 turns/s {'met' if ivr['rps'] >= 1000 else 'MISSED'}, "
        f"p99 <= 50 ms {'met' if ivr['p99'] <= 50 else 'MISSED'} (medians)"
    )


if __name__ == "__main__":
    main()
