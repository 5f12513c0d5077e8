"""Which URLs an http step may request: IVR_HTTP_ALLOWLIST (URL prefixes) and, by default, public addresses only.

With an allowlist, a URL must start with one of its prefixes (at a path boundary, so `https://api.example.com`
does not admit `https://api.example.com.evil.net`); a prefix that names a host allows whatever addresses it has,
private ones included: the operator named it. Otherwise the host is resolved and every address it has must be
a public (global) one, so a flow cannot reach loopback, private networks, link-local metadata services and the
like; the request then connects to the address that was checked (http_pinning.py). Each redirect's target is
checked again by the caller.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]  # host, port -> its addresses


def resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


class UrlPolicy:
    def __init__(self, allowlist: Sequence[str] = (), resolver: Resolver = resolve):
        self.allowlist = tuple(prefix.strip() for prefix in allowlist if prefix.strip())
        self.resolver = resolver

    def refusal(self, url: str) -> str:
        """Why `url` may not be requested, or "" when it may."""
        return self.check(url)[0]

    def check(self, url: str) -> tuple[str, str | None]:
        """(why `url` may not be requested or "", the checked address to connect to, or None: any)."""
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            return f"bad URL: {exc}", None
        if parts.scheme not in ("http", "https") or not host:
            return f"not an http(s) URL: {url[:200]!r}", None
        if parts.username or parts.password:
            return "credentials in the URL are not allowed (send them in a header)", None
        if self.allowlist:
            matched = [prefix for prefix in self.allowlist if _under(url, prefix)]
            if not matched:
                return f"{parts.scheme}://{parts.netloc} is not under any IVR_HTTP_ALLOWLIST prefix", None
            if any(urlsplit(prefix).hostname for prefix in matched):
                return "", None  # the prefix names the host: whatever its addresses, the operator chose it
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            return f"cannot resolve {host}: {exc}", None
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not ip.is_global or ip.is_multicast:
                return f"{host} is {ip}, a private, loopback or reserved address (list it in IVR_HTTP_ALLOWLIST)", None
        return ("", addresses[0]) if addresses else (f"{host} has no address", None)


def _under(url: str, prefix: str) -> bool:
    if not url.lower().startswith(prefix.lower()):
        return False
    return prefix.endswith("/") or len(url) == len(prefix) or url[len(prefix)] in "/?#"
