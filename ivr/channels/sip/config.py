"""Configuration of the SIP channel, built from the one Settings object (`SipConfig.from_settings`)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from ivr.settings import Settings

# SipConfig field -> the Settings field it comes from (and takes its default from)
FROM_SETTINGS = {
    "host": "sip_host",
    "port": "sip_port",
    "public_host": "sip_public_host",
    "rtp_port_min": "sip_rtp_port_min",
    "rtp_port_max": "sip_rtp_port_max",
    "max_calls": "sip_max_calls",
    "no_ack_timeout": "sip_no_ack_timeout",
    "no_rtp_timeout": "sip_no_rtp_timeout",
    "registrar": "sip_registrar",
    "user": "sip_user",
    "password": "sip_password",
    "register_expiry": "sip_register_expiry",
    "data_dir": "data_dir",
    "codecs": "sip_codecs",
    "opus_bitrate": "sip_opus_bitrate",
    "srtp": "sip_srtp",
    "srtp_by_source": "sip_srtp_by_source",
    "tcp": "sip_tcp",
    "tls_port": "sip_tls_port",
    "tls_cert": "sip_tls_cert",
    "tls_key": "sip_tls_key",
    "trusted": "sip_trusted",
    "trusted_proxies": "sip_trusted_proxies",
    "public_route": "sip_public_route",
    "realm": "sip_realm",
    "digest_algorithms": "sip_digest_algorithms",
    "pike_requests": "sip_pike_requests",
    "pike_dialogs": "sip_pike_dialogs",
    "pike_window": "sip_pike_window",
    "pike_block_seconds": "sip_pike_block_seconds",
    "tts_engine": "tts_engine",
}


@dataclass(frozen=True)
class SipConfig:
    host: str = Settings.sip_host
    port: int = Settings.sip_port
    public_host: str = Settings.sip_public_host
    rtp_port_min: int = Settings.sip_rtp_port_min
    rtp_port_max: int = Settings.sip_rtp_port_max
    max_calls: int = Settings.sip_max_calls
    no_ack_timeout: float = Settings.sip_no_ack_timeout
    no_rtp_timeout: float = Settings.sip_no_rtp_timeout
    answer_delay: float = 0.0  # ring this long before answering (tests of CANCEL use it)
    registrar: str = Settings.sip_registrar  # "host[:port]" of a PBX/trunk to REGISTER with; empty: plain endpoint
    user: str = Settings.sip_user
    password: str = Settings.sip_password
    register_expiry: int = Settings.sip_register_expiry
    data_dir: Path = Settings.data_dir
    audio_root: Path | None = None
    codecs: tuple[str, ...] = Settings.sip_codecs  # media/codecs.py names, our offer order
    opus_bitrate: int = Settings.sip_opus_bitrate
    srtp: str = Settings.sip_srtp  # "off" | "optional" | "required" (media/sdes.py)
    srtp_by_source: tuple[str, ...] = Settings.sip_srtp_by_source  # "CIDR=policy" (edge/srtp_rules.py)
    tcp: bool = Settings.sip_tcp
    tls_port: int = Settings.sip_tls_port
    tls_cert: str = Settings.sip_tls_cert
    tls_key: str = Settings.sip_tls_key
    trusted: tuple[str, ...] = Settings.sip_trusted
    trusted_proxies: tuple[str, ...] = Settings.sip_trusted_proxies
    public_route: str = Settings.sip_public_route
    realm: str = Settings.sip_realm
    digest_algorithms: tuple[str, ...] = Settings.sip_digest_algorithms
    pike_requests: int = Settings.sip_pike_requests
    pike_dialogs: int = Settings.sip_pike_dialogs
    pike_window: float = Settings.sip_pike_window
    pike_block_seconds: float = Settings.sip_pike_block_seconds
    tts_engine: str = Settings.tts_engine  # "espeak" | "piper" (ivr/channels/prompt_audio.py)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> SipConfig:
        values = {name: getattr(settings, setting) for name, setting in FROM_SETTINGS.items()}
        values.update(data_dir=Path(settings.data_dir), audio_root=Path(settings.flows_dir))
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
