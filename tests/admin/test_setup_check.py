"""The set-up check, item by item, in its "ok", "not configured" and "broken" states, against real parts: aiosmtpd,
the fake Twilio REST API, a real UDP bind, real files and the real espeak-ng/sox (or a PATH without them)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from ivr.admin import setup_items, setup_remote
from ivr.admin.setup_check import State, failing, flow_needs, run_checks
from ivr.settings import Settings
from tests.admin.helpers import REPO


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _silent(host, port):
    return {"ok": False, "error": "no answer"}


@pytest.fixture
def base(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", flows_dir=REPO / "flows", secret_key="k" * 40)


# Twilio
def test_twilio_not_configured(base):
    item = setup_remote.twilio(base)
    assert item.state == State.NOT_CONFIGURED and "TWILIO_AUTH_TOKEN" in item.detail
    assert "webhooks are refused" in item.detail


def test_twilio_ok_against_the_fake_api(base, twilio_api):
    item = setup_remote.twilio(
        base.with_overrides(
            twilio_account_sid=twilio_api.account_sid,
            twilio_auth_token=twilio_api.auth_token,
            twilio_from_number="+15550001111",
            twilio_api_base_url=twilio_api.base_url,
        )
    )
    assert item.state == State.OK, item.detail
    assert twilio_api.messages == [] and twilio_api.calls == []  # a check never sends


def test_twilio_broken_by_a_wrong_token(base, twilio_api):
    item = setup_remote.twilio(
        base.with_overrides(
            twilio_account_sid=twilio_api.account_sid,
            twilio_auth_token="wrong",
            twilio_from_number="+15550001111",
            twilio_api_base_url=twilio_api.base_url,
        )
    )
    assert item.state == State.BROKEN and "TWILIO_AUTH_TOKEN" in item.detail and "401" in item.detail


def test_twilio_broken_when_unreachable(base):
    port = _free_udp_port()  # a TCP port nobody listens on, most likely: the check says it in words
    item = setup_remote.twilio(
        base.with_overrides(
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="t",
            twilio_from_number="+15550001111",
            twilio_api_base_url=f"http://127.0.0.1:{port}",
        )
    )
    assert item.state == State.BROKEN and "refused" in item.detail and "Errno" not in item.detail


# PUBLIC_BASE_URL
@pytest.mark.parametrize(
    "url, state",
    [
        ("", State.NOT_CONFIGURED),
        ("https://ivr.example.com", State.OK),
        ("ivr.example.com", State.BROKEN),
        ("http://ivr.example.com", State.BROKEN),
    ],
)
def test_public_base_url(base, url, state):
    item = setup_remote.public_url(base.with_overrides(public_base_url=url))
    assert item.state == state and "PUBLIC_BASE_URL" in item.detail


# SMTP
def test_smtp_not_configured_when_the_environment_does_not_set_smtp_host(base):
    settings = Settings.from_env({"IVR_DATA_DIR": str(base.data_dir)})
    assert settings.smtp_host == "localhost"  # the default, which does not count as configured
    item = setup_remote.smtp(settings)
    assert item.state == State.NOT_CONFIGURED and "SMTP_HOST is not set" in item.detail


def test_smtp_ok_against_aiosmtpd_and_nothing_sent(base, smtp_sink):
    settings = Settings.from_env({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_sink.port)})
    item = setup_remote.smtp(settings)
    assert item.state == State.OK, item.detail
    assert smtp_sink.envelopes == []


def test_smtp_broken_connection_refused_named_in_words(base):
    port = _free_udp_port()
    item = setup_remote.smtp(base.with_overrides(smtp_host="127.0.0.1", smtp_port=port))
    assert item.state == State.BROKEN
    assert f"SMTP_PORT={port}" in item.detail and "refused" in item.detail and "Errno" not in item.detail


def test_smtp_broken_when_starttls_is_asked_for_but_not_offered(base, smtp_sink):
    item = setup_remote.smtp(
        base.with_overrides(smtp_host="127.0.0.1", smtp_port=smtp_sink.port, smtp_security="starttls")
    )
    assert item.state == State.BROKEN and "STARTTLS" in item.detail


# Secret key
def test_secret_key_states(base):
    assert setup_items.secret_key(base).state == State.OK
    dev = setup_items.secret_key(base.with_overrides(secret_key=""))
    assert dev.state == State.OK and "generated" in dev.detail
    assert setup_items.secret_key(base.with_overrides(secret_key="short")).state == State.BROKEN
    production = setup_items.secret_key(base.with_overrides(secret_key="", environment="production"))
    assert production.state == State.BROKEN and "refuses to start" in production.detail


# Data directory
def test_data_dir_ok_missing_and_world_writable(base):
    assert setup_items.data_dir(base).state == State.OK  # will be created under tmp_path
    base.data_dir.mkdir()
    assert setup_items.data_dir(base).state == State.OK
    os.chmod(base.data_dir, 0o777)
    item = setup_items.data_dir(base)
    assert item.state == State.BROKEN and "every user" in item.detail


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_data_dir_broken_when_not_writable(base):
    base.data_dir.mkdir()
    os.chmod(base.data_dir, 0o500)
    try:
        item = setup_items.data_dir(base)
    finally:
        os.chmod(base.data_dir, 0o700)
    assert item.state == State.BROKEN and "not writable" in item.detail


# SIP bind and public address
def test_sip_free_address_is_ok_and_a_held_one_is_broken(base):
    port = _free_udp_port()
    settings = base.with_overrides(sip_host="127.0.0.1", sip_port=port)
    assert setup_items.sip(settings, _silent).state == State.OK
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", port))  # a program that holds the port and does not answer SIP
        item = setup_items.sip(settings)
    assert item.state == State.BROKEN and "already in use" in item.detail


def test_sip_bind_to_an_address_of_another_machine_is_broken(base):
    item = setup_items.sip(base.with_overrides(sip_host="192.0.2.1", sip_port=_free_udp_port()), _silent)
    assert item.state == State.BROKEN and "does not belong to this machine" in item.detail


def test_sip_public_address(base):
    assert setup_items.sip_public(base).state == State.NOT_CONFIGURED
    assert setup_items.sip_public(base.with_overrides(sip_public_host="127.0.0.1")).state == State.OK
    broken = setup_items.sip_public(base.with_overrides(sip_public_host="no-such-host.invalid"))
    assert broken.state == State.BROKEN and "does not resolve" in broken.detail


# espeak-ng and sox
@pytest.mark.parametrize("name", ["espeak-ng", "sox"])
def test_audio_tools(name, tmp_path, monkeypatch):
    assert setup_items.tool(name).state == State.OK
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = setup_items.tool(name)
    assert missing.state == State.BROKEN and "not installed" in missing.detail
    failing_tool = tmp_path / name
    failing_tool.write_text("#!/bin/sh\nexit 3\n")
    failing_tool.chmod(0o755)
    assert "exit status 3" in setup_items.tool(name).detail


# The whole check and `ivr doctor`
def test_the_shipped_flow_needs_email_sms_and_chat(base):
    assert {"smtp", "twilio", "public_url", "espeak_ng"} <= flow_needs(base)


def test_doctor_exits_non_zero_only_for_a_needed_broken_item(tmp_path):
    env = {
        **os.environ,
        "IVR_DATA_DIR": str(tmp_path / "data"),
        "IVR_FLOWS_DIR": str(REPO / "flows"),
        "IVR_SIP_PORT": str(_free_udp_port()),
        "IVR_SECRET_KEY": "k" * 40,
    }
    env.pop("SMTP_HOST", None)
    ok = subprocess.run([sys.executable, "-m", "ivr", "doctor"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "SMTP_HOST is not set" in ok.stdout
    env["IVR_SECRET_KEY"] = "short"
    broken = subprocess.run([sys.executable, "-m", "ivr", "doctor", "--json"], env=env, capture_output=True, text=True)
    assert broken.returncode == 1 and '"secret_key"' in broken.stdout


def test_run_checks_lists_every_item_once(base):
    items = run_checks(base, sip_probe=_silent)
    assert [i.key for i in items] == [
        "secret_key",
        "data_dir",
        "public_url",
        "twilio",
        "smtp",
        "sip",
        "sip_public",
        "espeak_ng",
        "sox",
        "holiday_feeds",
    ]
    assert failing(items) == []
