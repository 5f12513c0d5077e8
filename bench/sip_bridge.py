"""Bridged-transfer benchmark (`bench/sip_load.py --bridge`): SIPp callers, each put through by the IVR to a
SIPp owner, both legs talking (g711a.pcap, 7 s) and every packet relayed by our media loop.

    .venv/bin/python bench/sip_load.py --bridge --bridge-steps 50,100,250 --rate 25

Per step: success (caller calls completed by SIPp, bridged by the IVR, none failed), the relay's late packets
on both legs - from a tcpdump capture on lo, each packet the IVR sends is matched to the packet it relays
(same bridge, same payload) and is late when it left more than 20 ms (one frame) after that one arrived -,
the relay latency p50/p99, the time from the owner's answer to the first relayed packet (p95, measured in the
IVR), IVR CPU (% of one core) and CPU per bridged call-second, and the load average. Loopback only; needs
sipp and tcpdump (root).
"""

from __future__ import annotations

import collections
import os
import resource
import struct
import subprocess
import sys
import time
from pathlib import Path

from sip_load import (
    HERE,
    Ivr,
    cpu_seconds,
    free_udp_port,
    percentile,
    read_stats,
    sipp_command,
    sipp_counts,
    start_capture,
    stop_capture,
)

CALLER = HERE / "scenarios" / "uac_bridge_caller.xml"
OWNER = HERE / "scenarios" / "uas_bridge_owner.xml"
RTP_MIN, RTP_MAX = 10000, 19999  # away from sip_load.py's 20000-30000: another run may hold those
HOLD_MS = 14800  # the caller talks for two plays of g711a.pcap (7 s each), then hangs up
LATE = 0.020


def _packets(pcap: Path):
    """(time, src port, dst port, RTP timestamp, RTP payload) of every RTP packet in a capture."""
    data = pcap.read_bytes()
    l2 = {1: 14, 113: 16, 0: 4}.get(struct.unpack_from("<I", data, 20)[0], 14)
    offset = 24
    while offset + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack_from("<IIII", data, offset)
        packet = data[offset + 16 : offset + 16 + incl]
        offset += 16 + incl
        if len(packet) < l2 + 20:
            continue
        udp = l2 + (packet[l2] & 0x0F) * 4
        if len(packet) < udp + 20:
            continue
        sport, dport = struct.unpack_from("!HH", packet, udp)
        timestamp = struct.unpack_from("!I", packet, udp + 12)[0]
        yield sec + usec / 1e6, sport, dport, timestamp, packet[udp + 20 :]


def relay_latencies(pcap: Path, pairs: list[tuple[int, int]]) -> tuple[list[float], int]:
    """Per relayed packet: the time it left minus the arrival of the packet it relays. The relay shifts RTP
    timestamps by a constant per direction; that shift is found from payload matches (the most common
    difference), then every packet is matched exactly by (bridge partner, timestamp)."""
    partner = {}
    for caller, owner in pairs:
        partner[caller], partner[owner] = owner, caller
    arrived: dict[tuple[int, int], list[float]] = collections.defaultdict(list)  # SIPp replays repeat timestamps
    by_payload: dict[tuple[int, bytes], list[int]] = collections.defaultdict(list)
    sent: dict[int, list[tuple[float, int, bytes]]] = collections.defaultdict(list)
    for t, sport, dport, timestamp, payload in _packets(pcap):
        if RTP_MIN <= dport <= RTP_MAX and not RTP_MIN <= sport <= RTP_MAX:  # into the IVR
            arrived[(dport, timestamp)].append(t)
            by_payload[(dport, payload)].append(timestamp)
        elif sport in partner:  # out of a bridged stream (or its ringback, before the bridge)
            sent[sport].append((t, timestamp, payload))
    latencies, unmatched = [], 0
    for port, packets in sent.items():
        source = partner[port]
        shifts = collections.Counter(
            (ts - earlier) & 0xFFFFFFFF
            for _, ts, payload in packets[-200:]
            for earlier in by_payload.get((source, payload), [])[-50:]
        )
        if not shifts:
            unmatched += len(packets)
            continue
        shift = shifts.most_common(1)[0][0]
        for t, ts, _ in packets:
            came = max((a for a in arrived.get((source, (ts - shift) & 0xFFFFFFFF), ()) if a <= t), default=None)
            if came is None:
                unmatched += 1  # ringback, before the bridge
            else:
                latencies.append(t - came)
    return latencies, unmatched


