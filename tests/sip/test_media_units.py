"""Media building blocks on their own: pacing clock, G.711, DTMF receivers, prompt frames, port pool."""

from __future__ import annotations

import asyncio
import math
import random
import struct

from ivr.channels.sip.media import g711
from ivr.channels.sip.media.clock import PacingClock
from ivr.channels.sip.media.dtmf import GoertzelDetector, Rfc2833Receiver, parse_info_digit, tone_pcm
from ivr.channels.sip.media.ports import PortPool
from ivr.channels.sip.media.prompts import to_frames
from ivr.channels.sip.media.stream import RtpStream

from ..audioop_shim import audioop  # an independent G.711 reference
from .conftest import free_port_range


class FakeTime:
    """A clock whose sleeps overshoot like a busy event loop: 0-4 ms usually, sometimes a 45 ms stall."""

    def __init__(self, seed: int = 7) -> None:
        self.now = 1000.0
        self.rng = random.Random(seed)

    def time(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        overshoot = 0.045 if self.rng.random() < 0.01 else self.rng.uniform(0, 0.004)
        self.now += delay + overshoot


class TickLog:
    def __init__(self, fake: FakeTime) -> None:
        self.fake = fake
        self.times: list[float] = []

    def tick(self) -> None:
        self.times.append(self.fake.time())


def test_pacing_clock_has_no_drift_over_10000_ticks():
    fake = FakeTime()
    clock = PacingClock(0.020, now=fake.time, sleep=fake.sleep)
    log = TickLog(fake)
    clock.add(log)
    start = fake.time()
    asyncio.run(clock.run(max_ticks=10_000))
    assert len(log.times) == 10_000
    errors = [t - (start + (i + 1) * 0.020) for i, t in enumerate(log.times)]
    assert min(errors) >= -1e-9  # never early
    assert max(errors) < 0.050  # lateness stays bounded by the worst single stall...
    assert abs(sum(errors[-1000:]) / 1000) < 0.005  # ...and does not accumulate: the end is as punctual as the start
    assert clock.reanchors == 0


def test_pacing_clock_reanchors_after_a_long_stall_instead_of_bursting():
    fake = FakeTime()
    stalls = iter([0.0, 1.0])

    async def sleep(delay):
        fake.now += delay + next(stalls, 0.0)

    clock = PacingClock(0.020, now=fake.time, sleep=sleep)
    log = TickLog(fake)
    clock.add(log)
    asyncio.run(clock.run(max_ticks=20))
    assert clock.reanchors == 1 and len(log.times) == 20


def test_a_failing_stream_is_removed_and_the_others_keep_ticking():
    fake = FakeTime()
    clock = PacingClock(0.020, now=fake.time, sleep=fake.sleep)

    class Broken:
        def tick(self):
            raise RuntimeError("boom")

    good = TickLog(fake)
    clock.add(Broken())
    clock.add(good)
    asyncio.run(clock.run(max_ticks=5))
    assert len(good.times) == 5 and len(clock) == 1


def test_g711_matches_the_itu_reference_tables():
    samples = list(range(-32768, 32768, 7))
    pcm = struct.pack(f"<{len(samples)}h", *samples)
    assert g711.encode(pcm, g711.PCMU) == audioop.lin2ulaw(pcm, 2)
    assert g711.encode(pcm, g711.PCMA) == audioop.lin2alaw(pcm, 2)
    every = bytes(range(256))
    assert g711.decode(every, g711.PCMU) == audioop.ulaw2lin(every, 2)
    assert g711.decode(every, g711.PCMA) == audioop.alaw2lin(every, 2)


def test_pcma_is_real_a_law():
    silence = struct.pack("<4h", 0, 0, 0, 0)
    assert g711.encode(silence, g711.PCMA) == b"\xd5" * 4  # ITU A-law zero; mu-law would be 0xFF
    assert g711.encode(silence, g711.PCMU) == b"\xff" * 4
    assert g711.SILENCE_BYTE[g711.PCMA] == 0xD5


def test_rfc2833_digit_survives_a_lost_first_packet_and_events_above_15():
    got: list[str] = []
    rx = Rfc2833Receiver(got.append)
    rx.feed(1000, bytes([16, 0x0A, 0, 160]))  # flash (event 16): ignored, nothing breaks
    # Digit 5 whose first packet (marker) was lost: progress and 3 end packets arrive
    for duration, flags in ((320, 0x0A), (480, 0x8A), (480, 0x8A), (480, 0x8A)):
        rx.feed(2000, bytes([5, flags]) + duration.to_bytes(2, "big"))
    rx.feed(3000, bytes([11, 0x8A, 1, 0]))  # '#' from an end packet alone
    rx.feed(3000, bytes([11, 0x8A, 1, 0]))
    rx.feed(4000, b"\x01")  # truncated payload: ignored
    assert got == ["5", "#"]


def test_info_bodies():
    assert parse_info_digit("application/dtmf-relay", "Signal=7\r\nDuration=160\r\n") == "7"
    assert parse_info_digit("Application/DTMF-Relay; charset=x", "signal= #\r\n") == "#"
    assert parse_info_digit("application/dtmf", "11") == "#"
    assert parse_info_digit("application/dtmf-relay", "Signal=Z") is None
    assert parse_info_digit("text/plain", "Signal=1") is None


def test_goertzel_detects_each_digit_once_and_ignores_speechlike_audio():
    got: list[str] = []
    detector = GoertzelDetector(got.append)
    for digit in "0123456789*#ABCD":
        pcm = tone_pcm(digit, 0.1) + bytes(640)
        for i in range(0, len(pcm) - 319, 320):
            detector.feed(pcm[i : i + 320])
    assert "".join(got) == "0123456789*#ABCD"
    got.clear()
    rng = random.Random(1)
    sweep = struct.pack(
        "<8000h",
        *(int(9000 * math.sin(2 * math.pi * (300 + t / 4) * t / 8000) + rng.randint(-300, 300)) for t in range(8000)),
    )
    for i in range(0, len(sweep), 320):
        detector.feed(sweep[i : i + 320])
    assert got == []


def test_prompt_frames_are_20ms_and_padded_with_codec_silence():
    pcm = struct.pack("<200h", *([1000] * 200))
    frames = to_frames(pcm, g711.PCMA)
    assert [len(f) for f in frames] == [160, 160]
    assert frames[1][40:] == b"\xd5" * 120


def test_port_pool_releases_ports_and_closes_sockets():
    async def scenario():
        first, last = free_port_range(20)
        pool = PortPool("127.0.0.1", first, last)
        free_before = pool.free
        streams = [await pool.open(lambda: RtpStream(("127.0.0.1", 9), 0, 101, lambda d: None)) for _ in range(5)]
        assert len(pool.in_use) == 5 and all(s.local_port % 2 == 0 for s in streams)
        for stream in streams:
            pool.close(stream)
        await asyncio.sleep(0)
        assert pool.in_use == set() and pool.free == free_before
        assert all(s.transport is None for s in streams)
        # The same ports can be bound again at once: the sockets really were closed
        again = [await pool.open(lambda: RtpStream(("127.0.0.1", 9), 0, 101, lambda d: None)) for _ in range(5)]
        for stream in again:
            pool.close(stream)

    asyncio.run(scenario())


def test_rfc2833_same_digit_replayed_with_the_same_timestamp_counts_twice():
    got: list[str] = []
    rx = Rfc2833Receiver(got.append)
    press = [bytes([5, 0x0A, 0, 0]), bytes([5, 0x0A, 1, 0x40]), bytes([5, 0x8A, 8, 0xC0]), bytes([5, 0x8A, 8, 0xC0])]
    for _ in range(3):
        for packet in press:
            rx.feed(23200, packet)
    assert got == ["5", "5", "5"]


def test_buffers_are_bounded():
    """Queued prompts, type-ahead digits and recordings all have a ceiling."""
    from ivr.channels.sip.call import MAX_BUFFERED_DIGITS, SipCall
    from ivr.channels.sip.media.recorder import Recorder
    from ivr.channels.sip.media.stream import MAX_QUEUED_PROMPTS

    async def scenario(tmp):
        stream = RtpStream(("127.0.0.1", 9), 0, 101, lambda d: None)
        results = [stream.play((b"\xff" * 160,)) for _ in range(MAX_QUEUED_PROMPTS + 5)]
        assert [f.done() and f.result() is False for f in results].count(True) == 5  # refused, not queued
        stream.stop_playback()
        assert all(f.done() for f in results) and not stream.playing
        call = SipCall("c1", "a", "b", stream, None, tmp, None)
        for _ in range(MAX_BUFFERED_DIGITS * 3):
            call.on_digit("5")
        assert len(call.digits) == MAX_BUFFERED_DIGITS
        recorder = Recorder(tmp / "r.wav", max_length=0.2, silence_timeout=5)
        for _ in range(50):
            recorder.feed(struct.pack("<160h", *([3000] * 160)))
        assert recorder.finished.result() == "max-length" and recorder.close() == 0.2
        assert (tmp / "r.wav").stat().st_size == 44 + 10 * 320

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(Path(tmp)))
