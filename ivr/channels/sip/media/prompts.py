"""Prompt audio: TTS with espeak-ng and audio files, as 8 kHz 16-bit mono WAV cached on disk,
then encoded once per codec and shared by every call that plays them.

Disk cache: `<data_dir>/prompts/<sha256(kind, text, voice, language)>.wav`. Rendering runs in a
thread (espeak-ng and sox are subprocesses) so the media clock never waits for it, and concurrent
requests for the same prompt share one rendering. The encoded-frames cache is an LRU of bounded size.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import subprocess
import tempfile
import wave
from collections import OrderedDict
from pathlib import Path

from . import g711

log = logging.getLogger(__name__)

DEFAULT_VOICE = "en-us"


class PromptError(RuntimeError):
    pass


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, timeout=60)
    if result.returncode != 0:
        raise PromptError(f"{cmd[0]} failed: {result.stderr.decode(errors='replace')[:300]}")


def _to_8k_mono(source: Path, target: Path) -> None:
    """Convert any audio file sox reads to 8 kHz, mono, signed 16-bit WAV (atomically)."""
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=target.parent)
    os.close(fd)
    try:
        _run(["sox", str(source), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", tmp])
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def render_tts(text: str, cache_dir: Path, voice: str = "", language: str = "") -> Path:
    """Speak `text` with espeak-ng into the disk cache; returns the 8 kHz WAV path."""
    key = hashlib.sha256(f"tts\0{text}\0{voice}\0{language}".encode()).hexdigest()
    target = cache_dir / f"{key}.wav"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        raw = Path(tmp) / "tts.wav"
        _run(["espeak-ng", "-v", voice or language or DEFAULT_VOICE, "-w", str(raw), "--", text])
        _to_8k_mono(raw, target)
    return target


def convert_audio(path: Path, cache_dir: Path) -> Path:
    """Convert an audio file to 8 kHz mono WAV in the cache (keyed by path, size and mtime)."""
    stat = path.stat()
    key = hashlib.sha256(f"file\0{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
    target = cache_dir / f"{key}.wav"
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        _to_8k_mono(path, target)
    return target


def read_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (8000, 1, 2):
            raise PromptError(f"{path}: not 8 kHz mono 16-bit")
        return wav.readframes(wav.getnframes())


def to_frames(pcm16: bytes, payload_type: int) -> tuple[bytes, ...]:
    """Encode once and cut into 20 ms frames; the last one is padded with the codec's silence."""
    encoded = g711.encode(pcm16, payload_type)
    size = g711.SAMPLES_PER_FRAME
    pad = (-len(encoded)) % size
    encoded += bytes([g711.SILENCE_BYTE[payload_type]]) * pad
    return tuple(encoded[i:i + size] for i in range(0, len(encoded), size))


class PromptLibrary:
    """Resolves Say actions to shared, encoded frames; all methods are safe to call from the loop."""

    def __init__(self, cache_dir: Path, audio_root: Path | None = None, max_entries: int = 512) -> None:
        self.cache_dir = Path(cache_dir)
        self.audio_root = audio_root
        self.max_entries = max_entries
        self._frames: OrderedDict[tuple, tuple[bytes, ...]] = OrderedDict()
        self._pending: dict[tuple, asyncio.Future] = {}
        self.renders = 0  # how many prompts were rendered/converted (tests: cache hits do not count)

    async def frames(self, payload_type: int, *, text: str = "", audio: str = "", voice: str = "",
                     language: str = "") -> tuple[bytes, ...]:
        key = (payload_type, text, audio, voice, language)
        cached = self._frames.get(key)
        if cached is not None:
            self._frames.move_to_end(key)
            return cached
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = asyncio.ensure_future(
                asyncio.to_thread(self._load, payload_type, text, audio, voice, language))
            pending.add_done_callback(lambda _f: self._pending.pop(key, None))
        frames = await asyncio.shield(pending)
        self._frames[key] = frames
        while len(self._frames) > self.max_entries:
            self._frames.popitem(last=False)
        return frames

    def wav_path(self, *, text: str = "", audio: str = "", voice: str = "", language: str = "") -> Path:
        """The 8 kHz WAV for a prompt (blocking; renders on a cache miss)."""
        if audio:
            source = Path(audio)
            if not source.is_absolute() and self.audio_root is not None:
                source = self.audio_root / source
            return convert_audio(source, self.cache_dir)
        return render_tts(text, self.cache_dir, voice, language)

    def _load(self, payload_type: int, text: str, audio: str, voice: str, language: str) -> tuple[bytes, ...]:
        self.renders += 1
        path = self.wav_path(text=text, audio=audio, voice=voice, language=language)
        return to_frames(read_pcm(path), payload_type)
