"""docs/settings.md, generated from the settings table (`HELP` in ivr/settings/help.py): `python -m ivr.settings.doc`.

tests/test_settings_doc.py keeps the committed file equal to this output, so the doc cannot drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ivr.settings import describe

HEADER = """# Settings

Generated from `ivr/settings/` by `python -m ivr.settings.doc > docs/settings.md`; do not edit by hand
(tests/test_settings_doc.py checks that it matches). Every setting is read from its environment variable
(or the `ivr.env` file of a systemd install, docs/deploy.md). *Needed by* lists the features that cannot work
while the setting is empty; the admin's set-up check and `ivr validate` use the same table
(`ivr.settings.capabilities.capabilities(settings)`). A list is given comma-separated (`US,CA`).

| Variable | Type | Default | Needed by | What it is for |
|---|---|---|---|---|
"""


def _default(value: object) -> str:
    if isinstance(value, tuple):
        return "`" + ",".join(value) + "`" if value else "(empty)"
    text = str(value)
    if text == "":
        return "(empty)"
    return "`" + (text if len(text) <= 40 else text[:37] + "...") + "`"


def render() -> str:
    rows = []
    for info in describe():
        type_name = {"tuple[str, ...]": "list", "Path": "path"}.get(info.type, info.type)
        needed = ", ".join(info.needed_by) or "-"
        text = info.help.replace("|", "\\|")
        rows.append(f"| `{info.env}` | {type_name} | {_default(info.default)} | {needed} | {text} |")
    return HEADER + "\n".join(rows) + "\n"


def write(path: Path) -> None:
    path.write_text(render())


if __name__ == "__main__":
    sys.stdout.write(render())
