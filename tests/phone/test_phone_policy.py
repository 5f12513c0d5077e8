"""The phone-number policy (ivr.phone): one normalization, one set of destination rules, checked as pure code."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.phone import NumberRefused, PhonePolicy, Purpose, caller_number, normalize

E164 = re.compile(r"\+[1-9][0-9]{1,14}")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
GB = PhonePolicy(default_region="GB")


def refusal(policy: PhonePolicy, raw: str, purpose=Purpose.CALLBACK, country: str = "") -> str:
    with pytest.raises(NumberRefused) as refused:
        policy.destination(raw, purpose, country)
    return refused.value.reason


@pytest.mark.parametrize("spelling", ["+1٩٠٠٥٥٥١٢٣٤", "+1900５５５１２３٦", "+1 (900) 555-1234"])
def test_unicode_digits_are_the_same_premium_number_and_refused(spelling):
    assert normalize(spelling).isascii() and normalize(spelling).startswith("+1900555123")
    assert refusal(PhonePolicy(), spelling) == "premium-rate number"


def test_every_spelling_of_a_number_is_one_e164_string():
    plain = "+12125550123"
    spellings = [
        plain,
        plain.translate(ARABIC_INDIC),
        plain.translate(FULLWIDTH),
        "+1 212-555-0123",
        "+1212555012" + "３",
        "＋1 (212) 555 0123",
    ]
    assert {normalize(s) for s in spellings} == {plain}


@pytest.mark.parametrize(
    "number, reason",
    [
        ("+19005551234", "premium-rate number"),  # US 1-900
        ("+448712345678", "premium-rate number"),  # GB 0871
        ("+448431234567", "premium-rate number"),  # GB 0843 (phonenumbers files it as premium)
        ("+445512345678", "uan number"),  # GB 055 corporate
        ("+34901123456", "shared-cost number"),  # ES 901
    ],
)
def test_premium_shared_cost_and_uan_numbers_are_refused_for_every_purpose(number, reason):
    everywhere = PhonePolicy(regions=("US", "GB", "ES"))
    for purpose in Purpose:
        assert refusal(everywhere, number, purpose) == reason


def test_regions_default_to_the_flows_country_then_to_the_default_region():
    assert PhonePolicy(default_region="US").destination("+12125550123", Purpose.SMS) == "+12125550123"
    assert refusal(PhonePolicy(default_region="US"), "+442079460123") == "region GB not allowed (IVR_CALLBACK_REGIONS)"
    assert PhonePolicy(default_region="US").destination("+442079460123", Purpose.CALLBACK, "GB") == "+442079460123"
    assert refusal(PhonePolicy(default_region="US"), "+18765550199") == "region JM not allowed (IVR_CALLBACK_REGIONS)"
    listed = PhonePolicy(default_region="US", regions=("GB", "IE"))
    assert listed.destination("+353 1 234 5678", Purpose.CALLBACK, "US") == "+35312345678"
    assert refusal(listed, "+12125550123", country="US") == "region US not allowed (IVR_CALLBACK_REGIONS)"
    # international networks (+882...) have no region
    assert refusal(PhonePolicy(regions=("US",)), "+88234567890") in {
        "not a valid phone number",
        "region 001 not allowed (IVR_CALLBACK_REGIONS)",
    }


def test_keypad_digits_are_read_in_the_flows_country():
    assert GB.destination("02079460123", Purpose.CALLBACK) == "+442079460123"  # national
    assert GB.destination("442079460123", Purpose.CALLBACK) == "+442079460123"  # with its country code, no '+'
    assert GB.destination("00442079460123", Purpose.CALLBACK) == "+442079460123"  # international prefix
    us = PhonePolicy(default_region="US")
    assert us.destination("2125550123", Purpose.CALLBACK) == "+12125550123"
    assert us.destination("02079460123", Purpose.CALLBACK, country="GB") == "+442079460123"
    assert us.destination("442079460123", Purpose.CALLBACK, country="GB") == "+442079460123"
    assert refusal(us, "02079460123") == "not a valid phone number"  # not a US number


@pytest.mark.parametrize(
    "raw",
    [
        "tester",
        "",
        "4420794600",
        "+1555",
        "+44 20 7946 0123;ext=1",
        "+442079460123@evil",
        "sip:+442079460123@x",
        "1" * 200,
        "+44 20 7946 0123 x 12",
    ],
)
def test_anything_that_is_not_a_valid_number_is_refused(raw):
    assert refusal(GB, raw) in {"not a valid phone number", "not a phone number"}


def test_a_caller_id_that_is_not_a_number_has_no_number():
    assert caller_number("tester") == ""
    assert caller_number("+44 20 7946 0123") == "+442079460123"


def test_transfer_targets():
    assert GB.transfer_target(" sip:sales@pbx:5070 ") == "sip:sales@pbx:5070"
    assert GB.transfer_target("201") == "201" and GB.transfer_target("sales") == "sales"
    with pytest.raises(NumberRefused):
        GB.transfer_target("201", extensions=False)  # Twilio: no PBX to route an extension
    assert GB.transfer_target("tel:+44-20-7946-0123") == "tel:+442079460123"
    assert GB.transfer_target("+1 212 555 0123") == "+12125550123"  # the flow's own targets: any region
    for bad in ("+19005551234", "tel:+19005551234", "0044871234567８", "+12125550123;user=phone", "1@evil"):
        with pytest.raises(NumberRefused):
            GB.transfer_target(bad)


DIGITS = st.sampled_from(["0123456789", "٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "۰۱۲۳۴۵۶۷۸۹"])


@st.composite
def numberish(draw):
    """Mostly phone-like text in any digit script, with separators and a '+' now and then; sometimes anything."""
    if draw(st.booleans()):
        return draw(st.text(max_size=30))
    script = draw(DIGITS)
    digits = draw(st.lists(st.integers(0, 9), min_size=1, max_size=17))
    body = "".join(script[d] if draw(st.booleans()) else "0123456789"[d] for d in digits)
    separated = "".join(c + draw(st.sampled_from(["", "", " ", "-", "(", ")", "."])) for c in body)
    return draw(st.sampled_from(["", "+", "＋", "00"])) + separated


@settings(max_examples=400, deadline=None)
@given(numberish(), st.sampled_from(["", "US", "GB", "DE", "IN"]))
def test_normalize_is_idempotent_and_gives_ascii_e164_or_a_refusal(raw, region):
    try:
        once = normalize(raw, region)
    except NumberRefused:
        return
    assert E164.fullmatch(once) and once.isascii()
    assert normalize(once, region) == once
    assert normalize(once) == once  # E.164 needs no region


@pytest.mark.parametrize(
    "target",
    [
        "sip:+19005551234@evil.example",  # a premium number inside a SIP URI: the trunk would dial it
        "sip:%2B19005551234@trunk.example",  # the same, percent-escaped
        "sip:0019005551234@trunk.example",
        "sip:00882345678901@trunk",
        "sip:+882345678901@trunk",
        "sip:+1(900)555-1234@trunk",
        "sip:+1９００５５５１２３４@trunk",
        "sip:+1" + "5" * 40 + "@trunk",
        "+1555;0123",
        "+12125550123@evil",
        "0019005551234",
        "tel:+19005551234",
        "+" * 3 + "19005551234",
    ],
)
def test_transfer_bypasses_are_refused(target):
    with pytest.raises(NumberRefused):
        PhonePolicy(default_region="US").transfer_target(target)


def test_sip_uris_with_names_extensions_and_valid_numbers_still_pass():
    for target in ("sip:sales@pbx.example", "sip:201@pbx", "sip:+12125550123@trunk;user=phone"):
        assert PhonePolicy(default_region="US").transfer_target(target) == target