def _sipp(scenario: Path, port: int, calls: int, *extra: str) -> list[str]:
    limits = ("-m", str(calls), "-nostdin", "-max_socket", "4096", "-timeout", "180s", "-timeout_error")
    return sipp_command(port, *extra, "-sf", str(scenario), *limits)


def run_step(work: Path, calls: int, rate: float) -> dict:
    owner_port, ivr_port = free_udp_port(), free_udp_port()
    owner = subprocess.Popen(
        _sipp(OWNER, owner_port, calls), cwd=work, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    stats = work / f"bridge-{calls}.json"
    ivr = Ivr(
        "bridge",
        [
            sys.executable,
            str(HERE / "sip_ivr.py"),
            "--port",
            str(ivr_port),
            "--bridge",
            f"sip:owner@127.0.0.1:{owner_port}",
            "--stats",
            str(stats),
            "--rtp-min",
            str(RTP_MIN),
            "--rtp-max",
            str(RTP_MAX),
            "--data-dir",
            str(work / "data"),
            "--max-calls",
            "2000",
        ],
        ivr_port,
        RTP_MIN,
        RTP_MAX,
        stats,
    )
    pcap = work / f"bridge-{calls}.pcap"
    # both directions: each relayed packet and the packet it relays
    capture = start_capture(pcap, RTP_MIN, RTP_MAX, both_ways=True, buffer_kb=131072, snaplen=400)
    cpu0, wall0 = cpu_seconds(ivr.proc.pid), time.monotonic()
    load = []
    caller = subprocess.Popen(
        _sipp(CALLER, free_udp_port(), calls, f"127.0.0.1:{ivr_port}", "-l", str(calls), "-r", str(rate)),
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    while caller.poll() is None:
        load.append(os.getloadavg()[0])
        time.sleep(1.0)
    out, _ = caller.communicate()
    wall, cpu = time.monotonic() - wall0, cpu_seconds(ivr.proc.pid) - cpu0
    time.sleep(1.5)  # the last BYEs to the owners
    dropped = stop_capture(capture)
    after = read_stats(stats)
    owner.terminate()
    owner.communicate(timeout=30)
    ivr.stop()
    ok, failed = sipp_counts(out)
    latencies, unmatched = relay_latencies(pcap, [tuple(p) for p in after.get("port_pairs", [])])
    pcap.unlink(missing_ok=True)
    late = sum(1 for value in latencies if value > LATE)
    firsts = after.get("first_packet_delays", [])
    return {
        "calls": calls,
        "rate": rate,
        "ok": ok,
        "failed": failed,
        "bridged": after.get("bridged", 0),
        "bridge_failed": after.get("bridge_failed", 0),
        "outcomes": after.get("bridge_outcomes", {}),
        "relayed": len(latencies),
        "late_pct": 100.0 * late / len(latencies) if latencies else float("nan"),
        "relay_p50_ms": 1000 * percentile(latencies, 0.5),
        "relay_p99_ms": 1000 * percentile(latencies, 0.99),
        "first_packet_p95_ms": 1000 * percentile(firsts, 0.95),
        "capture_dropped": dropped,
        "ivr_cpu_pct": 100.0 * cpu / wall,
        "cpu_ms_per_call_second": 1000.0 * cpu / (calls * HOLD_MS / 1000),
        "load_avg": max(load) if load else os.getloadavg()[0],
        "unmatched": unmatched,
    }


def print_row(row: dict) -> None:
    print(
        f"bridge {row['calls']:>4} calls {row['rate']:>4.0f}/s  ok {row['ok']}/{row['calls']} failed {row['failed']} "
        f"bridged {row['bridged']} (failed {row['bridge_failed']} {row['outcomes']})  relayed {row['relayed']} "
        f"late {row['late_pct']:.3f}%  relay p50/p99 {row['relay_p50_ms']:.2f}/{row['relay_p99_ms']:.2f} ms  "
        f"answer->first relayed p95 {row['first_packet_p95_ms']:.2f} ms  IVR CPU {row['ivr_cpu_pct']:.1f}% "
        f"({row['cpu_ms_per_call_second']:.2f} ms per call-second)  capture drops {row['capture_dropped']}  "
        f"load {row['load_avg']:.1f}",
        flush=True,
    )


def main(steps: list[int], rate: float, work: Path) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    for calls in steps:
        print_row(run_step(work, calls, rate))
