"""Write RTP packets into a pcap file SIPp can replay with play_pcap_audio (used for in-band DTMF)."""

from __future__ import annotations

import struct
from pathlib import Path


def write_rtp_pcap(path: Path, payloads: list[bytes], payload_type: int, ptime: float = 0.02) -> Path:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # Ethernet link type
    for i, payload in enumerate(payloads):
        rtp = struct.pack("!BBHII", 0x80, payload_type, 1000 + i, 160 * i, 0xC0FFEE) + payload
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
        ip = (
            struct.pack(
                "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0, bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])
            )
            + udp
        )
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        seconds = i * ptime
        out.append(struct.pack("<IIII", int(seconds), int(seconds % 1 * 1e6), len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return path
