"""Signed, expiring, read-only links to one call's timeline: the warm hand-over of a bridged transfer.

The SIP channel puts one in the owner's `X-IVR-Context` header; the admin's /calls/shared/<token> view shows the
call's timeline to whoever holds it, without a login, until it expires (IVR_HANDOVER_LINK_HOURS, 24 by default).
The token is the call id signed with IVR_SECRET_KEY (itsdangerous, HMAC-SHA1 with a salt of its own) and the time
it was made; nothing else can be read or changed through it. `now` is injectable for tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

SALT = "ivr-handover-link"
PATH = "/calls/shared/"


def _serializer(secret: str, now: Callable[[], float]) -> URLSafeTimedSerializer:
    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(now())

    return URLSafeTimedSerializer(secret, salt=SALT, signer=ClockedSigner)


def make_token(call_id: str, secret: str, now: Callable[[], float] = time.time) -> str:
    if not secret:
        raise ValueError("IVR_SECRET_KEY is not set: hand-over links cannot be signed")
    return _serializer(secret, now).dumps(call_id)


def call_of(token: str, secret: str, max_age_hours: float, now: Callable[[], float] = time.time) -> str | None:
    """The call id a valid, unexpired token was made for, else None."""
    if not secret:
        return None
    try:
        call_id = _serializer(secret, now).loads(token, max_age=int(max_age_hours * 3600))
    except BadSignature:  # SignatureExpired is a BadSignature
        return None
    return call_id if isinstance(call_id, str) else None


def link_maker(public_base_url: str, secret: str) -> Callable[[str], str] | None:
    """call id -> absolute link, or None when links cannot be made (no public URL or no secret)."""
    if not (public_base_url and secret):
        return None
    base = public_base_url.rstrip("/")
    return lambda call_id: f"{base}{PATH}{make_token(call_id, secret)}"
