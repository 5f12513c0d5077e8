"""The baseline: a plain pyVoIP 1.6.8 IVR with the same menu path (prompt, one digit, short prompt, hang-up).

    deploy/bootstrap.sh bench      # once: .venv from requirements-bench.lock, plus wrk and tcpdump
    .venv/bin/python bench/pyvoip_baseline.py --port 5080 --peer-port 5061 --prompt p.wav --bye bye.wav --stats s.json

pyVoIP cannot act as a plain endpoint (it REGISTERs at start and sends every response to its
configured "server"), so the only change to it is the usual workaround: `register()` is replaced by a
no-op and the "server" is the SIPp caller's address. Everything else is stock pyVoIP (the `baseline`
extra, GPL-3.0: used only here, never imported by ivr/).
"""

from __future__ import annotations

import argparse
import array
import json
import os
import signal
import sys
import threading
import time
import wave
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # pyVoIP imports audioop (stdlib to 3.12, audioop-lts on 3.13)

from pyVoIP.VoIP import CallState, VoIPPhone  # noqa: E402


def unsigned_8bit(path: str) -> bytes:
    """pyVoIP's write_audio takes 8 kHz unsigned 8-bit linear PCM: each 16-bit sample's high byte, offset by 128."""
    with wave.open(path) as wav:
        samples = array.array("h", wav.readframes(wav.getnframes()))
    if sys.byteorder == "big":  # WAV data is little-endian
        samples.byteswap()
    return bytes((sample >> 8) + 128 for sample in samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5080)
    parser.add_argument("--peer-port", type=int, required=True, help="the SIPp caller's SIP port")
    parser.add_argument("--rtp-min", type=int, default=40000)
    parser.add_argument("--rtp-max", type=int, default=50000)
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--bye", required=True)
    parser.add_argument("--stats", required=True)
    args = parser.parse_args()
    prompt, bye = unsigned_8bit(args.prompt), unsigned_8bit(args.bye)
    counters = {"calls_started": 0, "calls_finished": 0, "digits": 0}
    lock = threading.Lock()

    def answer(call):
        with lock:
            counters["calls_started"] += 1
        try:
            call.answer()
            call.write_audio(prompt)
            time.sleep(len(prompt) / 8000)
            deadline = time.monotonic() + 15
            digit = ""
            while not digit and time.monotonic() < deadline and call.state == CallState.ANSWERED:
                digit = call.get_dtmf()
                time.sleep(0.01)
            if digit:
                with lock:
                    counters["digits"] += 1
            call.write_audio(bye)
            time.sleep(len(bye) / 8000)
            if call.state == CallState.ANSWERED:
                call.hangup()
        except Exception:
            pass
        finally:
            with lock:
                counters["calls_finished"] += 1

    phone = VoIPPhone(
        "127.0.0.1",
        args.peer_port,
        "ivr",
        "",
        myIP="127.0.0.1",
        callCallback=answer,
        sipPort=args.port,
        rtpPortLow=args.rtp_min,
        rtpPortHigh=args.rtp_max,
    )
    phone.sip.register = lambda: True  # no registrar: the plain-endpoint workaround
    phone.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        with lock:
            stats = dict(counters, threads=threading.active_count(), fds=len(os.listdir("/proc/self/fd")))
        with open(args.stats + ".tmp", "w") as out:
            json.dump(stats, out)
        os.replace(args.stats + ".tmp", args.stats)
    os._exit(0)  # pyVoIP's non-daemon threads would keep the process alive


if __name__ == "__main__":
    main()
