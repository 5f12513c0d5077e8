"""The routing table's key of a called number (ivr.phone.route_key): one key for each way a number is written."""

from __future__ import annotations

import pytest

from ivr.phone import NumberRefused, route_key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("+44 20 7946 0123", "+442079460123"),
        ("0044 20 7946 0123", "+442079460123"),  # the international prefix, in any default region
        ("442079460123", "+442079460123"),  # a trunk's Request-URI user, no '+'
        ("sip:%2B442079460123;user=phone@trunk.example", "+442079460123"),
        ("tel:+44-20-7946-0123", "+442079460123"),
        ("(202) 555-0123", "+12025550123"),  # national, in IVR_DEFAULT_REGION
        ("+1 555 000 0000", "+15550000000"),  # digits that are no valid number stay digits
        ("201", "201"),  # an extension
        ("Support", "support"),  # a SIP user that is not a number
        ("sip:support@example.sip.twilio.com", "support"),  # Twilio's To for a SIP domain
    ],
)
def test_route_keys(raw, key):
    assert route_key(raw, "US") == key


@pytest.mark.parametrize("raw", ["", "sales team", "sip:@host", "ü" * 3, "x" * 65])
def test_what_is_neither_a_number_nor_a_name_is_refused(raw):
    with pytest.raises(NumberRefused):
        route_key(raw, "US")
