"""A call's hold on its dialog: blind transfer by REFER, the CallControl (call.py) of inbound calls and callbacks.

One `DialogControl` per answered call: the endpoint that sends the REFER, the confirmed dialog (ours as UAS
for inbound calls, as UAC for callbacks), the peer's address, and the registrar that bare numbers are
transferred through (none for inbound calls: a number goes to the PBX that sent the call).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ivr.phone import NumberRefused

from .call import CallEnded, SipCall, TransferOutcome, await_transfer
from .targets import refer_target

if TYPE_CHECKING:
    from .endpoint import Endpoint

log = logging.getLogger(__name__)


class DialogControl:
    def __init__(self, endpoint: Endpoint, dialog, peer: tuple[str, int], registrar: str = "") -> None:
        self.endpoint, self.dialog, self.peer, self.registrar = endpoint, dialog, peer, registrar

    async def transfer(self, call: SipCall, target: str, timeout: float) -> TransferOutcome:
        """REFER to `target`; the outcome once the NOTIFYs (call.transfer_progress) report the target's answer."""
        try:
            refer_to = refer_target(target, self.registrar, self.peer)
        except NumberRefused as exc:  # the phone-number policy refuses it: the flow takes its `failed` branch
            log.warning("call %s: transfer refused: %s", call.call_id, exc)
            return TransferOutcome(False, "refused")
        call.transfer_progress = asyncio.get_running_loop().create_future()  # before the REFER: NOTIFYs are quick
        refer = self.endpoint.refer_in_dialog(self.dialog, refer_to, self.peer)
        outcome = await await_transfer(call, refer, timeout)
        log.info("call %s: transferred to %s: %s", call.call_id, refer_to, outcome.reason)
        return outcome

    async def hangup(self, call: SipCall, reason: str) -> None:
        call.end(reason)
        raise CallEnded(reason)
