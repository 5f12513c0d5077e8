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
from dataclasses import dataclass

from aiosipua import IncomingCall, SdpNegotiationError
from aiosipua.dialog import DialogState

from ivr.system.recordings import folder_in

from .addresses import BadAddress
from .call import CallEnded, SipCall
from .config import SipConfig, primary_ip
from .control import DialogControl
from .endpoint import Endpoint
from .media.clock import PacingClock
from .media.ports import PortPool
from .media.prompts import PromptLibrary
from .media.stream import RtpStream
from .media_offer import answer_sdp, open_media
from .registration import RegistrationKeeper
from .transport import IvrUdpTransport

log = logging.getLogger(__name__)

App = Callable[[SipCall], Awaitable[None]]


@dataclass
class _Live:
    incoming: IncomingCall
    call: SipCall | None = None
    stream: RtpStream | None = None
    answered_at: float = 0.0
    acked: bool = False
    last_rx_count: int = 0
    last_rx_at: float = 0.0


def _user_part(address) -> str:
    return (address.uri.user or "") if address is not None and address.uri is not None else ""


class SipServer:
    def __init__(self, config: SipConfig, app: App, prompts: PromptLibrary | None = None) -> None:
        self.config = config
        self.app = app
        self.prompts = prompts or PromptLibrary(config.data_dir / "prompts", config.audio_root,
                                                tts_engine=config.tts_engine)
        self.recordings_dir = folder_in(config.data_dir)
        self.clock = PacingClock()
        self.ports = PortPool(config.host, config.rtp_port_min, config.rtp_port_max)
        self.transport = IvrUdpTransport(local_addr=(config.host, config.port))
        self.endpoint = Endpoint(self.transport, max_calls=config.max_calls)
        self.media_ip = config.public_host or (config.host if config.host not in ("", "0.0.0.0") else primary_ip())
        self.live: dict[str, _Live] = {}
        self.tasks: set[asyncio.Task] = set()
        self.calls_started = 0
        self.calls_finished = 0
        self.digits_received = 0
        self._sweeper: asyncio.Task | None = None
        self.registration: RegistrationKeeper | None = None
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
        if self.config.registrar:
            self.registration = RegistrationKeeper(self.endpoint, self.config.registrar, self.config.user,
                                                   self.config.password, self.config.register_expiry)
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
            call = live.call = SipCall(
                call_id, _user_part(incoming.invite.from_addr), _user_part(incoming.invite.to_addr),
                stream, self.prompts, self.recordings_dir,
                DialogControl(self.endpoint, incoming.dialog, incoming.source_addr))
            answer = self._answer_sdp(incoming.sdp_offer, stream)
            if self.config.answer_delay:
                incoming.ringing()
                await asyncio.wait({call.ended}, timeout=self.config.answer_delay)
            if call.ended.done() or incoming.dialog.state == DialogState.TERMINATED:
                return
            incoming.accept(answer)
            live.answered_at = live.last_rx_at = time.monotonic()
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
        return await open_media(incoming, self.ports, self.transport.family,
                                lambda digit: self._digit(incoming.call_id, digit))

    def _answer_sdp(self, offer, stream: RtpStream):
        return answer_sdp(offer, self.media_ip, stream)

    def _reinvite_answer(self, incoming: IncomingCall):
        """A re-INVITE: keep our port and codec, follow the peer's new media address."""
        live = self.live.get(incoming.call_id)
        if live is None or live.stream is None:
            return None
        offer = incoming.sdp_offer
        if offer is None or incoming.invite.content_type != "application/sdp":
            return incoming.sdp_answer  # offerless re-INVITE: offer what we have
        try:
            answer = self._answer_sdp(offer, live.stream)
        except SdpNegotiationError:
            return None
        remote = offer.rtp_address
        if remote is not None and remote[1] and remote[0] not in ("0.0.0.0", "::"):  # not on hold
            try:
                live.stream.update_remote(remote)
            except BadAddress:
                return None  # 488; the transport already refuses most of these with a 400
        return answer

    async def _release(self, live: _Live) -> None:
        call_id = live.incoming.call_id
        if live.stream is not None:
            self.clock.remove(live.stream)
            self.ports.close(live.stream)
        self.live.pop(call_id, None)
        self.calls_finished += 1
        # The BYE transaction retransmits on its own (bounded by Timer F); the call is already gone
        self.endpoint.hangup(live.incoming)

    def _transfer_progress(self, call_id: str, status: int, reason: str) -> None:
        live = self.live.get(call_id)
        if live and live.call and live.call.transfer_progress and status >= 200:
            if not live.call.transfer_progress.done():
                live.call.transfer_progress.set_result(status)

    # --- timeouts -----------------------------------------------------------------------
    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for live in list(self.live.values()):
                if live.call is None or not live.answered_at or live.call.ended.done():
                    continue
                if not live.acked and now - live.answered_at > self.config.no_ack_timeout:
                    live.call.end("no-ack")
                elif live.stream.packets_received != live.last_rx_count:
                    live.last_rx_count, live.last_rx_at = live.stream.packets_received, now
                elif now - live.last_rx_at > self.config.no_rtp_timeout:
                    live.call.end("no-rtp")
