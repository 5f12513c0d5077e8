"""Configuration of the SIP channel, built from the one Settings object (`SipConfig.from_settings`)."""
from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SipConfig:
    host: str = "127.0.0.1"
    port: int = 5060
    public_host: str = ""
    rtp_port_min: int = 20000
    rtp_port_max: int = 30000
    max_calls: int = 500
    no_ack_timeout: float = 32.0
    no_rtp_timeout: float = 30.0
    answer_delay: float = 0.0  # ring this long before answering (tests of CANCEL use it)
    registrar: str = ""  # "host[:port]" of a PBX/trunk to REGISTER with; empty: plain endpoint
    user: str = ""
    password: str = ""
    register_expiry: int = 300
    data_dir: Path = Path("var")
    audio_root: Path | None = None

    @classmethod
    def from_settings(cls, settings, **overrides) -> "SipConfig":
        values = dict(
            host=settings.sip_host, port=settings.sip_port, public_host=settings.sip_public_host,
            rtp_port_min=settings.sip_rtp_port_min, rtp_port_max=settings.sip_rtp_port_max,
            max_calls=settings.sip_max_calls, no_ack_timeout=settings.sip_no_ack_timeout,
            no_rtp_timeout=settings.sip_no_rtp_timeout, data_dir=Path(settings.data_dir),
            registrar=settings.sip_registrar, user=settings.sip_user, password=settings.sip_password,
            register_expiry=settings.sip_register_expiry,
            audio_root=Path(settings.flows_dir),
        )
        values.update(overrides)
        return cls(**values)



def primary_ip() -> str:
    """The address of the interface with the default route (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
            return sock.getsockname()[0]
        except OSError:
            return "127.0.0.1"
