"""Speech benchmark (issue 14): accuracy on a generated corpus, and recognizer cost per utterance.

    .venv/bin/python bench/speech.py accuracy              # the corpus below, through 8 kHz G.711
    .venv/bin/python bench/speech.py accuracy --calibrate  # also the share right per confidence bin (whisper.py)
    .venv/bin/python bench/speech.py accuracy --fit        # fit closed_set.WEIGHTS and ACCEPT on the tuning half
    .venv/bin/python bench/speech.py accuracy --band hd    # the same corpus from HD calls: 16 kHz through G.722
    .venv/bin/python bench/speech.py digits --config 1.0:1000 --config 0.85,1.0:500  # numbers: speeds:context[:beam]
    .venv/bin/python bench/speech.py pool --utterances 16  # threads vs processes, utterances/s and CPU each
    .venv/bin/python bench/speech.py tts                   # espeak-ng vs piper: synthesis time per audio second

Corpus: espeak-ng voices x 3 speeds x 3 noise levels (clean, 20 dB, 10 dB SNR), over the shipped flow's main menu
keywords and lead-in phrases, 10-digit numbers, and 24 phrases outside the menus; each through u-law (odd rows
A-law) and back. Tuning voices/noise (pink) are reported apart from held-out voices and noise (brown) that were
never used to choose the matching rules or the calibration. A menu phrase is right when the engine's own menu
matching (ivr.engine.steps.menu) picks the expected choice at IVR_ASR_MIN_CONFIDENCE; an out-of-menu phrase is
accepted when it picks any choice; a number is exact when collect_digits would store exactly its digits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.speech_fit import fit_second_hearing, logistic_newton  # noqa: E402
from ivr.channels.speech.matching import match_digits, match_keywords  # noqa: E402
from ivr.channels.speech.pool import RecognitionPool  # noqa: E402
from ivr.channels.speech.recognizer import Expect, recognizer_factory  # noqa: E402
from ivr.channels.speech.whisper import WhisperRecognizer  # noqa: E402
from ivr.engine.steps.collect_digits import DIGIT_HINTS  # noqa: E402
from ivr.flows import load_flow  # noqa: E402
from tests.speech.audio import hd_pcm, phone_pcm  # noqa: E402

TUNING_VOICES = ("en-us", "en-gb", "en-us+f3", "en-029")
HELD_OUT_VOICES = ("en-gb-scotland", "en-gb-x-gbcwmd", "en-us-nyc")
SPEEDS = (130, 160, 190)
SNRS = (None, 20, 10)
BANDS = {"phone": (phone_pcm, 8000), "hd": (hd_pcm, 16000)}  # --band: how the audio arrives, and at what rate
MENU_PHRASES = {  # choice digit -> what callers say
    "1": ["skype", "support", "help", "I need help with Skype", "Skype support please", "send me the links"],
    "2": ["chat", "live chat", "a live chat please", "can I chat with someone"],
    "3": ["call back", "call me back", "callback please", "can you call me"],
    "0": ["operator", "a person please", "the owner", "I want to talk to a person"],
}
OUT_OF_MENU = [
    "what is the weather like tomorrow",
    "I would like to order a pizza",
    "is this the bank",
    "my name is John",
    "good morning",
    "how much does it cost",
    "where are you located",
    "I lost my wallet",
    "thank you very much",
    "what time do you open",
    "can I book a table",
    "is the shop open today",
    "I am looking for my friend",
    "wrong number sorry",
    "hello hello",
    "the car is broken",
    "I want a refund",
    "tell me a joke",
    "no thanks goodbye",
    "what is your address",
    "I forgot my password for the bank",
    "the train is late",
    "my package did not arrive",
    "how do I get to the station",
]
NUMBERS = ["2079460958", "4155550123", "3125557788", "6175550199", "2025550143", "7185550110"]


def spoken_number(digits: str) -> str:
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    return ", ".join(" ".join(words[int(d)] for d in chunk) for chunk in (digits[:3], digits[3:6], digits[6:]))


def corpus(voices, noise: str, rows: int, band: str = "phone"):
    """(kind, expected, text, audio) rows: every phrase once per condition would be ~2,000 utterances; each
    condition takes a rotating slice, so every phrase meets every voice, speed and noise level across the run."""
    phrases = [("menu", digit, p) for digit, ps in MENU_PHRASES.items() for p in ps]
    phrases += [("oog", "", p) for p in OUT_OF_MENU] + [("number", n, spoken_number(n)) for n in NUMBERS]
    index = 0
    for voice in voices:
        for speed in SPEEDS:
            for snr in SNRS:
                for _ in range(rows):
                    kind, expected, text = phrases[index % len(phrases)]
                    law = "alaw" if index % 2 else "ulaw"
                    index += 1
                    pcm = BANDS[band][0](text, voice, speed, snr, law, noise)
                    yield kind, expected, text, pcm, (voice, speed, snr)


def judge(menu, kind: str, expected: str, heard, min_confidence: float) -> bool:
    """True when the outcome is right: the expected choice / the exact number / no choice at all."""
    if kind == "number":
        match = match_digits(heard.text)
        return match.text.replace(" ", "") == expected
    choice = picked(menu, heard, min_confidence)
    return choice == expected if kind == "menu" else choice == ""


def picked(menu, heard, min_confidence: float) -> str:
    """The choice the engine would make of this answer (matching's factor applied, as the channel does), or ""."""
    confidence = heard.confidence * (match_keywords(heard.text, menu.hints).score or 1.0)
    return choice_of(menu, heard.text) if confidence >= min_confidence else ""


class MenuUnderTest:
    def __init__(self) -> None:
        flow = load_flow(ROOT / "flows" / "skype-receptionist.yaml")
        self.step = flow.steps["main_menu"]
        self.number_step = flow.steps["enter_callback_number"]
        self.hints = tuple(kw for kw, _, _ in self.step.keywords)


def run_accuracy(args) -> None:
    recognizer = WhisperRecognizer(args.model)
    menu = MenuUnderTest()
    number = menu.number_step  # the shipped flow's callback number: 10 to 15 digits
    digits = Expect(hints=DIGIT_HINTS, digits=True, max_digits=number.max_digits, min_digits=number.min_digits)
    keywords = Expect(hints=menu.hints)
    fitted = refit = None
    for label, voices, noise in (
        ("tuning voices, pink noise", TUNING_VOICES, "pinknoise"),
        ("held-out voices, brown noise", HELD_OUT_VOICES, "brownnoise"),
    ):
        rows = list(corpus(voices, noise, args.rows, args.band))
        started, cpu = time.monotonic(), time.process_time()

        def one(row):
            kind, expected, text, pcm, _ = row
            return row, recognizer.transcribe(pcm, digits if kind == "number" else keywords, rate=BANDS[args.band][1])

        with ThreadPoolExecutor(args.workers) as pool:
            results = list(pool.map(one, rows))
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        report(label, results, menu, args, elapsed, cpu)
        if args.fit:
            fitted = fit_menu_confidence(results, menu, fitted if voices is HELD_OUT_VOICES else None)
            refit = refit if voices is HELD_OUT_VOICES else None
            refit = fit_second_hearing(
                results, lambda text: choice_of(menu, text), lambda h: first_choice(menu, h, args.min_confidence), refit
            )


def fit_menu_confidence(results, menu, fitted=None):
    """A logistic regression of "taking this answer is right" on the menu features whisper.py reports, fitted
    on the tuning half (Newton's method, a little L2), its ACCEPT the lowest threshold keeping out-of-menu
    acceptances within 2% there; on the held-out half, the same weights only evaluated."""
    import numpy as np

    from ivr.channels.speech import closed_set

    rows = [(kind, expected, heard.detail) for (kind, expected, *_), heard in results if "features" in heard.detail]
    x = np.array([closed_set.feature_vector(*d["features"]) for _, _, d in rows])
    right = np.array([float(kind == "menu" and choice_of(menu, d["answer"]) == expected) for kind, expected, d in rows])
    weights = logistic_newton(x, right, ridge=1e-2) if fitted is None else fitted[0]
    p = 1 / (1 + np.exp(-x @ weights))
    out_of_menu = sum(1 for (kind, *_), _ in results if kind == "oog")
    menus = sum(1 for (kind, *_), _ in results if kind == "menu")
    table = []
    for threshold in np.arange(0.5, 0.96, 0.05):
        taken = p >= threshold
        oog = sum(1 for (kind, _, _), t in zip(rows, taken) if t and kind == "oog") / max(1, out_of_menu)
        table.append((round(float(threshold), 2), float((right * taken).sum()) / max(1, menus), oog))
    accept = fitted[1] if fitted else next((t for t, _, oog in table if oog <= 0.02), 0.95)
    print("  fitted WEIGHTS =", tuple(round(float(w), 3) for w in weights), "ACCEPT =", accept)
    print("  threshold: right choices / out-of-menu taken:", " ".join(f"{t}: {r:.1%}/{o:.1%}" for t, r, o in table))
    return weights, accept


def first_choice(menu, heard, min_confidence: float) -> str:
    """The choice the first hearing took, or "" (a no-match heard again, whatever the second hearing made of it)."""
    return "" if "again" in heard.detail else picked(menu, heard, min_confidence)


def choice_of(menu, text: str) -> str:
    choice = menu.step.match_speech(match_keywords(text, menu.hints).text)  # what the engine gets, as the channel
    return str(choice["digit"]) if choice else ""


def number_grid(voices, noise: str, band: str = "phone"):
    """(digits, audio) for every number of the corpus in every voice x speed x noise condition."""
    index = 0
    for voice in voices:
        for speed in SPEEDS:
            for snr in SNRS:
                for digits in NUMBERS:
                    law = "alaw" if index % 2 else "ulaw"
                    index += 1
                    yield digits, BANDS[band][0](spoken_number(digits), voice, speed, snr, law, noise)


def run_digits(args) -> None:
    """Spoken numbers under each `--config` (digit_decode.SPEEDS:CONTEXT_FRAMES[:BEAM]) in turn, in one process and one
    thread: the share exact on each half of the grid, and CPU per number."""
    from ivr.channels.speech import digit_decode

    recognizer = WhisperRecognizer(args.model)
    step = MenuUnderTest().number_step
    expect = Expect(hints=DIGIT_HINTS, digits=True, max_digits=step.max_digits, min_digits=step.min_digits)
    halves = {
        "tuning": list(number_grid(TUNING_VOICES, "pinknoise", args.band)),
        "held-out": list(number_grid(HELD_OUT_VOICES, "brownnoise", args.band)),
    }
    print(f"load average {os.getloadavg()[0]:.2f}")
    shipped_beam = digit_decode.BEAM
    for config in args.config:
        speeds, context, *beam = config.split(":")
        digit_decode.SPEEDS = tuple(float(speed) for speed in speeds.split(","))
        digit_decode.CONTEXT_FRAMES = int(context)
        digit_decode.BEAM = int(beam[0]) if beam else shipped_beam
        figures = []
        for label, numbers in halves.items():
            cpu = time.process_time()
            exact = sum(
                judge(None, "number", digits, recognizer.transcribe(pcm, expect, rate=BANDS[args.band][1]), 0.0)
                for digits, pcm in numbers
            )
            each = (time.process_time() - cpu) / len(numbers)
            figures.append(f"{label} {exact}/{len(numbers)} = {exact / len(numbers):.1%} exact, {each:.2f} s CPU each")
        print(f"  speeds {speeds}, {context} frames of context, beam {digit_decode.BEAM}: " + "; ".join(figures))


def report(label, results, menu, args, elapsed, cpu) -> None:
    tally: dict[str, list[bool]] = {"menu": [], "oog": [], "number": []}
    misses = []
    samples = []
    for (kind, expected, text, _, condition), heard in results:
        ok = judge(menu, kind, expected, heard, args.min_confidence)
        tally[kind].append(ok)
        if kind != "number":  # the confidence the engine gets, against whether the outcome is right without it
            samples.append((heard.confidence, judge(menu, kind, expected, heard, 0.0)))
        if not ok:
            misses.append(f"    {kind:6} {text!r} {condition} -> {heard.text!r} ({heard.confidence})")
    print(f"{label}: {len(results)} utterances, {elapsed:.0f} s wall, {cpu / len(results):.2f} s CPU each")
    print(f"  right choices     {pct(tally['menu'])}  (target >= 95%)")
    print(f"  out-of-menu taken {pct([not ok for ok in tally['oog']])}  (target <= 2%)")
    print(f"  10-digit exact    {pct(tally['number'])}  (target >= 90%)")
    print("\n".join(misses[: args.show_misses]))
    if args.calibrate:
        print("  confidence bins (menu and out-of-menu: confidence -> share right at threshold 0):", bins(samples))


def pct(values: list[bool]) -> str:
    return f"{100 * sum(values) / max(1, len(values)):5.1f}% of {len(values)}"


def bins(samples) -> str:
    out = []
    for low in (0.0, 0.3, 0.5, 0.7, 0.9):
        inside = [
            ok for score, ok in samples if low <= score < low + (0.2 if low else 0.3) or (low == 0.9 and score >= 0.9)
        ]
        if inside:
            out.append(f"[{low:.1f}: {100 * sum(inside) / len(inside):.0f}% of {len(inside)}]")
    return " ".join(out)


# --- pool: threads vs processes --------------------------------------------------------------------------
def _cpu_seconds(pool) -> float:
    """CPU used so far by this process's threads, or by the pool's worker processes (from /proc)."""
    if not pool._in_processes:
        return time.process_time()
    total = 0
    for pid in pool._executor._processes:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


async def _burst(pool, pcm: bytes, expect, count: int) -> int:
    futures = [pool.submit(pcm, expect) for _ in range(count)]
    return len(await asyncio.gather(*[f for f in futures if f is not None]))


def run_pool(args) -> None:
    """The same RecognitionPool in threads and in processes, alternating rounds: utterances/s and CPU each."""
    pcm = phone_pcm("I need help with Skype")
    expect = Expect(hints=MenuUnderTest().hints)
    pools = {
        "threads": RecognitionPool(WhisperRecognizer(), args.workers, queue=args.utterances),
        "processes": RecognitionPool.processes(recognizer_factory("whisper"), args.workers, queue=args.utterances),
    }
    print(f"load average {os.getloadavg()[0]:.2f}; {args.utterances} utterances, {args.workers} workers")
    figures: dict[str, list[float]] = {"threads": [], "processes": []}
    for _ in range(args.rounds):
        for mode, pool in pools.items():
            started, cpu = time.monotonic(), _cpu_seconds(pool)
            done = asyncio.run(_burst(pool, pcm, expect, args.utterances))
            wall, used = time.monotonic() - started, _cpu_seconds(pool) - cpu
            figures[mode].append(done / wall)
            print(f"  {mode:9} {done / wall:5.2f} utterances/s, {used / done:.3f} s CPU each")
    ratio = statistics.median(figures["threads"]) / statistics.median(figures["processes"])
    print(f"threads / processes throughput: {ratio:.2f}; load average now {os.getloadavg()[0]:.2f}")
    for pool in pools.values():
        pool.close()


TTS_TEXTS = [
    "Hello. You have reached a private phone number. This is not Skype.",
    "To get Skype's support links by text message, press 1 or say support.",
    "Thank you. We will call you back during business hours.",
    "Sorry, that isn't one of the options.",
    "Please enter your phone number, then press the pound key.",
]


def run_tts(args) -> None:
    """Synthesis time per second of audio, espeak-ng vs piper, alternating (each its own fresh cache)."""
    import resource
    import tempfile
    import wave

    from ivr.channels.prompt_audio import render_tts

    print(f"load average {os.getloadavg()[0]:.2f}")
    totals = {"espeak": [0.0, 0.0, 0.0], "piper": [0.0, 0.0, 0.0]}  # wall, CPU, audio seconds
    for round_ in range(args.rounds):
        for engine in ("espeak", "piper"):
            with tempfile.TemporaryDirectory() as tmp:
                for text in TTS_TEXTS:
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    started = time.monotonic()
                    path = render_tts(f"{text} ({round_})", Path(tmp), engine=engine)
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    with wave.open(str(path)) as wav:
                        seconds = wav.getnframes() / wav.getframerate()
                    totals[engine][0] += time.monotonic() - started
                    totals[engine][1] += (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                    totals[engine][2] += seconds
    for engine, (wall, cpu, audio) in totals.items():
        print(
            f"  {engine:6} {1000 * wall / audio:5.0f} ms wall and {1000 * cpu / audio:5.0f} ms CPU per second of "
            f"audio ({audio:.0f} s of audio, one process start per prompt)"
        )
    print(f"load average now {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    acc = sub.add_parser("accuracy")
    acc.add_argument("--rows", type=int, default=8, help="utterances per voice x speed x noise condition")
    acc.add_argument("--workers", type=int, default=2)
    acc.add_argument("--model", default="")
    acc.add_argument("--min-confidence", type=float, default=0.3)
    acc.add_argument("--calibrate", action="store_true")
    acc.add_argument("--fit", action="store_true", help="fit the menu confidence's weights (closed_set.py)")
    acc.add_argument("--show-misses", type=int, default=30)
    acc.add_argument("--band", choices=BANDS, default="phone", help="phone: 8 kHz G.711; hd: 16 kHz G.722")
    digits = sub.add_parser("digits")
    digits.add_argument("--config", action="append", default=[], help="SPEEDS:CONTEXT_FRAMES[:BEAM], e.g. 0.85,1.0:500")
    digits.add_argument("--model", default="")
    digits.add_argument("--band", choices=BANDS, default="phone")
    pool = sub.add_parser("pool")
    pool.add_argument("--utterances", type=int, default=12)
    pool.add_argument("--workers", type=int, default=2)
    pool.add_argument("--rounds", type=int, default=2)
    tts = sub.add_parser("tts")
    tts.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    {"accuracy": run_accuracy, "digits": run_digits, "pool": run_pool, "tts": run_tts}[args.command](args)


if __name__ == "__main__":
    main()
