"""Addresses a peer hands us to send to, checked before anything is sent there.

A SIP peer names where replies and media go: the top Via (sent-by, `received`, `rport`), Contact and
Record-Route URIs, the SDP's c=/m= lines. asyncio's datagram transport closes itself for good when
`sendto()` raises anything but OSError (a port above 65535 or below 0 raises OverflowError), and a host
name makes `sendto()` resolve it, blocking the event loop. So every destination must be an IP literal of
the socket's family with a port in 1-65535: `destination()` is the one check, used by the SIP transport
before each send and by the RTP streams; `request_problem()` finds a request's bad addresses up front,
so it gets a 400 instead of a reply nobody can route.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from aiosipua import SipRequest
from aiosipua.sdp import parse_sdp


class BadAddress(ValueError):
    """An address we will not send to."""


def destination(host: str, port, family: int = socket.AF_INET) -> tuple[str, int]:
    """(host, port) ready for sendto(), or BadAddress saying why not."""
    if isinstance(port, str):
        if not port.isascii() or not port.isdigit():
            raise BadAddress(f"port {port!r} is not a number")
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise BadAddress(f"port {port!r} is outside 1-65535")
    host = str(host).strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise BadAddress(f"host {host!r} is not an IP address") from None
    if (ip.version == 6) != (family == socket.AF_INET6):
        raise BadAddress(f"host {host} is not an IPv{6 if family == socket.AF_INET6 else 4} address")
    if ip.is_unspecified or ip.is_multicast:
        raise BadAddress(f"host {host} is not a unicast address")
    return host, port


def checked(addr, family: int = socket.AF_INET) -> tuple[str, int]:
    """`destination()` for an (host, port) pair of any shape."""
    try:
        host, port = addr[0], addr[1]
    except (TypeError, IndexError, KeyError):
        raise BadAddress(f"{addr!r} is not a (host, port) pair") from None
    return destination(host, port, family)


# sip:user@host:port;params or <sip:host:port> inside a header value; an IPv6 host is bracketed
_URI_HOSTPORT = re.compile(r"sips?:(?:[^@<>;\s]*@)?(\[[^\]]*\]|[^:;>?\s]*)(?::([^;>?\s]*))?", re.IGNORECASE)


def uri_port_problem(value: str) -> str | None:
    """A reason when a header's SIP URI names a port no packet can go to."""
    for _host, port in _URI_HOSTPORT.findall(value):
        if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            return f"port {port!r} is outside 1-65535"
    return None


def via_problem(request: SipRequest) -> str | None:
    """A reason when the top Via's sent-by port is out of range (aiosipua would reply to it as is)."""
    vias = request.via
    if not vias:
        return "no Via"
    port = vias[0].port
    if port is not None and not 1 <= port <= 65535:
        return f"Via port {port} is outside 1-65535"
    return None


def sdp_problem(request: SipRequest, family: int = socket.AF_INET) -> str | None:
    """A reason when an SDP body's audio address (c= and m=) is one we could never send RTP to.

    Port 0 (a refused stream) and an unspecified c= (hold, RFC 3264 legacy) are left to the media code.
    """
    if not request.body or (request.content_type or "").lower() != "application/sdp":
        return None
    try:
        offer = parse_sdp(request.text)
    except Exception:  # noqa: BLE001 - the SDP code answers an unparsable body itself
        return None
    address = offer.rtp_address
    if address is None or address[1] == 0 or address[0] in ("0.0.0.0", "::"):
        return None
    try:
        destination(*address, family)
    except BadAddress as exc:
        return f"SDP audio address: {exc}"
    return None


def request_problem(request: SipRequest, family: int = socket.AF_INET) -> str | None:
    """Why a request names an address we cannot send to (Via, Contact, Record-Route, SDP), or None."""
    problem = via_problem(request)
    if problem:
        return problem
    for name in ("contact", "record-route"):
        for value in request.headers.get(name):
            problem = uri_port_problem(value)
            if problem:
                return f"{name.title()}: {problem}"
    return sdp_problem(request, family)
