"""SIP load benchmark: SIPp callers at rising concurrency against our SIP channel and the pyVoIP baseline.

    deploy/bootstrap.sh bench      # once: .venv from requirements-bench.lock, plus wrk and tcpdump
    .venv/bin/python bench/sip_load.py                          # ours 10,50,100,200,... then pyVoIP 10,50,100,...
    .venv/bin/python bench/sip_load.py --only ours --steps 200,300,400,500 --rate 50
    .venv/bin/python bench/sip_load.py --only ours --sequential 1000   # leak check over 1,000 sequential calls
    .venv/bin/python bench/sip_load.py --codec pcmu,pcma,g722,opus --steps 100 --rounds 3   # CPU per call by codec
    .venv/bin/python bench/sip_load.py --bridge --bridge-steps 50,100,250  # bridged transfers (bench/sip_bridge.py)

Each call: INVITE -> 200 -> ACK, the IVR plays a prompt, the caller sends RFC 2833 digit 1, the IVR
plays a 1 s prompt and hangs up (BYE). Per step it prints success %, INVITE->200 p50/p95 (SIPp
-trace_rtt), the share of IVR->caller RTP packets arriving more than 30 ms after the previous one of
their stream (tcpdump on lo, measured on the receiving side), IVR CPU (% of one core, from
/proc/PID/stat) and peak RSS, SIPp CPU, and digits received by the IVR. Loopback only; needs sipp,
tcpdump (root, for capturing on lo), espeak-ng, sox; pyVoIP==1.6.8 for the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIO = HERE / "scenarios" / "uac_bench.xml"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sipp_on(port: int, media: int) -> list[str]:
    """SIPp's addresses on loopback: SIP on `port`, media on `media`."""
    return ["-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-mp", str(media)]


def sipp_command(port: int, *options: str) -> list[str]:
    """SIPp as a load generator (under --rt, one step below the IVR): SIP on `port`, media on a free port."""
    return [*Ivr.tool_prefix(), "sipp", *options, *sipp_on(port, free_udp_port())]


def sipp_counts(stdout: str) -> tuple[int, int]:
    """(successful, failed) calls from SIPp's final statistics screen."""
    ok = failed = 0
    for line in stdout.splitlines():
        if line.strip().startswith("Successful call"):
            ok = int(line.split("|")[2])
        elif line.strip().startswith("Failed call"):
            failed = int(line.split("|")[2])
    return ok, failed


def make_prompt(path: Path, seconds: float, work: Path) -> Path:
    """Speech of exactly `seconds` at 8 kHz mono 16-bit (espeak-ng, looped and trimmed by sox)."""
    if path.exists():
        return path
    raw = work / "speech.wav"
    if not raw.exists():
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                "en-us",
                "-w",
                str(raw),
                "Welcome. To get support links by text message, press 1. For a live chat, press 2.",
            ],
            check=True,
        )
    subprocess.run(
        [
            "sox",
            str(raw),
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            str(path),
            "repeat",
            "20",
            "trim",
            "0",
            f"{seconds:.2f}",
        ],
        check=True,
    )
    return path


# --- process probes ---------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB / 1024


class PeakRss(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self) -> None:
        while self.running:
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return
            time.sleep(0.25)


def read_stats(path: Path) -> dict:
    for _ in range(50):
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            time.sleep(0.1)
    return {}


# --- the RTP capture -------------------------------------------------------------------------


