"""The one set-up check, shared by the home page, `/healthz?verbose` and `ivr doctor`.

Each integration gets one `Item`: "ok", "not configured" (the detail says what stops working) or "broken" (the
detail says why), in plain sentences that name the settings by their environment variable. The checks themselves
live in `setup_items.py`; this module runs them, marks what the shipped flows need (from the follow-up kinds and
audio files the flows in IVR_FLOWS_DIR use), and decides whether `ivr doctor` fails.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from ivr.settings import Settings


class State(StrEnum):
    OK = "ok"
    NOT_CONFIGURED = "not configured"
    BROKEN = "broken"


@dataclass(frozen=True)
class Item:
    key: str  # "smtp", "twilio", ...
    title: str
    state: State
    detail: str  # a plain sentence: what works, what stops working, or why it is broken
    settings: tuple[str, ...] = ()  # environment variables this item reads
    needed: bool = False  # something the shipped flows use depends on it

    def as_dict(self) -> dict:
        return {**asdict(self), "state": str(self.state), "settings": list(self.settings)}


# Which follow-up kinds depend on which item (a callback dials through Twilio or SIP, IVR_CALLBACK_CHANNEL).
KIND_NEEDS = {"email": {"smtp"}, "sms": {"twilio"}, "chat": {"twilio", "public_url"}}


def _walk(node: object):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def flow_uses(settings: Settings) -> set[str]:
    """The follow-up kinds the flows in IVR_FLOWS_DIR queue, plus "audio" when one plays an audio file."""
    uses: set[str] = set()
    for path in sorted(Path(settings.flows_dir).glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue  # `ivr validate` reports a broken flow; it needs nothing we could check
        for node in _walk(data):
            if isinstance(node.get("kind"), str):
                uses.add(node["kind"])
            if isinstance(node.get("audio"), str):
                uses.add("audio")
    return uses


def flow_needs(settings: Settings) -> set[str]:
    """The items the flows in IVR_FLOWS_DIR depend on: SIP prompts always need espeak-ng and the data dir."""
    needs = {"secret_key", "data_dir", "espeak_ng", "sip"}
    for use in flow_uses(settings):
        if use == "callback":
            needs.add("twilio" if settings.callback_channel == "twilio" else "sip")
        needs |= KIND_NEEDS.get(use, set()) | ({"sox"} if use == "audio" else set())
    return needs


def run_checks(settings: Settings, sip_probe=None) -> list[Item]:
    """Every item, in the order a person sets the product up. `sip_probe(host, port)` answers an OPTIONS."""
    from . import setup_items

    needs = flow_needs(settings)
    found = setup_items.all_items(settings, sip_probe)
    return [Item(**{**asdict(i), "needed": i.key in needs}) for i in found]


def failing(items: list[Item]) -> list[Item]:
    """What makes `ivr doctor` exit non-zero: broken items the shipped flows need."""
    return [i for i in items if i.needed and i.state == State.BROKEN]


def summary(items: list[Item]) -> str:
    counts = {state: sum(1 for i in items if i.state == state) for state in State}
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n)
