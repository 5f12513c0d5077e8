"""Build the gate from the SIP configuration, check the edge's settings at start-up, and say loudly when the edge
is open to the internet."""

from __future__ import annotations

import logging

from .accounts import AccountBook
from .digest import DigestAuth
from .gate import Gate
from .pike import Pike, PikeLimits
from .srtp_rules import SrtpRules
from .trust import SourceList, is_public_bind

log = logging.getLogger(__name__)


def build_gate(config, accounts: AccountBook) -> Gate:
    """`config` is a SipConfig (trusted, trusted_proxies, public_route, realm, pike_*)."""
    trusted = SourceList(config.trusted)
    exempt = SourceList(tuple(config.trusted_proxies) or tuple(config.trusted))
    limits = PikeLimits(
        requests=config.pike_requests,
        dialogs=config.pike_dialogs,
        window=config.pike_window,
        block_seconds=config.pike_block_seconds,
    )
    auth = DigestAuth(config.realm, accounts.lookup, algorithms=tuple(a.upper() for a in config.digest_algorithms))
    return Gate(trusted, Pike(limits, exempt), auth, config.public_route, has_accounts=lambda: bool(accounts))


def check_settings(config) -> None:
    """ValueError naming the setting when one of the edge's lists cannot be used (`ivr sip` says it and exits)."""
    for name, entries in (("IVR_SIP_TRUSTED", config.trusted), ("IVR_SIP_TRUSTED_PROXIES", config.trusted_proxies)):
        try:
            SourceList(entries)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    SrtpRules(config.srtp, config.srtp_by_source)


def open_edge_warning(host: str, trusted: SourceList, accounts: AccountBook, public_route: str) -> str | None:
    """The warning to log at start-up when SIP listens publicly but lets in no-one or everyone, else None."""
    if not is_public_bind(host):
        return None
    if public_route:
        return (
            f"SIP listens on a public address ({host or '*'}) and sends every untrusted caller to the "
            f"public route {public_route!r}: make sure that flow never transfers or dials out"
        )
    if (not trusted or trusted.only_loopback()) and not accounts:
        return (
            f"SIP listens on a public address ({host or '*'}) but IVR_SIP_TRUSTED lists no trunk or PBX "
            "and there are no SIP accounts: every call from outside gets 403. Set IVR_SIP_TRUSTED or add "
            "accounts with `ivr sip-account add`"
        )
    return None