def start_capture(
    pcap: Path, port_min: int, port_max: int, both_ways: bool = False, buffer_kb: int = 65536, snaplen: int = 64
) -> subprocess.Popen:
    """tcpdump on lo into `pcap`: the packets sent from the port range (`both_ways`: to it as well)."""
    ports = f"udp and {'' if both_ways else 'src '}portrange {port_min}-{port_max}"
    proc = subprocess.Popen(
        [
            *Ivr.tool_prefix(),
            "tcpdump",
            "-i",
            "lo",
            "-n",
            "-B",
            str(buffer_kb),
            "-s",
            str(snaplen),
            "-w",
            str(pcap),
            ports,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # tcpdump needs a moment before it captures
    return proc


def stop_capture(proc: subprocess.Popen) -> int:
    """Stop tcpdump; returns how many packets the kernel dropped (0 means the capture is complete)."""
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    for line in err.splitlines():
        if "dropped by kernel" in line:
            return int(line.split()[0])
    return 0


def late_share(pcap: Path, threshold: float = 0.030) -> tuple[float, int]:
    """Share of RTP packets arriving > threshold after the previous packet of their stream (src, dst, SSRC)."""
    data = pcap.read_bytes()
    link = struct.unpack_from("<I", data, 20)[0]
    l2 = {1: 14, 113: 16, 0: 4}.get(link, 14)
    last: dict[tuple, float] = {}
    late = total = 0
    offset = 24
    while offset + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack_from("<IIII", data, offset)
        offset += 16
        packet = data[offset : offset + incl]
        offset += incl
        ip = l2
        if len(packet) < ip + 20:
            continue
        ihl = (packet[ip] & 0x0F) * 4
        udp = ip + ihl
        if len(packet) < udp + 20:
            continue
        sport, dport = struct.unpack_from("!HH", packet, udp)
        ssrc = packet[udp + 16 : udp + 20]
        key = (sport, dport, ssrc)
        t = sec + usec / 1e6
        previous = last.get(key)
        last[key] = t
        if previous is None:
            continue
        total += 1
        if t - previous > threshold:
            late += 1
    return (late / total if total else 0.0), total


# --- one load step -----------------------------------------------------------------------------


def rtt_values(work: Path) -> list[float]:
    values = []
    for csv in work.glob("*_rtt.csv"):
        for line in csv.read_text().splitlines()[1:]:
            parts = line.split(";")
            if len(parts) >= 2:
                try:
                    values.append(float(parts[1]))
                except ValueError:
                    pass
        csv.unlink()
    return values


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --codec: what the SIPp caller offers (its own audio stays the G.711 pcap: the IVR only decodes while it listens)
CODEC_SDP = {
    "pcmu": (0, "PCMU/8000"),
    "pcma": (8, "PCMA/8000"),
    "g722": (9, "G722/8000"),
    "opus": (111, "opus/48000/2"),
}


def run_step(
    ivr, concurrent: int, rate: float, digit_delay_ms: int, work: Path, sipp_port: int, codec: str = "pcmu"
) -> dict:
    source = SCENARIO if ivr.name != "sipp-uas" else HERE / "scenarios" / "uac_bench_callerbye.xml"
    scenario = work / source.name
    pt, rtpmap = CODEC_SDP[codec]
    scenario.write_text(
        source.read_text()
        .replace("@DIGIT_DELAY@", str(digit_delay_ms))
        .replace("RTP/AVP 0 101", f"RTP/AVP {pt} 101")
        .replace("a=rtpmap:0 PCMU/8000", f"a=rtpmap:{pt} {rtpmap}")
    )
    before_stats = read_stats(ivr.stats)
    pcap = work / f"{ivr.name}-{concurrent}.pcap"
    capture = start_capture(pcap, ivr.rtp_min, ivr.rtp_max)
    peak = PeakRss(ivr.proc.pid)
    peak.start()
    cpu0, wall0 = cpu_seconds(ivr.proc.pid), time.monotonic()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    timeout = int(concurrent / rate + digit_delay_ms / 1000 + 60)
    result = subprocess.run(
        sipp_command(
            sipp_port,
            f"127.0.0.1:{ivr.port}",
            *("-sf", str(scenario), "-l", str(concurrent), "-r", str(rate), "-m", str(concurrent)),
            *("-timeout", f"{timeout}s", "-timeout_error", "-nostdin", "-trace_rtt", "-rtt_freq", "1"),
            *("-max_socket", "4096"),
        ),
        capture_output=True,
        text=True,
        cwd=work,
        timeout=timeout + 60,
    )
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic() - wall0
    cpu = cpu_seconds(ivr.proc.pid) - cpu0
    time.sleep(1.5)  # let the last BYEs and stats settle
    peak.running = False
    dropped = stop_capture(capture)
    after_stats = read_stats(ivr.stats)
    ok, failed = sipp_counts(result.stdout)
    rtts = rtt_values(work)
    # SIPp's UAS echoes every call on one port with the caller's one SSRC: streams cannot be told apart
    late, packets = late_share(pcap) if ivr.name != "sipp-uas" else (float("nan"), 0)
    pcap.unlink()
    return {
        "impl": ivr.name,
        "codec": codec,
        "ivr_cpu_ms_per_call": 1000.0 * cpu / concurrent,
        "concurrent": concurrent,
        "rate": rate,
        "calls": concurrent,
        "success_pct": 100.0 * ok / concurrent,
        "failed": failed,
        "invite_200_p50_ms": percentile(rtts, 0.50),
        "invite_200_p95_ms": percentile(rtts, 0.95),
        "late_pct": 100.0 * late,
        "rtp_packets": packets,
        "capture_dropped": dropped,
        "ivr_cpu_pct": 100.0 * cpu / wall,
        "ivr_rss_peak_mb": peak.peak,
        "sipp_cpu_pct": 100.0
        * ((children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime))
        / wall,
        "digits": after_stats.get("digits", 0) - before_stats.get("digits", 0),
        "rejected_503": after_stats.get("overload_503", 0) - before_stats.get("overload_503", 0),
        "clock_late_ticks": after_stats.get("clock_late_ticks", 0) - before_stats.get("clock_late_ticks", 0),
        "load_avg": os.getloadavg()[0],
        "idle_after": {k: after_stats.get(k) for k in ("live", "tasks", "fds", "ports", "threads") if k in after_stats},
    }


class Ivr:
    nice = 0  # --nice: the same scheduling priority boost for every IVR under test
    realtime = 0  # --rt: SCHED_FIFO priority for every IVR under test (as media servers are usually run)

    @classmethod
    def tool_prefix(cls) -> list[str]:
        """With --rt the load generator and the capture also run under SCHED_FIFO (one step below the IVR),
        so other tenants of the machine cannot starve the measurement itself."""
        return ["chrt", "-f", str(cls.realtime - 1)] if cls.realtime > 1 else []

    def __init__(
        self, name: str, cmd: list[str], port: int, rtp_min: int, rtp_max: int, stats: Path, env: dict | None = None
    ) -> None:
        self.name, self.port, self.rtp_min, self.rtp_max, self.stats = name, port, rtp_min, rtp_max, stats
        if self.nice:
            cmd = ["nice", "-n", str(self.nice), *cmd]
        if self.realtime:
            cmd = ["chrt", "-f", str(self.realtime), *cmd]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(stats.with_suffix(".log"), "w"), env=env
        )
        deadline = time.monotonic() + 20
        while not stats.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} IVR did not start; see {stats.with_suffix('.log')}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_ivr(name: str, work: Path, prompt: Path, bye: Path, sipp_port: int, max_calls: int = 2000) -> Ivr:
    port = free_udp_port()
    stats = work / f"{name}-stats.json"
    if stats.exists():
        stats.unlink()
    ours = [sys.executable, str(HERE / "sip_ivr.py"), "--port", str(port), "--stats", str(stats)]
    ours += [
        "--rtp-min",
        "20000",
        "--rtp-max",
        "30000",
        "--data-dir",
        str(work / "data"),
        "--max-calls",
        str(max_calls),
    ]
    if name == "ours":
        cmd = [*ours, "--prompt", str(prompt), "--bye", str(bye)]
        return Ivr(name, cmd, port, 20000, 30000, stats)
    if name == "flow":  # the shipped flow through call_session, with its own redis-server
        redis_sock = start_redis(work)
        env = dict(
            os.environ,
            REDIS_URL=f"unix://{redis_sock}",
            IVR_FLOWS_DIR=str(ROOT / "flows"),
            IVR_DATA_DIR=str(work / "data"),
        )
        cmd = [*ours, "--flow", "--prompt", "-", "--bye", "-"]
        return Ivr(name, cmd, port, 20000, 30000, stats, env=env)
    if name == "sipp-uas":  # the machine's ceiling: SIPp's own UAS echoing RTP
        media = free_udp_port()
        stats.write_text("{}")
        cmd = ["sipp", "-sn", "uas", "-rtp_echo", *sipp_on(port, media), "-nostdin", "-max_socket", "4096"]
        return Ivr(name, cmd, port, media, media, stats)
    cmd = [
        sys.executable,
        str(HERE / "pyvoip_baseline.py"),
        "--port",
        str(port),
        "--peer-port",
        str(sipp_port),
        "--prompt",
        str(prompt),
        "--bye",
        str(bye),
        "--stats",
        str(stats),
        "--rtp-min",
        "40000",
        "--rtp-max",
        "50000",
    ]
    return Ivr(name, cmd, port, 40000, 50000, stats)


