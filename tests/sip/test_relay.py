"""The bridge's media relay on real UDP sockets over loopback: two RtpStreams (the IVR's two legs) and two raw
sockets as the caller's and the owner's phones. Checked by content: the audio each phone sends arrives at the
other, decoded by an independent G.711 decoder (audioop); PCMU on one leg and PCMA on the other; RFC 2833 events
re-typed to the other leg's telephone-event payload type with their timestamps intact; our SSRC and sequence."""

from __future__ import annotations

import asyncio
import math
import socket
import struct

import pytest

from ivr.channels.sip.media import g711
from ivr.channels.sip.media.clock import PacingClock
from ivr.channels.sip.media.ports import PortPool
from ivr.channels.sip.media.relay import TRANSCODE, MediaBridge
from ivr.channels.sip.media.stream import RtpStream

from ..audioop_shim import audioop

HEADER = struct.Struct("!BBHII")


def phone() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def tone(frequency: float, frames: int) -> bytes:
    samples = [int(9000 * math.sin(2 * math.pi * frequency * n / 8000)) for n in range(160 * frames)]
    return struct.pack(f"<{len(samples)}h", *samples)


def packets(pcm: bytes, payload_type: int, ssrc: int, first_ts: int = 1000) -> list[bytes]:
    law = audioop.lin2ulaw if payload_type == g711.PCMU else audioop.lin2alaw
    encoded = law(pcm, 2)
    return [
        HEADER.pack(0x80, payload_type, seq, first_ts + 160 * seq, ssrc) + encoded[i : i + 160]
        for seq, i in enumerate(range(0, len(encoded), 160))
    ]


async def receive(sock: socket.socket, count: int, timeout: float = 10.0) -> list[bytes]:
    loop, got = asyncio.get_running_loop(), []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            got.append(await loop.sock_recv(sock, 2048))
    return got


def _normalised(a: bytes, b: bytes) -> float:
    n = min(len(a), len(b)) // 2
    x, y = struct.unpack(f"<{n}h", a[: 2 * n]), struct.unpack(f"<{n}h", b[: 2 * n])
    dot = sum(p * q for p, q in zip(x, y))
    return dot / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y))


class Legs:
    """The IVR's two streams, each facing one phone; PCMU/101 towards the caller, `owner_type`/96 to the owner."""

    def __init__(self, owner_type: int, owner_dtmf: int | None = 96):
        self.caller, self.owner = phone(), phone()
        self.owner_type, self.owner_dtmf = owner_type, owner_dtmf

    async def open(self):
        pool = PortPool("127.0.0.1", 40000 + (id(self) % 500) * 20, 60000)
        self.pool = pool
        self.to_caller = await pool.open(lambda: RtpStream(self.caller.getsockname(), g711.PCMU, 101, lambda d: None))
        self.to_owner = await pool.open(
            lambda: RtpStream(self.owner.getsockname(), self.owner_type, self.owner_dtmf, lambda d: None)
        )
        return self

    def close(self):
        for stream in (self.to_caller, self.to_owner):
            self.pool.close(stream)
        self.caller.close()
        self.owner.close()


def media_of(packet: bytes) -> tuple[int, int, int, int, bytes]:
    first, second, seq, ts, ssrc = HEADER.unpack_from(packet)
    return second & 0x7F, seq, ts, ssrc, packet[12:]


@pytest.mark.parametrize("owner_type", [g711.PCMU, g711.PCMA], ids=["PCMU-PCMU", "PCMU-PCMA"])
def test_audio_goes_both_ways_with_transcoding(owner_type):
    async def scenario():
        legs = await Legs(owner_type).open()
        bridge = MediaBridge(legs.to_caller, legs.to_owner)
        bridge.start()
        caller_voice, owner_voice = tone(440, 25), tone(1100, 25)
        for packet in packets(caller_voice, g711.PCMU, 0x1111):
            legs.caller.sendto(packet, ("127.0.0.1", legs.to_caller.local_port))
        at_owner = await receive(legs.owner, 25)
        for packet in packets(owner_voice, owner_type, 0x2222):
            legs.owner.sendto(packet, ("127.0.0.1", legs.to_owner.local_port))
        at_caller = await receive(legs.caller, 25)
        legs.close()
        return at_owner, at_caller, bridge

    at_owner, at_caller, bridge = asyncio.run(scenario())
    decode_owner = audioop.ulaw2lin if owner_type == g711.PCMU else audioop.alaw2lin
    heard_by_owner = b"".join(decode_owner(media_of(p)[4], 2) for p in at_owner)
    heard_by_caller = b"".join(audioop.ulaw2lin(media_of(p)[4], 2) for p in at_caller)
    assert _normalised(heard_by_owner, tone(440, 25)) > 0.99
    assert _normalised(heard_by_caller, tone(1100, 25)) > 0.99
    assert _normalised(heard_by_owner, tone(1100, 25)) < 0.2  # not its own voice echoed
    types = {media_of(p)[0] for p in at_owner}
    assert types == {owner_type}
    seqs = [media_of(p)[1] for p in at_owner]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:]))
    assert {media_of(p)[3] for p in at_owner} != {0x1111}  # the owner sees our SSRC, not the caller's
    assert bridge.packets == (25, 25)


