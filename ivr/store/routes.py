"""The routing table: which flow answers each called number (the SIP Request-URI user, or Twilio's `To`).

Rows map a route key (`ivr.phone.route_key`: an E.164 number or a SIP user name) to a flow id; the table's
default answers a number with no row. Written by the admin page, the REST API and `ivr routes import`
(admin/route_service.py checks keys and flow ids first); read by each process's FlowRouter
(call_session/routing.py), which keeps its own copy for when Redis is away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import redis

from ivr.store import as_text, keys


@dataclass(frozen=True)
class RouteTable:
    routes: Mapping[str, str] = field(default_factory=dict)  # route key -> flow id
    default: str = ""  # the flow for a called number with no row ('' : the process's own default)

    def flow_for(self, key: str) -> str:
        """The flow of the row `key` (a route key), else the table's default, else ''."""
        return self.routes.get(key, "") or self.default


class RouteStore:
    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn

    def table(self) -> RouteTable:
        """The whole table, read in one MULTI so a row and the default always come from the same moment."""
        pipe = self.conn.pipeline(transaction=True)
        pipe.hgetall(keys.ROUTES)
        pipe.get(keys.ROUTES_DEFAULT)
        rows, default = pipe.execute()
        return RouteTable({as_text(k): as_text(v) for k, v in rows.items()}, as_text(default) if default else "")

    def set(self, key: str, flow_id: str) -> None:
        self.conn.hset(keys.ROUTES, key, flow_id)

    def remove(self, key: str) -> bool:
        return bool(self.conn.hdel(keys.ROUTES, key))

    def set_default(self, flow_id: str) -> None:
        if flow_id:
            self.conn.set(keys.ROUTES_DEFAULT, flow_id)
        else:
            self.conn.delete(keys.ROUTES_DEFAULT)

    def replace(self, table: RouteTable) -> None:
        """Put `table` in place of the whole table, atomically (an import)."""
        pipe = self.conn.pipeline(transaction=True)
        pipe.delete(keys.ROUTES, keys.ROUTES_DEFAULT)
        if table.routes:
            pipe.hset(keys.ROUTES, mapping=dict(table.routes))
        if table.default:
            pipe.set(keys.ROUTES_DEFAULT, table.default)
        pipe.execute()
