"""The gate every SIP request passes first: scanners, floods, RFC 3261 violations, then who may open a dialog.

`Gate.admit(request, host)` returns a `Verdict`: drop silently, reply with an error, or let the request in with
the caller's `Identity`. A new dialog (INVITE without a To tag) is admitted from a trusted source (its
P-Asserted-Identity or From is believed), from an account that passed digest authentication (its caller id is
the account name, never a number it claims), or, when a `public` route is configured, as an unknown caller.
Anything else gets 401 with a challenge when accounts exist, else 403. Requests in a dialog we have, ACK
and CANCEL pass: they are matched to a dialog or transaction the gate admitted (an INVITE with a made-up To tag
is a new dialog like any other). Every other request from an
untrusted source outside a dialog (OPTIONS, REGISTER, SUBSCRIBE...) is dropped silently, so a scan or an
extension enumeration (SIPVicious svmap, svwar, svcrack) finds nothing to report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiosipua import SipRequest

from .digest import DigestAuth
from .pike import Pike
from .strict import violation
from .trust import SourceList

log = logging.getLogger(__name__)

UNKNOWN = "unknown"  # the caller id of a caller whose claimed number we cannot believe
# User-Agents of scanners (SIPVicious, sipsak's friends); lowercase substrings. The limits hold without them.
SCANNER_AGENTS = (
    "friendly-scanner",
    "sipvicious",
    "sip-scan",
    "sipcli",
    "sundayddr",
    "iwar",
    "sippts",
    "vaxsipuseragent",
    "pplsip",
    "sipscan",
    "voipbuster",
    "smap",
)


@dataclass(frozen=True)
class Identity:
    caller: str  # the number or name to believe, or UNKNOWN
    trusted: bool  # from a trusted source: the caller id may be screened, texted, called back
    account: str = ""  # the digest account that authenticated, if any
    route: str = ""  # "public" for untrusted callers sent to the public route


@dataclass(frozen=True)
class Verdict:
    drop: bool = False
    code: int = 0
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # e.g. one WWW-Authenticate per digest algorithm
    identity: Identity | None = None


DROP = Verdict(drop=True)
PASS = Verdict()


def _user(header: str | None) -> str:
    """The user part of a name-addr's sip:/tel: URI, or ''."""
    if not header:
        return ""
    uri = header[header.find("<") + 1 : header.find(">")] if "<" in header else header.split(";")[0]
    scheme, _, rest = uri.strip().partition(":")
    if scheme.lower() == "tel":
        return rest.split(";")[0]
    return rest.split("@")[0].split(";")[0] if "@" in rest else ""


class Gate:
    def __init__(
        self,
        trusted: SourceList,
        pike: Pike,
        auth: DigestAuth | None = None,
        public_route: str = "",
        has_accounts: Callable[[], bool] = lambda: True,
    ) -> None:
        self.trusted, self.pike, self.auth, self.public_route = trusted, pike, auth, public_route
        self.has_accounts = has_accounts  # no accounts: no challenge, a plain 403
        self.refused = 0
        self.scanners = 0

    def admit(self, request: SipRequest, host: str, known_dialog: bool = False) -> Verdict:
        """`known_dialog`: the endpoint has a call with this Call-ID (a To tag alone proves nothing)."""
        trusted = host in self.trusted
        new_dialog = request.method == "INVITE" and not known_dialog
        agent = (request.get_header("user-agent") or "").lower()
        if not trusted and any(name in agent for name in SCANNER_AGENTS):
            self.scanners += 1
            return DROP
        if not self.pike.allow(host, new_dialog):
            return DROP
        problem = violation(request)
        if problem is not None:
            return Verdict(code=400, reason=f"Bad Request ({problem})")
        if trusted and not new_dialog:
            return PASS
        if not new_dialog:
            return PASS if known_dialog or request.method in ("ACK", "CANCEL") else DROP
        if trusted:
            caller = _user(request.get_header("p-asserted-identity")) or _user(request.get_header("from"))
            return Verdict(identity=Identity(caller, trusted=True))
        return self._untrusted_invite(request, host)

    def _untrusted_invite(self, request: SipRequest, host: str) -> Verdict:
        auth = self.auth if self.auth is not None and self.has_accounts() else None
        credentials = request.get_header("authorization")
        if auth is not None and credentials:
            result = auth.verify(request.method, credentials)
            if result.username is not None:
                return Verdict(identity=Identity(result.username, trusted=False, account=result.username))
            if result.stale:
                return self._challenge(stale=True)
            log.info("SIP digest refused from %s: %s", host, result.reason)
        if self.public_route:
            return Verdict(identity=Identity(UNKNOWN, trusted=False, route=self.public_route))
        self.refused += 1
        if auth is not None:
            return self._challenge(stale=False)
        return Verdict(code=403, reason="Forbidden")

    def _challenge(self, stale: bool) -> Verdict:
        assert self.auth is not None
        challenges = tuple(("WWW-Authenticate", value) for value in self.auth.challenges(stale))
        return Verdict(code=401, reason="Unauthorized", headers=challenges)