_REDIS: list = []  # the private redis-server of the "flow" runs (tests.conftest.RedisServer), stopped at exit


def start_redis(work: Path) -> Path:
    """A private redis-server on a unix socket in the work directory (never the machine's own Redis)."""
    if not _REDIS:
        sys.path.insert(0, str(ROOT))
        from tests.conftest import RedisServer

        server = RedisServer(work / "redis")
        server.start()
        _REDIS.append(server)
    return _REDIS[0].socket_path


def print_row(row: dict) -> None:
    print(
        f"{row['impl']:>8} {row['concurrent']:>5} {row['rate']:>5.0f}/s  ok {row['success_pct']:6.2f}%  "
        f"INVITE->200 p50/p95 {row['invite_200_p50_ms']:7.1f}/{row['invite_200_p95_ms']:7.1f} ms  "
        f"late {row['late_pct']:5.2f}% of {row['rtp_packets']:>7} (capture drops {row['capture_dropped']})  "
        f"IVR CPU {row['ivr_cpu_pct']:5.1f}% RSS {row['ivr_rss_peak_mb']:5.1f} MB  SIPp CPU {row['sipp_cpu_pct']:5.1f}%  "
        f"digits {row['digits']}/{row['concurrent']}  503s {row['rejected_503']}  late ticks {row['clock_late_ticks']}  "
        f"load {row['load_avg']:.1f}  "
        f"after {row['idle_after']}",
        flush=True,
    )


