"""Prompt audio: TTS with espeak-ng and audio files, as 8 kHz 16-bit mono WAV cached on disk,
then encoded once per codec and shared by every call that plays them.

Disk cache (ivr/channels/prompt_audio.py): `<data_dir>/prompts/<sha256(kind, text, voice, language)>.wav`.
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

from .codecs import Codec, resolve

log = logging.getLogger(__name__)

# Rendering and the disk cache are shared with the Twilio channel's <Play> mode (one voice on both channels).
PromptError = TtsError


def read_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (8000, 1, 2):
            raise PromptError(f"{path}: not 8 kHz mono 16-bit")
        return wav.readframes(wav.getnframes())


def to_frames(pcm16: bytes, codec: Codec | int) -> tuple[bytes, ...]:
    """Encode once and cut into 20 ms frames; the last one is padded with the codec's silence."""
    return resolve(codec).encode_prompt(pcm16)


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

    def wav_path(self, *, text: str = "", audio: str = "", voice: str = "", language: str = "") -> Path:
        """The 8 kHz WAV for a prompt (blocking; renders on a cache miss)."""
        if audio:  # only a file inside the flows folder (ivr.flows.audio)
            return convert_audio(flow_audio(audio, self.audio_root), self.cache_dir)
        return render_tts(text, self.cache_dir, voice, language, self.tts_engine)

    def _load(self, codec: Codec, text: str, audio: str, voice: str, language: str) -> tuple[bytes, ...]:
        self.renders += 1
        path = self.wav_path(text=text, audio=audio, voice=voice, language=language)
        return to_frames(read_pcm(path), codec)
