"""What the transport remembers of each INVITE server transaction, keyed by transaction_key (Via branch + Call-ID).

- The last response sent (~32 s, Timer H), so the endpoint can answer a retransmitted INVITE with it (defect 1).
- The Record-Route of an INVITE that came through a proxy, copied onto its 1xx/2xx (RFC 3261 12.1.1; aiosipua
  leaves them out, defect 8), so the caller's ACK, BYE and re-INVITE come back through the proxy.
Both are bounded: INVITEs never answered are forgotten oldest first.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from aiosipua import SipRequest, SipResponse

from .timers import TIMER_H

INVITE_RESPONSE_TTL = TIMER_H  # how long a retransmitted INVITE may still arrive
MAX_REMEMBERED_RESPONSES = 20_000


class InviteMemory:
    """Mixed into the transport: `start_invite_memory()` from its constructor; its send_reply keeps each INVITE's
    response (remember_invite_response) and copies the Record-Route (_copy_record_route)."""

    def start_invite_memory(self) -> None:
        self.invite_responses: OrderedDict[str, tuple[float, SipResponse]] = OrderedDict()
        self.record_routes: dict[str, list[str]] = {}  # open INVITE transactions that came through proxies

    def remember_record_route(self, key: str, request: SipRequest) -> None:
        routes = request.headers.get("record-route")
        if routes:
            if len(self.record_routes) >= MAX_REMEMBERED_RESPONSES:  # INVITEs never answered: forget the oldest
                del self.record_routes[next(iter(self.record_routes))]
            self.record_routes[key] = list(routes)

    def _copy_record_route(self, key: str, response: SipResponse) -> None:
        routes = self.record_routes.get(key)
        if routes is None:
            return
        if 100 < response.status_code < 300 and not response.headers.get("record-route"):
            for route in routes:
                response.headers.append("Record-Route", route)
        if response.status_code >= 200:
            del self.record_routes[key]

    def remember_invite_response(self, key: str, response: SipResponse) -> None:
        now = time.monotonic()
        self.invite_responses[key] = (now + INVITE_RESPONSE_TTL, response)
        self.invite_responses.move_to_end(key)
        while self.invite_responses:
            oldest_branch, (expires, _) = next(iter(self.invite_responses.items()))
            if expires > now and len(self.invite_responses) <= MAX_REMEMBERED_RESPONSES:
                break
            del self.invite_responses[oldest_branch]

    def last_invite_response(self, key: str) -> SipResponse | None:
        entry = self.invite_responses.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]
