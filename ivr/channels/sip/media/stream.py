"""One call's RTP stream: a UDP socket, paced sending from shared prompt frames, cheap receiving.

Sending: the shared PacingClock calls `tick()` every 20 ms; each tick sends exactly one packet,
either the next frame of the current prompt (frames are encoded once per prompt and shared by all
calls) or a precomputed silence frame, so the peer sees an unbroken 50 packets/s stream.

Receiving (stream_receive.py) does no per-packet allocation beyond what the packet needs: packets from any
address but the negotiated one (or the one latched from the very first packet) are counted and dropped, RTP
timestamps are never used to size anything, and audio is decoded only while something listens
(a recording, or the in-band DTMF detector for peers that did not offer telephone-event).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
import time
from collections import deque
from collections.abc import Callable

import pylibsrtp

from ..addresses import checked
from .codecs import Codec, resolve
from .dtmf import GoertzelDetector, Rfc2833Receiver
from .playback import Playback
from .sdes import SrtpKeys
from .stream_receive import RtpReceiver

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!BBHII")
MAX_QUEUED_PROMPTS = 16


class RtpStream(RtpReceiver, asyncio.DatagramProtocol):
    def __init__(
        self,
        remote: tuple[str, int],
        payload_type: int,
        dtmf_payload_type: int | None,
        on_digit: Callable[[str], None],
        *,
        inband_dtmf: bool = False,
        codec: Codec | None = None,
        srtp: SrtpKeys | None = None,
    ) -> None:
        self.remote = self.offered = remote  # offered: the SDP's address; remote: where we send (latched)
        self.payload_type = payload_type  # as negotiated: Opus has a dynamic number
        self.codec = codec or resolve(payload_type)
        self.dtmf_payload_type = dtmf_payload_type
        self.local_port = 0
        self.transport: asyncio.DatagramTransport | None = None
        self._sendto = None  # the socket's own sendto: the pacing clock's hot path skips asyncio's wrapper
        self._silence = self.codec.silence
        self._ts_step = self.codec.timestamp_step
        self._decode: Callable[[bytes], bytes] | None = None  # made on first use: most calls never decode
        self.srtp = srtp
        self._protect = srtp.protector() if srtp is not None else None
        self._unprotect = srtp.unprotector() if srtp is not None else None
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
        self.wide_sink: Callable[[bytes], None] | None = None  # 16 kHz PCM16 (a wideband recognizer), before sink
        self._decode_wide: Callable[[bytes], bytes] | None = None
        # a bridged transfer's relay (media/relay.py Forwarder): gets every packet after the address checks
        self.forward: Callable[[bytes, int, int], None] | None = None
        self.last_event_timestamp: int | None = None  # of the last RFC 2833 event heard (a whisper's accept key)
        self.tap: Callable[[int, bytes, int], None] | None = None  # a whole-call recording: (side, payload, type)
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
        self.sink = self.wide_sink = None
        self._sendto = None
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    # --- sending ---------------------------------------------------------------------------
    def play(self, frames: tuple[bytes, ...], heard: dict | None = None) -> asyncio.Future:
        """Queue a prompt; the future resolves True when it finished, False if it was stopped. `heard` (a dict)
        is stamped with the wall-clock times the caller's audio started and ended."""
        done = asyncio.get_running_loop().create_future()
        if not frames:
            done.set_result(True)
        elif len(self._queue) >= MAX_QUEUED_PROMPTS:
            done.set_result(False)  # bounded: a runaway flow cannot queue unbounded audio
        else:
            self._queue.append(Playback(frames, done, heard))
        return done

    def stop_playback(self) -> None:
        """Barge-in or hang-up: drop the current and queued prompts at once."""
        for playback in (self._current, *self._queue):
            if playback is not None and not playback.done.done():
                if playback.heard is not None and "started_at" in playback.heard:
                    playback.heard["ended_at"] = time.time()
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
            if current.index == 0:
                self._marker = 0x80  # a prompt starts a talkspurt (RFC 3550 5.1): a capture can find it
                if current.heard is not None:
                    current.heard["started_at"] = time.time()  # this tick sends the prompt's first packet
            current.index += 1
            if current.index >= len(current.frames):
                self._current = None
                if current.heard is not None:
                    current.heard["ended_at"] = time.time() + 0.020  # the end of its last 20 ms frame
                if not current.done.done():
                    current.done.set_result(True)
        else:
            payload = self._silence
        if self.tap is not None:
            self.tap(1, payload, self.payload_type)
        send = self._sendto
        if self.unconfirmed_ticks is not None:  # no ACK yet: a short window, then silence (RTP reflection)
            self.unconfirmed_ticks -= 1
            send = send if self.unconfirmed_ticks >= 0 else None
        if send is not None:
            packet = _HEADER.pack(0x80, self._marker | self.payload_type, self._seq, self._ts, self._ssrc) + payload
            try:
                send(packet if self._protect is None else self._protect(packet), self.remote)
                self.packets_sent += 1
            except (OSError, pylibsrtp.Error):  # a full socket buffer, an ICMP error: this packet is lost, not the call
                self.send_errors += 1
        self._marker = 0
        self._seq = (self._seq + 1) & 0xFFFF
        self._ts = (self._ts + self._ts_step) & 0xFFFFFFFF

    def use_codec(self, payload_type: int, dtmf_payload_type: int | None, codec: Codec | None = None) -> None:
        """An outbound call's answer chose the codec among those we offered (`codec`: for a dynamic type)."""
        self.payload_type, self.dtmf_payload_type = payload_type, dtmf_payload_type
        self.codec = codec or resolve(payload_type)
        self._silence, self._ts_step, self._decode = self.codec.silence, self.codec.timestamp_step, None
        self._decode_wide = None

    @property
    def next_timestamp(self) -> int:
        return self._ts

    def send_relayed(self, marker_and_type: int, timestamp: int, payload: bytes) -> bool:
        """A packet relayed from the other leg of a bridge: our SSRC and sequence, its (shifted) timestamp."""
        send = self._sendto
        if send is None:
            return False
        packet = _HEADER.pack(0x80, marker_and_type, self._seq, timestamp, self._ssrc) + payload
        try:  # an SRTP leg gets the relayed audio encrypted like our own (the other leg's keys never cross)
            send(packet if self._protect is None else self._protect(packet), self.remote)
        except (OSError, pylibsrtp.Error):
            self.send_errors += 1
            return False
        self.packets_sent += 1
        if self.tap is not None and marker_and_type & 0x7F == self.payload_type:
            self.tap(1, payload, self.payload_type)
        self._seq = (self._seq + 1) & 0xFFFF
        self._ts = (timestamp + self._ts_step) & 0xFFFFFFFF  # unbridged, the clock carries on from here
        return True

    def update_remote(self, remote: tuple[str, int]) -> None:
        """A re-INVITE moved the peer's media: follow it, keep our socket, sequence and timestamps.

        Raises BadAddress for an address sendto() would choke on (the tick sends to it 50 times a second)."""
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        self.remote = self.offered = checked(remote, sock.family if sock is not None else socket.AF_INET)
        self._latched = False
