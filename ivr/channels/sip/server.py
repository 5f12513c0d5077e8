"""The SIP server: endpoint + media + one task per call running the application coroutine.

`SipServer(config, app)` answers every INVITE at once (or after `answer_delay`, with 180), binds an
RTP stream on the shared pacing clock, runs `await app(call)` and always cleans up: the stream
leaves the clock, its port returns to the pool, the call leaves every table, and a BYE is sent
(reliably) unless the caller already hung up. A sweeper ends calls with no ACK or no RTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from aiosipua import IncomingCall
from aiosipua.dialog import DialogState

from ivr.system.recordings import folder_in

from .bridge import bridge_transfer
from .call import CallEnded, SipCall, TransferOutcome
from .config import SipConfig, primary_ip
from .control import DialogControl
from .edge.accounts import AccountBook
from .edge.build import build_gate, open_edge_warning
from .edge.srtp_rules import SrtpRules
from .endpoint import Endpoint
from .live import Live as _Live
from .live import called_user, end_silent_calls
from .live import user_part as _user_part
from .media.clock import PacingClock
from .media.ports import PortPool
from .media.prompts import PromptLibrary
from .media.stream import RtpStream
from .media_offer import MediaPolicy, answer_sdp, open_media, reinvite_answer
from .outbound import OutboundDialer
from .registration import RegistrationKeeper
from .streams import stream_listeners
from .transport import IvrUdpTransport

log = logging.getLogger(__name__)

App = Callable[[SipCall], Awaitable[None]]
UNACKED_RTP_FRAMES = 50  # 1 s of RTP to the offered address before the ACK; then none until it comes


class SipServer:
    def __init__(
        self, config: SipConfig, app: App, prompts: PromptLibrary | None = None, accounts: AccountBook | None = None
    ) -> None:
        self.config = config
        self.accounts = accounts if accounts is not None else AccountBook()
        self.app = app
        self.media_policy = MediaPolicy.from_config(config)  # its SRTP policy: per call, from srtp_rules
        self.srtp_rules = SrtpRules(config.srtp, config.srtp_by_source)
        self.prompts = prompts or PromptLibrary(
            config.data_dir / "prompts", config.audio_root, tts_engine=config.tts_engine
        )
        self.recordings_dir = folder_in(config.data_dir)
        self.clock = PacingClock()
        self.ports = PortPool(config.host, config.rtp_port_min, config.rtp_port_max)
        self.transport = IvrUdpTransport(local_addr=(config.host, config.port))
        self.transport.streams.extend(stream_listeners(config))
        self.gate = build_gate(config, self.accounts)
        self.endpoint = Endpoint(self.transport, max_calls=config.max_calls, gate=self.gate)
        self.media_ip = config.public_host or (config.host if config.host not in ("", "0.0.0.0") else primary_ip())
        self.live: dict[str, _Live] = {}
        self.tasks: set[asyncio.Task] = set()
        self.calls_started = 0
        self.calls_finished = 0
        self.digits_received = 0
        self._sweeper: asyncio.Task | None = None
        self.registration: RegistrationKeeper | None = None
        self.dialer: OutboundDialer | None = None  # places a bridged transfer's second leg (and callbacks)
        self.handover_link: Callable[[str], str] | None = None  # call id -> signed timeline link (system/handover)
        ep = self.endpoint
        ep.on_invite = self._on_invite
        ep.on_bye = lambda inc, _req: self._end(inc.call_id, "hangup")
        ep.on_cancelled = lambda inc: self._end(inc.call_id, "cancelled")
        ep.on_ack = self._on_ack
        ep.on_ack_timeout = lambda inc: self._end(inc.call_id, "no-ack")
        ep.on_digit = lambda inc, digit: self._digit(inc.call_id, digit)
        ep.on_reinvite_offer = self._reinvite_answer
        ep.on_transfer_progress = self._transfer_progress

    @property
    def address(self) -> tuple[str, int]:
        return self.transport.local_addr

    async def start(self) -> None:
        await self.endpoint.start()
        if self.config.public_host or self.config.host in ("", "0.0.0.0"):
            # Contact/Via must name an address peers can reach, never 0.0.0.0
            self.endpoint.advertised_addr = (self.media_ip, self.transport.local_addr[1])
        self.clock.start()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
        log.info("SIP listening on udp %s:%d", *self.address)
        for stream in self.transport.streams:
            log.info("SIP listening on %s %s:%d", stream.protocol.lower(), *stream.local_addr)
        warning = open_edge_warning(self.config.host, self.gate.trusted, self.accounts, self.config.public_route)
        if warning:
            log.warning("!!! %s !!!", warning)
        if self.config.registrar:
            self.registration = RegistrationKeeper(
                self.endpoint,
                self.config.registrar,
                self.config.user,
                self.config.password,
                self.config.register_expiry,
            )
            await self.registration.start()

    async def stop(self) -> None:
        for live in list(self.live.values()):
            if live.call is not None:
                live.call.end("shutdown")
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=5)
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.registration is not None:
            await self.registration.stop()
        await self.clock.stop()
        await self.endpoint.stop()

    # --- endpoint callbacks --------------------------------------------------------------
    def _on_invite(self, incoming: IncomingCall) -> None:
        self.live[incoming.call_id] = _Live(incoming)
        task = asyncio.get_running_loop().create_task(self._run_call(incoming))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _on_ack(self, incoming: IncomingCall) -> None:
        live = self.live.get(incoming.call_id)
        if live is not None:
            live.acked = True
            if live.stream is not None:
                live.stream.unconfirmed_ticks = None

    def _digit(self, call_id: str, digit: str) -> None:
        live = self.live.get(call_id)
        if live is not None and live.call is not None:
            self.digits_received += 1
            live.call.on_digit(digit)

    def _end(self, call_id: str, reason: str) -> None:
        live = self.live.get(call_id)
        if live is None:
            return
        if live.call is not None:
            live.call.end(reason)
        elif reason in ("hangup", "cancelled", "no-ack"):
            live.incoming.dialog.terminate()  # ended before the call object existed

    # --- one call ------------------------------------------------------------------------
    async def _run_call(self, incoming: IncomingCall) -> None:
        call_id = incoming.call_id
        live = self.live[call_id]
        self.calls_started += 1
        try:
            stream = await self._open_media(incoming)
            if stream is None:
                return
            live.stream = stream
            identity = self.endpoint.identities.get(call_id)  # the gate's: a claimed From is not believed
            caller = identity.caller if identity is not None else _user_part(incoming.invite.from_addr)
            call = live.call = SipCall(
                call_id,
                caller,
                called_user(incoming.invite),  # the Request-URI's user: what routes the call (routing table)
                stream,
                self.prompts,
                self.recordings_dir,
                DialogControl(self.endpoint, incoming.dialog, incoming.source_addr),
            )
            call.bridger = lambda call, transfer: self._bridge(call, transfer, incoming.source_addr)
            call.route = identity.route if identity is not None else ""
            answer = answer_sdp(incoming.sdp_offer, self.media_ip, stream)
            if self.config.answer_delay:
                incoming.ringing()
                await asyncio.wait({call.ended}, timeout=self.config.answer_delay)
            if call.ended.done() or incoming.dialog.state == DialogState.TERMINATED:
                return
            incoming.accept(answer)
            live.answered_at = live.last_rx_at = time.monotonic()
            stream.unconfirmed_ticks = None if live.acked else UNACKED_RTP_FRAMES
            self.clock.add(stream)
            try:
                await self.app(call)
            except CallEnded:
                pass
            except Exception:
                log.exception("IVR application failed on call %s", call_id)
        except Exception:
            log.exception("SIP call %s failed", call_id)
        finally:
            await self._release(live)

    async def _open_media(self, incoming: IncomingCall) -> RtpStream | None:
        """The call's media, under the SRTP policy of its account, or of its source (edge/srtp_rules.py)."""
        identity = self.endpoint.identities.get(incoming.call_id)
        account_policy = self.accounts.srtp_policy(identity.account) if identity and identity.account else ""
        srtp = self.srtp_rules.policy_for(incoming.source_addr[0], account_policy)
        return await open_media(
            incoming,
            self.ports,
            self.transport.family,
            lambda digit: self._digit(incoming.call_id, digit),
            replace(self.media_policy, srtp=srtp),
        )

    def _reinvite_answer(self, incoming: IncomingCall):
        """A re-INVITE: keep our port and codec, follow the peer's new media address."""
        live = self.live.get(incoming.call_id)
        if live is None or live.stream is None:
            return None
        return reinvite_answer(incoming, live.stream, self.media_ip)

    async def _release(self, live: _Live) -> None:
        call_id = live.incoming.call_id
        if live.stream is not None:
            self.clock.remove(live.stream)
            self.ports.close(live.stream)
        self.live.pop(call_id, None)
        self.endpoint.identities.pop(call_id, None)
        self.calls_finished += 1
        # The BYE transaction retransmits on its own (bounded by Timer F); the call is already gone
        self.endpoint.hangup(live.incoming)

    async def _bridge(self, call: SipCall, transfer, caller_addr: tuple[str, int]) -> TransferOutcome:
        """A bridged transfer (bridge.py): the callbacks' dialer rings the target, the media loop relays."""
        if self.dialer is None:
            self.dialer = OutboundDialer(self, self.config.registrar, self.config.user, self.config.password)
        return await bridge_transfer(call, transfer, self.dialer, caller_addr, self.clock)

    def _transfer_progress(self, call_id: str, status: int, reason: str) -> None:
        live = self.live.get(call_id)
        if live and live.call and live.call.transfer_progress and status >= 200:
            if not live.call.transfer_progress.done():
                live.call.transfer_progress.set_result(status)

    # --- timeouts -----------------------------------------------------------------------
    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            end_silent_calls(
                self.live.values(), time.monotonic(), self.config.no_ack_timeout, self.config.no_rtp_timeout
            )
