"""Does a flood from one source delay calls from another? INVITE-to-200 latency, flood off vs on, side by side.

    .venv/bin/python bench/sip_flood.py --rounds 4 --calls 40 --flood 2000

Two in-process SipServers trust 127.0.0.3 (the trunk): "guarded" as shipped (a blocked source's datagrams are
dropped before parsing, up to 64 queued datagrams read per loop turn, a 4 MB socket receive buffer) and "baseline"
without those three (the edge's gate only, after parsing; one datagram per loop turn; the kernel's default
buffer). Each round measures `--calls` sequential INVITE -> 200 (then ACK,
BYE) from 127.0.0.3: quiet, then on each server while 127.0.0.2 sends `--flood` OPTIONS as fast as one socket can
(from a second process), in alternating order. Also the gate's own CPU per request (`Gate.admit` on a parsed
OPTIONS), and the wall time per queued datagram of a blocked source, read one per loop turn vs in batches.
Loopback only, bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiosipua import SipMessage  # noqa: E402

from ivr.channels.sip.aiosipua_adapter import udp_socket  # noqa: E402
from ivr.channels.sip.server import SipConfig, SipServer  # noqa: E402

TRUNK, ATTACKER = "127.0.0.3", "127.0.0.2"
RETRANSMITTED = [0]  # INVITEs the bench's UAC had to send again


def request(method: str, port: int, src: tuple[str, int], call_id: str, body: str = "", to_tag: str = "") -> bytes:
    to = f"<sip:ivr@127.0.0.1:{port}>" + (f";tag={to_tag}" if to_tag else "")
    cseq = 2 if method == "BYE" else 1
    head = (
        f"{method} sip:ivr@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {src[0]}:{src[1]};branch=z9hG4bK"
        f"{uuid.uuid4().hex[:12]};rport\r\nFrom: <sip:+12125550123@{src[0]}>;tag=b1\r\nTo: {to}\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:b@{src[0]}:{src[1]}>\r\n"
        f"Max-Forwards: 70\r\n"
    )
    if body:
        head += "Content-Type: application/sdp\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def one_call(sock: socket.socket, port: int) -> float:
    src = sock.getsockname()
    sdp = (
        f"v=0\r\no=b 1 1 IN IP4 {TRUNK}\r\ns=-\r\nc=IN IP4 {TRUNK}\r\nt=0 0\r\n"
        f"m=audio {src[1] + 1} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
    call_id = uuid.uuid4().hex
    invite = request("INVITE", port, src, call_id, sdp)
    start = time.perf_counter()
    sock.sendto(invite, ("127.0.0.1", port))
    interval = 0.5  # T1: a UAC resends the INVITE when nothing comes back (the kernel may have dropped it)
    while True:
        sock.settimeout(interval)
        try:
            data = sock.recv(65535)
        except TimeoutError:
            RETRANSMITTED[0] += 1
            sock.sendto(invite, ("127.0.0.1", port))
            interval *= 2
            continue
        if data.startswith(b"SIP/2.0 200") and b"INVITE" in data:
            break
    elapsed = time.perf_counter() - start
    tag = data.split(b"To:", 1)[1].split(b"tag=", 1)[1].split(b"\r\n", 1)[0].decode()
    sock.sendto(request("ACK", port, src, call_id, to_tag=tag), ("127.0.0.1", port))
    sock.sendto(request("BYE", port, src, call_id, to_tag=tag), ("127.0.0.1", port))
    return elapsed


def flood(port: int, count: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((ATTACKER, 0))
        src = sock.getsockname()
        packets = [request("OPTIONS", port, src, f"flood-{n}") for n in range(count)]
        print("go", flush=True)
        for packet in packets:
            sock.sendto(packet, ("127.0.0.1", port))


def gate_cpu_per_request(server: SipServer, n: int = 20000) -> float:
    message = SipMessage.parse(request("OPTIONS", 5060, ("10.1.1.1", 5060), "x"))
    start = time.process_time()
    for i in range(n):
        server.gate.admit(message, f"10.{i % 250}.{i // 250 % 250}.1")
    return (time.process_time() - start) / n


async def start_server(rtp_base: int, guarded: bool) -> SipServer:
    server = SipServer(
        SipConfig(
            host="127.0.0.1",
            port=0,
            trusted=(TRUNK,),
            data_dir=Path(tempfile.mkdtemp()),
            rtp_port_min=rtp_base,
            rtp_port_max=rtp_base + 400,
        ),
        lambda call: asyncio.sleep(0.2),
    )
    await server.start()
    if not guarded:  # what the edge did before: parse everything, one datagram per loop turn, the default buffer
        server.transport.refuses = lambda _host: False
        server.transport._protocol.drain_batch = 0  # noqa: SLF001
        udp = udp_socket(server.transport).get_extra_info("socket")
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(Path("/proc/sys/net/core/rmem_default").read_text()))
        server.transport.receive_buffer = udp.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    return server


async def measure(server: SipServer, sock: socket.socket, calls: int, flood_count: int) -> tuple[list[float], int]:
    """Latencies of `calls` INVITEs, with a flood from ATTACKER meanwhile when `flood_count`; (latencies, resent)."""
    port, resent = server.address[1], RETRANSMITTED[0]
    attacker = None
    if flood_count:  # its own process: an in-process sender would starve the server of the GIL
        attacker = subprocess.Popen(
            [sys.executable, __file__, "--flood-only", str(port), str(flood_count)], stdout=subprocess.PIPE
        )
        attacker.stdout.readline()  # it is bound and about to send
    latencies = [await asyncio.to_thread(one_call, sock, port) for _ in range(calls)]
    if attacker is not None:
        attacker.wait(60)
    return latencies, RETRANSMITTED[0] - resent


def report(results: dict[str, list[float]], resent: dict[str, int], servers: dict[str, SipServer]) -> None:
    quiet = statistics.median(results["quiet"])
    for mode, values in results.items():
        values.sort()
        print(
            f"{mode}: {len(values)} calls, p50 {statistics.median(values) * 1000:.2f} ms "
            f"(x{statistics.median(values) / quiet:.2f} quiet), p95 {values[int(len(values) * 0.95)] * 1000:.2f} ms, "
            f"max {values[-1] * 1000:.1f} ms, INVITEs resent {resent[mode]}"
        )
    for name, server in servers.items():
        pike = server.gate.pike
        print(
            f"{name}: pike dropped {pike.dropped} ({pike.dropped_unparsed} before parsing), blocks {pike.blocks}, "
            f"receive buffer {server.transport.receive_buffer} bytes"
        )


async def drain_cost(server: SipServer, batch: int, count: int = 2000) -> float:
    """Microseconds of wall time per queued datagram of a blocked source: `count` OPTIONS are queued in the
    socket while the loop is busy, then the loop is let go until the transport has refused them all."""
    protocol = server.transport._protocol  # noqa: SLF001 (the bench sets what it compares)
    protocol.drain_batch, kept = batch, protocol.drain_batch
    pike, port = server.gate.pike, server.address[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((ATTACKER, 0))
        packets = [request("OPTIONS", port, sock.getsockname(), f"drain-{n}") for n in range(count)]
        before = pike.dropped_unparsed
        for packet in packets:  # the loop does not run meanwhile: they all wait in the kernel's queue
            sock.sendto(packet, ("127.0.0.1", port))
        start = time.perf_counter()
        while pike.dropped_unparsed - before < count and time.perf_counter() - start < 5:
            await asyncio.sleep(0)
        elapsed = time.perf_counter() - start
    protocol.drain_batch = kept
    return elapsed / count * 1e6


async def main(args) -> None:
    servers = {"guarded": await start_server(46000, True), "baseline": await start_server(46500, False)}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((TRUNK, 0))
    sock.settimeout(5)
    results: dict[str, list[float]] = {"quiet": [], "flood guarded": [], "flood baseline": []}
    resent = dict.fromkeys(results, 0)
    for round_no in range(args.rounds):
        modes = list(results) if round_no % 2 == 0 else list(reversed(results))
        for mode in modes:
            server = servers["baseline" if mode.endswith("baseline") else "guarded"]
            cpu = time.process_time()
            latencies, again = await measure(server, sock, args.calls, args.flood if mode != "quiet" else 0)
            results[mode] += latencies
            resent[mode] += again
            print(
                f"round {round_no} {mode}: p50 {statistics.median(latencies) * 1000:.2f} ms, "
                f"max {max(latencies) * 1000:.2f} ms, process CPU {time.process_time() - cpu:.2f} s",
                flush=True,
            )
    report(results, resent, servers)
    guarded = servers["guarded"]
    if guarded.gate.pike.blocked(ATTACKER):
        costs: dict[int, list[float]] = {0: [], 64: []}
        for batch in (0, 64, 64, 0, 0, 64):
            costs[batch].append(await drain_cost(guarded, batch))
        for batch, values in costs.items():
            print(f"a blocked source's queued datagram, drain batch {batch}: {statistics.median(values):.1f} us each")
    print(f"gate CPU per request (new source each time): {gate_cpu_per_request(servers['guarded']) * 1e6:.1f} us")
    print(f"load average {os.getloadavg()}")
    for server in servers.values():
        await server.stop()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--flood-only"]:
        flood(int(sys.argv[2]), int(sys.argv[3]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--flood", type=int, default=2000)
    asyncio.run(main(parser.parse_args()))