def codec_comparison(
    work: Path, codecs: list[str], concurrent: int, rounds: int, rate: float, bye: Path, sipp_port: int
) -> None:
    """The same load once per codec, codecs alternating within each round (a shared machine drifts): CPU per call."""
    prompt_s = max(3.0, round(concurrent / rate + 1.0, 1))
    prompt = make_prompt(work / f"p{prompt_s}.wav", prompt_s, work)
    per_call: dict[str, list[float]] = {codec: [] for codec in codecs}
    for _ in range(rounds):
        for codec in codecs:
            ivr = start_ivr("ours", work, prompt, bye, sipp_port)
            try:
                row = run_step(ivr, concurrent, rate, int(prompt_s * 1000 + 500), work, sipp_port, codec=codec)
            finally:
                ivr.stop()
            print(f"{codec:>5}: {row['ivr_cpu_ms_per_call']:6.1f} ms CPU per call  ", end="")
            print_row(row)
            if row["success_pct"] == 100.0:
                per_call[codec].append(row["ivr_cpu_ms_per_call"])
            time.sleep(1)
    base = statistics.median(per_call[codecs[0]]) if per_call[codecs[0]] else float("nan")
    print(
        f"calls of {prompt_s + 1.5:.1f} s of IVR audio each, {concurrent} at once, {rounds} rounds; "
        f"load average now {os.getloadavg()[0]:.1f}"
    )
    for codec in codecs:
        values = per_call[codec]
        median = statistics.median(values) if values else float("nan")
        print(
            f"{codec:>5}: median {median:6.1f} ms CPU per call (rounds {[f'{v:.1f}' for v in values]}), "
            f"x{median / base:.2f} of {codecs[0]}"
        )


