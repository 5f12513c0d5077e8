"""`ivr sip`: run the SIP channel (UDP endpoint + media) until SIGINT/SIGTERM.

`--flow FILE` answers every call with that flow (its directory becomes the flows directory);
otherwise the default flow from the settings. Calls are recorded and jobs queued through
call_session, so Redis (REDIS_URL or the embedded one `ivr run` starts) must be reachable.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import click

from ivr.settings import Settings

from .server import SipConfig, SipServer
from .session import flow_app


async def serve(settings: Settings, config: SipConfig, session, flow_id: str | None) -> None:
    server = SipServer(config, flow_app(session, flow_id))
    await server.start()
    host, port = server.address
    click.echo(f"SIP listening on udp {host}:{port} (max {config.max_calls} calls)", err=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


@click.command("sip")
@click.option("--host", default=None, help="Address to listen on (default: IVR_SIP_HOST).")
@click.option("--port", default=None, type=int, help="UDP port (default: IVR_SIP_PORT).")
@click.option("--flow", "flow_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Flow file to answer every call with (default: the settings' default flow).")
@click.pass_obj
def sip(settings: Settings | None, host: str | None, port: int | None, flow_path: str | None) -> None:
    """Answer SIP calls (softphones, PBXs, trunks) on UDP with the IVR flows."""
    from ivr.flows import FlowInvalid, load_flow
    from ivr.runtime import open_call_session

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
