"""Process heartbeats: `ivr worker` and `ivr sip` call `beat(...)` every few seconds; /healthz reads them.

A heartbeat is a small JSON blob that expires after `keys.HEARTBEAT_TTL`, so a dead process simply disappears.
"""
from __future__ import annotations

import json
import os
import socket
import time

import redis

from ivr.store import keys

COMPONENTS = ("worker", "sip")


def beat(conn: redis.Redis, component: str, **info) -> None:
    """Say "I am alive" for `component` (extra info, e.g. live calls, is shown on /healthz)."""
    blob = {"at": time.time(), "pid": os.getpid(), "host": socket.gethostname(), **info}
    conn.set(keys.heartbeat(component), json.dumps(blob), ex=keys.HEARTBEAT_TTL)


def read(conn: redis.Redis, components=COMPONENTS) -> dict[str, dict | None]:
    values = conn.mget([keys.heartbeat(c) for c in components])
    return {c: (json.loads(v) if v else None) for c, v in zip(components, values)}
