"""Prompt audio: TTS with espeak-ng and audio files, as 16-bit mono WAV cached on disk at the rate each codec
encodes from (8 kHz for G.711, 16 kHz for G.722 and Opus), then encoded once per codec and shared by every call
that plays them.

Disk cache (ivr/channels/prompt_audio.py): `<data_dir>/prompts/<sha256(kind, text, voice, language)>.wav`, and
`...-16k.wav` for the wideband copy.
Rendering runs in a thread (espeak-ng and sox are subprocesses) so the media clock never waits for it, and concurrent
requests for the same prompt share one rendering. The encoded-frames cache is an LRU of bounded size.
"""

from __future__ import annotations

import asyncio
import logging
import wave
from collections import OrderedDict
from pathlib import Path

from ivr.channels.prompt_audio import TtsError, convert_audio, flow_audio, render_tts

from .codecs import Codec, resolve, upsample_2x

log = logging.getLogger(__name__)

# Rendering and the disk cache are shared with the Twilio channel's <Play> mode (one voice on both channels).
PromptError = TtsError


def read_pcm(path: Path, rate: int = 8000) -> bytes:
    with wave.open(str(path), "rb") as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (rate, 1, 2):
            raise PromptError(f"{path}: not {rate // 1000} kHz mono 16-bit")
        return wav.readframes(wav.getnframes())


def to_frames(pcm16: bytes, codec: Codec | int, rate: int = 8000) -> tuple[bytes, ...]:
    """Encode once and cut into 20 ms frames; the last one is padded with the codec's silence. `pcm16` at `rate`:
    8 kHz audio (a tone) for a wideband codec is interpolated to 16 kHz first."""
    codec = resolve(codec)
    if rate != codec.prompt_rate:
        if (rate, codec.prompt_rate) != (8000, 16000):
            raise ValueError(f"cannot encode {rate} Hz audio for {codec.name} ({codec.prompt_rate} Hz)")
        pcm16 = upsample_2x(pcm16)
    return codec.encode_prompt(pcm16)


class PromptLibrary:
    """Resolves Say actions to shared, encoded frames; all methods are safe to call from the loop."""

    def __init__(
        self, cache_dir: Path, audio_root: Path | None = None, max_entries: int = 512, tts_engine: str = "espeak"
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.tts_engine = tts_engine
        self.audio_root = audio_root
        self.max_entries = max_entries
        self._frames: OrderedDict[tuple, tuple[bytes, ...]] = OrderedDict()
        self._pending: dict[tuple, asyncio.Future] = {}
        self.renders = 0  # how many prompts were rendered/converted (tests: cache hits do not count)

    async def frames(
        self, codec: Codec | int, *, text: str = "", audio: str = "", voice: str = "", language: str = ""
    ) -> tuple[bytes, ...]:
        codec = resolve(codec)
        key = (codec.name, text, audio, voice, language)  # one encoding per codec, whatever its payload type
        cached = self._frames.get(key)
        if cached is not None:
            self._frames.move_to_end(key)
            return cached
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = asyncio.ensure_future(
                asyncio.to_thread(self._load, codec, text, audio, voice, language)
            )
            pending.add_done_callback(lambda _f: self._pending.pop(key, None))
        frames = await asyncio.shield(pending)
        self._frames[key] = frames
        while len(self._frames) > self.max_entries:
            self._frames.popitem(last=False)
        return frames

    def wav_path(
        self, *, text: str = "", audio: str = "", voice: str = "", language: str = "", rate: int = 8000
    ) -> Path:
        """The WAV for a prompt at `rate` Hz (blocking; renders on a cache miss)."""
        if audio:  # only a file inside the flows folder (ivr.flows.audio)
            return convert_audio(flow_audio(audio, self.audio_root), self.cache_dir, rate)
        return render_tts(text, self.cache_dir, voice, language, self.tts_engine, rate)

    def _load(self, codec: Codec, text: str, audio: str, voice: str, language: str) -> tuple[bytes, ...]:
        self.renders += 1
        rate = codec.prompt_rate
        path = self.wav_path(text=text, audio=audio, voice=voice, language=language, rate=rate)
        return to_frames(read_pcm(path, rate), codec, rate)
