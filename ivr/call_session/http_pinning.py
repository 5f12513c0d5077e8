"""Connections pinned to the address UrlPolicy checked, so a name cannot resolve to a public address for the check
and to a private one for the request (DNS rebinding). The Host header, TLS SNI and certificate checks still use the
URL's host name; only where the socket connects is fixed."""

from __future__ import annotations

import socket

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import connection


def pinned_session(address: str | None) -> requests.Session:
    """A session for one request: connecting to `address` (None: as the name resolves). Proxies from the
    environment are not used: the request must go where the policy looked."""
    session = requests.Session()
    session.trust_env = False
    if address is not None:
        adapter = _PinnedAdapter(address)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


def _connect(conn: HTTPConnection, address: str) -> socket.socket:
    return connection.create_connection(
        (address, conn.port), conn.timeout, source_address=conn.source_address, socket_options=conn.socket_options
    )


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        address = self.address

        class Plain(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                return _connect(self, address)

        class Secure(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                return _connect(self, address)

        plain_pool = type("PinnedPool", (HTTPConnectionPool,), {"ConnectionCls": Plain})
        secure_pool = type("PinnedSecurePool", (HTTPSConnectionPool,), {"ConnectionCls": Secure})
        self.poolmanager.pool_classes_by_scheme = {"http": plain_pool, "https": secure_pool}
