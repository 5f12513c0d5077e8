"""One call's RTP stream: a UDP socket, paced sending from shared prompt frames, cheap receiving.

Sending: the shared PacingClock calls `tick()` every 20 ms; each tick sends exactly one packet,
either the next frame of the current prompt (frames are encoded once per prompt and shared by all
calls) or a precomputed silence frame, so the peer sees an unbroken 50 packets/s stream.

Receiving does no per-packet allocation beyond what the packet needs: packets from any address but
the negotiated one (or the one latched from the very first packet) are counted and dropped, RTP
timestamps are never used to size anything, and audio is decoded only while something listens
(a recording, or the in-band DTMF detector for peers that did not offer telephone-event).
"""
from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
from collections import deque
from collections.abc import Callable

from ..addresses import checked
from . import g711
from .dtmf import GoertzelDetector, Rfc2833Receiver

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!BBHII")
_TIMESTAMP = struct.Struct("!I")
MAX_QUEUED_PROMPTS = 16


class Playback:
    """A prompt being played on one stream; `done` resolves True when its last frame was sent."""

    __slots__ = ("frames", "index", "done")

    def __init__(self, frames: tuple[bytes, ...], done: asyncio.Future) -> None:
        self.frames = frames
        self.index = 0
        self.done = done


class RtpStream(asyncio.DatagramProtocol):
    def __init__(
        self,
        remote: tuple[str, int],
        payload_type: int,
        dtmf_payload_type: int | None,
        on_digit: Callable[[str], None],
        *,
        inband_dtmf: bool = False,
    ) -> None:
        self.remote = self.offered = remote  # offered: the SDP's address; remote: where we send (latched)
        self.payload_type = payload_type
        self.dtmf_payload_type = dtmf_payload_type
        self.local_port = 0
        self.transport: asyncio.DatagramTransport | None = None
        self._sendto = None  # the socket's own sendto: the pacing clock's hot path skips asyncio's wrapper
        self._silence = bytes([g711.SILENCE_BYTE[payload_type]]) * g711.SAMPLES_PER_FRAME
        self._ssrc = random.getrandbits(32)
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._marker = 0x80  # first packet of a talkspurt
        self._current: Playback | None = None
        self._queue: deque[Playback] = deque()
        self._rfc2833 = Rfc2833Receiver(on_digit)
        self._inband = GoertzelDetector(on_digit) if inband_dtmf else None
        self._latched = False
        self._peer_ssrc = b""
        self.unconfirmed_ticks: int | None = None  # set: frames we may still send before the dialog is ACKed
        self.sink: Callable[[bytes], None] | None = None  # PCM16 consumer (voicemail recorder)
        self.packets_sent = 0
        self.packets_received = 0
        self.foreign_packets = 0
        self.bad_packets = 0
        self.send_errors = 0

    # --- lifecycle -------------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.local_port = transport.get_extra_info("sockname")[1]

    def attach_socket(self, sock) -> None:
        self._sendto = sock.sendto

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.: keep going
        log.debug("RTP socket error on %s: %s", self.local_port, exc)

    def close(self) -> None:
        self.stop_playback()
        self.sink = None
        self._sendto = None
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    # --- sending ---------------------------------------------------------------------------
    def play(self, frames: tuple[bytes, ...]) -> asyncio.Future:
        """Queue a prompt; the future resolves True when it finished, False if it was stopped."""
        done = asyncio.get_running_loop().create_future()
        if not frames:
            done.set_result(True)
        elif len(self._queue) >= MAX_QUEUED_PROMPTS:
            done.set_result(False)  # bounded: a runaway flow cannot queue unbounded audio
        else:
            self._queue.append(Playback(frames, done))
        return done

    def stop_playback(self) -> None:
        """Barge-in or hang-up: drop the current and queued prompts at once."""
        for playback in (self._current, *self._queue):
            if playback is not None and not playback.done.done():
                playback.done.set_result(False)
        self._current = None
        self._queue.clear()

    @property
    def playing(self) -> bool:
        return self._current is not None or bool(self._queue)

    def tick(self) -> None:
        current = self._current
        if current is None and self._queue:
            current = self._current = self._queue.popleft()
        if current is not None:
            payload = current.frames[current.index]
            current.index += 1
            if current.index >= len(current.frames):
                self._current = None
                if not current.done.done():
                    current.done.set_result(True)
        else:
            payload = self._silence
        send = self._sendto
        if self.unconfirmed_ticks is not None:  # no ACK yet: a short window, then silence (RTP reflection)
            self.unconfirmed_ticks -= 1
            send = send if self.unconfirmed_ticks >= 0 else None
        if send is not None:
            try:
                send(_HEADER.pack(0x80, self._marker | self.payload_type, self._seq, self._ts, self._ssrc)
                     + payload, self.remote)
                self.packets_sent += 1
            except OSError:  # full socket buffer or ICMP error: this packet is lost, the stream goes on
                self.send_errors += 1
        self._marker = 0
        self._seq = (self._seq + 1) & 0xFFFF
        self._ts = (self._ts + g711.SAMPLES_PER_FRAME) & 0xFFFFFFFF

    def update_remote(self, remote: tuple[str, int]) -> None:
        """A re-INVITE moved the peer's media: follow it, keep our socket, sequence and timestamps.

        Raises BadAddress for an address sendto() would choke on (the tick sends to it 50 times a second)."""
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        self.remote = self.offered = checked(remote, sock.family if sock is not None else socket.AF_INET)
        self._latched = False

    # --- receiving -------------------------------------------------------------------------
    def _may_latch(self, source: tuple[str, int], payload_type: int) -> bool:
        """Symmetric RTP: the SDP's address always wins; before any latch, the first source sending one of our
        payload types (a NATed peer sends from elsewhere) is latched to, with its SSRC; after that, anyone else
        is ignored. (A NAT rebinding mid-call is not followed: the SSRC alone is too easy to guess.)"""
        if source == self.offered:
            return True
        return not self._latched and payload_type in (self.payload_type, self.dtmf_payload_type)
    def datagram_received(self, data: bytes, addr) -> None:
        if len(data) < 12 or data[0] >> 6 != 2:
            self.bad_packets += 1
            return
        source, ssrc = (addr[0], addr[1]), data[8:12]
        if source != self.remote or not self._latched:
            if not self._may_latch(source, data[1] & 0x7F):
                self.foreign_packets += 1  # RTP hijacking, or junk: never heard, never answered
                return
            self.remote, self._latched, self._peer_ssrc = source, True, ssrc
        self.packets_received += 1
        payload_type = data[1] & 0x7F
        offset = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10 and len(data) >= offset + 4:  # header extension
            offset += 4 + 4 * int.from_bytes(data[offset + 2:offset + 4], "big")
        if payload_type == self.dtmf_payload_type:
            self._rfc2833.feed(_TIMESTAMP.unpack_from(data, 4)[0], data[offset:offset + 4])
        elif payload_type == self.payload_type and (self.sink is not None or self._inband is not None):
            pcm = g711.decode(data[offset:offset + 4 * g711.SAMPLES_PER_FRAME], payload_type)
            if self._inband is not None:
                self._inband.feed(pcm)
            if self.sink is not None:
                self.sink(pcm)
