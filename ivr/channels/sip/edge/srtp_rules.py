"""Which SRTP policy a call gets: its digest account's own, else the most specific IVR_SIP_SRTP_BY_SOURCE entry
for the address the INVITE came from, else IVR_SIP_SRTP.

A policy is "off" (plain RTP only: an SRTP offer gets 488), "optional" or "required" (a plain RTP/AVP offer gets
488), as media/sdes.py applies it. IVR_SIP_SRTP_BY_SOURCE entries are `address-or-CIDR=policy`, e.g.
`203.0.113.0/24=required,10.0.0.7=off`; a bad entry raises ValueError naming it, at start-up.
"""

from __future__ import annotations

import ipaddress

from ..media.sdes import SrtpPolicy
from .trust import Network, SourceList


class SrtpRules:
    def __init__(self, default: str, by_source: tuple[str, ...] = ()) -> None:
        self.default = SrtpPolicy.parse(default, "IVR_SIP_SRTP")
        self.rules: list[tuple[Network, SrtpPolicy]] = []
        for entry in by_source:
            source, sep, policy = entry.partition("=")
            if not sep:
                raise ValueError(f"IVR_SIP_SRTP_BY_SOURCE: {entry!r} is not address-or-CIDR=policy")
            try:
                network = SourceList([source]).networks
            except ValueError as exc:
                raise ValueError(f"IVR_SIP_SRTP_BY_SOURCE: {exc}") from None
            self.rules += [(net, SrtpPolicy.parse(policy, "IVR_SIP_SRTP_BY_SOURCE")) for net in network]
        self.rules.sort(key=lambda rule: rule[0].prefixlen, reverse=True)  # the most specific entry wins

    def policy_for(self, host: str, account_policy: str = "") -> SrtpPolicy:
        """The policy for an INVITE from `host`; `account_policy` is the authenticated account's, if it has one."""
        if account_policy:
            return SrtpPolicy.parse(account_policy, "the SIP account's SRTP policy")
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return self.default
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        for network, policy in self.rules:
            if network.version == address.version and address in network:
                return policy
        return self.default
