"""A flow's whole-call recording (`record:`) on SIP: SIPp calls a recorded flow and speaks (a 1 kHz tone from a
pcap) while the flow waits; the consent prompt is heard first, and the call's timeline ends with one WAV that holds
both directions: the prompts the caller heard and the caller's own audio; bridged to an owner (a raw UAS speaking
at 1.5 kHz), both legs are in the one WAV."""

from __future__ import annotations

import math
import struct
import time
import wave
from concurrent.futures import ThreadPoolExecutor

import pytest

from ivr.channels.sip.media import g711
from ivr.store.calls import CallStore
from ivr.system.recordings import LOCAL_PREFIX

from ..audioop_shim import audioop
from .conftest import run_sipp, sipp_counts
from .pcap import write_rtp_pcap
from .raw_owner import RawOwner, rtp

pytestmark = pytest.mark.slow  # one SIPp call in real time (~8 s)

FLOW = """
id: recorded
record:
  consent: "This call is recorded for training."
start: ask
steps:
  ask:
    type: collect_digits
    prompt: "Say something after the tone."
    max_digits: 4
    timeout: 3
    max_retries: 0
    save_as: said
    next: bye
    exhausted: bye
  bye:
    type: hangup
    say: "Thank you. Goodbye."
"""


def tone_level(pcm: bytes, frequency: float) -> float:
    """Goertzel power of `frequency` in 8 kHz PCM16, relative to the signal's energy (0..1)."""
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    k = 2 * math.cos(2 * math.pi * frequency / 8000)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    energy = sum(x * x for x in samples) or 1
    return power / (energy * len(samples) / 2)


def tone(frequency: float, seconds: float) -> bytes:
    count = int(8000 * seconds)
    return struct.pack(f"<{count}h", *(int(8000 * math.sin(2 * math.pi * frequency * n / 8000)) for n in range(count)))


def sipp_call(running, tmp_path, pause_ms: int):
    """One SIPp call that says a 1 kHz tone `pause_ms` after the answer and waits for the IVR's BYE."""
    frames = [g711.encode(chunk, g711.PCMU) for chunk in (tone(1000, 1)[i : i + 320] for i in range(0, 16000, 320))]
    pcap = write_rtp_pcap(tmp_path / "tone.pcap", frames, g711.PCMU)
    subst = {"PCAP": pcap, "PT": 0, "CODEC": "PCMU", "PAUSE": pause_ms, "BYE_TIMEOUT": 30000}
    result = run_sipp("uac_speech.xml", running.port, timeout=60, cwd=tmp_path, subst=subst)
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:] + result.stderr[-1500:]
    assert running.wait_idle()["ports"] == 0


def the_recording(running, redis_conn) -> tuple[list[dict], list[bytes]]:
    """The call's timeline and its one recording, second by second (checked: one WAV, 8 kHz mono, 0600)."""
    (call,) = CallStore(redis_conn).recent()
    timeline = CallStore(redis_conn).timeline(call.id)
    done = [e["data"] for e in timeline if e["data"].get("type") == "recording_done"]
    assert len(done) == 1 and done[0]["url"].startswith(LOCAL_PREFIX) and done[0]["duration"] > 5
    path = running.server.recordings_dir / f"{done[0]['url'][len(LOCAL_PREFIX) :]}.wav"
    assert path.stat().st_mode & 0o777 == 0o600
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
        pcm = wav.readframes(wav.getnframes())
    return timeline, [pcm[i : i + 16000] for i in range(0, len(pcm) - 15999, 16000)]


def test_a_recorded_flow_keeps_one_wav_with_both_directions_in_the_timeline(flow_server, redis_conn, tmp_path):
    running = flow_server(FLOW)
    sipp_call(running, tmp_path, 4000)
    timeline, seconds = the_recording(running, redis_conn)
    heard = [e["data"]["text"] for e in timeline if e["kind"] == "heard"]
    assert heard[0] == "This call is recorded for training."
    assert max(tone_level(second, 1000) for second in seconds) > 0.5  # the caller's tone is in it
    spoken = [
        s for s in seconds if tone_level(s, 1000) < 0.1 and max(abs(x) for x in struct.unpack("<8000h", s)) > 2000
    ]
    assert spoken, "the prompts the caller heard are not in the recording"


BRIDGED = """
id: recorded-bridge
record: true
start: put_through
steps:
  put_through:
    type: transfer
    to: "OWNER_URI"
    timeout: 10
    failed: bye
  bye:
    type: hangup
"""


def test_a_recorded_flow_mixes_both_legs_of_a_bridged_transfer(flow_server, redis_conn, tmp_path):
    owner = RawOwner()
    try:
        running = flow_server(BRIDGED.replace("OWNER_URI", owner.uri))
        caller = ThreadPoolExecutor(1).submit(sipp_call, running, tmp_path, 5000)  # its checks fail the test
        owner.wait_invite(15)
        owner.answer(payload_type=0)
        speech = audioop.lin2ulaw(tone(1500, 8), 2)
        for seq in range(
            400
        ):  # the owner talks (1.5 kHz) for 8 s, paced as a phone sends, while the caller says its tone
            owner.send_rtp(rtp(0, seq, 160 * seq, speech[160 * seq : 160 * (seq + 1)]))
            time.sleep(0.02)
        owner.bye()
        caller.result(60)
    finally:
        owner.close()
    _, seconds = the_recording(running, redis_conn)
    assert max(tone_level(second, 1500) for second in seconds) > 0.3  # the owner's leg
    assert max(tone_level(second, 1000) for second in seconds) > 0.2  # the caller's leg, over the owner's
