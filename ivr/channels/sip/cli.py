"""`ivr sip`: run the SIP channel (UDP endpoint + media) until SIGINT/SIGTERM, then drain (drain.py).

`--flow FILE` answers every call with that flow (its directory becomes the flows directory, for tests);
otherwise the routing table picks the flow by the Request-URI's user, else its default, else IVR_DEFAULT_FLOW
(call_session/routing.py). Calls are recorded and jobs queued through
call_session, so Redis (REDIS_URL or the embedded one `ivr run` starts) must be reachable. With IVR_CALLBACK_CHANNEL=sip
it also places the callback calls the worker hands over (outbound.py).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from ivr.call_session.http_request import HttpRunner
from ivr.settings import Settings
from ivr.system.handover import link_maker

from .dial_loop import take_dial_requests
from .drain import Lifecycle
from .edge.accounts import AccountBook
from .edge.build import check_settings
from .outbound import OutboundDialer
from .server import SipConfig, SipServer
from .session import flow_app
from .speech_input import speech_from_settings

log = logging.getLogger(__name__)


HEARTBEAT_SECONDS = 5.0
ACCOUNTS_REFRESH_SECONDS = 10.0


async def heartbeat(server: SipServer, beat, life: Lifecycle, session) -> None:
    """Tell /healthz this process is alive, with its live calls and whether it drains; Redis work runs off
    the media loop. A drain that starts is reported at once. A spool left behind (Redis was away, or no
    replica confirmed) is replayed here too, so it reaches Redis even when no call comes to trigger it."""
    while not life.stop.is_set():
        try:
            await asyncio.to_thread(
                beat,
                live_calls=len(server.live),
                calls_started=server.calls_started,
                address=":".join(map(str, server.address)),
                draining=life.draining.is_set(),
            )
        except Exception as exc:  # Redis down: calls go on; /healthz will show SIP as unknown meanwhile
            log.warning("sip heartbeat not written: %s", exc)
        if session.local.pending():
            session.replayer.in_background()
        await life.sleep(HEARTBEAT_SECONDS)


async def refresh_accounts(book: AccountBook, load, life: Lifecycle) -> None:
    """Keep the SIP accounts current (added or removed in the admin or the CLI); Redis down: keep the last copy."""
    while not life.stop.is_set():
        try:
            book.replace(*await asyncio.to_thread(load))
        except Exception as exc:
            log.warning("SIP accounts not refreshed: %s", exc)
        try:  # not life.sleep(): that returns at once for the whole drain
            await asyncio.wait_for(life.stop.wait(), ACCOUNTS_REFRESH_SECONDS)
        except TimeoutError:
            pass


async def serve(settings: Settings, config: SipConfig, session, flow_id: str | None) -> None:
    from ivr.call_session.wiring import heartbeat_writer, open_dial_requests, open_queue_board, sip_account_loader

    accounts, load_accounts = AccountBook(), sip_account_loader(session.redis)
    try:
        accounts.replace(*await asyncio.to_thread(load_accounts))
    except Exception as exc:
        log.warning("SIP accounts not loaded: %s", exc)
    http = HttpRunner.from_settings(settings)
    server = SipServer(config, flow_app(session, flow_id, speech_from_settings(settings), http), accounts=accounts)
    server.handover_link = link_maker(settings.public_base_url, settings.secret_key)  # for bridged transfers
    server.queue_board = open_queue_board(session.redis)  # the queue step's places, shared by every node
    await server.start()
    host, port = server.address
    click.echo(f"SIP listening on udp {host}:{port} (max {config.max_calls} calls)", err=True)
    life = Lifecycle(server, settings.sip_drain_seconds)
    life.install_signal_handlers()
    beat = heartbeat_writer(session.redis, "sip")
    tasks = [
        asyncio.create_task(heartbeat(server, beat, life, session)),
        asyncio.create_task(life.run()),
        asyncio.create_task(refresh_accounts(accounts, load_accounts, life)),
    ]
    if settings.callback_channel == "sip":  # the worker hands callback calls to us (outbound.py)
        dialer = server.dialer = OutboundDialer(
            server, settings.sip_registrar, settings.sip_user, settings.sip_password
        )
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
@click.option(
    "--flow",
    "flow_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Flow file to answer every call with (default: the routing table, then IVR_DEFAULT_FLOW).",
)
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
    config = SipConfig.from_settings(
        settings, audio_root=flows_dir, **{k: v for k, v in (("host", host), ("port", port)) if v is not None}
    )
    try:
        check_settings(config)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    session = open_call_session(settings, flows_dir)
    asyncio.run(serve(settings, config, session, flow_id))
