"""pocketsphinx (BSD; its US-English model ships in the wheel): the light alternative to Whisper.

Each utterance is decoded against a JSGF grammar built from the step's hints, with a few filler words around
them, so it can only ever say a hint, a digit word or a filler. Measured here (issue 14, bench/speech.py) it is
~30x cheaper than Whisper tiny.en but far less accurate on a phone line, so it is not the default.
Confidence: pocketsphinx's posterior is not usable with a grammar search (it is 1.0 or tiny), so we report
0.6 when the hypothesis holds a hint and 0.0 otherwise; IVR_ASR_MIN_CONFIDENCE below 0.6 accepts its hits.
Its model wants 16 kHz, so the 8 kHz phone audio is interpolated up first (a G.722 or Opus call's 16 kHz audio
is taken as it is: `wideband`).
"""

from __future__ import annotations

import re
import threading

from .recognizer import SAMPLE_RATE, Expect, Heard

FILLERS = ("i", "need", "want", "a", "please", "the", "with", "to", "my", "is", "it's", "uh", "um")
HIT_CONFIDENCE = 0.6
_SAFE = re.compile(r"[^a-z' ]")


def grammar(hints: tuple[str, ...]) -> str:
    words = sorted({_SAFE.sub("", h.lower()).strip() for h in hints} - {""})
    choice = " | ".join(words) or "<NULL>"
    return (
        "#JSGF V1.0;\ngrammar step;\n"
        f"public <step> = [<filler>] ({choice})+ [<filler>];\n<filler> = ({' | '.join(FILLERS)})+;\n"
    )


class SphinxRecognizer:
    name = "pocketsphinx"
    multilingual = False
    wideband = True  # takes a G.722 or Opus call's 16 kHz audio (recognizer.py)

    def __init__(self, model: str = "") -> None:
        from pocketsphinx import Decoder

        self._decoder_class = Decoder
        self._model = model
        self._local = threading.local()  # a Decoder is not thread-safe: one per worker thread

    def _decoder(self, expect: Expect):
        decoder = getattr(self._local, "decoder", None)
        if decoder is None:
            kwargs = {"hmm": self._model} if self._model else {}
            decoder = self._local.decoder = self._decoder_class(samprate=16000, lm=None, loglevel="FATAL", **kwargs)
            self._local.grammars = {}
        key = (expect.hints, expect.digits)
        name = self._local.grammars.get(key)
        if name is None:
            name = self._local.grammars[key] = f"g{len(self._local.grammars)}"
            decoder.add_jsgf_string(name, grammar(expect.hints))
        decoder.activate_search(name)
        return decoder

    def transcribe(self, pcm: bytes, expect: Expect, rate: int = SAMPLE_RATE) -> Heard:
        import numpy as np

        if rate == SAMPLE_RATE:
            samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
            upsampled = np.interp(np.arange(len(samples) * 2) / 2.0, np.arange(len(samples)), samples)
            pcm = upsampled.astype("<i2").tobytes()
        decoder = self._decoder(expect)
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        text = hyp.hypstr if hyp is not None else ""
        hit = any(h.lower() in text for h in expect.hints)
        return Heard(text, HIT_CONFIDENCE if hit else 0.0, {"score": hyp.score if hyp is not None else 0})