def sequential(work: Path, calls: int, sipp_port: int) -> None:
    """Leak check: `calls` short calls, 20 at a time; compare RSS, tasks, fds and ports before and after."""
    prompt, bye = make_prompt(work / "p0.5.wav", 0.5, work), make_prompt(work / "bye.wav", 1.0, work)
    ivr = start_ivr("ours", work, prompt, bye, sipp_port)
    try:
        run_step(ivr, 50, 25, 800, work, sipp_port)  # warm-up
        time.sleep(2)
        before, rss0 = read_stats(ivr.stats), rss_mb(ivr.proc.pid)
        done = 0
        while done < calls:
            batch = min(200, calls - done)
            row = run_step(ivr, batch, 25, 800, work, sipp_port)
            done += batch
            print(
                f"after {done:>5} calls: ok {row['success_pct']:.1f}%  RSS {rss_mb(ivr.proc.pid):.1f} MB  "
                f"{row['idle_after']}",
                flush=True,
            )
        time.sleep(2)
        after, rss1 = read_stats(ivr.stats), rss_mb(ivr.proc.pid)
        print(f"idle before: RSS {rss0:.1f} MB tasks {before['tasks']} fds {before['fds']} ports {before['ports']}")
        print(
            f"idle after {calls} calls: RSS {rss1:.1f} MB tasks {after['tasks']} fds {after['fds']} ports {after['ports']}"
        )
    finally:
        ivr.stop()


