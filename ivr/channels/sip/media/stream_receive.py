"""The receiving half of an RTP stream (RtpStream's base): address checks, SRTP, then one place per payload.

Packets from any address but the negotiated one (or the one latched from the very first packet) are counted and
dropped. An accepted packet goes to the bridge's relay when one is installed, else RFC 2833 events to the digit
receiver and audio (decoded only while something listens) to the recorder/speech sink and in-band DTMF detector;
while a wideband recognizer listens to a G.722 or Opus call, also decoded at 16 kHz for it (`wide_sink`, first).
A whole-call recording's `tap` hears the audio in either case.
"""

from __future__ import annotations

import struct

import pylibsrtp

_TIMESTAMP = struct.Struct("!I")
MAX_PAYLOAD = 1500  # never decode more than one packet's worth, whatever the header claims


class RtpReceiver:
    def _may_latch(self, source: tuple[str, int], payload_type: int) -> bool:
        """Symmetric RTP: the SDP's address always wins; before any latch, the first source sending one of our
        payload types (a NATed peer sends from elsewhere) is latched to, with its SSRC; after that, anyone else
        is ignored. (A NAT rebinding mid-call is not followed: the SSRC alone is too easy to guess.)"""
        if source == self.offered:
            return True
        return not self._latched and payload_type in (self.payload_type, self.dtmf_payload_type)

    def datagram_received(self, data: bytes, addr) -> None:
        if self._unprotect is not None:  # authenticate first: a forged packet must not move or latch the stream
            try:
                data = self._unprotect(data)
            except pylibsrtp.Error:
                self.bad_packets += 1
                return
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
            offset += 4 + 4 * int.from_bytes(data[offset + 2 : offset + 4], "big")
        if self.tap is not None and payload_type == self.payload_type:
            self.tap(0, data[offset:], payload_type)
        if self.forward is not None:
            self.forward(data, offset, payload_type)
        elif payload_type == self.dtmf_payload_type:
            self.last_event_timestamp = _TIMESTAMP.unpack_from(data, 4)[0]
            self._rfc2833.feed(self.last_event_timestamp, data[offset : offset + 4])
        elif payload_type == self.payload_type and (self.sink is not None or self._inband is not None):
            if self._decode is None:
                self._decode = self.codec.new_decoder()
            try:
                pcm = self._decode(data[offset : offset + MAX_PAYLOAD])
            except Exception:  # a corrupt Opus/G.722 packet: count it, keep the call
                self.bad_packets += 1
                return
            if self.wide_sink is not None and self.codec.new_wide_decoder is not None:
                self._feed_wide(self.wide_sink, data[offset : offset + MAX_PAYLOAD])
            if self._inband is not None:
                self._inband.feed(pcm)
            if self.sink is not None:
                self.sink(pcm)

    def _feed_wide(self, sink, payload: bytes) -> None:
        if self._decode_wide is None:
            self._decode_wide = self.codec.new_wide_decoder()  # type: ignore[misc]  # the caller checked
        try:
            wide = self._decode_wide(payload)
        except Exception:  # a packet the 8 kHz decoder took: this frame has no wide copy (the utterance goes at 8 kHz)
            return
        sink(wide)
