"""Flow audio files: an `audio:` path names a file inside the flows folder, and nothing else (issue 12 item 10).

Otherwise a flow could play, and Twilio's <Play> would serve to anyone, another caller's voicemail or any file
the process can read. The validator refuses, at its file:line, an `audio:` that is absolute or that resolves
(symlinks included) outside the folder the flow is loaded from. The channels call `resolve_audio` again when
they play it: a link can change after the flow was validated. With the folder known, a file that is not there
is refused too (a call would otherwise play silence).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePath

from .source import Located, Problem


def resolve_audio(audio: str, flows_dir: Path | str) -> Path | None:
    """The real path `audio` names under `flows_dir`, or None if it is absolute or resolves outside it."""
    if not audio or PurePath(audio).is_absolute():
        return None
    try:
        root = Path(flows_dir).resolve()
        target = (root / audio).resolve()
    except (OSError, ValueError):  # a link loop, a NUL byte
        return None
    return target if target.is_relative_to(root) else None


def _lexically_inside(audio: str) -> bool:
    """Without a folder to resolve against (a flow checked as text alone): no absolute path, no way up."""
    if not audio or "\0" in audio or PurePath(audio).is_absolute():
        return False
    return os.path.normpath(audio).split(os.sep)[0] != os.pardir


TEMPLATES_FOLDER = "templates"  # follow-up templates, inside the flows folder (jobs/followup_text.py)
FieldPath = tuple[str | int, ...]
RINGBACK_SOUNDS = ("tone", "music")  # a transfer's `ringback` that is not one of these names an audio file
HTTP_DATA = ("body", "headers")
SOUND_FIELDS = ("ringback", "hold")  # a transfer's ringback, a queue's hold sound


def _audio_fields(node: object, path: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in HTTP_DATA and node.get("type") == "http":
                continue  # an http step's request data: its "audio" keys are the web service's business
            if isinstance(value, str) and (key == "audio" or (key in SOUND_FIELDS and value not in RINGBACK_SOUNDS)):
                yield path + (key,), value
            else:
                yield from _audio_fields(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _audio_fields(value, path + (index,))


def audio_problems(data: dict[str, object], located: Located, flows_dir: Path | None) -> list[Problem]:
    """A problem at every `audio:` of the flow's steps that names a file outside the flows folder, or (with a
    folder to look in) a file that does not exist there."""
    problems = []
    for path, audio in _audio_fields(data.get("steps", {}), ("steps",)):
        target = resolve_audio(audio, flows_dir) if flows_dir is not None else None
        inside = target is not None if flows_dir is not None else _lexically_inside(audio)
        where = ".".join(map(str, path))
        if not inside:
            problems.append(
                located.problem(
                    path,
                    f"{where}: audio {audio!r} is outside the flows folder; use a "
                    f"path relative to it, such as prompts/welcome.wav",
                )
            )
        elif target is not None and not target.is_file():
            problems.append(located.problem(path, f"{where}: audio file {audio!r} does not exist in {flows_dir}"))
    return problems + (template_problems(data, located, flows_dir) if flows_dir is not None else [])


def template_problems(data: dict[str, object], located: Located, flows_dir: Path) -> list[Problem]:
    """A follow-up's `template: NAME` needs templates/NAME.txt in the flows folder (jobs/followup_text.py)."""
    problems = []
    steps = data.get("steps")
    for step_id, spec in steps.items() if isinstance(steps, dict) else ():
        name = spec.get("template") if isinstance(spec, dict) and spec.get("type") == "follow_up" else None
        if not isinstance(name, str) or "{{" in name:
            continue
        target = resolve_audio(f"{TEMPLATES_FOLDER}/{name}.txt", flows_dir)
        if target is None or not target.is_file():
            problems.append(
                located.problem(
                    ("steps", step_id, "template"),
                    f"steps.{step_id}.template: no {TEMPLATES_FOLDER}/{name}.txt in {flows_dir} (a Jinja2 template)",
                )
            )
    return problems
