"""Which transaction a SIP message belongs to: its top Via branch and its Call-ID (RFC 3261 17.2.3)."""

from __future__ import annotations


def transaction_key(message) -> str | None:
    """Top Via branch + Call-ID: identifies a transaction (the Call-ID guards against lazy branches)."""
    vias = message.headers.get("via")
    if not vias:
        return None
    for part in vias[0].split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "branch" and value:
            return f"{value}|{message.call_id or ''}"
    return None
