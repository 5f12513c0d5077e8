"""Phone numbers: normalize once to ASCII E.164 and decide whether a number may be dialled, texted or transferred to.

`normalize(raw, region)` parses with `phonenumbers`, which maps every Unicode decimal digit (Arabic-Indic,
fullwidth...) to ASCII, so `+1٩٠٠...` and `+1900...` are one number: the one checked, rate-limited and dialled.
Digits without a `+` (keypad input) are read in `region` (the flow's `country:`, else IVR_DEFAULT_REGION), so a
national number or one typed with its country code both work. Anything that is not a valid number is refused.

`PhonePolicy` adds the destination rules: premium-rate, shared-cost and UAN numbers are never called or texted,
and callbacks and SMS go only to IVR_CALLBACK_REGIONS (default: the flow's country). Transfers keep SIP URIs and
short PBX extensions as written by the flow, and hold numbers to the same type rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

REFUSED_TYPES = frozenset({PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.UAN})
MAX_INPUT = 64  # characters: longer text is never a phone number (and must not cost a parse)
_EXTENSION = re.compile(r"[A-Za-z0-9_.*#-]{1,6}")  # a PBX extension or name ("201", "sales"), dialled at the PBX
_SIP_URI = re.compile(r"sips?:[^\s<>\"]+", re.IGNORECASE)
_DIALLED = re.compile(r"\+?[0-9().\-]+")  # a SIP user part a trunk would dial as a number


class Purpose(StrEnum):
    CALLBACK = "callback"
    SMS = "sms"
    TRANSFER = "transfer"


class NumberRefused(ValueError):
    """`raw` may not be used as a destination; `reason` says why, for the follow-up record and the timeline."""

    def __init__(self, raw: str, reason: str):
        super().__init__(f"{raw!r}: {reason}")
        self.raw, self.reason = raw, reason


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber:
    text = str(raw).strip()
    if not text or len(text) > MAX_INPUT:
        raise NumberRefused(text[:MAX_INPUT], "not a phone number")
    try:
        number = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        number = None
    # keypad digits typed with their country code but no '+', in a region that does not know them as national
    if (number is None or not phonenumbers.is_valid_number(number)) and text.isdecimal():
        try:
            number = phonenumbers.parse("+" + text, None)
        except phonenumbers.NumberParseException:
            pass
    if number is None or not phonenumbers.is_valid_number(number) or number.extension:
        raise NumberRefused(text, "not a valid phone number")
    if len(phonenumbers.format_number(number, PhoneNumberFormat.E164)) > 16:  # E.164's 15 digits (some DE numbers)
        raise NumberRefused(text, "not a valid phone number")
    return number


def normalize(raw: str, region: str = "") -> str:
    """The ASCII E.164 form of a valid number (`+442079460123`); raises NumberRefused otherwise. Idempotent."""
    return phonenumbers.format_number(_parse(raw, region), PhoneNumberFormat.E164)


def caller_number(raw: str, region: str = "") -> str:
    """A caller ID as E.164 if it is a valid number, else '' (`tester` from a softphone can call, not be called)."""
    try:
        return normalize(raw, region)
    except NumberRefused:
        return ""


def known_region(code: str) -> bool:
    """True for an ISO 3166 code that phone numbers are known for (GB, US...); a flow's `country:` must be one."""
    return code in phonenumbers.SUPPORTED_REGIONS


def is_sip_uri(target: str) -> bool:
    return bool(_SIP_URI.fullmatch(target.strip()))


def uri_user(uri: str) -> str:
    """The user part of a `sip:`/`sips:` URI (`sip:+1900...;user=phone@trunk`: `+1900...`) or the number of a
    `tel:` URI, percent-decoded (%2B1900... is +1900... to a trunk); '' when there is none."""
    scheme, _, rest = uri.strip().partition(":")
    if scheme.lower() == "tel":
        return unquote(rest.split(";", 1)[0])
    user = rest.split("@", 1)[0] if "@" in rest else ""
    return unquote(user.split(";", 1)[0])


@dataclass(frozen=True)
class PhonePolicy:
    default_region: str = "US"  # IVR_DEFAULT_REGION: where keypad digits are read when the flow has no country
    regions: tuple[str, ...] = ()  # IVR_CALLBACK_REGIONS; empty: the flow's country, else default_region
    refused_types: frozenset[int] = REFUSED_TYPES

    @classmethod
    def from_settings(cls, settings: Any) -> PhonePolicy:
        return cls(
            default_region=settings.default_region.upper(), regions=tuple(r.upper() for r in settings.callback_regions)
        )

    def region_for(self, country: str = "") -> str:
        return (country or self.default_region).upper()

    def allowed_regions(self, country: str = "") -> tuple[str, ...]:
        return self.regions or (self.region_for(country),)

    def destination(self, raw: str, purpose: Purpose, country: str = "") -> str:
        """The E.164 number to call or text for `raw`, or NumberRefused (invalid, refused type, region)."""
        number = _parse(raw, self.region_for(country))
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        kind = phonenumbers.number_type(number)
        if kind in self.refused_types:
            raise NumberRefused(e164, f"{PhoneNumberType.to_string(kind).lower().replace('_', '-')} number")
        region = phonenumbers.region_code_for_number(number) or "001"
        if purpose is not Purpose.TRANSFER and region not in self.allowed_regions(country):
            raise NumberRefused(e164, f"region {region} not allowed (IVR_CALLBACK_REGIONS)")
        return e164

    def dialable(self, raw: str, country: str = "") -> str:
        """What a dialer checks again before it dials: a valid number of no refused type, as E.164."""
        return self.destination(raw, Purpose.TRANSFER, country)

    def _check_sip_user(self, uri: str, country: str) -> None:
        """A SIP URI whose user part is a number (`sip:+1900...@trunk`) is held to the number rules too: the
        trunk would dial it. Names and short extensions pass; a non-ASCII user part never does."""
        user = uri_user(uri)
        if not user.isascii():
            raise NumberRefused(uri, "not an ASCII SIP user")
        if _DIALLED.fullmatch(user) and not _EXTENSION.fullmatch(user):
            self.destination(user, Purpose.TRANSFER, country)

    def transfer_target(self, raw: str, country: str = "", extensions: bool = True) -> str:
        """A transfer's target: a SIP URI, or a short PBX extension (where a PBX routes them: `extensions`), as
        given; a `tel:` URI or a number normalized (and held to the type rules); else NumberRefused."""
        target = str(raw).strip()
        if is_sip_uri(target):
            self._check_sip_user(target, country)
            return target
        if target.lower().startswith("tel:"):
            return "tel:" + self.destination(target[4:].split(";")[0], Purpose.TRANSFER, country)
        if extensions and _EXTENSION.fullmatch(target) and not target.startswith("00"):
            return target
        return self.destination(target, Purpose.TRANSFER, country)
