"""The audio codecs we speak on RTP, one table: SDP name, payload type, clocks, and how to encode and decode.

A `Codec` encodes a whole prompt once into 20 ms frames (prompts.py caches them per codec name, shared by every
call) from PCM at its `prompt_rate` (8 kHz for G.711, 16 kHz for the wideband G.722 and Opus: prompts are rendered
at both rates) and gives each call its own decoder to 8 kHz (the wideband ones also one to 16 kHz, for speech
recognition). G.711 is ours (g711.py), G.722 and Opus come from C
libraries (g722.py, opus.py). Opus needs the system's libopus; without it Opus is simply not offered or accepted.
`choose(offered, names)` picks the first offered codec we enable, in the offerer's order (RFC 3264).
"""

from __future__ import annotations

import array
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from . import g711, g722

log = logging.getLogger(__name__)

try:
    from . import opus
except (ImportError, OSError) as exc:  # opuslib_next raises when libopus is missing
    opus = None  # type: ignore[assignment]
    _OPUS_MISSING = str(exc)


def _g711_frames(payload_type: int, pcm16: bytes) -> tuple[bytes, ...]:
    return _cut(g711.encode(pcm16, payload_type), g711.SAMPLES_PER_FRAME, g711.SILENCE_BYTE[payload_type])


def _g711_decoder(payload_type: int) -> Callable[[bytes], bytes]:
    return partial(g711.decode, payload_type=payload_type)


