"""Is the SIP listener answering? One OPTIONS over UDP, from any process (the web app's /healthz uses it).

A heartbeat only proves that a process is alive; a listener whose socket closed keeps beating. So the
check is the real thing: an OPTIONS to the configured address, and any final response with our Call-ID
within `timeout` means the listener receives and answers. Results are kept for `CACHE_SECONDS`, so a
monitor polling /healthz cannot turn the web process into an OPTIONS flood. Stdlib only: no SIP stack
is imported into the web process.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid

TIMEOUT = 0.5  # seconds; the listener answers OPTIONS in well under a millisecond on an idle host
CACHE_SECONDS = 2.0

_cache: dict[tuple[str, int], tuple[float, dict]] = {}
_lock = threading.Lock()


def reachable_host(host: str) -> str:
    """Where to reach a listener bound to `host` from this machine (a wildcard means loopback)."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)


def options_request(host: str, port: int, local: tuple[str, int], call_id: str) -> bytes:
    uri_host = f"[{host}]" if ":" in host else host
    via_host = f"[{local[0]}]" if ":" in local[0] else local[0]
    lines = [
        f"OPTIONS sip:{uri_host}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {via_host}:{local[1]};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport",
        "Max-Forwards: 70",
        f"From: <sip:healthz@{via_host}>;tag={uuid.uuid4().hex[:8]}",
        f"To: <sip:{uri_host}:{port}>",
        f"Call-ID: {call_id}",
        "CSeq: 1 OPTIONS",
        "User-Agent: ivr-healthz",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


def probe(host: str, port: int, timeout: float = TIMEOUT) -> dict:
    """{"ok": True, "latency_ms": ...} when the listener answered (with "draining": True for a 503: it is letting
    its calls finish and takes no new ones), else {"ok": False, "error": ...}."""
    host = reachable_host(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    call_id = f"healthz-{uuid.uuid4().hex}"
    started = time.perf_counter()
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((host, port))  # connected: only the listener's replies reach us, ICMP errors too
            sock.settimeout(timeout)
            sock.send(options_request(host, port, sock.getsockname()[:2], call_id))
            deadline = started + timeout
            while True:
                sock.settimeout(max(0.001, deadline - time.perf_counter()))
                data = sock.recv(65535)
                if data.startswith(b"SIP/2.0 ") and call_id.encode() in data and data[8:9] in b"23456":
                    answer = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
                    return {**answer, "draining": True} if data[8:11] == b"503" else answer
    except TimeoutError:
        return {"ok": False, "error": f"no answer to OPTIONS within {timeout:.1f} s"}
    except OSError as exc:
        return {"ok": False, "error": f"OPTIONS not answered: {exc.strerror or exc}"}


def cached_probe(host: str, port: int, timeout: float = TIMEOUT) -> dict:
    """`probe()`, at most once per `CACHE_SECONDS` per address in this process."""
    key = (host, port)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    result = probe(host, port, timeout)
    with _lock:
        _cache[key] = (time.monotonic(), result)
    return result
