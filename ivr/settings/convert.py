"""How one environment variable's text becomes a setting's value, by the type of the setting's default.

The environment itself is read only in model.py (`Settings.from_env`); this module just converts the text.
"""

from __future__ import annotations

from pathlib import Path


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def convert(raw: str, default: object) -> object:
    """`raw` as the type of `default`: bool, int, float, Path, a comma-separated tuple, or the text itself."""
    if isinstance(default, bool):
        return _bool(raw)
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, Path):
        return Path(raw)
    if isinstance(default, tuple):
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    return raw
