"""The number a caller dialled, as a key of the routing table: one row for every way one number is written.

`route_key(raw, region)` turns a valid phone number into its E.164 form, whether it came as `+44 20 7946 0123`,
`0044 20 7946 0123`, `442079460123` (a trunk's Request-URI user), `sip:+44...@host` or `tel:+44...`; digits that
are no valid number stay digits (`+15550000000`, an extension `201`); anything else that is a plain name
(`support`, a SIP user) is kept lower-cased. Anything else raises NumberRefused.
"""

from __future__ import annotations

import re

from .policy import MAX_INPUT, NumberRefused, normalize, uri_user

ROUTE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")  # a SIP user that is not a number
_DIGITS = re.compile(r"\+?[0-9]{2,16}")
_SEPARATORS = re.compile(r"[\s().-]")


def route_key(raw: str, region: str = "") -> str:
    """The routing table's key for `raw` (a number in any form, or a name); NumberRefused if it is neither."""
    text = str(raw).strip()
    if text.lower().startswith(("sip:", "sips:", "tel:")):
        text = uri_user(text)
    if not text or len(text) > MAX_INPUT:
        raise NumberRefused(text[:MAX_INPUT], "not a number or a name")
    international = "+" + text[2:] if text.startswith("00") else ""  # 00 is the international prefix
    for candidate in filter(None, (text, international)):
        try:
            return normalize(candidate, region)
        except NumberRefused:
            pass
    compact = _SEPARATORS.sub("", text)
    if _DIGITS.fullmatch(compact):
        return compact
    if ROUTE_NAME.fullmatch(text.lower()):
        return text.lower()
    raise NumberRefused(text, "neither a phone number nor a name (letters, digits, '.', '_', '-')")
