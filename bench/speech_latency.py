"""Speech latency on SIP (issue 14): from the VAD's end-of-speech decision to the next prompt's first packet.

    .venv/bin/python bench/speech_latency.py --calls 20
    .venv/bin/python bench/speech_latency.py --calls 20 --digits  # a 10-digit number into a collect_digits gather
    .venv/bin/python bench/speech_latency.py --calls 20 --say "I would like to order a pizza"  # a no-match
    .venv/bin/python bench/speech_latency.py --calls 20 --codec g722  # an HD call, heard at 16 kHz

One process: our SipServer (speech on, the bundled Whisper tiny.en in 2 worker processes) on the loop in a thread,
and a raw RTP caller in the main thread that waits for the prompt, speaks "I need help with Skype" over it (paced
20 ms a packet), then sends silence; with `--digits` the gather is the shipped flow's callback number (10 to 15
digits) and the caller says "four one five, five five five, zero one two three"; `--say` puts other words in the
caller's mouth (a no-match is heard twice: ivr/channels/speech/second_hearing.py); `--codec g722` makes it an HD
call (16 kHz audio through G.722, heard at 16 kHz). The server notes the loop time
(time.monotonic) of each end-of-speech decision; the caller notes when the first non-silent packet of the next
prompt arrives. Calls one after another (light load). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.channels.sip.media.codecs import CODECS  # noqa: E402
from ivr.channels.sip.server import SipConfig, SipServer  # noqa: E402
from ivr.channels.sip.speech_input import SpeechInput, gather_with_speech  # noqa: E402
from ivr.channels.speech.pool import RecognitionPool  # noqa: E402
from ivr.channels.speech.recognizer import recognizer_factory  # noqa: E402
from ivr.engine import actions as A  # noqa: E402
from ivr.engine.steps.collect_digits import DIGIT_HINTS  # noqa: E402
from tests.sip.conftest import RawUac, free_port_range, free_udp_port  # noqa: E402
from tests.speech.audio import g711_bytes, g722_bytes, hd_pcm, phone_pcm  # noqa: E402

PAYLOAD_TYPES = {"pcmu": 0, "g722": 9}
MENU = A.Gather(step="menu", input=("dtmf", "speech"), timeout=10, hints=("skype", "support", "chat"))
NUMBER = A.Gather(step="number", input=("dtmf", "speech"), timeout=10, min_digits=10, max_digits=15, hints=DIGIT_HINTS)


def make_app(speech: SpeechInput, ends: list[float], gather: A.Gather):
    async def app(call):
        listener = speech.listen(call, gather, "en")
        call.speech_barge_in = True
        await call.say(text="Welcome. Please tell me in a few words what you are calling about today.")
        call.speech_barge_in = False
        await gather_with_speech(call, gather, listener, speech)
        ends.append(listener.speech_ended_at)
        await call.say(text="Thank you. I have sent you the support links. Goodbye.", barge_in=False)

    return app


def one_call(port: int, voice: bytes, codec: str = "pcmu") -> float:
    """Speak over the prompt; the monotonic time the next prompt's first packet arrived."""
    uac = RawUac(port)
    payload_type, silent = PAYLOAD_TYPES[codec], CODECS[codec].silence
    try:
        media = uac.media_port(uac.call(codecs=str(payload_type)))
        uac.rtp.settimeout(5)
        playing = 0
        while playing < 10:
            data, _ = uac.rtp.recvfrom(2048)
            playing = playing + 1 if data[12:] != silent else 0
        uac.rtp.setblocking(False)
        frames = [voice[i : i + 160] for i in range(0, len(voice) - 159, 160)]
        quiet_seen, seq, deadline = False, 0, time.monotonic()
        while seq < 1500:
            frame = frames[seq] if seq < len(frames) else silent
            uac.send_rtp(payload_type, frame, seq=seq, ts=seq * 160, to_port=media)
            seq += 1
            deadline += 0.02
            while True:
                try:
                    data = uac.rtp.recv(2048)
                except BlockingIOError:
                    break
                now = time.monotonic()
                if data[12:] == silent:
                    quiet_seen = seq > len(frames) // 2 or quiet_seen
                elif quiet_seen and seq >= len(frames):
                    return now
            time.sleep(max(0.0, deadline - time.monotonic()))
        raise RuntimeError("no next prompt")
    finally:
        uac.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--digits", action="store_true", help="say a 10-digit number into a collect_digits gather")
    parser.add_argument("--say", default="", help="what the caller says instead")
    parser.add_argument("--codec", choices=PAYLOAD_TYPES, default="pcmu", help="g722: an HD call")
    args = parser.parse_args()
    ends: list[float] = []
    speech = SpeechInput(RecognitionPool.processes(recognizer_factory("whisper"), workers=2))
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    rtp_min, rtp_max = free_port_range(100)
    config = SipConfig(
        port=free_udp_port(),
        rtp_port_min=rtp_min,
        rtp_port_max=rtp_max,
        data_dir=Path(tempfile.mkdtemp(prefix="ivr-speech-bench-")),
    )
    server = SipServer(config, make_app(speech, ends, NUMBER if args.digits else MENU))
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    said = args.say or (
        "four one five, five five five, zero one two three" if args.digits else "I need help with Skype"
    )
    voice = g722_bytes(hd_pcm(said)) if args.codec == "g722" else g711_bytes(phone_pcm(said), "ulaw")
    one_call(config.port, voice, args.codec)  # warm-up: renders the prompts into the cache
    ends.clear()
    latencies = []
    print(f"load average {os.getloadavg()[0]:.2f}")
    for _ in range(args.calls):
        arrived = one_call(config.port, voice, args.codec)
        latencies.append(1000 * (arrived - ends[-1]))
    latencies.sort()
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    print(
        f"{len(latencies)} calls: end of speech -> next prompt's first packet: p50 "
        f"{statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms "
        f"(target p95 <= 600 ms); load average {os.getloadavg()[0]:.2f}; "
        f"{speech.pool.wideband} of {speech.pool.recognized} utterances heard at 16 kHz"
    )
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)


if __name__ == "__main__":
    main()
