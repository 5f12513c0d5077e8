"""Speech tests need the `speech` extra (faster-whisper, webrtcvad, jellyfish); one Whisper model per session."""

from __future__ import annotations

import pytest

pytest.importorskip("faster_whisper")
pytest.importorskip("webrtcvad")
pytest.importorskip("jellyfish")


@pytest.fixture(scope="session")
def whisper():
    from ivr.channels.speech.whisper import WhisperRecognizer

    return WhisperRecognizer()
