"""Network and OS errors as plain sentences (the admin, `ivr doctor` and the worker's log show these, never
`ConnectionRefusedError: [Errno 111]`). Each sentence says what happened; callers add which setting it concerns."""

from __future__ import annotations

import errno
import socket
import ssl

_ERRNO_SENTENCES = {
    errno.ECONNREFUSED: "the connection was refused (nothing listens on that port)",
    errno.EHOSTUNREACH: "the host is unreachable",
    errno.ENETUNREACH: "the network is unreachable",
    errno.ETIMEDOUT: "it did not answer in time",
    errno.EADDRINUSE: "the address is already in use by another program",
    errno.EADDRNOTAVAIL: "that address does not belong to this machine",
    errno.EACCES: "permission denied",
    errno.ECONNRESET: "the connection was reset by the other side",
}


def _known(exc: BaseException) -> bool:
    known_type = isinstance(exc, (socket.gaierror, TimeoutError, ssl.SSLError))
    return known_type or getattr(exc, "errno", None) in _ERRNO_SENTENCES


def _root_cause(exc: BaseException) -> BaseException:
    """The OS error under library wrappers (requests -> urllib3 -> ConnectionRefusedError), if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if _known(current):
            return current
        seen.add(id(current))
        inner = [
            getattr(current, "reason", None),
            current.__cause__,
            current.__context__,
            *getattr(current, "args", ()),
        ]
        current = next((e for e in inner if isinstance(e, BaseException)), None)
    return exc


def network_error(exc: BaseException) -> str:
    """What went wrong, as a sentence fragment: "the connection was refused (nothing listens on that port)"."""
    exc = _root_cause(exc)
    if isinstance(exc, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(exc, TimeoutError):
        return "it did not answer in time"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake failed ({exc.reason or exc})"
    code = getattr(exc, "errno", None)
    if code in _ERRNO_SENTENCES:
        return _ERRNO_SENTENCES[code]
    text = str(exc).strip()
    return text or type(exc).__name__
