"""The SIP process's copy of the digest accounts: HA1 per (user, realm, algorithm) and each account's own SRTP
policy (off, optional, required; "" follows the source's), refreshed from the store.

The channel never reads Redis itself (architecture.md): `ivr sip` hands `refresh` a loader from call_session's
wiring and calls it off the media loop. Lookups are dict reads, so a flood of digest attempts costs no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping


class AccountBook:
    def __init__(
        self, entries: Mapping[tuple[str, str, str], str] | None = None, srtp: Mapping[str, str] | None = None
    ) -> None:
        self._ha1: dict[tuple[str, str, str], str] = dict(entries or {})
        self._srtp: dict[str, str] = dict(srtp or {})

    def replace(self, entries: Mapping[tuple[str, str, str], str], srtp: Mapping[str, str] | None = None) -> None:
        # one assignment each: a lookup sees the old or the new book, never half
        self._ha1, self._srtp = dict(entries), dict(srtp or {})

    def lookup(self, username: str, realm: str, algorithm: str) -> str | None:
        return self._ha1.get((username, realm, algorithm))

    def srtp_policy(self, username: str) -> str:
        """The account's own SRTP policy, or "" (none: the source's or the global one applies)."""
        return self._srtp.get(username, "")

    def __bool__(self) -> bool:
        return bool(self._ha1)

    def __len__(self) -> int:
        return len({user for user, _, _ in self._ha1})