def _g722_frames(pcm16: bytes) -> tuple[bytes, ...]:
    pcm16 = pcm16[: len(pcm16) & ~1]
    pcm16 += bytes((-len(pcm16)) % (2 * g722.PROMPT_RATE // 50))  # pad with silence before encoding (ADPCM)
    return _cut(g722.encode(pcm16), g722.FRAME_BYTES, 0x00)


def upsample_2x(pcm16: bytes) -> bytes:
    """8 kHz PCM16 -> 16 kHz by linear interpolation, for tones made at 8 kHz (beeps, ringback), not prompts."""
    samples = array.array("h", pcm16[: len(pcm16) & ~1])
    doubled = array.array("h", bytes(4 * len(samples)))
    doubled[0::2] = samples
    doubled[1::2] = array.array("h", ((a + b) // 2 for a, b in zip(samples, samples[1:] + samples[-1:])))
    return doubled.tobytes()


def _cut(encoded: bytes, size: int, pad_byte: int) -> tuple[bytes, ...]:
    encoded += bytes([pad_byte]) * ((-len(encoded)) % size)
    return tuple(encoded[i : i + size] for i in range(0, len(encoded), size))


@dataclass(frozen=True)
class Codec:
    name: str  # the SDP encoding name, compared case-insensitively
    payload_type: int  # static, or the dynamic number we use in our own offers
    clock_rate: int  # RTP clock (rtpmap)
    timestamp_step: int  # RTP timestamp increment per 20 ms frame
    encode_prompt: Callable[[bytes], tuple[bytes, ...]]  # PCM16 at prompt_rate -> 20 ms frames
    silence: bytes  # one 20 ms frame of silence
    new_decoder: Callable[[], Callable[[bytes], bytes]]  # one call's payload -> 8 kHz PCM16
    channels: int = 1  # the rtpmap's channel count (Opus is always "/2", RFC 7587)
    fmtp: str = ""
    prompt_rate: int = 8000  # the PCM rate encode_prompt takes (16000: wideband)
    new_wide_decoder: Callable[[], Callable[[bytes], bytes]] | None = None  # payload -> 16 kHz PCM16 (wideband)

    @property
    def rtpmap(self) -> str:
        suffix = f"/{self.channels}" if self.channels != 1 else ""
        return f"{self.name}/{self.clock_rate}{suffix}"


def _g711_codec(name: str, payload_type: int) -> Codec:
    """PCMU or PCMA: 8 kHz, one byte a sample; the payload type picks the law."""
    return Codec(
        name,
        payload_type,
        8000,
        g711.SAMPLES_PER_FRAME,
        partial(_g711_frames, payload_type),
        bytes([g711.SILENCE_BYTE[payload_type]]) * g711.SAMPLES_PER_FRAME,
        partial(_g711_decoder, payload_type),
    )


def _build(opus_bitrate: int) -> dict[str, Codec]:
    table = {
        "pcmu": _g711_codec("PCMU", g711.PCMU),
        "pcma": _g711_codec("PCMA", g711.PCMA),
        "g722": Codec(
            "G722",
            g722.PAYLOAD_TYPE,
            8000,
            g722.FRAME_BYTES,
            _g722_frames,
            _g722_frames(bytes(640))[0],
            g722.new_decoder,
            prompt_rate=g722.PROMPT_RATE,
            new_wide_decoder=partial(g722.new_decoder, g722.WIDE_RATE),
        ),
    }
    if opus is not None:
        table["opus"] = Codec(
            "opus",
            opus.DEFAULT_PAYLOAD_TYPE,
            opus.RTP_CLOCK,
            opus.TIMESTAMP_STEP,
            partial(opus.encode_frames, bitrate=opus_bitrate),
            opus.silence_frame(opus_bitrate),
            opus.new_decoder,
            channels=2,
            fmtp=opus.FMTP,
            prompt_rate=opus.PROMPT_RATE,
            new_wide_decoder=partial(opus.new_decoder, opus.WIDE_RATE),
        )
    return table


CODECS = _build(opus.DEFAULT_BITRATE if opus is not None else 0)
BY_PAYLOAD_TYPE = {codec.payload_type: codec for codec in CODECS.values()}


def configure_opus(bitrate: int) -> None:
    """Settings: IVR_SIP_OPUS_BITRATE (called once at start-up, before any prompt is encoded)."""
    if opus is not None and bitrate != opus.DEFAULT_BITRATE:
        CODECS["opus"] = _build(bitrate)["opus"]
        BY_PAYLOAD_TYPE[opus.DEFAULT_PAYLOAD_TYPE] = CODECS["opus"]


def available() -> list[str]:
    return list(CODECS)


def parse_names(value: str) -> list[str]:
    """IVR_SIP_CODECS ("pcmu,pcma,g722,opus"): the enabled codecs, in our preference order.

    Raises ValueError naming an unknown codec; Opus without libopus is left out with a warning."""
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    for name in names:
        if name not in ("pcmu", "pcma", "g722", "opus"):
            raise ValueError(f"IVR_SIP_CODECS: unknown codec {name!r} (pcmu, pcma, g722, opus)")
    if "opus" in names and opus is None:
        log.warning("Opus is disabled: libopus is not installed (%s)", _OPUS_MISSING)
        names.remove("opus")
    return names


def resolve(codec: Codec | int) -> Codec:
    """A Codec, or a static payload type (0, 8, 9) as older callers pass."""
    return codec if isinstance(codec, Codec) else BY_PAYLOAD_TYPE[codec]


def choose(offered: Iterable, names: Iterable[str]) -> tuple[Codec, int] | None:
    """The first offered codec (aiosipua `Codec`s from the SDP) we enable: (our codec, the offer's payload type)."""
    enabled = {CODECS[name].name.lower(): CODECS[name] for name in names if name in CODECS}
    for item in offered:
        name = (item.encoding_name or "").lower()
        if not name and item.payload_type in BY_PAYLOAD_TYPE:  # a static type offered without rtpmap
            name = BY_PAYLOAD_TYPE[item.payload_type].name.lower()
        codec = enabled.get(name)
        if codec is not None and (not item.clock_rate or item.clock_rate == codec.clock_rate):
            return codec, item.payload_type
    return None


def describe_codec(answer, payload_type: int, codec: Codec) -> None:
    """Fix the answer's rtpmap for our codec (aiosipua drops Opus's "/2") and add its fmtp (RFC 7587)."""
    media = answer.audio
    if media is None:
        return
    rtpmaps = media.attributes.setdefault("rtpmap", [])
    media.attributes["rtpmap"] = [
        f"{payload_type} {codec.rtpmap}" if line.split(" ", 1)[0] == str(payload_type) else line for line in rtpmaps
    ]
    if codec.fmtp:
        media.attributes.setdefault("fmtp", []).insert(0, f"{payload_type} {codec.fmtp}")
