"""The media side of a bridged transfer: RTP relayed both ways between two calls' streams.

Each direction is a `Forwarder` installed on the receiving stream: a packet from the caller's peer goes out at
once from the owner's stream, to the owner's peer, under the owner stream's own SSRC and sequence numbers (the
peers never see each other's), with the timestamps shifted into the owner stream's timeline. PCMU <-> PCMA is
transcoded with one 256-byte table (`bytes.translate`, C speed); G.722 or Opus on both legs (legs.py offers a
wideband caller's codec alone) passes through untouched, under the other leg's payload type; RFC 2833 events go
out with the other leg's negotiated telephone-event payload type and keep their timestamps, so a key press stays
one event end to end.
While bridged, the two streams are off the pacing clock: the peers' own packets set the pace.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import g711

if TYPE_CHECKING:
    from .clock import PacingClock
    from .stream import RtpStream

_TIMESTAMP = struct.Struct("!I")
_MASK32 = 0xFFFFFFFF


def _transcode_table(source: int, target: int) -> bytes:
    """One G.711 byte in `source` law -> the nearest byte in `target` law (identity when they agree)."""
    if source == target:
        return bytes(range(256))
    pcm = g711.decode(bytes(range(256)), source)
    return g711.encode(pcm, target)


TRANSCODE = {(s, t): _transcode_table(s, t) for s in (g711.PCMU, g711.PCMA) for t in (g711.PCMU, g711.PCMA)}


def _table_between(source: RtpStream, target: RtpStream) -> bytes | None:
    """The G.711 transcoding table, or None to pass the payload through (the same codec on both legs)."""
    if source.codec.name == target.codec.name and source.codec.name not in ("PCMU", "PCMA"):
        return None
    try:
        return TRANSCODE[(source.codec.payload_type, target.codec.payload_type)]
    except KeyError:
        raise ValueError(f"cannot relay {source.codec.name} to {target.codec.name}") from None


class Forwarder:
    """Installed as `source.forward`: relays each packet `source` receives out of `target`."""

    __slots__ = ("source", "target", "_table", "_ts_shift", "forwarded", "dropped", "dtmf_forwarded", "first_at", "tap")

    def __init__(self, source: RtpStream, target: RtpStream) -> None:
        self.source = source
        self.target = target
        self._table = _table_between(source, target)
        self._ts_shift: int | None = None  # set from the first packet: its timestamp lands on target's next one
        self.forwarded = 0
        self.dtmf_forwarded = 0
        self.dropped = 0  # payload types the other leg cannot take (an event type it did not offer, comfort noise)
        self.first_at: float | None = None  # monotonic time of the first packet relayed (the benchmark's latency)
        self.tap: Callable[[bytes, int], None] | None = None  # the recording: (payload, its payload type)

    def __call__(self, data: bytes, offset: int, payload_type: int) -> None:
        if payload_type == self.source.payload_type:
            payload = data[offset:] if self._table is None else data[offset:].translate(self._table)
            out_type = self.target.payload_type
            if self.tap is not None:
                self.tap(payload, out_type)
        elif payload_type == self.source.dtmf_payload_type and self.target.dtmf_payload_type is not None:
            if _TIMESTAMP.unpack_from(data, 4)[0] == self.source.last_event_timestamp:
                self.dropped += 1  # the rest of the key press heard before the bridge (the accept key): ours
                return
            out_type, payload = self.target.dtmf_payload_type, data[offset : offset + 4]
            self.dtmf_forwarded += 1
        else:
            self.dropped += 1
            return
        timestamp = _TIMESTAMP.unpack_from(data, 4)[0]
        if self._ts_shift is None:
            self._ts_shift = (self.target.next_timestamp - timestamp) & _MASK32
        if self.target.send_relayed((data[1] & 0x80) | out_type, (timestamp + self._ts_shift) & _MASK32, payload):
            self.forwarded += 1
            if self.first_at is None:
                self.first_at = time.monotonic()


class MediaBridge:
    """Two streams relaying to each other; `start` takes them off the pacing clock, `stop` gives them back."""

    def __init__(self, first: RtpStream, second: RtpStream, clock: PacingClock | None = None) -> None:
        self.first, self.second, self.clock = first, second, clock
        self.forwarders = (Forwarder(first, second), Forwarder(second, first))
        self.active = False

    def record(self, feed: Callable[[int, bytes, int], None]) -> None:
        """Hand every relayed audio payload to `feed(side, payload, payload_type)` (media/mixer.py)."""
        for side, forwarder in enumerate(self.forwarders):
            forwarder.tap = lambda payload, payload_type, side=side: feed(side, payload, payload_type)

    def start(self) -> None:
        for stream, forwarder in zip((self.first, self.second), self.forwarders):
            stream.stop_playback()  # the ringback (or the whisper) ends as the audio starts
            stream.forward = forwarder
            if self.clock is not None:
                self.clock.remove(stream)
        self.active = True

    def stop(self) -> None:
        """Unbridge (either leg hung up): a stream still in use goes back to the clock and to silence."""
        for stream in (self.first, self.second):
            stream.forward = None
            if self.clock is not None and stream.transport is not None:
                self.clock.add(stream)
        self.active = False

    @property
    def packets(self) -> tuple[int, int]:
        """Packets relayed first -> second and second -> first."""
        return self.forwarders[0].forwarded, self.forwarders[1].forwarded
