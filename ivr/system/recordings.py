"""Recordings: the one place that decides what a recording reference names (issue 12 item 4).

A recording is either
- a WAV the SIP channel wrote itself into `<data_dir>/recordings/`, named by an id made here from the call id
  and a clock: the reference `recording:<id>` names the file `<id>.wav`, and only for that call; or
- a URL on Twilio's API host (`https://api.twilio.com/2010-04-01/Accounts/AC.../Recordings/RE...`), which is
  linked and never fetched.
References come back from the wire and from Redis, so they are never taken as paths (a call recorded before
ids existed carries the file's path instead: only its file name counts, as that id, and only if the path is the
recordings folder's). The SIP recorder makes
them with `new_recording`; the Twilio channel keeps only `is_twilio_url` ones; the admin's player and the
email attachment go through `resolve`. Anything else resolves to None: it is neither read, served nor linked.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

LOCAL_PREFIX = "recording:"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_LOCAL_ID = re.compile(r"(?P<call>[A-Za-z0-9._-]{1,80})-[0-9]{1,20}")
_TWILIO_URL = re.compile(
    r"https://api\.twilio\.com/2010-04-01/Accounts/AC[0-9a-fA-F]{32}"
    r"/Recordings/RE[0-9a-fA-F]{32}(?:\.wav|\.mp3)?"
)


@dataclass(frozen=True)
class Recording:
    reference: str  # what events, the timeline and follow-up payloads carry
    path: Path | None = None  # a file the product wrote: played by the admin, attached to emails
    url: str | None = None  # Twilio's copy: linked only


def folder_in(data_dir: Path | str) -> Path:
    """Where the product writes recordings (and the only place it reads them from)."""
    return Path(data_dir) / "recordings"


def _call_part(call_id: str) -> str:
    return _UNSAFE.sub("_", call_id)[:80] or "call"


def new_recording(folder: Path, call_id: str, now_ns: int | None = None) -> Recording:
    """A fresh recording of `call_id`: the file to write and the reference to report."""
    recording_id = f"{_call_part(call_id)}-{time.time_ns() if now_ns is None else now_ns}"
    return Recording(reference=LOCAL_PREFIX + recording_id, path=folder / f"{recording_id}.wav")


def is_twilio_url(url: str) -> bool:
    return _TWILIO_URL.fullmatch(url) is not None


def _local_id(reference: str, folder: Path) -> str | None:
    if reference.startswith(LOCAL_PREFIX):
        return reference[len(LOCAL_PREFIX) :]
    legacy = Path(reference)  # calls recorded before ids existed: the SIP channel reported the file's own path
    try:
        if legacy.suffix == ".wav" and legacy.parent.resolve() == folder.resolve():
            return legacy.stem
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a link loop
        pass
    return None


def resolve(reference: str, folder: Path, call_id: str) -> Recording | None:
    """The recording `reference` names for `call_id`, or None if it is not one the product may use."""
    if is_twilio_url(reference):
        return Recording(reference=reference, url=reference)
    recording_id = _local_id(reference, folder)
    found = _LOCAL_ID.fullmatch(recording_id) if recording_id is not None else None
    if found is None or found["call"] != _call_part(call_id):
        return None  # not an id made here, or another call's recording
    path = folder.resolve() / f"{recording_id}.wav"
    if path.is_symlink() or not path.is_file():
        return None
    return Recording(reference=reference, path=path)
