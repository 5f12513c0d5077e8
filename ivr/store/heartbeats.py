"""Process heartbeats: `ivr worker` and `ivr sip` call `beat(...)` every few seconds; /healthz reads them.

A heartbeat is a small JSON blob that expires after `keys.HEARTBEAT_TTL`, so a dead process simply disappears.
Components in NODE_COMPONENTS (SIP, several nodes behind Kamailio) beat one key per node, named in a set;
`read` reports each node under `nodes` and sums them up, so /healthz never shows one node's state for another's.
"""

from __future__ import annotations

import json
import os
import socket
import time

import redis

from ivr.store import keys

COMPONENTS = ("worker", "sip")
NODE_COMPONENTS = ("sip",)


def beat(conn: redis.Redis, component: str, node: str = "", **info) -> None:
    """Say "I am alive" for `component` (extra info, e.g. live calls, is shown on /healthz). A node component's
    node is `node`, else its `address` on this host, else this host and pid."""
    host = socket.gethostname()
    blob = {"at": time.time(), "pid": os.getpid(), "host": host, **info}
    if component not in NODE_COMPONENTS:
        conn.set(keys.heartbeat(component), json.dumps(blob), ex=keys.HEARTBEAT_TTL)
        return
    node = node or f"{host}/{info.get('address') or os.getpid()}"
    with conn.pipeline(transaction=False) as pipe:
        pipe.set(keys.heartbeat(component, node), json.dumps({**blob, "node": node}), ex=keys.HEARTBEAT_TTL)
        pipe.sadd(keys.heartbeat_nodes(component), node)
        pipe.execute()


def nodes(conn: redis.Redis, component: str) -> list[dict]:
    """The live nodes' beats, by node name; names whose beat expired leave the set."""
    names = sorted(n.decode() if isinstance(n, bytes) else n for n in conn.smembers(keys.heartbeat_nodes(component)))
    values = conn.mget([keys.heartbeat(component, n) for n in names]) if names else []
    gone = [n for n, v in zip(names, values) if not v]
    if gone:
        conn.srem(keys.heartbeat_nodes(component), *gone)
    return [json.loads(v) for v in values if v]


def summary(beats: list[dict]) -> dict | None:
    """One node: its beat. Several: the newest beat's time, live calls summed, draining only if all drain."""
    if len(beats) <= 1:
        return {**beats[0], "nodes": beats} if beats else None
    return {
        "at": max(b["at"] for b in beats),
        "live_calls": sum(b.get("live_calls") or 0 for b in beats),
        "draining": all(b.get("draining") for b in beats),
        "nodes": beats,
    }


def read(conn: redis.Redis, components=COMPONENTS) -> dict[str, dict | None]:
    single = [c for c in components if c not in NODE_COMPONENTS]
    values = conn.mget([keys.heartbeat(c) for c in single]) if single else []
    out: dict[str, dict | None] = {c: (json.loads(v) if v else None) for c, v in zip(single, values)}
    out.update({c: summary(nodes(conn, c)) for c in components if c in NODE_COMPONENTS})
    return {c: out[c] for c in components}
