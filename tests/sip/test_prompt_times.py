"""Timelines as heard (issue 19): a SIPp call through the shipped flow, our RTP captured on loopback by tcpdump;
each prompt's "heard" entry in the timeline starts within 100 ms of its first packet on the wire (the packet with
the RTP marker bit, which every prompt sets), ends at or after the start, and the call lasts until the goodbye
was heard."""

from __future__ import annotations

import shutil
import struct
import subprocess
from concurrent.futures import ThreadPoolExecutor, wait

import pytest

from ivr.admin.call_query import live_calls
from ivr.store import keys
from ivr.store.calls import CallStore
from tests.sip.conftest import free_port_range, run_sipp, sipp_counts
from tests.sip.test_sipp_flow import flow_ivr, only_call  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow


def marker_times(pcap: bytes) -> list[float]:
    """Capture times of the RTP packets whose marker bit is set (Ethernet framing, as tcpdump writes for lo)."""
    out, offset = [], 24
    while offset + 16 <= len(pcap):
        seconds, micros, length, _ = struct.unpack_from("<IIII", pcap, offset)
        frame = pcap[offset + 16 : offset + 16 + length]
        offset += 16 + length
        ip = frame[14:]
        if len(ip) < 20 or ip[9] != 17:
            continue
        rtp = ip[(ip[0] & 0x0F) * 4 + 8 :]
        if len(rtp) >= 12 and rtp[0] >> 6 == 2 and rtp[1] & 0x80:
            out.append(seconds + micros / 1e6)
    return out


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_prompt_stamps_match_the_rtp_capture(flow_ivr, redis_conn, tmp_path):  # noqa: F811
    running = flow_ivr()
    media_port = free_port_range(4)[0]
    capture = tmp_path / "rtp.pcap"
    dump = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-U", "-w", str(capture), "-s", "64", f"udp and dst port {media_port}"],
        stderr=subprocess.PIPE,
    )
    try:
        first = dump.stderr.readline()  # "listening on lo ..." once it captures (or why it cannot)
        assert b"listening" in first, first
        with ThreadPoolExecutor(1) as pool:
            sipp = pool.submit(
                run_sipp,
                "uac_digit.xml",
                running.port,
                timeout=60,
                cwd=tmp_path,
                subst={"DIGIT": "1"},
                extra=["-mp", str(media_port)],
            )
            playing = ""
            while not playing and not wait([sipp], timeout=0.05).done:  # the live view names the prompt playing
                playing = next((row["playing"] for row in live_calls(redis_conn) if row["playing"]), "")
            result = sipp.result()
        assert playing, "the live view never showed a prompt playing"
        assert sipp_counts(result) == (1, 0), result.stdout[-2000:]
        running.wait_idle()
    finally:
        dump.terminate()
        dump.wait(10)
    markers = marker_times(capture.read_bytes())
    heard = [e["data"] for e in CallStore(redis_conn).timeline(only_call(redis_conn).id) if e["kind"] == "heard"]
    assert len(heard) >= 2, heard  # the greeting (barged into by the digit) and what follows
    for prompt in heard:
        nearest = min(markers, key=lambda at: abs(at - prompt["started_at"]))
        assert abs(nearest - prompt["started_at"]) < 0.1, (prompt, markers)
        assert prompt.get("ended_at", prompt["started_at"]) >= prompt["started_at"]
    assert any(p.get("barged_in") for p in heard)  # the digit cut the menu short
    assert not redis_conn.exists(keys.call_playing(only_call(redis_conn).id))  # nothing plays after the end
    record = only_call(redis_conn)  # the duration runs to the end of the goodbye, not to the turn that said it
    assert record.ended_at >= max(p.get("ended_at", 0) for p in heard) - 0.001