def overload(work: Path, max_calls: int, rate: float, bye: Path, sipp_port: int) -> None:
    """Offer twice the configured maximum: the excess gets 503, admitted calls stay clean, then it recovers."""
    offered = 2 * max_calls
    prompt_s = round(offered / rate + 1.0, 1)
    prompt = make_prompt(work / f"p{prompt_s}.wav", prompt_s, work)
    ivr = start_ivr("ours", work, prompt, bye, sipp_port, max_calls=max_calls)
    try:
        row = run_step(ivr, offered, rate, int(prompt_s * 1000 + 500), work, sipp_port)
        print_row(row)
        admitted = offered - row["rejected_503"]
        print(
            f"overload: offered {offered}, configured max {max_calls}, 503 {row['rejected_503']}, "
            f"admitted {admitted}, admitted calls completed {row['success_pct'] * offered / 100:.0f}, "
            f"digits {row['digits']}, late {row['late_pct']:.2f}%",
            flush=True,
        )
        time.sleep(2)
        after = run_step(ivr, max_calls // 2, rate, int(prompt_s * 1000 + 500), work, sipp_port)
        print("recovery (half the maximum, same process):")
        print_row(after)
    finally:
        ivr.stop()


def soak(work: Path, concurrent: int, minutes: float, sipp_port: int, call_seconds: float = 21.0) -> None:
    """`concurrent` calls held for `minutes`: RSS growth, CPU, late share early and late, idle levels after."""
    prompt_s = call_seconds - 1.5
    rate = round(concurrent / (call_seconds + 0.5), 1)
    total = int(rate * minutes * 60)
    prompt = make_prompt(work / f"p{prompt_s}.wav", prompt_s, work)
    bye = make_prompt(work / "bye.wav", 1.0, work)
    ivr = start_ivr("ours", work, prompt, bye, sipp_port)
    idle_before = read_stats(ivr.stats)
    scenario = work / "uac_bench.xml"
    scenario.write_text(SCENARIO.read_text().replace("@DIGIT_DELAY@", str(int(prompt_s * 1000 + 500))))
    sipp = subprocess.Popen(
        sipp_command(
            sipp_port,
            f"127.0.0.1:{ivr.port}",
            *("-sf", str(scenario), "-l", str(concurrent), "-r", str(rate), "-m", str(total)),
            *("-timeout", f"{int(minutes * 60 + 180)}s", "-timeout_error", "-nostdin", "-max_socket", "4096"),
        ),
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    print(f"soak: {concurrent} concurrent, {rate} calls/s, {total} calls, {minutes} min", flush=True)
    start = time.monotonic()
    rss_warm = None
    windows = []
    cpu_prev, t_prev = cpu_seconds(ivr.proc.pid), start
    next_capture = [90.0, minutes * 60 - 60]
    while sipp.poll() is None:
        time.sleep(5)
        elapsed = time.monotonic() - start
        if next_capture and elapsed >= next_capture[0]:
            next_capture.pop(0)
            pcap = work / "soak.pcap"
            capture = start_capture(pcap, ivr.rtp_min, ivr.rtp_max)
            time.sleep(15)
            stop_capture(capture)
            share, packets = late_share(pcap)
            pcap.unlink()
            windows.append((round(elapsed), share, packets))
            print(f"  t={elapsed:5.0f}s late {100 * share:.2f}% of {packets} packets", flush=True)
        if elapsed - (t_prev - start) >= 60:
            now_cpu, now = cpu_seconds(ivr.proc.pid), time.monotonic()
            stats = read_stats(ivr.stats)
            rss = rss_mb(ivr.proc.pid)
            if rss_warm is None and elapsed > 120:
                rss_warm = rss
            print(
                f"  t={elapsed:5.0f}s RSS {rss:5.1f} MB CPU {100 * (now_cpu - cpu_prev) / (now - t_prev):5.1f}% "
                f"live {stats.get('live')} tasks {stats.get('tasks')} fds {stats.get('fds')} ports {stats.get('ports')} "
                f"calls {stats.get('calls_finished')} digits {stats.get('digits')} load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            cpu_prev, t_prev = now_cpu, now
    rss_loaded = rss_mb(ivr.proc.pid)
    out = sipp.stdout.read()
    time.sleep(5)
    idle_after = read_stats(ivr.stats)
    ok, bad = sipp_counts(out) if "Successful call" in out else (-1, -1)
    print(
        f"soak done: {ok} ok, {bad} failed of {total}; digits {idle_after.get('digits')}; "
        f"RSS after warm-up {rss_warm} MB -> end of load {rss_loaded:.1f} MB "
        f"({100 * (rss_loaded - (rss_warm or rss_loaded)) / (rss_warm or rss_loaded):+.1f}%)"
    )
    print(f"idle before: {idle_before}")
    print(f"idle after:  {idle_after}")
    ivr.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["ours", "pyvoip", "sipp-uas", "flow"], default=None)
    parser.add_argument("--flow-steps", default="", help="also run the shipped flow through call_session + Redis")
    parser.add_argument("--steps", default="10,50,100,200,300,400,500,600,800,1000")
    parser.add_argument("--pyvoip-steps", default="10,50,100,150,200")
    parser.add_argument("--sipp-uas-steps", default="200,500,1000")
    parser.add_argument("--soak", type=float, default=0, help="soak for this many minutes (with --soak-calls)")
    parser.add_argument("--soak-calls", type=int, default=800, help="concurrent calls held during the soak")
    parser.add_argument(
        "--overload",
        type=int,
        default=0,
        help="configure our IVR for this many calls, offer twice as many (503 + Retry-After check)",
    )
    parser.add_argument("--bridge", action="store_true", help="bridged transfers instead (bench/sip_bridge.py)")
    parser.add_argument("--bridge-steps", default="50,100,250", help="bridged calls per step (--bridge)")
    parser.add_argument("--rate", type=float, default=50.0, help="maximum new calls per second")
    parser.add_argument("--prompt-seconds", type=float, default=3.0, help="first prompt (grows with the ramp)")
    parser.add_argument("--sequential", type=int, default=0, help="leak check over N sequential calls")
    parser.add_argument("--keep-going", action="store_true", help="do not stop at the first unclean step")
    parser.add_argument("--nice", type=int, default=0, help="run each IVR with this nice value (e.g. -10, root)")
    parser.add_argument(
        "--codec",
        default="",
        help="compare CPU per call for these codecs (pcmu,pcma,g722,opus) "
        "at the first of --steps, alternating for --rounds",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the --codec comparison")
    parser.add_argument("--rt", type=int, default=0, help="run each IVR under SCHED_FIFO with this priority (root)")
    args = parser.parse_args()
    Ivr.nice = args.nice
    Ivr.realtime = args.rt
    print(f"load average before: {os.getloadavg()}", flush=True)
    for tool in ("sipp", "tcpdump", "espeak-ng", "sox"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is required")
    work = Path(tempfile.mkdtemp(prefix="sip-load-"))
    sipp_port = free_udp_port()
    if args.bridge:
        import sip_bridge

        sip_bridge.main([int(n) for n in args.bridge_steps.split(",")], args.rate, work)
        return
    if args.sequential:
        sequential(work, args.sequential, sipp_port)
        return
    if args.soak:
        soak(work, args.soak_calls, args.soak, sipp_port)
        return
    bye = make_prompt(work / "bye.wav", 1.0, work)
    rows = []
    if args.overload:
        overload(work, args.overload, args.rate, bye, sipp_port)
        return
    if args.codec:
        codec_comparison(
            work,
            args.codec.split(","),
            int(args.steps.split(",")[0]),
            args.rounds,
            min(args.rate, 25.0),
            bye,
            sipp_port,
        )
        return
    plans = [
        ("ours", args.steps),
        ("pyvoip", args.pyvoip_steps),
        ("sipp-uas", args.sipp_uas_steps),
        ("flow", args.flow_steps),
    ]
    for name, steps in plans:
        if args.only and name != args.only:
            continue
        for n in (int(s) for s in steps.split(",") if s):
            rate = min(args.rate, max(5.0, n / 4))
            # Calls must outlast the ramp (n / rate seconds) for all n to be up at once
            prompt_s = max(args.prompt_seconds, round(n / rate + 1.0, 1))
            prompt = make_prompt(work / f"p{prompt_s}.wav", prompt_s, work)
            ivr = start_ivr(name, work, prompt, bye, sipp_port)
            try:
                row = run_step(ivr, n, rate, int(prompt_s * 1000 + 500), work, sipp_port)
            finally:
                ivr.stop()
            rows.append(row)
            print_row(row)
            if (row["failed"] or row["success_pct"] < 100.0) and not args.keep_going:
                break  # failures: the next step would only fail harder
            time.sleep(2)
    for name in ("ours", "pyvoip", "sipp-uas", "flow"):
        clean = [
            r["concurrent"]
            for r in rows
            if r["impl"] == name and r["success_pct"] == 100.0 and not r["late_pct"] >= 1.0
        ]
        if any(r["impl"] == name for r in rows):
            print(f"max clean concurrency (0 failures, < 1% late) {name}: {max(clean, default=0)}")
    (work / "results.json").write_text(json.dumps(rows, indent=1))
    print(f"results: {work / 'results.json'}")


if __name__ == "__main__":
    try:
        main()
    finally:
        for redis_server in _REDIS:
            redis_server.kill()
