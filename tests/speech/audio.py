"""Spoken test audio from real tools: espeak-ng speaks, sox resamples, adds pink noise and encodes G.711.

`phone_pcm(text, voice, speed, snr_db, law)` is what a caller's phrase sounds like after a phone line: 8 kHz,
through u-law or A-law and back (sox does both ways), as 16-bit little-endian PCM. `hd_pcm` is the same phrase
from an HD call: 16 kHz, through G.722 and back (the codec binding the SIP channel uses). `g711_bytes` gives the
encoded payload for RTP pcaps. Used by tests/speech and bench/speech.py. sox runs without dither (`-D`): its
dither is random, and the same phrase must sound the same in every run.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

CACHE = Path(tempfile.gettempdir()) / "ivr-speech-audio"
SOX_LAW = {"ulaw": "u-law", "alaw": "a-law"}
RAW_PCM = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw"]  # sox: 8 kHz 16-bit mono, raw
WIDE_RATE = 16000


def _run(cmd: list[str]) -> bytes:
    return subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout


def _cached(key: str, make) -> bytes:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".raw")
    if not path.exists():
        data = make()
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path.read_bytes()


def _raw(rate: int) -> list[str]:
    return RAW_PCM if rate == 8000 else ["-r", str(rate), *RAW_PCM[2:]]


def _rated(key: str, rate: int) -> str:
    return key if rate == 8000 else f"{key}\0{rate}"  # 8 kHz keys as they always were: the cache stays valid


def spoken(text: str, voice: str = "en-us", speed: int = 160, rate: int = 8000) -> bytes:
    """espeak-ng's `text` at `rate` 16-bit mono PCM, with 300 ms of silence either side (as a caller pauses)."""

    def make() -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "s.wav"
            _run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), "--", text])
            return _run(["sox", "-D", str(wav), *_raw(rate), "-", "pad", "0.3", "0.3"])

    return _cached(_rated(f"speak\0{text}\0{voice}\0{speed}\0undithered", rate), make)


def with_noise(pcm: bytes, snr_db: float | None, kind: str = "pinknoise", rate: int = 8000) -> bytes:
    """Noise from sox (`pinknoise`, `brownnoise`, `whitenoise`) mixed in at `snr_db` (None: clean)."""
    if snr_db is None:
        return pcm
    speech = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    seconds = len(speech) / rate
    noise = np.frombuffer(_sox_noise(seconds, kind, 0.3, rate), dtype="<i2").astype(np.float64)[: len(speech)]
    noise = np.pad(noise, (0, len(speech) - len(noise)))
    voiced = speech[np.abs(speech) > 200]
    power = float(np.mean(voiced**2)) if len(voiced) else 1.0
    noise *= np.sqrt(power / (10 ** (snr_db / 10)) / max(float(np.mean(noise**2)), 1e-9))
    return np.clip(speech + noise, -32768, 32767).astype("<i2").tobytes()


def g711_bytes(pcm: bytes, law: str = "ulaw") -> bytes:
    return _sox_pipe(pcm, law, encode=True)


def _sox_pipe(data: bytes, law: str, encode: bool) -> bytes:
    pcm_args = RAW_PCM
    law_args = ["-t", "raw", "-r", "8000", "-c", "1", "-b", "8", "-e", SOX_LAW[law]]
    source, target = (pcm_args, law_args) if encode else (law_args, pcm_args)
    return subprocess.run(
        ["sox", "-D", *source, "-", *target, "-"], input=data, check=True, capture_output=True, timeout=60
    ).stdout


def _sox_noise(seconds: float, kind: str, volume: float, rate: int = 8000) -> bytes:
    """sox's `kind` of noise (`-R`: the same every time), `rate` 16-bit mono PCM, cached."""
    return _cached(
        _rated(f"noise\0{seconds:.3f}\0{kind}\0{volume}", rate),
        lambda: _run(["sox", "-R", "-n", *_raw(rate), "-", "synth", f"{seconds:.3f}", kind, "vol", str(volume)]),
    )


def noise_pcm(seconds: float, kind: str = "pinknoise", volume: float = 0.1, law: str = "ulaw") -> bytes:
    """Noise alone (no speech in it), through G.711 and back, as a noisy line with a silent caller."""
    return _sox_pipe(g711_bytes(_sox_noise(seconds, kind, volume), law), law, encode=False)


def phone_pcm(
    text: str,
    voice: str = "en-us",
    speed: int = 160,
    snr_db: float | None = None,
    law: str = "ulaw",
    noise: str = "pinknoise",
) -> bytes:
    """The phrase as it arrives from a phone line: noise, then G.711 and back."""
    noisy = with_noise(spoken(text, voice, speed), snr_db, kind=noise)
    return _sox_pipe(g711_bytes(noisy, law), law, encode=False)


def hd_pcm(
    text: str,
    voice: str = "en-us",
    speed: int = 160,
    snr_db: float | None = None,
    law: str = "",
    noise: str = "pinknoise",
) -> bytes:
    """The phrase as it arrives from an HD call: noise, then G.722 at 16 kHz and back (`law`: phone_pcm's, unused)."""
    from ivr.channels.sip.media import g722

    noisy = with_noise(spoken(text, voice, speed, WIDE_RATE), snr_db, kind=noise, rate=WIDE_RATE)
    return g722.new_decoder(WIDE_RATE)(g722_bytes(noisy))


def g722_bytes(pcm16k: bytes) -> bytes:
    from ivr.channels.sip.media import g722

    return g722.encode(pcm16k, WIDE_RATE)


def frames(pcm: bytes, size: int = 320) -> list[bytes]:
    """20 ms frames (the last one padded with silence)."""
    pcm += b"\0" * (-len(pcm) % size)
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def silence(seconds: float, rate: int = 8000) -> bytes:
    return b"\0\0" * int(rate * seconds)


def rtp_pcap(path: Path, pcm: bytes, law: str = "ulaw") -> Path:
    """An RTP pcap of `pcm` in G.711 (sox encodes), 20 ms a packet, for SIPp's play_pcap_audio; `law` "g722":
    `pcm` is 16 kHz (hd_pcm), in G.722."""
    from tests.sip.pcap import write_rtp_pcap

    if law == "g722":
        encoded = g722_bytes(pcm + b"\0" * (-len(pcm) % 640))
        return write_rtp_pcap(path, [encoded[i : i + 160] for i in range(0, len(encoded), 160)], 9)
    encoded = g711_bytes(pcm, law)
    encoded += (b"\xff" if law == "ulaw" else b"\xd5") * (-len(encoded) % 160)
    payloads = [encoded[i : i + 160] for i in range(0, len(encoded), 160)]
    return write_rtp_pcap(path, payloads, 0 if law == "ulaw" else 8)
