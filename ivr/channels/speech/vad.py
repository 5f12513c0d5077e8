"""Voice activity detection on a call's inbound audio: start of speech (barge-in), end of speech, no speech.

Fed 20 ms frames of 8 kHz 16-bit PCM from the RTP receive path (one C call per frame, so it can run on the
media loop). webrtcvad (the `webrtcvad-wheels` package, in the `speech` extra) decides voiced/unvoiced per frame;
speech starts after `start_frames` voiced frames in a row and ends after `trailing_silence_ms` of unvoiced frames.
The audio of the utterance (with a short lead-in kept from before the start) is handed to `on_end`, with the
same stretch of a call's 16 kHz audio when every frame came with it (`feed(pcm, wide)`; else b"").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

FRAME_MS = 20
SAMPLE_RATE = 8000
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * 2
WIDE_FRAME_BYTES = 2 * FRAME_BYTES  # the same 20 ms at 16 kHz
LEAD_IN_FRAMES = 15  # 300 ms kept from before the start decision: the first syllable
MAX_UTTERANCE_MS = 12_000  # a caller who never stops: recognize what we have


class SpeechDetector:
    """One utterance at a time: `feed(pcm)` per frame; `on_start()` once speech starts, `on_end(pcm, wide)` once it
    ends."""

    def __init__(
        self,
        on_start: Callable[[], None],
        on_end: Callable[[bytes, bytes], None],
        *,
        trailing_silence_ms: int = 700,
        aggressiveness: int = 2,
        start_frames: int = 4,
    ) -> None:
        import webrtcvad  # the speech extra; the caller checked it is installed

        self._vad = webrtcvad.Vad(aggressiveness)
        self._on_start = on_start
        self._on_end = on_end
        self._start_frames = start_frames
        self._end_frames = max(1, trailing_silence_ms // FRAME_MS)
        self._max_frames = MAX_UTTERANCE_MS // FRAME_MS
        self._before: deque[tuple[bytes, bytes]] = deque(maxlen=LEAD_IN_FRAMES)
        self._utterance: list[tuple[bytes, bytes]] = []
        self._voiced_run = 0
        self._silent_run = 0
        self.speaking = False
        self.finished = False

    def feed(self, pcm: bytes, wide: bytes = b"") -> None:
        """One 20 ms frame at 8 kHz, and the same frame at 16 kHz if the call has it (kept, never listened to)."""
        if self.finished or len(pcm) != FRAME_BYTES:
            return
        voiced = self._vad.is_speech(pcm, SAMPLE_RATE)
        frame = (pcm, wide if len(wide) == WIDE_FRAME_BYTES else b"")
        if not self.speaking:
            self._before.append(frame)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= self._start_frames:
                self.speaking = True
                self._utterance = list(self._before)
                self._on_start()
            return
        self._utterance.append(frame)
        self._silent_run = 0 if voiced else self._silent_run + 1
        if self._silent_run >= self._end_frames or len(self._utterance) >= self._max_frames:
            self.finished = True
            kept = self._utterance[: len(self._utterance) - self._silent_run + 5]  # keep 100 ms of the tail
            self._utterance = []
            whole = all(wide for _, wide in kept)
            self._on_end(b"".join(pcm for pcm, _ in kept), b"".join(wide for _, wide in kept) if whole else b"")
