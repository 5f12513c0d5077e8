"""The 12,000 mutated SIP messages of test_fuzz.py again, over TCP and over TLS: the stream listener keeps
answering, every connection is closed and forgotten, memory stays bounded, and a SIPp call works afterwards.

On a stream a lying Content-Length swallows the messages after it, so each connection carries a batch of
20 messages and is then closed, as a scanner's would be; the server must survive whatever state it is left in."""

from __future__ import annotations

import random
import socket
import ssl
import time

import pytest

from .apps import Recorded, menu_app
from .conftest import free_port_range, run_sipp, sipp_counts
from .test_fuzz import base_messages, mutate, rss_kb
from .tls_peer import StreamUac, client_context, self_signed

pytestmark = pytest.mark.slow  # 12,000 fuzzed messages per protocol

BATCH = 20


def blast(port: int, context, rng: random.Random, count: int, seed_offset: int, sip_port: int, rtp: int) -> int:
    """Send `count` mutated messages in batches, one connection per batch; returns how many batches got through."""
    delivered = 0
    for start in range(0, count, BATCH):
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock = context.wrap_socket(raw, server_hostname="127.0.0.1") if context else raw
        except (OSError, ssl.SSLError):
            continue
        try:
            for n in range(start, start + BATCH):
                msg = rng.choice(base_messages(sip_port, rtp, n + seed_offset))
                sock.sendall(mutate(rng, msg)[:65000])
            sock.settimeout(0.002)
            try:
                while sock.recv(65536):
                    pass
            except (TimeoutError, OSError, ssl.SSLError):
                pass
            delivered += 1
        except (OSError, ssl.SSLError):
            pass  # the server closed a connection it judged hostile: fine
        finally:
            sock.close()
    return delivered


def wait_no_connections(listener, running, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        count = running.loop.call(lambda: len(listener.connections))
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


@pytest.mark.parametrize("protocol", ["TCP", "TLS"])
def test_fuzzed_sip_over_streams_never_kills_the_listener(start_server, tmp_path, protocol):
    cert, key = self_signed(tmp_path)
    running = start_server(
        menu_app(Recorded(), timeout=1),
        max_calls=20,
        no_ack_timeout=1.0,
        no_rtp_timeout=2.0,
        tls_cert=str(cert),
        tls_key=str(key),
        tls_port=0,
    )
    listener = next(s for s in running.server.transport.streams if s.protocol == protocol)
    context = client_context(cert) if protocol == "TLS" else None
    rng = random.Random(20261201)
    rtp_first, _ = free_port_range(4)
    port = listener.local_addr[1]
    dropped_before = running.server.transport.dropped
    assert blast(port, context, rng, 2000, 0, running.port, rtp_first) > 50  # warm-up
    before = rss_kb()
    assert blast(port, context, rng, 10_000, 10_000, running.port, rtp_first) > 250
    assert wait_no_connections(listener, running) == 0
    state = running.wait_idle(20)
    assert state["live"] == state["uas_calls"] == state["ports"] == state["tasks"] == 0, state
    assert running.server.transport.dropped - dropped_before > 300  # the garbage really reached the front door
    assert rss_kb() - before < 30_000, (before, rss_kb())

    uac = StreamUac(port, context)  # the listener still answers, on this protocol and on UDP
    uac.send(uac.options(running.port))
    reply = uac.recv_message()
    assert reply is not None and reply.startswith("SIP/2.0 200"), reply
    uac.close()
    result = run_sipp("uac_ivr.xml", running.port, timeout=40)
    assert sipp_counts(result) == (1, 0), result.stdout[-2000:]
