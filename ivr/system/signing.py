"""The HMAC signature on every request the IVR sends out (webhook jobs, http steps), so a receiver can check origin
and reject replays: `X-IVR-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (as jambonz signs).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-IVR-Signature"
DEFAULT_TOLERANCE = 300  # seconds a receiver should accept between the signed time and now


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: float | None = None, tolerance: int = DEFAULT_TOLERANCE) -> bool:
    """For receivers: True if `header` signs `body` with `secret` and its time is within `tolerance` of now."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
