"""RFC 3261 checks a request must pass before it is handled; each failure is answered 400 with its reason.

aiosipua's parser accepts a lowercase method, any SIP version, any Request-URI and a CSeq naming another
method. The transport keeps the raw request line (`request_line`, set in transport.py) for the version check.
"""

from __future__ import annotations

import re

from aiosipua import SipRequest

# sip:/sips: URI (RFC 3261 19.1.1: optional userinfo, host or [IPv6], port, params, headers) or tel: (RFC 3966)
_SIP_URI = re.compile(
    r"sips?:(?:[^@\s<>\"]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r"(?::[0-9]{1,5})?(?:;[^\s<>\"?]*)?(?:\?[^\s<>\"]*)?"
)
_TEL_URI = re.compile(r"tel:\+?[0-9A-Fa-f*#().\-]+(?:;[^\s<>\"]*)?")
_METHOD = re.compile(r"[A-Z]+")
MAX_CSEQ = 2**31 - 1  # RFC 3261 8.1.1.5


def violation(request: SipRequest) -> str | None:
    """Why the request breaks RFC 3261, or None when it does not."""
    if not _METHOD.fullmatch(request.method):
        return "method must be uppercase letters"
    line = getattr(request, "request_line", None)
    if line is not None and not line.rstrip().endswith(" SIP/2.0"):
        return "SIP version must be SIP/2.0"
    if not (_SIP_URI.fullmatch(request.uri) or _TEL_URI.fullmatch(request.uri)):
        return "unparseable Request-URI"
    return _cseq_problem(request)


def _cseq_problem(request: SipRequest) -> str | None:
    raw = (request.get_header("cseq") or "").split()
    if len(raw) != 2 or not raw[0].isdigit() or int(raw[0]) > MAX_CSEQ:
        return "malformed CSeq"
    if raw[1] != request.method:
        return "CSeq method does not match the request method"
    return None
