"""The flow model: a validated flow ready for the engine (built by ivr.flows from YAML).

A Flow holds its steps (objects from ivr.engine.steps), flattened variables, contact lists,
an optional business-hours Schedule, what its outcomes mean (`outcomes`: name -> success, neutral or failure,
for analytics), its languages (`languages`: the declared ones, `language_by_prefix`: caller prefix -> the
call's language, `voices`: a voice per language; ivr/engine/language.py), and the subflows that `goto` steps may
enter (`library`, shared by a root flow and all its subflows, keyed by flow id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from .schedule import Schedule


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{'owner': {'number': '+1'}} -> {'owner.number': '+1'}; leaves become strings."""
    flat: dict[str, str] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        elif isinstance(value, list):
            flat[name] = ", ".join(str(v) for v in value)
        else:
            flat[name] = "" if value is None else str(value)
    return flat


@dataclass
class Flow:
    id: str
    start: str
    steps: dict[str, Any]  # step id -> Step
    description: str = ""
    language: str = "en-US"
    voice: str = ""
    voices: dict[str, str] = field(default_factory=dict)  # language tag -> voice, when `voice:` is given per language
    languages: tuple[str, ...] = ()  # declared: every prompt must be given in each (the validator checks)
    language_by_prefix: dict[str, str] = field(default_factory=dict)  # caller number prefix -> the call's language
    timezone: str = "UTC"
    tz: tzinfo | None = None
    country: str = ""  # ISO 3166 code: the region keypad digits (no '+') are read in; "" = IVR_DEFAULT_REGION
    variables: dict[str, str] = field(default_factory=dict)
    contacts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # list name -> numbers
    contact_names: dict[str, str] = field(default_factory=dict)  # number -> display name
    schedule: Schedule | None = None
    webhooks: tuple[str, ...] = ()
    record_consent: str = ""  # the flow records every call (`record:`): what the caller hears first; "" = not
    max_steps: int = 200
    speech: bool = True  # offer speech input on menus that have keywords
    outcomes: dict[str, str] = field(default_factory=dict)  # outcome name -> success | neutral | failure
    revision: str = "file"
    source: str = ""  # file name, for messages
    library: dict[str, Flow] = field(default_factory=dict)

    def flow_for(self, flow_id: str | None) -> Flow:
        if not flow_id or flow_id == self.id:
            return self
        return self.library[flow_id]  # the loader puts every reachable subflow (and the root) here
