"""`ivr sip`: run the SIP channel (UDP endpoint + media) until SIGINT/SIGTERM, then drain (drain.py).

`--flow FILE` answers every call with that flow (its directory becomes the flows directory);
otherwise the default flow from the settings. Calls are recorded and jobs queued through
call_session, so Redis (REDIS_URL or the embedded one `ivr run` starts) must be reachable. With IVR_CALLBACK_CHANNEL=sip
it also places the callback calls the worker hands over (outbound.py).
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from ivr.settings import Settings

from .dial_loop import take_dial_requests
from .drain import Lifecycle
from .outbound import OutboundDialer
from .server import SipConfig, SipServer
from .session import flow_app
from .speech_input import speech_from_settings

log = logging.getLogger(__name__)


HEARTBEAT_SECONDS = 5.0


async def heartbeat(server: SipServer, beat, life: Lifecycle) -> None:
    """Tell /healthz this process is alive, with its live calls and whether it drains; Redis work runs off
    the media loop. A drain that starts is reported at once."""
    while not life.stop.is_set():
        try:
            await asyncio.to_thread(beat, live_calls=len(server.live), calls_started=server.calls_started,
                                    address=":".join(map(str, server.address)), draining=life.draining.is_set())
        except Exception as exc:  # Redis down: calls go on; /healthz will show SIP as unknown meanwhile
            log.warning("sip heartbeat not written: %s", exc)
        await life.sleep(HEARTBEAT_SECONDS)


async def serve(settings: Settings, config: SipConfig, session, flow_id: str | None) -> None:
    from ivr.call_session.wiring import heartbeat_writer, open_dial_requests
    server = SipServer(config, flow_app(session, flow_id, speech_from_settings(settings)))
    await server.start()
    host, port = server.address
    click.echo(f"SIP listening on udp {host}:{port} (max {config.max_calls} calls)", err=True)
    life = Lifecycle(server, settings.sip_drain_seconds)
    life.install_signal_handlers()
    beat = heartbeat_writer(session.redis, "sip")
    tasks = [asyncio.create_task(heartbeat(server, beat, life)), asyncio.create_task(life.run())]
    if settings.callback_channel == "sip":  # the worker hands callback calls to us (outbound.py)
        dialer = OutboundDialer(server, settings.sip_registrar, settings.sip_user, settings.sip_password)
        requests = open_dial_requests(session.redis)
        tasks.append(asyncio.create_task(take_dial_requests(dialer, requests, life.draining)))
    # A socket that closed and could not be reopened: exit non-zero so the supervisor starts us again
    failed = server.transport.failed
    await asyncio.wait({asyncio.ensure_future(life.stop.wait()), failed}, return_when=asyncio.FIRST_COMPLETED)
    life.stop.set()
    await asyncio.gather(*tasks)
    await server.stop()
    if failed.done():
        log.critical("SIP listener lost: %s; exiting so that the supervisor restarts it", failed.result())
        raise SystemExit(3)


@click.command("sip")
@click.option("--host", default=None, help="Address to listen on (default: IVR_SIP_HOST).")
@click.option("--port", default=None, type=int, help="UDP port (default: IVR_SIP_PORT).")
@click.option("--flow", "flow_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Flow file to answer every call with (default: the settings' default flow).")
@click.pass_obj
def sip(settings: Settings | None, host: str | None, port: int | None, flow_path: str | None) -> None:
    """Answer SIP calls (softphones, PBXs, trunks) on UDP with the IVR flows."""
    from ivr.call_session.wiring import open_call_session
    from ivr.flows import FlowInvalid, load_flow

    settings = settings if isinstance(settings, Settings) else Settings.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    flows_dir, flow_id = Path(settings.flows_dir), None
    if flow_path:
        try:
            flow_id = load_flow(flow_path).id
        except FlowInvalid as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            raise SystemExit(1) from None
        flows_dir = Path(flow_path).resolve().parent
    config = SipConfig.from_settings(settings, audio_root=flows_dir, **{
        k: v for k, v in (("host", host), ("port", port)) if v is not None})
    session = open_call_session(settings, flows_dir)
    asyncio.run(serve(settings, config, session, flow_id))
