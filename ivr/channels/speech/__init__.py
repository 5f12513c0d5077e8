"""Offline speech for the voice channels: VAD, a Recognizer (Whisper or pocketsphinx), matching, a bounded pool.

It lives in the channels layer, never in the engine: the engine only sees `Speech(text, at, confidence)`.
Everything heavy (faster-whisper, webrtcvad, jellyfish) is in the `speech` extra and imported lazily, so a package
installed without it still runs with DTMF only.
"""
