"""What this installation can do with its settings: `capabilities(settings)` says which follow-ups and channels work.

One answer for every reader: the engine gets `flags(settings)` in `CallStarted.capabilities` (a flow's branch can
test `capabilities.sms`), `ivr validate` warns about follow-up kinds that cannot be delivered, and the admin's
set-up check shows each capability with the settings it misses. A feature needs every setting whose `HELP` entry
names it (help.py) to be non-empty; a callback also needs the channel it dials on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ivr.settings import HELP, Settings

FOLLOW_UPS = ("email", "sms", "chat", "webhook", "callback")
CHANNELS = ("twilio", "sip", "simulator")


@dataclass(frozen=True)
class Capability:
    """One follow-up kind or channel: whether it can work, and the environment variables it still needs."""

    name: str
    kind: str  # "follow_up" | "channel"
    ok: bool
    missing: tuple[str, ...]  # environment variable names, e.g. ("TWILIO_ACCOUNT_SID",)

    @property
    def reason(self) -> str:
        return "" if self.ok else "needs " + ", ".join(self.missing)


def _missing(settings: Settings, feature: str) -> list[str]:
    """The environment variables of the settings `feature` needs that are empty."""
    out = []
    for f in fields(Settings):
        if feature in HELP[f.name][1] and getattr(settings, f.name) in ("", None, ()):
            out.append(Settings._ENV.get(f.name, f.name))
    return out


def capabilities(settings: Settings) -> dict[str, Capability]:
    """Every follow-up kind and channel, by name, with whether the settings let it work."""
    out: dict[str, Capability] = {}
    for name in CHANNELS:
        missing = _missing(settings, name)
        out[name] = Capability(name, "channel", not missing, tuple(missing))
    for name in FOLLOW_UPS:
        missing = _missing(settings, name)
        if name == "callback" and settings.callback_channel == "sip":
            missing = _missing(settings, "sip")  # dialled by our own SIP stack: Twilio is not needed
        elif name == "callback" and settings.callback_channel != "twilio":
            missing = [f"IVR_CALLBACK_CHANNEL (twilio or sip, not {settings.callback_channel!r})"]
        out[name] = Capability(name, "follow_up", not missing, tuple(missing))
    return out


def flags(settings: Settings) -> dict[str, bool]:
    """{name: ok}: the plain form the engine receives in CallStarted and a branch tests (`capabilities.sms`)."""
    return {name: cap.ok for name, cap in capabilities(settings).items()}