def test_rfc2833_is_retyped_and_keeps_its_timestamp():
    async def scenario():
        legs = await Legs(g711.PCMA, owner_dtmf=96).open()
        MediaBridge(legs.to_caller, legs.to_owner).start()
        press = [
            HEADER.pack(0x80, (0x80 if i == 0 else 0) | 101, 50 + i, 8000, 0x3333)
            + bytes([5, 0x80 if i >= 3 else 0x0A])
            + (160 * (i + 1)).to_bytes(2, "big")
            for i in range(5)
        ]
        for packet in press:
            legs.caller.sendto(packet, ("127.0.0.1", legs.to_caller.local_port))
        got = await receive(legs.owner, 5)
        legs.close()
        return got

    got = asyncio.run(scenario())
    assert {media_of(p)[0] for p in got} == {96}
    assert len({media_of(p)[2] for p in got}) == 1  # one event: one timestamp, end to end
    assert [p[12] for p in got] == [5] * 5 and got[0][1] & 0x80  # digit 5, marker kept
    assert [bool(p[13] & 0x80) for p in got] == [False] * 3 + [True] * 2


def test_an_event_the_other_leg_did_not_offer_is_dropped_not_sent_as_audio():
    async def scenario():
        legs = await Legs(g711.PCMU, owner_dtmf=None).open()
        bridge = MediaBridge(legs.to_caller, legs.to_owner)
        bridge.start()
        event = HEADER.pack(0x80, 101, 1, 8000, 1) + bytes([1, 0x0A, 0, 160])
        audio = packets(tone(440, 1), g711.PCMU, 1)[0]
        for packet in (event, audio):
            legs.caller.sendto(packet, ("127.0.0.1", legs.to_caller.local_port))
        got = await receive(legs.owner, 1)
        await asyncio.sleep(0)
        legs.close()
        return got, bridge

    got, bridge = asyncio.run(scenario())
    assert media_of(got[0])[0] == g711.PCMU and bridge.forwarders[0].dropped == 1


def test_stopping_the_bridge_gives_the_streams_back_to_the_clock():
    async def scenario():
        legs = await Legs(g711.PCMU).open()
        clock = PacingClock()
        clock.add(legs.to_caller)
        clock.add(legs.to_owner)
        bridge = MediaBridge(legs.to_caller, legs.to_owner, clock)
        bridge.start()
        during = len(clock)
        legs.pool.close(legs.to_owner)  # the owner hung up: its stream is closed
        bridge.stop()
        after = len(clock)
        legs.pool.close(legs.to_caller)
        legs.caller.close()
        legs.owner.close()
        return during, after, legs.to_caller.forward

    assert asyncio.run(scenario()) == (0, 1, None)


def test_transcoding_tables_agree_with_an_independent_g711():
    for byte in range(256):
        sample = audioop.ulaw2lin(bytes([byte]), 2)
        assert TRANSCODE[(g711.PCMU, g711.PCMA)][byte] == audioop.lin2alaw(sample, 2)[0]
        sample = audioop.alaw2lin(bytes([byte]), 2)
        assert TRANSCODE[(g711.PCMA, g711.PCMU)][byte] == audioop.lin2ulaw(sample, 2)[0]


def test_ringback_loops_the_tone_until_stopped_then_the_caller_hears_silence():
    from ivr.channels.sip.media.ringback import Ringback, music_frames, tone_frames

    async def scenario():
        legs = await Legs(g711.PCMU).open()
        clock = PacingClock()
        clock.add(legs.to_caller)
        frames = tone_frames(g711.PCMU)[:3] + (b"\xff" * 160,)  # a short cycle, so it must loop to be heard twice
        ringing = Ringback(legs.to_caller, frames)
        ringing.start()
        clock.start()
        heard = await receive(legs.caller, 10)
        ringing.stop()
        await receive(legs.caller, 2)  # anything already in flight
        after = await receive(legs.caller, 5)
        await clock.stop()
        legs.close()
        return heard, after, frames

    heard, after, frames = asyncio.run(scenario())
    payloads = [media_of(p)[4] for p in heard]
    first = payloads.index(frames[0])
    assert payloads[first : first + 8] == list(frames) * 2  # looped
    assert all(media_of(p)[4] == b"\xff" * 160 for p in after)
    assert len(music_frames(g711.PCMA)) == 6 * 20 and len(tone_frames(g711.PCMA)) == 250


def test_the_rest_of_the_accept_key_press_is_not_relayed_to_the_caller():
    """The owner's accept key starts the bridge after its first packet; the press's later packets (same timestamp)
    must not reach the caller as a stray key, while the owner's next press does."""

    async def scenario():
        legs = await Legs(g711.PCMU, owner_dtmf=96).open()
        press = [
            HEADER.pack(0x80, 96, 70 + i, 4000, 7)
            + bytes([1, 0x8A if i >= 2 else 0x0A])
            + (160 * (i + 1)).to_bytes(2, "big")
            for i in range(5)
        ]
        heard = asyncio.get_running_loop().create_future()
        legs.to_owner._rfc2833._on_digit = lambda digit: heard.done() or heard.set_result(digit)
        legs.owner.sendto(press[0], ("127.0.0.1", legs.to_owner.local_port))
        assert await asyncio.wait_for(heard, 5) == "1"
        MediaBridge(legs.to_caller, legs.to_owner).start()
        nxt = HEADER.pack(0x80, 96, 80, 9000, 7) + bytes([7, 0x0A, 0, 160])
        for packet in press[1:] + [nxt]:
            legs.owner.sendto(packet, ("127.0.0.1", legs.to_owner.local_port))
        got = await receive(legs.caller, 1)
        legs.close()
        return got

    got = asyncio.run(scenario())
    assert media_of(got[0])[0] == 101 and got[0][12] == 7  # the first thing the caller gets is the next press
