"""Lists of trusted sources: addresses and CIDRs (IVR_SIP_TRUSTED, IVR_SIP_TRUSTED_PROXIES)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SourceList:
    """A set of networks; `"10.0.0.5"` is a /32. A bad entry raises ValueError naming it (at start-up)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: list[Network] = []
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"not an address or CIDR: {entry!r}") from None

    def __contains__(self, host: object) -> bool:
        try:
            address = ipaddress.ip_address(str(host).strip("[]"))
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
        return any(address in net for net in self.networks if net.version == address.version)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def only_loopback(self) -> bool:
        return all(net.is_loopback for net in self.networks)

    def __repr__(self) -> str:
        return f"SourceList({','.join(map(str, self.networks))})"


def is_public_bind(host: str) -> bool:
    """True when listening on `host` is reachable from other machines (a wildcard or a non-loopback address)."""
    if host in ("", "0.0.0.0", "::"):
        return True
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name: assume the worst
