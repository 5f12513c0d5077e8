"""Follow-ups a flow asks for that this installation cannot deliver: warnings for `ivr validate`, at file:line.

The caller passes what cannot work (`{kind: reason}`, from ivr.settings.capabilities); a flow file is never wrong for
it (another installation may have the SMS provider), so these are warnings, not problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .loader import flow_files
from .source import NodePath, Problem, read_yaml


def _requested_kinds(steps: dict[str, Any]) -> Iterator[tuple[NodePath, str]]:
    """(spec path of the kind, follow-up kind) for each follow_up, voicemail follow-up and callback step."""
    for step_id, spec in steps.items():
        if not isinstance(spec, dict):
            continue
        kind = spec.get("type")
        if kind == "follow_up" and isinstance(spec.get("kind"), str):
            yield ("steps", step_id, "kind"), spec["kind"]
        elif kind == "voicemail" and isinstance(spec.get("follow_up"), dict):
            if isinstance(spec["follow_up"].get("kind"), str):
                yield ("steps", step_id, "follow_up", "kind"), spec["follow_up"]["kind"]
        elif kind == "callback":
            yield ("steps", step_id, "type"), "callback"


def undeliverable(paths: Iterable[str | Path], cannot: dict[str, str]) -> list[Problem]:
    """A warning for every follow-up kind in `cannot` ({kind: "needs TWILIO_FROM_NUMBER"}) the flows request."""
    warnings: list[Problem] = []
    for file in flow_files(paths):
        try:
            data, located = read_yaml(file.read_text(encoding="utf-8"), str(file))
        except (OSError, UnicodeDecodeError):
            continue  # validate_paths reports an unreadable file
        steps = data.get("steps") if isinstance(data, dict) else None
        for spec_path, kind in _requested_kinds(steps if isinstance(steps, dict) else {}):
            if kind in cannot:
                message = f"warning: follow-up kind {kind!r} cannot be delivered with these settings ({cannot[kind]})"
                warnings.append(located.problem(spec_path, message))
    return warnings
