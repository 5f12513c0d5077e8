"""Phone audio to the 16 kHz Whisper hears: windowed-sinc interpolation from 8 kHz, optionally played slower.

Linear interpolation leaves the phone band's mirror image above 4 kHz only some 6 dB down (at 5 kHz): Whisper
then hears a second, inverted copy of the speech where a phone line has nothing. A 63-tap (at 16 kHz)
Hamming-windowed sinc low-pass at 3.8 kHz removes it (more than 40 dB down). bench/speech.py measured +2 to +3
points of right menu choices on both halves of its corpus over linear interpolation (BENCHMARKS.md).

`speed` below 1 plays the audio slower, as a tape would: longer, and every frequency lower by the same factor.
The same filter is then evaluated at each output sample's own position between input samples (a table of
PHASES positions). whisper.py decodes a spoken number at two speeds (digit_decode.SPEEDS).
At speed 1 every output sample lies on the half-sample grid, and the filter is one convolution of the
zero-stuffed input: four times cheaper, and what a menu answer is heard through.

Audio that is already 16 kHz (a G.722 or Opus call, `rate=16000`) passes through as it is at speed 1; played
slower, it goes through the same interpolation with the filter's cut-off at `WIDE_CUTOFF_HZ`, above G.722's 7 kHz.
"""

from __future__ import annotations

from functools import lru_cache

TAPS = 63  # at 16 kHz: 31 input samples wide
CUTOFF_HZ = 3800.0
WIDE_CUTOFF_HZ = 7600.0
RATE_IN = 8000.0
RATE_OUT = 16000.0
HALF_WIDTH = 16  # input samples either side of an output sample that the filter can reach
PHASES = 512  # an output sample's position between two input samples, rounded to 1/512 of one (0.24 us)


def _lowpass(distance, rate: float = RATE_IN):
    """The filter's weight for an input sample `distance` input samples from the output sample."""
    import numpy as np

    half = (TAPS - 1) / 4  # the window's half-width, in input samples
    window = np.where(np.abs(distance) <= half, 0.54 + 0.46 * np.cos(np.pi * distance / half), 0.0)
    cutoff = 2 * (CUTOFF_HZ if rate == RATE_IN else WIDE_CUTOFF_HZ) / rate  # a share of the input's Nyquist rate
    return cutoff * np.sinc(cutoff * distance) * window


@lru_cache(maxsize=1)
def _half_sample_kernel():
    import numpy as np

    return _lowpass((np.arange(TAPS) - (TAPS - 1) / 2) / 2).astype(np.float32)


@lru_cache(maxsize=2)
def _phase_table(rate: float = RATE_IN):
    """Row p, column c: the weight of input sample base + c - HALF_WIDTH + 1 for an output sample p/PHASES past base."""
    import numpy as np

    offsets = np.arange(-HALF_WIDTH + 1, HALF_WIDTH + 1)
    return _lowpass(np.arange(PHASES + 1)[:, None] / PHASES - offsets[None, :], rate).astype(np.float32)


def to_16k(samples, speed: float = 1.0, rate: int = 8000):
    """`samples` (float32 at `rate`: 8000 or 16000) at 16 kHz, lasting 1/`speed` times as long (1: as long)."""
    import numpy as np

    samples = np.asarray(samples, dtype=np.float32)
    if rate not in (RATE_IN, RATE_OUT):
        raise ValueError(f"audio at {rate} Hz: 8000 or 16000 only")
    if speed == 1.0 and rate == RATE_OUT:
        return samples.copy()
    if speed == 1.0:
        stuffed = np.zeros(len(samples) * 2, dtype=np.float32)
        stuffed[::2] = samples
        return np.convolve(stuffed, _half_sample_kernel(), mode="same").astype(np.float32)
    count = int(len(samples) * RATE_OUT / rate / speed)
    position = np.arange(count, dtype=np.float64) * (speed * rate / RATE_OUT)  # in input samples
    base = np.floor(position).astype(np.int64)
    phase = np.rint((position - base) * PHASES).astype(np.int64)
    table = _phase_table(float(rate))
    padded = np.pad(samples, HALF_WIDTH)
    out = np.zeros(count, dtype=np.float32)
    for column in range(2 * HALF_WIDTH):  # input sample base + column - HALF_WIDTH + 1 is padded[base + column + 1]
        out += padded[base + column + 1] * table[phase, column]
    return out
