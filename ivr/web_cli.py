"""`ivr web`: serve `create_app()` (Twilio webhooks, admin, API) with gunicorn, a production WSGI server.

The app is built once in the master (preload) and workers are forked from it; its connections are lazy, so each
worker opens its own Redis connection and spool after the fork (warm_up does it before the first request).
`gthread` workers keep HTTP connections alive for a proxy or Twilio's edge.
Run it directly with `python -m ivr.web_cli --host H --port P` (the tests do) or through `ivr web` / `ivr run`.
"""

from __future__ import annotations

import gc
import logging
import os

import click
from gunicorn.app.base import BaseApplication


log = logging.getLogger(__name__)


def freeze_before_fork(server, worker) -> None:
    """gunicorn pre_fork (in the master): what the preloaded app built lives as long as the process, so the
    garbage collector need not scan it again (a full collection of it paused requests for ~100 ms), and the
    forked workers keep sharing those memory pages."""
    gc.freeze()


def warm_up(worker) -> None:
    """gunicorn post_worker_init: open the call session and load the default flow before the first caller."""
    app = worker.wsgi
    try:
        runtime = app.extensions["ivr"]
        runtime.call_session.flows.get(runtime.settings.default_flow)
    except Exception as exc:  # noqa: BLE001 - Redis down or a broken flow: requests will show it, start anyway
        log.warning("worker warm-up incomplete: %s", exc)
    gc.freeze()  # the connections and flows just opened last as long as the worker, like the app itself


def default_workers() -> int:
    return max(2, (os.cpu_count() or 1) + 1)


class GunicornServer(BaseApplication):
    """gunicorn with its options given in code rather than read from a command line or config file."""

    def __init__(self, app_factory, options: dict):
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if value is not None and key in self.cfg.settings:  # older gunicorns lack some settings
                self.cfg.set(key, value)

    def load(self):
        return self.app_factory()


def gunicorn_options(
    host: str, port: int, workers: int, threads: int, timeout: int = 30, metrics_bind: str = ""
) -> dict:
    return {
        # IVR_METRICS_BIND is a second listener of the same app; health.py tells them apart by socket address
        "bind": [f"{host}:{port}", *([metrics_bind] if metrics_bind else [])],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,  # Twilio gives up on a webhook after 15 s; a stuck worker is recycled
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "ivr-web",
        # Build the app once in the master and fork: workers start serving at once, sharing the imported code.
        # Safe because connections are opened lazily, in each worker (see warm_up and web.WebRuntime).
        "preload_app": True,
        "pre_fork": freeze_before_fork,
        "post_worker_init": warm_up,
        # gunicorn >= 25.1 opens a control socket at one fixed path per user: several servers would collide
        "control_socket_disable": True,
    }


@click.command()
@click.option("--host", default=None, help="Address to bind (default IVR_WEB_HOST, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to bind (default IVR_WEB_PORT, 8000).")
@click.option("--workers", default=None, type=int, help="Worker processes (default: CPUs + 1).")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker (gthread).")
@click.option("--access-log", is_flag=True, help="Log every request to stderr.")
def web(host: str | None, port: int | None, workers: int | None, threads: int, access_log: bool) -> None:
    """Serve the web app (Twilio webhooks, admin UI, REST API) with gunicorn."""
    from .settings import Settings
    from .web import create_app

    settings = Settings.from_env()
    options = gunicorn_options(
        host or settings.web_host,
        port or settings.web_port,
        workers or default_workers(),
        threads,
        metrics_bind=settings.metrics_bind,
    )
    if access_log:
        options["accesslog"] = "-"
    GunicornServer(lambda: create_app({"IVR_SETTINGS": settings}), options).run()


if __name__ == "__main__":
    web()
