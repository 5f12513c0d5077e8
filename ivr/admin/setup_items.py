"""Set-up check items on this host: the secret key, the data directory, the SIP bind and public address, and the
audio tools (espeak-ng, sox); `all_items` lists every item, these, setup_remote's and setup_feeds', in set-up order."""

from __future__ import annotations

import errno
import ipaddress
import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path

from ivr.channels.sip.probe import cached_probe, reachable_host
from ivr.settings import Settings
from ivr.system.plain_errors import network_error

from . import setup_feeds, setup_remote
from .setup_check import Item, State

MIN_SECRET = 16  # characters; secrets.token_hex(32) gives 64


def secret_key(s: Settings) -> Item:
    title, names = "Secret key (IVR_SECRET_KEY)", ("IVR_SECRET_KEY", "IVR_ENV")
    if s.secret_key and len(s.secret_key) < MIN_SECRET:
        return Item(
            "secret_key",
            title,
            State.BROKEN,
            f"IVR_SECRET_KEY is only {len(s.secret_key)} characters: a "
            f"short key can be guessed and sessions forged; use {MIN_SECRET} or more random characters.",
            names,
        )
    if s.secret_key:
        return Item(
            "secret_key", title, State.OK, "IVR_SECRET_KEY is set; it signs the admin's session cookies.", names
        )
    if s.environment != "development":
        return Item(
            "secret_key",
            title,
            State.BROKEN,
            f"IVR_SECRET_KEY is not set and IVR_ENV={s.environment}: the web app refuses to start.",
            names,
        )
    return Item(
        "secret_key",
        title,
        State.OK,
        f"IVR_SECRET_KEY is not set: a random key was generated in "
        f"{Path(s.data_dir) / 'secret-key'} (IVR_ENV=development only; set one in production).",
        names,
    )


def data_dir(s: Settings) -> Item:
    title, names = "Data directory (IVR_DATA_DIR)", ("IVR_DATA_DIR",)
    path = Path(s.data_dir).resolve()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        return Item("data_dir", title, State.BROKEN, f"IVR_DATA_DIR={path}: {existing} is a file, not a folder.", names)
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "" if existing == path else f" (it does not exist, and {existing} cannot hold it)"
        return Item(
            "data_dir",
            title,
            State.BROKEN,
            f"IVR_DATA_DIR={path} is not writable by this user "
            f"(uid {os.getuid()}){what}: recordings, the spool and the secret key cannot be kept.",
            names,
        )
    if existing == path and path.stat().st_mode & stat.S_IWOTH:
        return Item(
            "data_dir",
            title,
            State.BROKEN,
            f"IVR_DATA_DIR={path} is writable by every user of this "
            "host: anyone could replace recordings or the spool; chmod o-w it.",
            names,
        )
    state = "is writable" if existing == path else "will be created"
    return Item("data_dir", title, State.OK, f"IVR_DATA_DIR={path} {state}.", names)


def sip(s: Settings, probe=None) -> Item:
    """A listener answering OPTIONS is fine; else the address must be free for `ivr sip` to bind."""
    title, names = "SIP listener", ("IVR_SIP_HOST", "IVR_SIP_PORT")
    where = f"IVR_SIP_HOST={s.sip_host}, IVR_SIP_PORT={s.sip_port}"
    answer = (probe or cached_probe)(s.sip_host, s.sip_port)
    if answer.get("ok"):
        return Item("sip", title, State.OK, f"The SIP listener at {where} answers OPTIONS.", names)
    family = socket.AF_INET6 if ":" in s.sip_host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.bind((s.sip_host, s.sip_port))
    except OSError as exc:
        return Item(
            "sip",
            title,
            State.BROKEN,
            f"SIP cannot listen on {where}: {network_error(exc)}"
            + (", and whatever holds it does not answer SIP." if exc.errno == errno.EADDRINUSE else "."),
            names,
        )
    return Item(
        "sip",
        title,
        State.OK,
        f"{where} is free: `ivr sip` (or `ivr run`) can listen there; no SIP listener runs now.",
        names,
    )


def _is_local(host: str) -> bool:
    try:
        address = ipaddress.ip_address(reachable_host(host))
    except ValueError:
        return host == "localhost"
    return address.is_loopback


def sip_public(s: Settings) -> Item:
    title, names = "SIP public address", ("IVR_SIP_PUBLIC_HOST", "IVR_SIP_HOST")
    if s.sip_public_host:
        try:
            socket.getaddrinfo(s.sip_public_host, None)
        except OSError as exc:
            return Item(
                "sip_public",
                title,
                State.BROKEN,
                f"IVR_SIP_PUBLIC_HOST={s.sip_public_host}: "
                f"{network_error(exc)}; callers' phones could not send audio back.",
                names,
            )
        return Item("sip_public", title, State.OK, f"SIP and RTP are advertised as {s.sip_public_host}.", names)
    if _is_local(s.sip_host) or s.sip_host in ("0.0.0.0", "::", ""):
        return Item(
            "sip_public",
            title,
            State.NOT_CONFIGURED,
            "IVR_SIP_PUBLIC_HOST is not set and IVR_SIP_HOST="
            f"{s.sip_host or '0.0.0.0'} is not an address phones can reach: only callers on this machine "
            "(or behind a proxy that rewrites SDP) are heard.",
            names,
        )
    return Item("sip_public", title, State.OK, f"SIP and RTP are advertised as IVR_SIP_HOST={s.sip_host}.", names)


TOOL_USES = {
    "espeak-ng": "SIP callers hear nothing where the flow says a text (Twilio uses its own voice)",
    "sox": "flow audio files cannot be converted for SIP callers",
}


def tool(name: str) -> Item:
    key, title = name.replace("-", "_"), f"{name} (audio)"
    path = shutil.which(name)
    if path is None:
        return Item(key, title, State.BROKEN, f"{name} is not installed (not on PATH): {TOOL_USES[name]}.")
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Item(key, title, State.BROKEN, f"{path} does not run ({network_error(exc)}): {TOOL_USES[name]}.")
    if done.returncode != 0:
        return Item(
            key, title, State.BROKEN, f"{path} --version failed with exit status {done.returncode}: {TOOL_USES[name]}."
        )
    version = (done.stdout or done.stderr).strip().splitlines()
    return Item(key, title, State.OK, f"{path}: {version[0] if version else 'runs'}.")


def all_items(s: Settings, sip_probe=None) -> list[Item]:
    return [
        secret_key(s),
        data_dir(s),
        setup_remote.public_url(s),
        setup_remote.twilio(s),
        setup_remote.smtp(s),
        sip(s, sip_probe),
        sip_public(s),
        tool("espeak-ng"),
        tool("sox"),
        setup_feeds.holiday_feeds(s),
    ]
