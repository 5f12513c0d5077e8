"""A flow's whole-call recording on SIP (the engine's RecordCall, after the flow's consent prompt).

The caller's stream taps both directions (stream `tap`): what the caller says, and everything the caller hears:
our prompts and hold sound and, once bridged, the other party's relayed audio. media/mixer.py mixes them into one
8 kHz WAV (0600) as they flow. At the end of the call the recording goes to the call's timeline as a RecordingDone
turn (the engine, done by then, just keeps it there). G.711 calls only: another codec is logged and not recorded.
"""

from __future__ import annotations

import logging
import time

from ivr.engine import events as E
from ivr.system.recordings import new_recording

from .call import SipCall
from .media import g711
from .media.mixer import BridgeMixer

log = logging.getLogger(__name__)

MAX_SECONDS = 4 * 3600.0  # a recording stops growing after this long (the call goes on)


def start_recording(call: SipCall) -> None:
    if getattr(call, "whole_recording", None) is not None:
        return
    if call.stream.payload_type not in (g711.PCMU, g711.PCMA):
        log.warning("call %s: not recorded, codec %s is not G.711", call.call_id, call.stream.codec.name)
        return
    recording = new_recording(call.recordings_dir, call.call_id)
    mixer = BridgeMixer(recording.path, max_length=MAX_SECONDS)
    call.stream.tap = mixer.feed
    call.whole_recording = (recording, mixer)  # type: ignore[attr-defined]  # kept with the call it records


def finish_recording(call: SipCall) -> E.RecordingDone | None:
    """Close the recording; the event for the timeline, or None when the call was not recorded."""
    found = getattr(call, "whole_recording", None)
    if found is None:
        return None
    call.stream.tap = None
    call.whole_recording = None  # type: ignore[attr-defined]
    recording, mixer = found
    duration = mixer.close()
    return E.RecordingDone(at=time.time(), url=recording.reference if duration > 0 else "", duration=duration)
