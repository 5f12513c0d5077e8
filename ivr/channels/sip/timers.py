"""RFC 3261 transaction timers over UDP, written once for every retransmission we do ourselves.

T1/T2/T4 and Timers A-H as in RFC 3261 17.1.1.2 (INVITE client: A doubles with no cap, B gives up),
17.1.2.2 (non-INVITE client: E doubles up to T2, F gives up) and 17.2.1 (INVITE server: G resends the
final response up to T2, H bounds how long its retransmissions may arrive). Our users: the INVITE of a
callback (Timer A/B, outbound.py), BYE and REFER (Timer E/F, endpoint.py), and the memory of INVITE
responses (Timer H, transport.py). aiosipua retransmits its 2xx to an INVITE itself (Timer G).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

T1 = 0.5  # RTT estimate
T2 = 4.0  # longest interval for non-INVITE requests and INVITE responses
T4 = 5.0  # longest time a message stays in the network
TIMER_B = TIMER_F = TIMER_H = 64 * T1  # give up on a client transaction; stop absorbing retransmissions


async def retransmit(send: Callable[[], None], done: Callable[[], bool], *, capped: bool) -> bool:
    """Resend with `send()` at T1, 2*T1, 4*T1, ... (at most T2 apart when `capped`: Timer E/G; uncapped:
    Timer A) until `done()`; True when done, False when Timer B/F (64*T1) expired first. The caller sends
    the first copy itself."""
    interval, elapsed = T1, 0.0
    while True:
        await asyncio.sleep(interval)
        elapsed += interval
        if done():
            return True
        if elapsed >= TIMER_F:
            return False
        send()
        interval = min(interval * 2, T2) if capped else interval * 2
