"""A flow's whole-call recording (`record:`) on SIP: SIPp calls a recorded flow and speaks (a 1 kHz tone from a
pcap) while the flow waits; the consent prompt is heard first, and the call's timeline ends with one WAV that holds
both directions: the prompts the caller heard and the caller's own audio."""

from __future__ import annotations

import math
import struct
import wave

import pytest

from ivr.channels.sip.media import g711
from ivr.store.calls import CallStore
from ivr.system.recordings import LOCAL_PREFIX

from .conftest import run_sipp, sipp_counts
from .pcap import write_rtp_pcap

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


def test_a_recorded_flow_keeps_one_wav_with_both_directions_in_the_timeline(flow_server, redis_conn, tmp_path):
    running = flow_server(FLOW)
    tone = struct.pack("<8000h", *(int(8000 * math.sin(2 * math.pi * 1000 * n / 8000)) for n in range(8000)))
    frames = [g711.encode(tone[i : i + 320], g711.PCMU) for i in range(0, len(tone), 320)]
    pcap = write_rtp_pcap(tmp_path / "tone.pcap", frames, g711.PCMU)
    subst = {"PCAP": pcap, "PT": 0, "CODEC": "PCMU", "PAUSE": 4000, "BYE_TIMEOUT": 30000}
    result = run_sipp("uac_speech.xml", running.port, timeout=60, cwd=tmp_path, subst=subst)
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:] + result.stderr[-1500:]
    assert running.wait_idle()["ports"] == 0
    (call,) = CallStore(redis_conn).recent()
    timeline = CallStore(redis_conn).timeline(call.id)
    heard = [e["data"]["text"] for e in timeline if e["kind"] == "heard"]
    assert heard[0] == "This call is recorded for training."
    done = [e["data"] for e in timeline if e["data"].get("type") == "recording_done"]
    assert len(done) == 1 and done[0]["url"].startswith(LOCAL_PREFIX) and done[0]["duration"] > 5
    path = running.server.recordings_dir / f"{done[0]['url'][len(LOCAL_PREFIX) :]}.wav"
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
        pcm = wav.readframes(wav.getnframes())
    seconds = [pcm[i : i + 16000] for i in range(0, len(pcm) - 15999, 16000)]
    assert max(tone_level(second, 1000) for second in seconds) > 0.5  # the caller's tone is in it
    spoken = [
        s for s in seconds if tone_level(s, 1000) < 0.1 and max(abs(x) for x in struct.unpack("<8000h", s)) > 2000
    ]
    assert spoken, "the prompts the caller heard are not in the recording"
    assert path.stat().st_mode & 0o777 == 0o600
