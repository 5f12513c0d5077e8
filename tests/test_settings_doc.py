"""docs/settings.md is generated from ivr/settings/, and every setting has its help text and variable."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from ivr.settings import FEATURES, HELP, Settings, describe
from ivr.settings import capabilities as caps
from ivr.settings.doc import render

DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_every_field_has_help_and_an_environment_variable():
    names = {f.name for f in fields(Settings)}
    assert names - HELP.keys() == set(), "add these to HELP in ivr/settings/help.py"
    assert HELP.keys() - names == set(), "HELP names settings that do not exist"
    assert names - Settings._ENV.keys() == set()
    for info in describe():
        assert info.help.strip() and set(info.needed_by) <= set(FEATURES), info.name


def test_docs_settings_md_is_in_sync():
    assert DOC.read_text() == render(), "regenerate: python -m ivr.settings.doc > docs/settings.md"


def test_the_once_undocumented_settings_are_documented():
    text = DOC.read_text()
    for env in ("IVR_WEBHOOK_SECRET", "IVR_CALLBACK_RATE_LIMIT", "IVR_HTTP_ALLOWLIST", "IVR_CALLBACK_REGIONS"):
        assert f"`{env}`" in text


def test_from_env_reads_the_allowlist_as_a_list():
    s = Settings.from_env({"IVR_HTTP_ALLOWLIST": "https://api.example.com/, http://127.0.0.1:9/"})
    assert s.http_allowlist == ("https://api.example.com/", "http://127.0.0.1:9/")


def test_capabilities_follow_the_settings():
    bare = caps.capabilities(Settings())
    assert not bare["sms"].ok and "TWILIO_FROM_NUMBER" in bare["sms"].missing
    assert not bare["webhook"].ok and bare["webhook"].reason == "needs IVR_WEBHOOK_SECRET"
    assert bare["email"].ok and bare["sip"].ok and bare["simulator"].ok
    assert not bare["chat"].ok and "PUBLIC_BASE_URL" in bare["chat"].missing
    twilio = Settings(twilio_account_sid="AC1", twilio_auth_token="t", twilio_from_number="+15550001111")
    flags = caps.flags(twilio)
    assert flags["sms"] and flags["callback"] and flags["twilio"] and not flags["chat"]
    assert caps.flags(Settings(callback_channel="sip"))["callback"]
    assert not caps.flags(Settings(callback_channel="fax"))["callback"]
    assert caps.capabilities(Settings(smtp_host=""))["email"].missing == ("SMTP_HOST",)
