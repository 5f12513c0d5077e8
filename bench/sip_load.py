"""SIP load benchmark: SIPp callers at rising concurrency against our SIP channel and the pyVoIP baseline.

    python bench/sip_load.py                          # ours 10,50,100,200,... then pyVoIP 10,50,100,...
    python bench/sip_load.py --only ours --steps 200,300,400,500 --rate 50
    python bench/sip_load.py --only ours --sequential 1000   # leak check over 1,000 sequential calls

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


def make_prompt(path: Path, seconds: float, work: Path) -> Path:
    """Speech of exactly `seconds` at 8 kHz mono 16-bit (espeak-ng, looped and trimmed by sox)."""
    if path.exists():
        return path
    raw = work / "speech.wav"
    if not raw.exists():
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(raw),
                        "Welcome. To get support links by text message, press 1. For a live chat, press 2."], check=True)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(path), "repeat", "20",
                    "trim", "0", f"{seconds:.2f}"], check=True)
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

def start_capture(pcap: Path, port_min: int, port_max: int) -> subprocess.Popen:
    proc = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-B", "65536", "-s", "64", "-w", str(pcap),
                             f"udp and src portrange {port_min}-{port_max}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
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
        packet = data[offset:offset + incl]
        offset += incl
        ip = l2
        if len(packet) < ip + 20:
            continue
        ihl = (packet[ip] & 0x0F) * 4
        udp = ip + ihl
        if len(packet) < udp + 20:
            continue
        sport, dport = struct.unpack_from("!HH", packet, udp)
        ssrc = packet[udp + 16:udp + 20]
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


def run_step(ivr, concurrent: int, rate: float, digit_delay_ms: int, work: Path, sipp_port: int) -> dict:
    scenario = work / "uac_bench.xml"
    scenario.write_text(SCENARIO.read_text().replace("@DIGIT_DELAY@", str(digit_delay_ms)))
    before_stats = read_stats(ivr.stats)
    pcap = work / f"{ivr.name}-{concurrent}.pcap"
    capture = start_capture(pcap, ivr.rtp_min, ivr.rtp_max)
    peak = PeakRss(ivr.proc.pid)
    peak.start()
    cpu0, wall0 = cpu_seconds(ivr.proc.pid), time.monotonic()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    timeout = int(concurrent / rate + digit_delay_ms / 1000 + 60)
    result = subprocess.run(
        ["sipp", f"127.0.0.1:{ivr.port}", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(sipp_port),
         "-mi", "127.0.0.1", "-mp", str(free_udp_port()), "-l", str(concurrent), "-r", str(rate),
         "-m", str(concurrent), "-timeout", f"{timeout}s", "-timeout_error", "-nostdin", "-trace_rtt",
         "-rtt_freq", "1", "-max_socket", "4096"],
        capture_output=True, text=True, cwd=work, timeout=timeout + 60)
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic() - wall0
    cpu = cpu_seconds(ivr.proc.pid) - cpu0
    time.sleep(1.5)  # let the last BYEs and stats settle
    peak.running = False
    dropped = stop_capture(capture)
    after_stats = read_stats(ivr.stats)
    ok = failed = 0
    for line in result.stdout.splitlines():
        if line.strip().startswith("Successful call"):
            ok = int(line.split("|")[2])
        elif line.strip().startswith("Failed call"):
            failed = int(line.split("|")[2])
    rtts = rtt_values(work)
    late, packets = late_share(pcap)
    pcap.unlink()
    return {
        "impl": ivr.name, "concurrent": concurrent, "rate": rate, "calls": concurrent,
        "success_pct": 100.0 * ok / concurrent, "failed": failed,
        "invite_200_p50_ms": percentile(rtts, 0.50), "invite_200_p95_ms": percentile(rtts, 0.95),
        "late_pct": 100.0 * late, "rtp_packets": packets, "capture_dropped": dropped,
        "ivr_cpu_pct": 100.0 * cpu / wall, "ivr_rss_peak_mb": peak.peak,
        "sipp_cpu_pct": 100.0 * ((children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)) / wall,
        "digits": after_stats.get("digits", 0) - before_stats.get("digits", 0),
        "idle_after": {k: after_stats.get(k) for k in ("live", "tasks", "fds", "ports", "threads") if k in after_stats},
    }


class Ivr:
    def __init__(self, name: str, cmd: list[str], port: int, rtp_min: int, rtp_max: int, stats: Path) -> None:
        self.name, self.port, self.rtp_min, self.rtp_max, self.stats = name, port, rtp_min, rtp_max, stats
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(stats.with_suffix(".log"), "w"))
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


def start_ivr(name: str, work: Path, prompt: Path, bye: Path, sipp_port: int) -> Ivr:
    port = free_udp_port()
    stats = work / f"{name}-stats.json"
    if stats.exists():
        stats.unlink()
    if name == "ours":
        cmd = [sys.executable, str(HERE / "sip_ivr.py"), "--port", str(port), "--prompt", str(prompt),
               "--bye", str(bye), "--stats", str(stats), "--rtp-min", "20000", "--rtp-max", "30000",
               "--data-dir", str(work / "data")]
        return Ivr(name, cmd, port, 20000, 30000, stats)
    cmd = [sys.executable, str(HERE / "pyvoip_baseline.py"), "--port", str(port), "--peer-port", str(sipp_port),
           "--prompt", str(prompt), "--bye", str(bye), "--stats", str(stats), "--rtp-min", "40000",
           "--rtp-max", "50000"]
    return Ivr(name, cmd, port, 40000, 50000, stats)


def print_row(row: dict) -> None:
    print(f"{row['impl']:>6} {row['concurrent']:>5} {row['rate']:>5.0f}/s  ok {row['success_pct']:6.2f}%  "
          f"INVITE->200 p50/p95 {row['invite_200_p50_ms']:7.1f}/{row['invite_200_p95_ms']:7.1f} ms  "
          f"late {row['late_pct']:5.2f}% of {row['rtp_packets']:>7} (capture drops {row['capture_dropped']})  "
          f"IVR CPU {row['ivr_cpu_pct']:5.1f}% RSS {row['ivr_rss_peak_mb']:5.1f} MB  SIPp CPU {row['sipp_cpu_pct']:5.1f}%  "
          f"digits {row['digits']}/{row['concurrent']}  after {row['idle_after']}", flush=True)


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
            print(f"after {done:>5} calls: ok {row['success_pct']:.1f}%  RSS {rss_mb(ivr.proc.pid):.1f} MB  "
                  f"{row['idle_after']}", flush=True)
        time.sleep(2)
        after, rss1 = read_stats(ivr.stats), rss_mb(ivr.proc.pid)
        print(f"idle before: RSS {rss0:.1f} MB tasks {before['tasks']} fds {before['fds']} ports {before['ports']}")
        print(f"idle after {calls} calls: RSS {rss1:.1f} MB tasks {after['tasks']} fds {after['fds']} ports {after['ports']}")
    finally:
        ivr.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["ours", "pyvoip"], default=None)
    parser.add_argument("--steps", default="10,50,100,200,300,400,500,600,800,1000")
    parser.add_argument("--pyvoip-steps", default="10,50,100,150,200")
    parser.add_argument("--rate", type=float, default=50.0, help="maximum new calls per second")
    parser.add_argument("--prompt-seconds", type=float, default=3.0, help="first prompt (grows with the ramp)")
    parser.add_argument("--sequential", type=int, default=0, help="leak check over N sequential calls")
    parser.add_argument("--keep-going", action="store_true", help="do not stop at the first unclean step")
    args = parser.parse_args()
    for tool in ("sipp", "tcpdump", "espeak-ng", "sox"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is required")
    work = Path(tempfile.mkdtemp(prefix="sip-load-"))
    sipp_port = free_udp_port()
    if args.sequential:
        sequential(work, args.sequential, sipp_port)
        return
    bye = make_prompt(work / "bye.wav", 1.0, work)
    rows = []
    plans = [("ours", args.steps), ("pyvoip", args.pyvoip_steps)]
    for name, steps in plans:
        if args.only and name != args.only:
            continue
        for n in (int(s) for s in steps.split(",")):
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
            clean = row["failed"] == 0 and row["success_pct"] == 100.0 and row["late_pct"] < 1.0
            if not clean and not args.keep_going:
                break
            time.sleep(2)
    (work / "results.json").write_text(json.dumps(rows, indent=1))
    print(f"results: {work / 'results.json'}")


if __name__ == "__main__":
    main()
