"""Set-up check items that talk to another service: Twilio (an authenticated account fetch), PUBLIC_BASE_URL, and
SMTP (connect, EHLO, STARTTLS and login when configured; never a message)."""

from __future__ import annotations

import smtplib
import ssl
from urllib.parse import urlsplit

from twilio.base.exceptions import TwilioRestException

from ivr.jobs.email import smtp_configured
from ivr.settings import Settings
from ivr.system.plain_errors import network_error

from .setup_check import Item, State

TIMEOUT = 5.0
TWILIO_NAMES = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")
SMTP_NAMES = ("SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USERNAME", "SMTP_PASSWORD")


def twilio_client(settings: Settings):
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(
        settings.twilio_account_sid, settings.twilio_auth_token, http_client=TwilioHttpClient(timeout=TIMEOUT)
    )
    if settings.twilio_api_base_url:
        client.api.base_url = settings.twilio_api_base_url.rstrip("/")
    return client


def twilio(s: Settings) -> Item:
    title = "Twilio voice and SMS"
    values = (s.twilio_account_sid, s.twilio_auth_token, s.twilio_from_number)
    missing = [name for name, value in zip(TWILIO_NAMES, values) if not value]
    if missing:
        stops = (
            "SMS follow-ups, chat links and Twilio callbacks are not sent"
            if missing == ["TWILIO_FROM_NUMBER"]
            else "Twilio's webhooks are refused (their signatures cannot be checked), and SMS follow-ups, chat "
            "links and Twilio callbacks are not sent"
        )
        return Item("twilio", title, State.NOT_CONFIGURED, f"{', '.join(missing)} not set: {stops}.", TWILIO_NAMES)
    try:
        account = twilio_client(s).api.v2010.accounts(s.twilio_account_sid).fetch()
    except TwilioRestException as exc:
        why = (
            "Twilio refused TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (HTTP 401): copy both again from the "
            "Twilio console"
            if exc.status == 401
            else f"Twilio answered HTTP {exc.status} (error {exc.code})"
        )
        return Item("twilio", title, State.BROKEN, why + ".", TWILIO_NAMES)
    except OSError as exc:  # requests' errors are OSErrors
        where = s.twilio_api_base_url or "api.twilio.com"
        return Item(
            "twilio",
            title,
            State.BROKEN,
            f"Twilio's API at {where} cannot be reached: {network_error(exc)}.",
            TWILIO_NAMES,
        )
    if account.status != "active":
        return Item(
            "twilio",
            title,
            State.BROKEN,
            f"The Twilio account {s.twilio_account_sid} is "
            f"{account.status}, not active: Twilio will not carry calls or texts.",
            TWILIO_NAMES,
        )
    return Item(
        "twilio",
        title,
        State.OK,
        f"Twilio account {s.twilio_account_sid} is active; texts are sent from {s.twilio_from_number}.",
        TWILIO_NAMES,
    )


def public_url(s: Settings) -> Item:
    title, names = "Public address (PUBLIC_BASE_URL)", ("PUBLIC_BASE_URL",)
    if not s.public_base_url:
        return Item(
            "public_url",
            title,
            State.NOT_CONFIGURED,
            "PUBLIC_BASE_URL is not set: chat links in texts "
            "cannot be built, and behind a proxy Twilio's signatures do not match.",
            names,
        )
    parts = urlsplit(s.public_base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Item(
            "public_url",
            title,
            State.BROKEN,
            f"PUBLIC_BASE_URL={s.public_base_url!r} is not an http(s) address such as https://ivr.example.com.",
            names,
        )
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1"):
        return Item(
            "public_url",
            title,
            State.BROKEN,
            "PUBLIC_BASE_URL uses http: Twilio webhooks and admin "
            "logins would cross the internet unencrypted; use https.",
            names,
        )
    return Item(
        "public_url",
        title,
        State.OK,
        f"PUBLIC_BASE_URL={s.public_base_url}: Twilio signatures and chat links use it.",
        names,
    )


def smtp(s: Settings) -> Item:
    title = "Email (SMTP)"
    if not smtp_configured(s):
        return Item(
            "smtp",
            title,
            State.NOT_CONFIGURED,
            "SMTP_HOST is not set: follow-up emails (voicemail notices to the owner) are not sent.",
            SMTP_NAMES,
        )
    where = f"SMTP_HOST={s.smtp_host}, SMTP_PORT={s.smtp_port}"
    try:
        greet(s)
    except smtplib.SMTPAuthenticationError:
        return Item(
            "smtp",
            title,
            State.BROKEN,
            f"The mail server at {where} refused SMTP_USERNAME and SMTP_PASSWORD.",
            SMTP_NAMES,
        )
    except MissingExtension as exc:
        return Item("smtp", title, State.BROKEN, f"The mail server at {where} does not offer {exc}.", SMTP_NAMES)
    except (OSError, smtplib.SMTPException) as exc:
        return Item(
            "smtp", title, State.BROKEN, f"The mail server at {where} cannot be used: {network_error(exc)}.", SMTP_NAMES
        )
    return Item(
        "smtp",
        title,
        State.OK,
        f"The mail server at {where} greets us (EHLO, security {s.smtp_security}); nothing was sent.",
        SMTP_NAMES,
    )


class MissingExtension(Exception):
    """The server lacks what the settings ask for (STARTTLS, AUTH)."""


def greet(s: Settings) -> None:
    """Connect, EHLO, STARTTLS and log in as the email job would, then QUIT without a message."""
    context = ssl.create_default_context()
    if s.smtp_security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=TIMEOUT, context=context)
    else:
        server = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=TIMEOUT)
    with server:
        code, reply = server.ehlo()
        if code != 250:
            raise smtplib.SMTPHeloError(code, reply)
        if s.smtp_security == "starttls":
            if not server.has_extn("starttls"):
                raise MissingExtension("STARTTLS, which SMTP_SECURITY=starttls requires")
            server.starttls(context=context)
            server.ehlo()
        if s.smtp_username:
            if not server.has_extn("auth"):
                raise MissingExtension("AUTH, so SMTP_USERNAME and SMTP_PASSWORD cannot be used")
            server.login(s.smtp_username, s.smtp_password)
