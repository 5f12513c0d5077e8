"""What each setting is for: `HELP`, one line per Settings field, and the features that need it.

`describe()` joins it with each field's environment variable, type and default: docs/settings.md is generated
from it (doc.py), the admin's Settings page and set-up check read it, and capabilities.py decides from it which
follow-ups and channels can work.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .model import Settings

# Features a setting can be needed by (capabilities(settings) in capabilities.py checks them).
FEATURES = ("email", "sms", "chat", "webhook", "callback", "twilio", "sip", "web")

# name -> (help text, features that cannot work while the setting is empty). One line per Settings field.
HELP: dict[str, tuple[str, tuple[str, ...]]] = {
    "data_dir": ("Where the spool, recordings, prompt audio cache and the embedded Redis keep their files.", ()),
    "flows_dir": ("The folder of flow files (*.yaml) and flows/routes.yaml.", ()),
    "default_flow": ("The flow id a call runs when neither --flow nor the routing table names one.", ()),
    "redis_url": (
        "Redis to use, e.g. redis://localhost:6379/0; empty: `ivr run` starts an embedded redis-server "
        "in the data folder.",
        (),
    ),
    "redis_timeout": (
        "Seconds a call turn or webhook waits on Redis (connect and each reply) before the spool or "
        "fallback takes over.",
        (),
    ),
    "web_host": ("The address the web app (webhooks, admin, REST API) listens on.", ("web",)),
    "web_port": ("The port the web app listens on.", ("web",)),
    "public_base_url": (
        "The public https address of the web app, e.g. https://ivr.example.com: used for Twilio "
        "signatures behind proxies and in links sent to callers.",
        ("chat",),
    ),
    "proxy_fix": ("How many trusted proxies in front of the web app set X-Forwarded-* headers.", ()),
    "secret_key": ("Flask's session secret; required in production (development makes one in the data folder).", ()),
    "environment": ("`development` or `production`; production refuses to start without the secrets.", ()),
    "admin_password": ("The first admin's password, used once to create the account.", ()),
    "max_request_bytes": ("The largest request body the web app accepts, in bytes.", ("web",)),
    "metrics_token": ("/metrics also answers `Authorization: Bearer <this>` (a Prometheus scraper).", ()),
    "metrics_bind": ("host:port: /metrics is served there without login, and no longer on the main address.", ()),
    "twilio_account_sid": ("Twilio account SID, for sending SMS and placing calls.", ("sms", "chat", "callback")),
    "twilio_auth_token": (
        "Twilio auth token: checks webhook signatures and authenticates REST calls.",
        ("twilio", "sms", "chat", "callback"),
    ),
    "twilio_from_number": ("The Twilio number texts and callbacks come from (E.164).", ("sms", "chat", "callback")),
    "twilio_api_base_url": ("Another host for Twilio's REST API (tests point it at a local fake).", ()),
    "twilio_prompt_mode": ("`say` (Twilio's <Say>) or `play` (<Play> of our own espeak-ng audio).", ()),
    "smtp_host": ("The SMTP server that sends follow-up emails.", ("email",)),
    "smtp_port": ("The SMTP server's port.", ("email",)),
    "smtp_username": ("SMTP login name (empty: no login).", ()),
    "smtp_password": ("SMTP password.", ()),
    "smtp_security": ("`none`, `starttls` or `ssl`.", ()),
    "smtp_from": ("The From address of follow-up emails.", ("email",)),
    "sip_host": ("The address `ivr sip` listens on.", ("sip",)),
    "sip_port": ("The SIP port `ivr sip` listens on (UDP and TCP).", ("sip",)),
    "sip_public_host": ("The address put in SDP and Contact headers when it differs from sip_host (NAT).", ()),
    "sip_rtp_port_min": ("The lowest RTP port for call audio.", ()),
    "sip_rtp_port_max": ("The highest RTP port for call audio.", ()),
    "sip_max_calls": ("Calls `ivr sip` takes at once; more get 486 Busy Here.", ()),
    "sip_registrar": ("A SIP registrar to register with (empty: none, calls come straight in).", ()),
    "sip_user": ("The user name to register as.", ()),
    "sip_password": ("The password to register with.", ()),
    "sip_register_expiry": ("Seconds a registration lasts before it is renewed.", ()),
    "sip_no_rtp_timeout": ("Seconds without caller audio before a call is ended.", ()),
    "sip_no_ack_timeout": ("Seconds to wait for the ACK of an answered INVITE.", ()),
    "sip_drain_seconds": ("On SIGTERM: refuse new calls, wait this long at most for live ones to end.", ()),
    "webhook_secret": (
        "The HMAC secret that signs webhooks and http step requests (X-IVR-Signature); webhooks "
        "are refused without it.",
        ("webhook",),
    ),
    "callback_max_attempts": ("How many times a callback is dialled before it is given up.", ()),
    "callback_retry_spacing": ("Seconds between callback attempts.", ()),
    "default_region": ("ISO 3166 country for numbers in flows without `country:`.", ()),
    "callback_regions": ("Comma-separated ISO countries callbacks and SMS may go to; empty: the flow's country.", ()),
    "callback_rate_limit_per_day": ("Callback requests per number per day.", ()),
    "callback_global_rate_limit_per_day": ("Callback requests per day, all numbers together.", ()),
    "sms_rate_limit_per_day": ("Texts per number per day (SMS and chat links).", ()),
    "sms_global_rate_limit_per_day": ("Texts per day, all numbers together.", ()),
    "callback_channel": ("How callbacks are dialled: `twilio` or `sip`.", ()),
    "chat_link_ttl": ("Seconds a chat link sent by SMS stays valid.", ()),
    "http_allowlist": (
        "Comma-separated URL prefixes the http step and iCalendar holiday feeds may fetch; empty: "
        "any public address. Private and loopback addresses are refused unless a prefix names them.",
        (),
    ),
    "max_steps_per_call": ("Steps one call may run before it is ended politely (a runaway-flow guard).", ()),
    "fallback_message": ("What callers hear when the flow cannot run at all: keep the key information in it.", ()),
    "fallback_sms": ("What texters read when the flow cannot run at all.", ()),
    "redis_sentinels": (
        "host:port list of Redis Sentinels; set, it finds the master itself (REDIS_URL is then "
        "not used) and follows a failover (docs/deploy.md).",
        (),
    ),
    "redis_sentinel_master": ("The master's name the sentinels monitor.", ()),
    "redis_wait_ms": (
        "Milliseconds each call-record and follow-up write waits for a replica (WAIT 1); an "
        "unconfirmed write stays in the spool until one has it. 0: no waiting.",
        (),
    ),
    "handover_link_hours": (
        "Hours the signed, read-only timeline link given to the owner of a bridged transfer stays valid.",
        (),
    ),
    "sip_codecs": ("Codecs offered and accepted, in order of preference: pcmu, pcma, g722, opus.", ()),
    "sip_opus_bitrate": (
        "Bit/s the Opus encoder aims at: 8000-12000 for poor links, 24000 and up for fuller audio.",
        (),
    ),
    "sip_srtp": (
        "SRTP with SDES keys: off, optional (used when the caller offers it) or required (488 otherwise).",
        (),
    ),
    "sip_srtp_by_source": (
        "SRTP policy per source, address-or-CIDR=policy, comma-separated (e.g. 203.0.113.0/24=required,"
        "10.0.0.7=off); the most specific entry wins, a SIP account's own policy wins over it, IVR_SIP_SRTP "
        "applies to the rest.",
        (),
    ),
    "sip_tcp": ("Also listen for SIP over TCP on the SIP port.", ()),
    "sip_tls_port": ("Port of SIP over TLS, on when a certificate and key are set (0: any free port).", ()),
    "sip_tls_cert": ("PEM certificate chain for SIP over TLS (TLS 1.2 or higher).", ()),
    "sip_tls_key": ("The PEM private key of that certificate.", ()),
    "sip_trusted": (
        "Addresses or CIDRs (trunks, PBXs) whose INVITEs are let in and whose caller id is believed; "
        "others need a SIP account or the public route.",
        (),
    ),
    "sip_trusted_proxies": ("Proxies in front (Kamailio), exempt from the flood limits; empty: the trusted list.", ()),
    "sip_public_route": ("A flow id untrusted callers are sent to as caller `unknown`, instead of 403 or 401.", ()),
    "sip_realm": ("Digest realm of SIP accounts; changing it invalidates their stored hashes.", ()),
    "sip_digest_algorithms": ("Digest algorithms challenged, in order (SHA-256, MD5).", ()),
    "sip_pike_requests": ("Requests one source may send per window before it is ignored for a while.", ()),
    "sip_pike_dialogs": ("New dialogs (INVITEs) one source may open per window.", ()),
    "sip_pike_window": ("Seconds of the flood limits' window.", ()),
    "sip_pike_block_seconds": ("Seconds a source over a flood limit is ignored.", ()),
    "asr_engine": (
        "The recognizer of SIP calls: whisper, pocketsphinx or off (keypad only); needs the `speech` "
        "extra (docs/speech.md).",
        (),
    ),
    "asr_model": (
        "A CTranslate2 Whisper model directory (base.en, small.en, a multilingual one); empty: the "
        "bundled tiny.en, English only.",
        (),
    ),
    "asr_min_confidence": ("Speech below this confidence is a no-match; a step's min_confidence wins.", ()),
    "asr_trailing_silence_ms": ("Milliseconds of silence after speech that end the utterance.", ()),
    "asr_workers": (
        "Utterances decoded at once; as many again may wait, more are refused (the caller is asked to use the keypad).",
        (),
    ),
    "tts_engine": (
        "The voice of SIP prompts: espeak (espeak-ng) or piper (the `piper` extra, run as a separate program).",
        (),
    ),
}


@dataclass(frozen=True)
class SettingInfo:
    """One setting as the docs and the admin's set-up check show it."""

    name: str
    env: str
    type: str
    default: object
    help: str
    needed_by: tuple[str, ...]


def describe() -> list[SettingInfo]:
    """Every Settings field with its environment variable, type, default, help and the features needing it."""
    out = []
    for f in fields(Settings):
        help_text, needed_by = HELP[f.name]
        type_name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        out.append(SettingInfo(f.name, Settings._ENV.get(f.name, ""), type_name, f.default, help_text, needed_by))
    return out
