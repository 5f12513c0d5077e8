"""The phone-number settings: read from the environment once, and the old regex list refused loudly."""

from __future__ import annotations

import pytest

from ivr.phone import PhonePolicy, Purpose
from ivr.settings import Settings


def rate_limits(settings: Settings) -> tuple[int, int, int, int]:
    """Per number and globally, per day: callbacks, then texts."""
    return (
        settings.callback_rate_limit_per_day,
        settings.callback_global_rate_limit_per_day,
        settings.sms_rate_limit_per_day,
        settings.sms_global_rate_limit_per_day,
    )


def test_regions_and_limits_come_from_the_environment():
    settings = Settings.from_env(
        {
            "IVR_DEFAULT_REGION": "gb",
            "IVR_CALLBACK_REGIONS": "GB, ie,",
            "IVR_CALLBACK_RATE_LIMIT": "2",
            "IVR_CALLBACK_GLOBAL_RATE_LIMIT": "50",
            "IVR_SMS_RATE_LIMIT": "4",
            "IVR_SMS_GLOBAL_RATE_LIMIT": "40",
        }
    )
    assert rate_limits(settings) == (2, 50, 4, 40)
    policy = PhonePolicy.from_settings(settings)
    assert (policy.default_region, policy.regions) == ("GB", ("GB", "IE"))
    assert policy.destination("01 234 5678", Purpose.SMS, country="IE") == "+35312345678"


def test_defaults():
    settings = Settings.from_env({})
    assert (settings.default_region, settings.callback_regions) == ("US", ())
    assert rate_limits(settings) == (3, 200, 5, 1000)


def test_the_old_regex_setting_stops_start_up_with_its_replacement_named():
    # comma-split, `^\+?\d{10,15}$` became two broken patterns that refused every number
    with pytest.raises(ValueError, match="IVR_CALLBACK_REGIONS"):
        Settings.from_env({"IVR_CALLBACK_ALLOWED": r"^\+?\d{10,15}$"})


def test_the_cli_names_the_retired_setting_in_one_line():
    from click.testing import CliRunner

    from ivr.cli import main

    result = CliRunner().invoke(main, ["validate", "flows"], env={"IVR_CALLBACK_ALLOWED": r"^\+1\d{10}$"})
    assert result.exit_code == 1 and "IVR_CALLBACK_ALLOWED is gone" in result.output
    assert "Traceback" not in result.output
