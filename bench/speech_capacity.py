"""Speech capacity on SIP (issue 14): SIPp callers that each speak once per gather, at rising concurrency.

    .venv/bin/python bench/speech_capacity.py --steps 20,40,60 --calls-per-step 3   # root: tcpdump on lo
    .venv/bin/python bench/speech_capacity.py --steps 200 --workers 2                # past capacity
    .venv/bin/python bench/speech_capacity.py --steps 60,100,200 --rt                # media at SCHED_FIFO
    .venv/bin/python bench/speech_capacity.py --steps 30,60 --say "I would like to order a pizza"  # no-matches
    .venv/bin/python bench/speech_capacity.py --steps 40,60 --codec g722     # HD calls, heard at 16 kHz

Our SipServer runs here on its own loop (speech on: Whisper tiny.en in `--workers` worker processes), with a small
app: a 6 s prompt that allows barge-in, a gather that listens (the main menu's words), then a 3 s answer and a
hang-up. SIPp places calls at a steady rate up to the step's concurrency; each plays an RTP pcap of "I need help
with Skype" (espeak-ng through u-law; `--codec g722`: rendered at 16 kHz, through G.722, heard at 16 kHz) 1 s
into the prompt. Per step: SIPp failures, utterances heard exactly as when alone (the same text as a lone decode
of the same audio), refused (keypad), how many reached the recognizer at 16 kHz, utterances/s, CPU per utterance
(this process and the workers, from /proc), and the share of IVR->caller RTP packets arriving > 30 ms after the
previous one of their stream (tcpdump on lo, bench/sip_load.py). Loopback only, bounded in calls.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sip_load import late_share, start_capture, stop_capture  # noqa: E402

from ivr.channels.sip.server import SipConfig, SipServer  # noqa: E402
from ivr.channels.sip.speech_input import SpeechInput, gather_with_speech  # noqa: E402
from ivr.channels.speech.pool import RecognitionPool  # noqa: E402
from ivr.channels.speech.recognizer import SAMPLE_RATE, WIDE_SAMPLE_RATE, Expect, recognizer_factory  # noqa: E402
from ivr.channels.speech.vad import SpeechDetector  # noqa: E402
from ivr.engine import actions as A  # noqa: E402
from tests.sip.conftest import free_port_range, free_udp_port, run_sipp, sipp_counts  # noqa: E402
from tests.speech.audio import frames, g722_bytes, hd_pcm, phone_pcm, rtp_pcap, silence  # noqa: E402

HINTS = ("skype", "support", "help", "links", "chat", "live chat", "callback", "call back", "call me", "owner")
GATHER = A.Gather(step="menu", input=("dtmf", "speech"), timeout=8, hints=HINTS)
PHRASE = "I need help with Skype"
CALL_SECONDS = 12  # about: 1 s pause, 2 s phrase, 0.7 s trailing silence, recognition, 3 s answer
SIPP_CODECS = {"pcmu": (0, "PCMU", "ulaw"), "g722": (9, "G722", "g722")}  # payload type, SDP name, rtp_pcap's law


def make_app(speech: SpeechInput, heard: list, active: dict):
    async def app(call):
        active["now"] += 1
        active["peak"] = max(active["peak"], active["now"])
        try:
            await one_call(call)
        finally:
            active["now"] -= 1

    async def one_call(call):
        listener = speech.listen(call, GATHER, "en")
        call.speech_barge_in = True
        await call.say(text="Welcome. Please tell me in a few words what you are calling about today, after the tone.")
        call.speech_barge_in = False
        event = await gather_with_speech(call, GATHER, listener, speech)
        heard.append((getattr(event, "text", None), listener.refused))
        await call.say(text="Thank you. I have sent you the support links by text message.", barge_in=False)

    return app


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_step(server_port, rtp, pool, heard, active, expected, concurrent, calls, work, speech_pcm, codec) -> dict:
    payload_type, name, law = SIPP_CODECS[codec]
    pcap = rtp_pcap(work / "speak.pcap", speech_pcm, law)
    capture_path = work / f"capture-{concurrent}.pcap"
    capture = start_capture(capture_path, *rtp)
    pids = [os.getpid(), *pool._executor._processes]
    heard.clear()
    active["peak"] = 0
    refused_before, wide_before, cpu, started = pool.refused, pool.wideband, cpu_seconds(pids), time.monotonic()
    result = run_sipp(
        "uac_speech.xml",
        server_port,
        calls=calls,
        concurrent=concurrent,
        rate=max(1.0, concurrent / CALL_SECONDS),
        timeout=CALL_SECONDS * 4 + calls / max(1.0, concurrent / CALL_SECONDS),
        cwd=work,
        subst={"PCAP": pcap, "PT": payload_type, "CODEC": name, "PAUSE": 1000, "BYE_TIMEOUT": 60_000},
    )
    wall, used = time.monotonic() - started, cpu_seconds(pids) - cpu
    dropped = stop_capture(capture)
    late, packets = late_share(capture_path)
    capture_path.unlink()
    ok, failed = sipp_counts(result)
    spoken = [text for text, refused in heard if not refused]
    return {
        "concurrent": concurrent,
        "peak": active["peak"],
        "calls": calls,
        "sipp_ok": ok,
        "sipp_failed": failed,
        "as_alone": sum(1 for text in spoken if text == expected),
        "recognized": len(spoken),
        "refused": pool.refused - refused_before,
        "wideband": pool.wideband - wide_before,
        "utterances_per_s": len(heard) / wall,
        "cpu_per_utterance": used / max(1, len(heard)),
        "late": late,
        "packets": packets,
        "dropped": dropped,
    }


def alone(pool: RecognitionPool, speech_pcm: bytes, codec: str) -> str:
    """What the gather makes of the phrase with nothing else running (the Speech text the engine gets): for G.722,
    the phrase as the IVR decodes the pcap's packets, at 8 kHz for the VAD and at 16 kHz for the recognizer."""
    utterances: list[tuple[bytes, bytes]] = []
    detector = SpeechDetector(lambda: None, lambda pcm, wide: utterances.append((pcm, wide)), trailing_silence_ms=700)
    if codec == "g722":
        from ivr.channels.sip.media import g722

        sent = g722_bytes(speech_pcm + b"\0" * (-len(speech_pcm) % 640))
        narrow, wide = g722.new_decoder(SAMPLE_RATE)(sent), g722.new_decoder(WIDE_SAMPLE_RATE)(sent)
        for frame, wide_frame in zip(frames(narrow), frames(wide, 640)):
            detector.feed(frame, wide_frame)
    else:
        for frame in frames(speech_pcm):
            detector.feed(frame)

    async def one():
        pcm, wide = utterances[0]
        future = pool.submit(wide or pcm, Expect(hints=HINTS), WIDE_SAMPLE_RATE if wide else SAMPLE_RATE)
        assert future is not None
        return await future

    heard = asyncio.run(one())
    return heard.text if heard.confidence >= 0.3 else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default="20,40,60")
    parser.add_argument("--calls-per-step", type=float, default=3.0, help="calls = this x concurrency")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rt", action="store_true", help="the IVR's threads under SCHED_FIFO (not the workers)")
    parser.add_argument("--say", default=PHRASE, help="what each caller says (a no-match is heard twice)")
    parser.add_argument("--codec", choices=SIPP_CODECS, default="pcmu", help="g722: HD calls, heard at 16 kHz")
    args = parser.parse_args()
    pool = RecognitionPool.processes(recognizer_factory("whisper"), workers=args.workers)
    if args.rt:  # after the workers started; SIPp, tcpdump and sox (forked later) go back to normal priority
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(50))
    if args.codec == "g722":  # 16 kHz audio
        speech_pcm = silence(0.2, WIDE_SAMPLE_RATE) + hd_pcm(args.say) + silence(1.5, WIDE_SAMPLE_RATE)
    else:
        speech_pcm = silence(0.2) + phone_pcm(args.say) + silence(1.5)
    expected = alone(pool, speech_pcm, args.codec)
    heard: list = []
    active = {"now": 0, "peak": 0}
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    rtp = free_port_range(1000)
    work = Path(tempfile.mkdtemp(prefix="ivr-speech-capacity-"))
    config = SipConfig(port=free_udp_port(), rtp_port_min=rtp[0], rtp_port_max=rtp[1], data_dir=work)
    server = SipServer(config, make_app(SpeechInput(pool), heard, active))
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    # warm-up: renders the prompts into the cache
    run_step(config.port, rtp, pool, heard, active, expected, 1, 1, work, speech_pcm, args.codec)
    print(
        f"alone: {expected!r}; load average {os.getloadavg()[0]:.2f}; {args.workers} worker processes"
        f"{'; IVR at SCHED_FIFO 50' if args.rt else ''}; {args.codec}"
    )
    for concurrent in (int(s) for s in args.steps.split(",")):
        row = run_step(
            config.port,
            rtp,
            pool,
            heard,
            active,
            expected,
            concurrent,
            int(concurrent * args.calls_per_step),
            work,
            speech_pcm,
            args.codec,
        )
        print(
            f"  {row['concurrent']:4} concurrent (peak {row['peak']}), {row['calls']} calls: SIPp {row['sipp_ok']} ok "
            f"{row['sipp_failed']} failed; {row['as_alone']}/{row['recognized']} heard as alone, "
            f"{row['refused']} refused (keypad), {row['wideband']} at 16 kHz; {row['utterances_per_s']:.2f} utterances/s, "
            f"{row['cpu_per_utterance']:.3f} s CPU each; late {100 * row['late']:.3f}% of {row['packets']} packets"
            f" (capture dropped {row['dropped']}); load average {os.getloadavg()[0]:.2f}"
        )
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
    pool.close()


if __name__ == "__main__":
    main()
