"""Warnings about what speech can do for a flow (they never stop a flow from loading).

- A menu choice reachable only by a keyword (no digit) when speech is off (the flow's `speech: false`, or
  `IVR_ASR_ENGINE=off`): no voice caller can reach it.
- A flow in a language other than English while the recognizer is English-only (the bundled tiny.en, or an
  `IVR_ASR_MODEL` directory named `*.en`): its callers get DTMF only on SIP. The same for each other language the
  flow declares (`languages:`): its calls get DTMF only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .languages import declared_languages
from .source import Problem, read_yaml


def english_only(asr_engine: str, asr_model: str) -> bool:
    """pocketsphinx ships US English; a Whisper model is English-only when bundled or named like `small.en`."""
    return asr_engine == "pocketsphinx" or not asr_model or Path(asr_model).name.lower().endswith(".en")


def speech_warnings(path: Path, asr_engine: str = "whisper", asr_model: str = "") -> list[Problem]:
    data, located = read_yaml(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(data, dict) or not isinstance(data.get("steps"), dict):
        return []
    warnings: list[Problem] = []
    speech_on = bool(data.get("speech", True)) and asr_engine != "off"
    language = str(data.get("language", "en-US"))
    if speech_on and not language.lower().startswith("en") and english_only(asr_engine, asr_model):
        warnings.append(
            located.problem(
                ("language",),
                f"warning: language {language!r}: the speech recognizer "
                "is English-only, so SIP callers get DTMF only (set IVR_ASR_MODEL to a "
                "multilingual Whisper model)",
            )
        )
    foreign = [tag for tag in declared_languages(data) if not tag.lower().startswith("en")]
    if speech_on and foreign and english_only(asr_engine, asr_model):
        warnings.append(
            located.problem(
                ("languages",),
                f"warning: languages {', '.join(foreign)}: the speech recognizer is English-only, so SIP calls "
                "in these languages get DTMF only (set IVR_ASR_MODEL to a multilingual Whisper model)",
                key=True,
            )
        )
    if speech_on:
        return warnings
    for step_id, step in data["steps"].items():
        warnings += _keyword_only_choices(step_id, step, located)
    return warnings


def _keyword_only_choices(step_id: str, step: Any, located: Any) -> list[Problem]:
    if not isinstance(step, dict) or step.get("type") != "menu":
        return []
    found = []
    for index, choice in enumerate(step.get("choices") or ()):
        if isinstance(choice, dict) and "digit" not in choice and choice.get("keywords"):
            where = ("steps", step_id, "choices", index)
            found.append(
                located.problem(
                    where,
                    f"warning: steps.{step_id}.choices.{index}: reachable only by "
                    "saying a keyword, but speech is off, so no voice caller can reach it",
                )
            )
    return found
